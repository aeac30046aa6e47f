// The bench's arithmetic: the ratio is the median of the round pairs, p99 the median round, and the table says so.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { NODE_MEMORY_FLAGS } from '../../scripts/check-dockerfile.ts';
import type { RunResult, ScenarioResult, Side } from '../../bench/report.ts';
import { cpuTicksFromStat, productionNodeFlags } from '../../bench/lib.ts';
import {
  appCpu,
  cpuList,
  cpuSummary,
  growthPer100k,
  heapVerdict,
  lastMajorGc,
  markdown,
  parseProcStat,
  quantile,
  quietSummary,
  ratio,
  ratioSpread,
  rssFlatness,
  rssFlatnessLines,
  requestsAt,
  smapsLine,
  smapsSummary,
  soakVerdict,
  stealShare,
  svg,
  verdict,
  workerRssLine,
} from '../../bench/report.ts';

const side = (rps: number, p99: number, p99Worst = p99): Side => ({
  rps,
  p50: 1,
  p99,
  p99Worst,
  errors: 0,
  requests: rps * 10,
  statuses: { 200: rps * 10 },
});

const scenario = (over: Partial<ScenarioResult> = {}): ScenarioResult => ({
  name: 'static',
  title: '/ (static page)',
  reference: 'static',
  target: 0.6,
  app: side(25_000, 8, 40),
  ceiling: side(40_000, 5),
  pairRatios: [0.2, 0.61, 0.62, 0.63, 0.9],
  ...over,
});

describe('bench report', () => {
  test('quantile picks by nearest rank from sorted values', () => {
    assert.equal(quantile([5, 1, 3], 0.5), 3);
    assert.equal(quantile([4, 1, 3, 2], 0.25), 2);
    assert.equal(quantile([4, 1, 3, 2], 1), 4);
    assert.equal(quantile([], 0.5), 0);
  });

  test('the ratio is the median pair, not moved by one disturbed pair', () => {
    assert.equal(ratio(scenario()), 0.62);
    assert.equal(ratioSpread(scenario()), '0.61–0.63');
    assert.equal(ratio(scenario({ pairRatios: [] })), 25_000 / 40_000, 'without pairs: the totals');
    assert.equal(ratio(scenario({ app: undefined })), undefined);
  });

  test('the verdict checks the ratio target, the median p99 and the tenfold reference', () => {
    assert.deepEqual(verdict(scenario()), { ok: true, why: 'ok' });
    assert.match(verdict(scenario({ pairRatios: [0.5, 0.55, 0.59] })).why, /ratio 0\.550 < 0\.6/);
    assert.match(
      verdict(scenario({ pairRatios: [0.59, 0.5999, 0.6] })).why,
      /ratio 0\.599 < 0\.6/,
      'just under the target never reads as the target',
    );
    assert.match(verdict(scenario({ app: side(25_000, 12) })).why, /p99 12\.0 ms >= 10/);
    assert.match(verdict(scenario({ app: side(15_000, 8) })).why, /< 10x reference/);
  });

  test('the table shows the spread and the worst round', () => {
    const run: RunResult = {
      startedAt: 'now',
      machine: 'm',
      tool: 'wrk',
      connections: 50,
      rounds: 5,
      seconds: 2,
      workers: 1,
      serverCpus: '0',
      clientCpus: '1',
      store: 'redis',
      peakRssBytes: 1 << 20,
      scenarios: [scenario()],
      notes: [],
    };
    const md = markdown(run);
    assert.match(
      md,
      /\| \/ \(static page\) \| 25,000 \| 1\.00 \| 8\.00 \(40\.00\) \| 0 \| 40,000 \| 5\.00 \| 0\.62 \| 0\.61–0\.63 \| – \| – \| – \| ≥ 0\.6 \| yes \(13×\) \| ok \|/,
    );
    const withSteal = markdown({
      ...run,
      scenarios: [scenario({ pairSteal: [0.3, 0, 0.01, 0.05, 0], appRoundP99s: [90, 7, 8, 30, 9] })],
    });
    assert.match(withSteal, /\| 0\.62 \| 0\.61–0\.63 \| 1\.0 \(30\.0\) \| 3 of 5: 0\.62, 8\.00 \| – \| ≥ 0\.6 \|/);
    const withCpu = markdown({
      ...run,
      scenarios: [scenario({ appCpuUs: [120, 130, 110, 125, 400], ceilingCpuUs: [70, 72, 66, 75, 71] })],
    });
    assert.match(withCpu, /\| – \| – \| 125, 71 \(0\.58\) \| ≥ 0\.6 \|/);
    const withRedis = markdown({
      ...run,
      scenarios: [
        scenario({
          appCpuUs: [120, 130, 110, 125, 400],
          ceilingCpuUs: [70, 72, 66, 75, 71],
          redisCpuUs: [9, 8, 30, 7, 8],
        }),
      ],
    });
    assert.match(
      withRedis,
      /\| – \| – \| 125 \(Redis 8\), 71 \(0\.58\) \| ≥ 0\.6 \|/,
      "Redis's own share beside the app's",
    );
    assert.match(svg(run), /^<svg[\s\S]*25,000 \(0\.62\)[\s\S]*<\/svg>\n?$/);
    assert.doesNotMatch(md, /Cold start/, 'no cold start measured, none shown');
    const withCold = markdown({
      ...run,
      coldStart: { title: '/ (static page)', seconds: 2, rps: 8622.2, p50: 5.05, p99: 68.68, errors: 0 },
    });
    assert.match(
      withCold,
      /Cold start, not in the table: the first 2 s of load on the newly started app \(\/ \(static page\)\) ran at 8,622 req\/s, p50 5\.05 ms, p99 68\.68 ms, 0 errors/,
    );
  });
});

