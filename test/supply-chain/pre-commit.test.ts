// Gate: the git pre-commit hook (scripts/pre-commit.sh, installed by simple-git-hooks from package.json)
// stops a commit whose STAGED content holds a secret, in a throwaway repository in a temp dir.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A fake AWS access key id, built at run time so that no scanner finds one in this file. */
const FAKE_KEY_ID = ['AK', 'IA', 'QWERTYUI', '12345678'].join('');

function run(cwd: string, command: string, args: readonly string[]): SpawnSyncReturns<string> {
  return spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Gate Test',
      GIT_AUTHOR_EMAIL: 'gate@example.invalid',
      GIT_COMMITTER_NAME: 'Gate Test',
      GIT_COMMITTER_EMAIL: 'gate@example.invalid',
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: cwd,
    },
  });
}

function git(cwd: string, ...args: string[]): SpawnSyncReturns<string> {
  return run(cwd, 'git', ['-c', 'commit.gpgsign=false', '-c', 'init.defaultBranch=main', ...args]);
}

/** A fresh repository with the project's hook script and scanner config, hook installed the way `npm install` does. */
async function makeRepo(withNodeModules: boolean): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pre-commit-gate-'));
  assert.equal(git(dir, 'init', '-q').status, 0);
  await mkdir(join(dir, 'scripts'));
  for (const file of ['scripts/pre-commit.sh', '.secretlintrc.json', '.secretlintignore']) {
    await copyFile(join(ROOT, file), join(dir, file));
  }
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'gate', private: true, 'simple-git-hooks': pkg['simple-git-hooks'] }),
  );
  // Install the hook with simple-git-hooks itself, as package.json's "prepare" does on npm install.
  const install = run(dir, process.execPath, [join(ROOT, 'node_modules/simple-git-hooks/cli.js')]);
  assert.equal(install.status, 0, install.stdout + install.stderr);
  assert.match(await readFile(join(dir, '.git/hooks/pre-commit'), 'utf8'), /sh scripts\/pre-commit\.sh/);
  if (withNodeModules) await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

describe('pre-commit hook', () => {
  const dirs: string[] = [];
  let repo = '';
  before(async () => {
    repo = await makeRepo(true);
    dirs.push(repo);
  });
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  test('a clean staged file commits', async () => {
    await writeFile(join(repo, 'README.md'), '# demo\n');
    assert.equal(git(repo, 'add', 'README.md').status, 0);
    const commit = git(repo, 'commit', '-q', '-m', 'clean');
    assert.equal(commit.status, 0, commit.stdout + commit.stderr);
  });

  test(
    'planted: a fake AWS key in a STAGED file stops the commit, even after the working copy ' + 'is cleaned',
    async () => {
      await writeFile(join(repo, 'settings.env'), `AWS_ACCESS_KEY_ID=${FAKE_KEY_ID}\n`);
      assert.equal(git(repo, 'add', 'settings.env').status, 0);
      await writeFile(join(repo, 'settings.env'), 'AWS_ACCESS_KEY_ID=\n'); // the index still holds the key
      const before = git(repo, 'rev-parse', 'HEAD').stdout;
      const commit = git(repo, 'commit', '-q', '-m', 'leak');
      assert.notEqual(commit.status, 0, 'the commit must fail');
      assert.match(commit.stderr, /AWSAccessKeyID/);
      assert.match(commit.stderr, /^settings\.env$/m, 'findings name the repository path');
      assert.ok(!(commit.stderr + commit.stdout).includes(FAKE_KEY_ID), 'the secret is masked in output');
      assert.equal(git(repo, 'rev-parse', 'HEAD').stdout, before, 'no commit was made');
    },
  );

  test('staging the cleaned file lets the commit through', () => {
    assert.equal(git(repo, 'add', 'settings.env').status, 0);
    const commit = git(repo, 'commit', '-q', '-m', 'cleaned');
    assert.equal(commit.status, 0, commit.stdout + commit.stderr);
  });

  test('without node_modules the hook fails with a clear message', async () => {
    const bare = await makeRepo(false);
    dirs.push(bare);
    await writeFile(join(bare, 'a.txt'), 'a\n');
    assert.equal(git(bare, 'add', 'a.txt').status, 0);
    const commit = git(bare, 'commit', '-q', '-m', 'no deps');
    assert.notEqual(commit.status, 0);
    assert.match(commit.stderr, /node_modules is missing.*\n.*run 'npm ci'/);
  });
});
