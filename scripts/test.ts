/**
 * `npm test`: every gate, then every test, in one command (CI's .ci/run calls exactly this).
 *
 *   runtime check → system packages (installed when missing) → lint → template lint → secret scan → typecheck
 * → cited paths open (scripts/check-links.ts) → dependency/EOL check → asset build → node:test over unit, integration,
 * edge and browser tests.
 *
 * Each gate's time is printed. The last lines are node's test runner summary. Exit code is the first failure's.
 * `npm test -- <globs>` runs only those test files (after the gates), e.g. `npm test -- src/**\/*.test.ts`.
 */
import { spawnSync } from 'node:child_process';
import { assertSupportedRuntime } from '../src/platform/runtime-guard.ts';

assertSupportedRuntime();

const args = process.argv.slice(2);
const quick = process.env.LPA_TEST_QUICK === '1'; // local inner loop only; CI never sets it

function step(name: string, cmd: string, cmdArgs: string[], env: NodeJS.ProcessEnv = process.env): void {
  const started = performance.now();
  process.stdout.write(`\n▶ ${name}\n`);
  const result = spawnSync(cmd, cmdArgs, { stdio: 'inherit', env });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    process.stdout.write(`✖ ${name} failed after ${seconds}s\n`);
    process.exit(result.status ?? 1);
  }
  process.stdout.write(`✔ ${name} (${seconds}s)\n`);
}

step('system packages', 'bash', ['scripts/ensure-system-packages.sh']);
if (!quick) {
  step('lint (typescript-eslint, security, sdl)', 'npm', ['run', '--silent', 'lint']);
  step('secret scan', 'npm', ['run', '--silent', 'lint:secrets']);
  step('typecheck', 'npm', ['run', '--silent', 'typecheck']);
  step('cited paths open (docs/, README.md, src/ comments)', process.execPath, ['scripts/check-links.ts']);
  step('runtime and dependency freshness', 'npm', ['run', '--silent', 'check:deps']);
}
step('build assets', 'npm', ['run', '--silent', 'build']);

const files = args.length > 0 ? args : ['src/**/*.test.ts', 'scripts/**/*.test.ts', 'test/**/*.test.ts'];
process.stdout.write('\n▶ tests\n');
const result = spawnSync(
  process.execPath,
  // exit-guard: a file that passes but never exits (a leaked handle) fails after a grace period instead of
  // hanging the job; --test-timeout bounds each test.
  [
    '--test',
    '--test-reporter=spec',
    '--test-concurrency=2',
    '--test-timeout=600000',
    '--import=./test/helpers/exit-guard.ts',
    ...files,
  ],
  { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);
process.exit(result.status ?? 1);
