/**
 * The import circles gate of ADR 0055 (scripts/lint-cycles.ts, run by `npm run lint`): planted circles are found
 * however the import is written (a value, a type, `import()`, a longer loop, a file importing itself), a chain
 * without a loop is not, and the repository has none.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findImportCircles, importsOf } from '../../scripts/lint-cycles.ts';

const ROOT = join(import.meta.dirname, '..', '..');

describe('import circles (ADR 0055)', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lpa-cycles-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function plant(name: string, files: Record<string, string>): Promise<string> {
    const root = join(dir, name);
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), text);
    }
    return root;
  }

  test('the two circles this gate came with are found: a contract and a loader of its backends', async () => {
    const root = await plant('loader', {
      'src/backends/store.ts':
        "export interface Store { get(): string }\nexport async function open() { return (await import('./disk-store.ts')).disk; }\n",
      'src/backends/disk-store.ts':
        "import type { Store } from './store.ts';\nexport const disk: Store = { get: () => '' };\n",
    });
    assert.deepEqual(await findImportCircles(root, ['src']), [
      {
        files: ['src/backends/disk-store.ts', 'src/backends/store.ts'],
        imports: [
          'src/backends/disk-store.ts → src/backends/store.ts',
          'src/backends/store.ts → src/backends/disk-store.ts',
        ],
      },
    ]);
  });

  test('a longer loop across folders, export-from, require and a file importing itself', async () => {
    const root = await plant('loops', {
      'src/platform/a.ts': "export { b } from '../backends/b.ts';\nexport const a = 1;\n",
      'src/backends/b.ts': "import { c } from '../sessions/c.ts';\nexport const b = c;\n",
      'src/sessions/c.ts': "const { a } = require('../platform/a.ts');\nexport const c = a;\n",
      'scripts/self.js': "export const s = 1;\nexport { s as t } from './self.js';\n",
    });
    const found = await findImportCircles(root, ['src', 'scripts']);
    assert.deepEqual(
      found.map((c) => c.files),
      [['scripts/self.js'], ['src/backends/b.ts', 'src/platform/a.ts', 'src/sessions/c.ts']],
    );
  });

  test('a chain, a diamond and package imports are not circles', async () => {
    const root = await plant('fine', {
      'src/app.ts':
        "import { x } from './x.ts';\nimport { y } from './y.ts';\nimport 'node:fs';\nexport const app = x + y;\n",
      'src/x.ts': "import { z } from './z.ts';\nexport const x = z;\n",
      'src/y.ts': "import type { Z } from './z.ts';\nimport fastify from 'fastify';\nexport const y: Z = 1;\n",
      'src/z.ts': 'export type Z = number;\nexport const z = 1;\n',
    });
    assert.deepEqual(await findImportCircles(root, ['src']), []);
  });

  test('every form of a relative import is read; strings that are not imports are not', () => {
    const text = [
      "import a from './a.ts';",
      "import type { B } from '../b.ts';",
      "export * from './c.ts';",
      "const d = await import('./d.ts');",
      "const e = require('./e.cjs');",
      "type F = import('./f.ts').F;",
      "import 'fastify';",
      "const g = './g.ts';",
      'const h = await import(g);',
    ].join('\n');
    assert.deepEqual(importsOf('x.ts', text), ['./a.ts', '../b.ts', './c.ts', './d.ts', './e.cjs', './f.ts']);
  });

  test('the repository has no import circle, and `npm run lint` runs the gate', async () => {
    assert.deepEqual(await findImportCircles(), []);
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.match(pkg.scripts.lint ?? '', /node scripts\/lint-cycles\.ts/);
  });

  test('the command exits 1 and names the files of a planted circle', async () => {
    const root = await plant('command', {
      'src/a.ts': "import { b } from './b.ts';\nexport const a = b;\n",
      'src/b.ts': "import type { a } from './a.ts';\nexport const b = 1;\nexport type A = typeof a;\n",
    });
    const script = join(ROOT, 'scripts', 'lint-cycles.ts');
    const r = spawnSync(process.execPath, [script, '--root', root], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /src\/a\.ts → src\/b\.ts/);
    assert.match(r.stderr, /src\/b\.ts → src\/a\.ts/);
  });
});
