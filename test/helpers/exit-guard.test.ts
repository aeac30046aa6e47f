/**
 * The exit guard `npm test` loads into every test file: a file that passes but leaves a handle open (here a timer
 * standing for a reconnecting Redis client) is reported as a failure after the grace period, not left to hang
 * the run; a file that exits on its own is untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GUARD = join(import.meta.dirname, 'exit-guard.ts');
/** Without the guard the leaking file would run until this kills it. */
const RUN_DEADLINE_MS = 30_000;

async function runFile(
  t: { after(fn: () => unknown): void },
  body: string,
): Promise<{ code: number | null; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'lpa-exit-guard-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'subject.test.mjs');
  writeFileSync(file, `import { test } from 'node:test';\ntest('passes', () => { ${body} });\n`);
  const env: NodeJS.ProcessEnv = { ...process.env, LPA_TEST_EXIT_GRACE_MS: '1000' };
  delete env.NODE_TEST_CONTEXT; // this file runs under the runner too; the subject gets a runner of its own
  const child = spawn(process.execPath, ['--test', '--test-reporter=spec', `--import=${GUARD}`, file], { env });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), RUN_DEADLINE_MS);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(killer);
  return { code, out };
}

test('a file that passes but never exits is ended and reported as failed', async (t) => {
  const started = performance.now();
  const { code, out } = await runFile(t, 'setInterval(() => {}, 2000);');
  assert.equal(code, 1, out);
  assert.match(out, /exit-guard: .*subject\.test\.mjs did not exit 1000 ms after its tests finished/);
  assert.match(out, /ℹ fail 1/);
  assert.ok(performance.now() - started < RUN_DEADLINE_MS, 'ended by the guard, not by the deadline');
});

test('a file that exits on its own passes, without a word from the guard', async (t) => {
  const { code, out } = await runFile(t, 'setTimeout(() => {}, 10);');
  assert.equal(code, 0, out);
  assert.doesNotMatch(out, /exit-guard/);
});
