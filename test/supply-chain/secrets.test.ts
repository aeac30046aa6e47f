// Gate: `npm run lint:secrets` (secretlint over every tracked and unignored file) is clean on this tree,
// and fails on a planted fake AWS key.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Built at run time so that this file itself holds no key-shaped string. */
const FAKE_SECRET = ['wJalrXUtnFEMI', 'K7MDENG', 'bPxRfiCY', 'QWERTYUIOP'].join('/').slice(0, 40);

function lintSecrets(cwd: string): { status: number | null; output: string } {
  const run = spawnSync('npm', ['run', '--silent', 'lint:secrets'], { cwd, encoding: 'utf8' });
  return { status: run.status, output: run.stdout + run.stderr };
}

describe('secret scan over the tree', () => {
  test('the repository is clean', () => {
    const { status, output } = lintSecrets(ROOT);
    assert.equal(status, 0, output);
  });

  describe('planted', () => {
    let dir = '';
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'secrets-gate-'));
      assert.equal(spawnSync('git', ['init', '-q'], { cwd: dir }).status, 0);
      const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
      await writeFile(
        join(dir, 'package.json'),
        JSON.stringify({ name: 'gate', private: true, scripts: { 'lint:secrets': pkg.scripts['lint:secrets'] } }),
      );
      for (const file of ['.secretlintrc.json', '.secretlintignore']) await copyFile(join(ROOT, file), join(dir, file));
      await writeFile(join(dir, '.gitignore'), 'node_modules\n');
      await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
      await writeFile(join(dir, 'README.md'), '# demo\n');
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    test('a clean copy passes, then a fake AWS secret access key fails', async () => {
      assert.equal(lintSecrets(dir).status, 0);
      await writeFile(join(dir, 'config.ini'), `aws_secret_access_key = ${FAKE_SECRET}\n`);
      const { status, output } = lintSecrets(dir);
      assert.notEqual(status, 0);
      assert.match(output, /AWSSecretAccessKey/);
      assert.ok(!output.includes(FAKE_SECRET), 'the secret is masked in output');
    });
  });
});
