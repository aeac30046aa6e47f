// The A/B table of Node flags: medians per variant, and CPU per request against the base variant round by round.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { abRun, abTable } from '../../bench/ab-summary.ts';
import type { RunResult } from '../../bench/report.ts';

const mib = 1048576;

test('each variant against the base in the same round, base first, errors summed', () => {
  const runs = [
    { variant: 'cmd', round: 1, rps: 400, cpuUs: 1100, errors: 0, peakRssBytes: 150 * mib },
    { variant: 'def', round: 1, rps: 500, cpuUs: 1000, errors: 0, peakRssBytes: 350 * mib },
    { variant: 'def', round: 2, rps: 900, cpuUs: 800, errors: 1, peakRssBytes: 360 * mib },
    { variant: 'cmd', round: 2, rps: 1000, cpuUs: 1000, errors: 0, peakRssBytes: 155 * mib },
  ];
  const lines = abTable(runs, 'def').split('\n');
  assert.match(lines[2] ?? '', /^\| def \| 2 \| 700 \(500–900\) \| 900 \(800–1,000\) \| – \| 1 \| 350–360 MiB \|$/);
  assert.match(
    lines[3] ?? '',
    /^\| cmd \| 2 \| 700 \(400–1,000\) \| 1,050 \(1,000–1,100\) \| 1\.18 \(1\.10–1\.25\) \| 0 \|/,
  );
});

test('a result file gives its variant and round from its name', () => {
  const run = {
    scenarios: [{ name: 'mixed', title: 'm', reference: 'static', app: { rps: 5, errors: 0 }, appCpuUs: [7] }],
    workerRss: [{ pid: 1, peakBytes: 3 * mib, finalBytes: mib }],
  } as unknown as RunResult;
  assert.deepEqual(abRun('memrun-ab-api-s16o384-12.json', run), {
    variant: 's16o384',
    round: 12,
    rps: 5,
    cpuUs: 7,
    errors: 0,
    peakRssBytes: 3 * mib,
  });
  assert.equal(abRun('bench.json', run), undefined);
});