describe('CPU per request', () => {
  test("the medians of each side and of the pairs' ceiling ÷ app CPU, not moved by one bad round", () => {
    const c = cpuSummary(scenario({ appCpuUs: [120, 130, 110, 125, 400], ceilingCpuUs: [70, 72, 66, 75, 71] }));
    assert.ok(c !== undefined);
    assert.equal(c.app, 125);
    assert.equal(c.ceiling, 71);
    assert.equal(c.ratio, 70 / 120, 'pairs 0.18, 0.55, 0.58, 0.60, 0.60: the middle one');
    assert.equal(cpuSummary(scenario()), undefined, 'older results have no CPU figures');
    assert.equal(cpuSummary(scenario({ appCpuUs: [1, 2], ceilingCpuUs: [1] })), undefined, 'unpaired');
    assert.equal(cpuSummary(scenario({ appCpuUs: [0], ceilingCpuUs: [5] })), undefined, 'no CPU measured');
  });

  test('reads utime and stime from /proc/<pid>/stat, whatever the command name holds', () => {
    // Fields: pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    assert.equal(cpuTicksFromStat('4242 (node) S 1 4242 4242 0 -1 4194304 100 0 0 0 1234 56 0 0 20 0 11 0'), 1290);
    assert.equal(cpuTicksFromStat('4242 (odd) name (x)) R 1 4242 4242 0 -1 4194304 100 0 0 0 7 3 0 0 20 0 11 0'), 10);
    assert.equal(cpuTicksFromStat('garbage'), 0);
  });
});

describe('CPU steal', () => {
  const stat = (steal0: number, steal1: number, busy: number) =>
    [
      'cpu  1 2 3 4 5 6 7 8 0 0',
      `cpu0 ${String(busy)} 0 0 0 0 0 0 ${String(steal0)} 0 0`,
      `cpu1 ${String(busy)} 0 0 0 0 0 0 ${String(steal1)} 0 0`,
      'intr 1 2 3',
    ].join('\n');

  test('reads per-CPU counters, not the total line, and the taskset list forms', () => {
    const parsed = parseProcStat(stat(1, 2, 100));
    assert.deepEqual([...parsed.keys()], [0, 1]);
    assert.equal(parsed.get(1)?.[7], 2);
    assert.deepEqual(cpuList('0', [0, 1]), [0]);
    assert.deepEqual(cpuList('0-2,5', [0, 1]), [0, 1, 2, 5]);
    assert.deepEqual(cpuList(null, [0, 1]), [0, 1]);
  });

  test("steal is the worst core's share of the ticks between two readings", () => {
    const before = parseProcStat(stat(0, 0, 100));
    const after = parseProcStat(stat(10, 30, 190)); // cpu0: 90 busy + 10 steal; cpu1: 90 busy + 30 steal
    assert.equal(stealShare(before, after, [0]), 0.1);
    assert.equal(stealShare(before, after, [0, 1]), 0.25);
    assert.equal(stealShare(before, after, [7]), 0, 'an unknown CPU reads as none');
  });

  test('quiet pairs: the ratio and app p99 over only the pairs the hypervisor left alone', () => {
    const s = scenario({
      pairRatios: [0.4, 0.5, 0.6, 0.7],
      pairSteal: [0.2, 0.01, 0.0, 0.019],
      appRoundP99s: [300, 9, 8, 10],
    });
    assert.deepEqual(quietSummary(s), { pairs: 3, of: 4, ratio: 0.6, appP99: 9 });
    assert.deepEqual(quietSummary({ ...s, pairSteal: [1, 1, 1, 1] }), { pairs: 0, of: 4 });
    assert.equal(quietSummary(scenario()), undefined, 'no steal readings: nothing to say');
    assert.equal(ratio(s), 0.6, "the verdict's ratio still uses every pair");
  });
});

