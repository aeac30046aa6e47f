/**
 * Loaded into every test file's process by `npm test` (node --import): a file whose tests have all finished but
 * whose process does not exit (a leaked handle: a Redis client reconnecting for ever kept CI waiting 15 minutes)
 * is ended EXIT_GRACE_MS later with exit code 1 and the kinds of handle still open. Node's runner then reports
 * the file as failed, so a leak is a red build, never a silent `--test-force-exit`.
 */
import { after } from 'node:test';

/** Long past any cleanup still running after the last hook on a loaded machine; far below CI's patience. */
const EXIT_GRACE_MS = Number(process.env.LPA_TEST_EXIT_GRACE_MS ?? 120_000);

// Only in a test file's own process (node sets this there), never in the runner that spawns them.
if (process.env.NODE_TEST_CONTEXT !== undefined) {
  after(() => {
    // unref: this timer alone never keeps the process alive, so it fires only when something else does.
    setTimeout(() => {
      process.stderr.write(
        `exit-guard: ${process.argv[1] ?? 'this test file'} did not exit ${String(EXIT_GRACE_MS)} ms after its ` +
          `tests finished; handles still open: ${process.getActiveResourcesInfo().join(', ')}\n`,
      );
      process.exit(1);
    }, EXIT_GRACE_MS).unref();
  });
}
