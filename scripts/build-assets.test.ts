/**
 * Two `npm start`s in one checkout build the assets at the same moment (issue 16, point 11): every build must
 * succeed and leave one complete folder. Real processes, started together, several rounds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(import.meta.dirname, 'build-assets.ts');

function build(out: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SCRIPT, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('close', (code) => {
      resolve({ code, output });
    });
  });
}

test('builds started together all succeed and leave one complete asset folder', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lpa-build-assets-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const out = join(dir, 'assets');
  for (let round = 0; round < 3; round++) {
    const results = await Promise.all(Array.from({ length: 3 }, () => build(out)));
    for (const r of results) assert.equal(r.code, 0, r.output);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Record<string, string>;
    assert.ok(Object.keys(manifest).length > 10);
    for (const url of Object.values(manifest))
      assert.ok(existsSync(join(out, url.replace(/^\/assets\//, ''))), `${url} is in the folder`);
    assert.deepEqual(readdirSync(dir), ['assets'], 'no temporary folder left behind');
  }
});