describe('soak arithmetic', () => {
  test('reads the live heap after the last full collection from --trace-gc output', () => {
    const text = [
      '{"level":"info","msg":"request"}',
      '[7611:0x3c3ee000]    40976 ms: Mark-Compact 58.6 (184.8) -> 21.6 (176.3) MB, pooled: 23 MB, 7.98 / 0.01 ms',
      '[7611:0x3c3ee000]    41000 ms: Scavenge 60.1 (184.8) -> 40.0 (176.3) MB, 1.2 / 0.0 ms',
      '[7611:0x3c3ee000]    43982 ms: Mark-Compact (reduce) 58.3 (185.3) -> 20.5 (175.3) MB, pooled: 24 MB',
    ].join('\n');
    assert.deepEqual(lastMajorGc(text), { liveBytes: 20.5 * 1048576, committedBytes: 175.3 * 1048576 });
    assert.equal(lastMajorGc('Scavenge 1 (2) -> 1 (2) MB'), undefined);
  });

  test('a flat live heap passes and a growing one does not, whatever RSS does', () => {
    const mib = 1048576;
    const flat = Array.from({ length: 20 }, (_, i) => ({
      requests: i * 25_000,
      rssBytes: (300 + i) * mib,
      liveHeapBytes: (21 + (i % 2) * 0.3) * mib,
    }));
    const leak = flat.map((s, i) => ({ ...s, liveHeapBytes: (21 + i * 2) * mib }));
    assert.equal(heapVerdict(flat)?.flat, true);
    assert.equal(heapVerdict(leak)?.flat, false);
    assert.ok((heapVerdict(leak)?.slopePer100k ?? 0) > 7 * mib);
    assert.equal(soakVerdict(flat).flat, false, 'RSS in the same run grew 4 MiB per 100,000 requests');
    assert.equal(heapVerdict(flat.slice(0, 3)), undefined, 'too few samples to say');
    // RSS split into V8's committed heap and the rest, at the first sample after warm-up (20 %) and the last.
    const split = heapVerdict(flat.map((s, i) => ({ ...s, heapCommittedBytes: (150 + i) * mib })));
    assert.ok(split !== undefined);
    assert.equal(split.committedAfterWarmup, 154 * mib);
    assert.equal(split.committedEnd, 169 * mib);
    assert.equal(split.outsideAfterWarmup, 150 * mib);
    assert.equal(split.outsideEnd, 150 * mib);
    assert.equal(heapVerdict(flat)?.committedEnd, undefined, 'no committed figure without one in the trace');
    assert.equal(
      growthPer100k([
        { requests: 0, value: 0 },
        { requests: 100_000, value: 5 },
      ]),
      5,
    );
  });
});

