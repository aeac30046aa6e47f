// Gate: scripts/lint-templates.ts fails on an unreviewed `| safe`, `{% autoescape false %}`, markSafe or SafeString.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { applyAllowList, lintTemplates, parseAllowList, scanText } from '../../scripts/lint-templates.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('scanText', () => {
  test('flags every form of the safe filter and autoescape false, table-driven', () => {
    const bad = [
      '{{ html | safe }}',
      '{{ html|safe }}',
      '{{ x | trim | safe }}',
      '{{ x |safe() }}',
      '{% autoescape false %}',
      '{%- autoescape false -%}',
    ];
    for (const line of bad) assert.equal(scanText('src/views/a.njk', line).length, 1, line);
  });

  test('leaves escaped output and look-alikes alone', () => {
    const good = [
      '{{ html }}',
      '{{ x | safeUrl }}',
      '{{ x | unsafe_name }}',
      '{% autoescape true %}',
      '<p>safe as houses</p>',
    ];
    for (const line of good) assert.deepEqual(scanText('src/views/a.njk', line), [], line);
  });

  test('flags markSafe, SafeString and the markedSafe wrapper in TypeScript, with the line number', () => {
    const code =
      "import nunjucks from 'nunjucks';\nconst a = nunjucks.runtime.markSafe(x);\nconst b = new " +
      'nunjucks.runtime.SafeString(y);\nconst c = markedSafe (z);\n';
    assert.deepEqual(
      scanText('src/platform/views.ts', code).map((f) => [f.line, f.kind]),
      [
        [2, 'markSafe'],
        [3, 'SafeString'],
        [4, 'markedSafe'],
      ],
    );
  });
});

describe('allow-list', () => {
  const finding = { file: 'src/views/a.njk', line: 3, kind: 'safe filter', text: '{{ x | safe }}' };

  test('an entry with the exact file:line excuses the finding; another line does not', () => {
    assert.deepEqual(
      applyAllowList([finding], [{ location: 'src/views/a.njk:3', reason: 'govuk macro output' }]).violations,
      [],
    );
    assert.equal(
      applyAllowList([finding], [{ location: 'src/views/a.njk:4', reason: 'govuk macro output' }]).violations.length,
      1,
    );
  });

  test('an entry that matches nothing is reported as stale', () => {
    assert.equal(applyAllowList([], [{ location: 'src/views/a.njk:4', reason: 'govuk macro output' }]).stale.length, 1);
  });

  test('entries need a location and a real reason', () => {
    assert.throws(() => parseAllowList('{}'), /JSON array/);
    assert.throws(() => parseAllowList('[{"location":"a.njk","reason":"because it is fine"}]'), /location/);
    assert.throws(() => parseAllowList('[{"location":"a.njk:1","reason":""}]'), /reason/);
  });

  test('the committed allow-list is valid and short', async () => {
    const { readFile } = await import('node:fs/promises');
    const entries = parseAllowList(await readFile(join(ROOT, 'scripts/template-allowlist.json'), 'utf8'));
    assert.ok(entries.length <= 10, `allow-list has ${entries.length} entries: review it`);
  });
});

describe('planted violation in a temporary project', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lint-templates-'));
    await mkdir(join(dir, 'src', 'features', 'demo'), { recursive: true });
    await writeFile(join(dir, 'src', 'features', 'demo', 'clean.njk'), '<h1>{{ title }}</h1>\n');
    await writeFile(join(dir, 'allow.json'), '[]');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a clean tree passes, then a `| safe` filter fails at its file:line, then allow-listing it passes', async () => {
    assert.deepEqual((await lintTemplates(dir, join(dir, 'allow.json'))).violations, []);
    await writeFile(
      join(dir, 'src', 'features', 'demo', 'bad.njk'),
      '<h1>{{ title }}</h1>\n<div>{{ body | safe }}</div>\n',
    );
    const { violations } = await lintTemplates(dir, join(dir, 'allow.json'));
    assert.deepEqual(
      violations.map((v) => `${v.file}:${v.line}`),
      ['src/features/demo/bad.njk:2'],
    );
    await writeFile(
      join(dir, 'allow.json'),
      JSON.stringify([{ location: 'src/features/demo/bad.njk:2', reason: 'test: reviewed HTML' }]),
    );
    assert.deepEqual((await lintTemplates(dir, join(dir, 'allow.json'))).violations, []);
  });
});

describe('the real script over this repository', () => {
  test('exits 0 on the current tree (every opt-out reviewed)', () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'scripts/lint-templates.ts')], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stdout + run.stderr);
  });
});
