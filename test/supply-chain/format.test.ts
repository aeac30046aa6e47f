/**
 * The layout gate of ADR 0051: Prettier's check and ESLint's 120-column limit fail on planted offenders, and the
 * repository passes both.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as prettier from 'prettier';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'node_modules', '.bin');
const options = {
  ...(JSON.parse(readFileSync(join(ROOT, '.prettierrc.json'), 'utf8')) as prettier.Options),
  filepath: 'src/x.ts',
};

function eslintStdin(source: string): { status: number | null; out: string } {
  const r = spawnSync(join(BIN, 'eslint'), ['--stdin', '--stdin-filename', 'scripts/planted.js'], {
    cwd: ROOT,
    input: source,
    encoding: 'utf8',
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('layout (ADR 0051)', () => {
  test('prettier: a planted badly laid out file fails the check, the same file formatted passes', async () => {
    const bad = 'export const  x = {a:1,\n  b : 2}\n';
    assert.equal(await prettier.check(bad, options), false);
    assert.equal(await prettier.check(await prettier.format(bad, options), options), true);
  });

  test('max-len: a planted 121-character comment fails; a long string literal is allowed', () => {
    const long = eslintStdin(`// ${'x'.repeat(118)}\nexport const y = 1;\n`);
    assert.equal(long.status, 1, long.out);
    assert.match(long.out, /max-len/);
    const fits = eslintStdin(`// ${'x'.repeat(117)}\nexport const y = 1;\n`);
    assert.equal(fits.status, 0, fits.out);
    const literal = eslintStdin(`export const s =\n  '${'y'.repeat(130)}';\n`);
    assert.equal(literal.status, 0, literal.out);
  });

  test('the repository passes prettier --check', () => {
    const r = spawnSync(join(BIN, 'prettier'), ['--check', '--log-level', 'warn', '.'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