describe('issue 20: the mixed scenario, worker RSS and the memory run', () => {
  const mib = 1048576;
  const run: RunResult = {
    startedAt: 'now',
    machine: 'm',
    tool: 'wrk',
    connections: 50,
    rounds: 3,
    seconds: 2,
    workers: 1,
    serverCpus: '0',
    clientCpus: '1',
    store: 'redis',
    peakRssBytes: 300 * mib,
    scenarios: [],
    notes: [],
  };

  test('a scenario without a ceiling shows its own req/s, p99 and CPU per request, and is not judged', () => {
    const mixed: ScenarioResult = {
      name: 'mixed',
      title: 'mixed: visits',
      reference: 'static',
      app: side(900, 40, 95),
      appCpuUs: [800, 1200, 1000],
      appRoundP99s: [30, 40, 95],
    };
    assert.equal(appCpu(mixed), 1000);
    assert.equal(appCpu({ ...mixed, appCpuUs: [] }), undefined);
    const md = markdown({ ...run, scenarios: [mixed] });
    assert.match(
      md,
      /\| mixed: visits \| 900 \| 1\.00 \| 40\.00 \(95\.00\) \| 0 \| – \| – \| – \| – \| – \| – \| 1000, no ceiling \| \| – \| no ceiling: not judged \|/,
    );
    const failing = markdown({ ...run, scenarios: [{ ...mixed, app: { ...side(900, 40), errors: 3 } }] });
    assert.match(failing, /\| 3 errors \|$/m);
    assert.equal(verdict(mixed).ok, true, 'no target, no errors');
  });

  test("each worker's own RSS, peak and at the end, not a sum over the process tree", () => {
    assert.equal(
      workerRssLine([{ pid: 42, peakBytes: 160 * mib, finalBytes: 141.25 * mib }]),
      "RSS of each worker (its own, not a cluster primary's): pid 42 peak 160.0 MiB, at the end 141.3 MiB.",
    );
    assert.match(
      workerRssLine([
        { pid: 1, peakBytes: mib, finalBytes: mib },
        { pid: 2, peakBytes: 2 * mib, finalBytes: mib },
      ]),
      /pid 1 peak 1\.0 MiB, at the end 1\.0 MiB; pid 2 peak 2\.0 MiB/,
    );
    assert.match(
      markdown({ ...run, workerRss: [{ pid: 7, peakBytes: 150 * mib, finalBytes: 120 * mib }] }),
      /RSS of each worker .*pid 7 peak 150\.0 MiB, at the end 120\.0 MiB\./,
    );
    assert.doesNotMatch(markdown(run), /RSS of each worker/, 'older results have none');
  });

  test(
    'flat: RSS at the end at most 5 % above RSS from 100,000 requests, both under 150 MiB; a ' +
      'transient sample decides neither',
    () => {
      // 40 samples, 25,000 requests apart (0 to 975,000): windows of 5 % are 48,750 requests, two or three samples.
      const samples = (rss: (i: number) => number) =>
        Array.from({ length: 40 }, (_, i) => ({ requests: i * 25_000, rssBytes: rss(i) * mib }));
      const steady = (i: number) => (i < 4 ? 120 + i * 5 : 140 + (i > 30 ? 5 : 0));
      const ok = rssFlatness(samples(steady));
      assert.ok(ok !== undefined);
      assert.equal(ok.atRequests, 100_000);
      assert.equal(ok.rssAt, 140 * mib);
      assert.equal(ok.endFromRequests, 975_000 - 48_750);
      assert.equal(ok.rssEnd, 145 * mib);
      assert.equal(ok.flat, true);
      assert.equal(ok.underLimit, true);
      const spiky = rssFlatness(samples((i) => (i === 39 || i === 5 ? 200 : steady(i))));
      assert.equal(spiky?.rssEnd, 145 * mib, 'one sample on a sign-in at the end is not the end level');
      assert.equal(spiky.rssPeak, 200 * mib, 'but it is the highest sample');
      assert.equal(spiky.shareOverLimit, 2 / 36, 'and the share of samples above 150 MiB counts it');
      assert.equal(spiky.samplesFrom, 36);
      assert.equal(spiky.flat, true);
      assert.equal(rssFlatness(samples((i) => (i > 35 ? 148 : steady(i))))?.flat, false, '148 > 140 × 1.05');
      assert.equal(rssFlatness(samples((i) => (i < 4 ? 120 : 151)))?.underLimit, false, 'a steady 151 MiB');
      assert.equal(
        rssFlatness(samples((i) => (i < 4 ? 300 : 140)))?.underLimit,
        true,
        'warm-up before 100,000 requests is not judged',
      );
      assert.equal(
        rssFlatness([
          { requests: 0, rssBytes: mib },
          { requests: 50_000, rssBytes: mib },
        ]),
        undefined,
        'never reached 100,000 requests',
      );
      const lines = rssFlatnessLines(ok).join('\n');
      assert.match(
        lines,
        /\| worker RSS from 100,000 requests \(median of the 2 samples in the next 5 % of the run\) \| 140\.0 MiB \|/,
      );
      assert.match(
        lines,
        /\| worker RSS at the end \(median of the 2 samples from 926,250 requests\) \| 145\.0 MiB \|/,
      );
      assert.match(lines, /\| samples from 100,000 requests on above 150\.0 MiB \| 0\.0 % of 36 \|/);
      assert.match(lines, /\| flat: end ≤ RSS from 100,000 \+ 5 % \(147\.0 MiB\) \| yes \|/);
      assert.match(lines, /\| at or under 150\.0 MiB \(both medians\) \| yes \|/);
      assert.match(rssFlatnessLines({ ...ok, flat: false, underLimit: false }).join('\n'), /\| NO \|[\s\S]*\| NO \|/);
    },
  );

  test('sampled every 100 ms, each level is the median of many samples, so sign-ins in flight decide neither', () => {
    // 500,000 requests in 66 s sampled every 100 ms: 660 samples. The worker sits at 137 MiB; a third of the samples
    // land on a sign-in's scrypt buffer (+32 MiB), as on a saturated core where one hash takes long.
    const samples = Array.from({ length: 661 }, (_, i) => ({
      requests: Math.round((i * 500_000) / 660),
      rssBytes: (i % 3 === 0 ? 169 : 137) * mib,
    }));
    const f = rssFlatness(samples);
    assert.ok(f !== undefined);
    assert.ok(f.samplesAt >= 30 && f.samplesEnd >= 30, `${String(f.samplesAt)} and ${String(f.samplesEnd)} samples`);
    assert.equal(f.rssAt, 137 * mib);
    assert.equal(f.rssEnd, 137 * mib);
    assert.equal(f.underLimit, true);
    assert.equal(f.rssPeak, 169 * mib);
    assert.ok(Math.abs(f.shareOverLimit - 1 / 3) < 0.01, String(f.shareOverLimit));
    // Most samples over the limit is a level over it: the median does not hide a steady state.
    const most = rssFlatness(samples.map((x, i) => ({ ...x, rssBytes: (i % 3 === 0 ? 137 : 169) * mib })));
    assert.equal(most?.underLimit, false);
  });

  test('a sample taken between two counts of the load gets the requests interpolated between them', () => {
    const checkpoints = [
      { atMs: 1000, requests: 0 },
      { atMs: 3000, requests: 20_000 },
      { atMs: 3200, requests: 20_000 },
      { atMs: 5200, requests: 30_000 },
    ];
    assert.equal(requestsAt(500, checkpoints), 0, 'before the first: its count');
    assert.equal(requestsAt(1500, checkpoints), 5000);
    assert.equal(requestsAt(3000, checkpoints), 20_000);
    assert.equal(requestsAt(3100, checkpoints), 20_000, 'between rounds: no requests counted');
    assert.equal(requestsAt(4200, checkpoints), 25_000);
    assert.equal(requestsAt(9000, checkpoints), 30_000, 'after the last: the last count');
    assert.equal(requestsAt(9000, []), 0);
  });

  test("a worker's resident memory by kind of mapping, from smaps", () => {
    const map = (head: string, kb: number) => `${head}\nSize:  ${String(kb * 2)} kB\nRss:  ${String(kb)} kB\nPss: 1 kB`;
    const text = [
      map('55a0-55a1 r--p 00000000 fe:00 1                          /usr/local/bin/node', 1024),
      map('55a1-55a2 r-xp 00002000 fe:00 1                          /usr/local/bin/node', 2048),
      map('55b0-55b1 rw-p 00000000 00:00 0                          [heap]', 4096),
      map('7f00-7f01 rw-p 00000000 00:00 0 ', 8192),
      map('7f01-7f02 rw-p 00000000 00:00 0', 512),
      map('7f02-7f03 r--p 00000000 fe:00 2                          /usr/lib/x86_64-linux-gnu/libc.so.6', 256),
      map('7ffc-7ffd rw-p 00000000 00:00 0                          [stack]', 128),
    ].join('\n');
    const s = smapsSummary(text, '/usr/local/bin/node');
    assert.deepEqual(s, {
      binary: 3 * mib,
      files: 256 * 1024,
      brk: 4 * mib,
      anonymous: 8.5 * mib,
      other: 128 * 1024,
    });
    assert.match(smapsLine(s), /^node binary 3\.0 MiB, other files 0\.3 MiB, glibc main arena 4\.0 MiB, anonymous/);
  });

  test("the bench starts the app with the Dockerfile CMD's Node flags", () => {
    assert.deepEqual(
      productionNodeFlags('FROM x\nCMD ["node", "--max-semi-space-size=8", "--a=1", "src/server.ts"]\n'),
      ['--max-semi-space-size=8', '--a=1'],
    );
    assert.deepEqual(productionNodeFlags('CMD ["node", "src/server.ts"]'), []);
    assert.deepEqual(
      productionNodeFlags(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8')),
      [...NODE_MEMORY_FLAGS],
      "the repository's Dockerfile",
    );
    assert.deepEqual(
      productionNodeFlags('HEALTHCHECK CMD ["node", "-e", "x"]\nCMD ["npm", "--x", "start"]'),
      [],
      'only node, only the CMD instruction',
    );
  });
});
