/**
 * Bench results as a Markdown table, JSON and a hand-written SVG bar chart (no dependency).
 * Pure functions: test/bench/report.test.ts checks them.
 */

export interface Side {
  readonly rps: number;
  readonly p50: number;
  /** The median of the rounds' p99s: one round disturbed by the shared machine does not decide it. */
  readonly p99: number;
  /** The worst round's p99, reported beside it. */
  readonly p99Worst?: number;
  readonly errors: number;
  readonly requests: number;
  readonly statuses: Readonly<Record<string, number>>;
}

export interface ScenarioResult {
  readonly name: string;
  readonly title: string;
  readonly skipped?: string;
  readonly app?: Side;
  readonly ceiling?: Side;
  /** Bytes of the response body (as sent). */
  readonly bodyBytes?: number;
  /** Minimum ratio to the ceiling this scenario must reach (issue 6), if it has a target. */
  readonly target?: number;
  /** Reference figure the 10x check compares with. */
  readonly reference: 'static' | 'gzip';
  /** app ÷ ceiling requests per second in each round pair (the two run back to back). */
  readonly pairRatios?: readonly number[];
  /** Per pair, the largest share of a bench core's time the hypervisor took (steal) during either round; 0 to 1. */
  readonly pairSteal?: readonly number[];
  /** Per pair, the app round's p99 in ms (the pair's order, as pairRatios). */
  readonly appRoundP99s?: readonly number[];
  /**
   * Per pair, CPU time (user + system) per request in µs: the app's, with Redis's, and the ceiling's. Not in the
   * verdict.
   */
  readonly appCpuUs?: readonly number[];
  /** Redis's own CPU per request in each app round (already inside appCpuUs). */
  readonly redisCpuUs?: readonly number[];
  readonly ceilingCpuUs?: readonly number[];
  readonly note?: string;
}

export interface RunResult {
  readonly startedAt: string;
  readonly machine: string;
  readonly tool: string;
  readonly connections: number;
  readonly rounds: number;
  readonly seconds: number;
  readonly workers: number;
  readonly serverCpus: string;
  readonly clientCpus: string;
  readonly store: string;
  readonly peakRssBytes: number;
  /**
   * Each worker's own RSS (with WORKERS=1 the app process itself; never a cluster primary's), at its peak and at the
   * end.
   */
  readonly workerRss?: readonly WorkerRss[];
  readonly scenarios: readonly ScenarioResult[];
  /** The first seconds of load on the freshly started app (before the first scenario's warm-up ends). */
  readonly coldStart?: ColdStart;
  readonly notes: readonly string[];
}

/** One worker process's memory: VmHWM (peak) and VmRSS at the end of the run, from /proc/<pid>/status. */
export interface WorkerRss {
  readonly pid: number;
  readonly peakBytes: number;
  readonly finalBytes: number;
}

/** Load on an app that has just started, measured apart from the rounds (which measure it warm). */
export interface ColdStart {
  readonly title: string;
  readonly seconds: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

/** The figures issue 6 quotes, measured on this machine class, one core each. */
export const REFERENCES = {
  flaskStatic: 1200,
  expressPage: 2000,
  expressGzip: 340,
} as const;

export const STATIC_P99_LIMIT_MS = 10;

/** A round pair is "quiet" when the hypervisor took less than this share of any bench core during it. */
export const QUIET_STEAL = 0.02;

// ---------------------------------------------------------------------------------------------------------
// CPU steal: on a shared VM the hypervisor sometimes runs other tenants on our cores. The load generator and
// server then both stall, latency tails grow by tens of ms, and a pair's ratio says more about the neighbours
// than about the app. Each round reads /proc/stat before and after, so the report can show it.

/**
 * Per-CPU tick counters from /proc/stat text: cpu number → [user, nice, system, idle, iowait, irq, softirq, steal,
 * ...].
 */
export function parseProcStat(text: string): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) out.set(Number(m[1]), m[2].trim().split(/\s+/).map(Number));
  }
  return out;
}

/** CPU numbers from a taskset list ("0", "0,2", "0-1"); null: every CPU in `all`. */
export function cpuList(spec: string | null, all: readonly number[]): number[] {
  if (spec === null) return [...all];
  const out = new Set<number>();
  for (const part of spec.split(',')) {
    const [a, b] = part.split('-').map((x) => Number(x.trim()));
    if (a === undefined || !Number.isInteger(a)) continue;
    const end = b === undefined || !Number.isInteger(b) ? a : b;
    for (let c = a; c <= end; c++) out.add(c);
  }
  return [...out];
}

/** The largest share of elapsed ticks that went to steal on any of `cpus` between two readings (0 to 1). */
export function stealShare(
  before: ReadonlyMap<number, readonly number[]>,
  after: ReadonlyMap<number, readonly number[]>,
  cpus: readonly number[],
): number {
  let worst = 0;
  for (const cpu of cpus) {
    const a = before.get(cpu);
    const b = after.get(cpu);
    if (a === undefined || b === undefined) continue;
    const delta = b.map((v, i) => v - (a[i] ?? 0));
    const total = delta.slice(0, 8).reduce((n, v) => n + v, 0);
    if (total > 0) worst = Math.max(worst, (delta[7] ?? 0) / total);
  }
  return worst;
}

export interface QuietSummary {
  readonly pairs: number;
  readonly of: number;
  readonly ratio?: number;
  readonly appP99?: number;
}

/** The ratio and app p99 over only the quiet pairs (steal below QUIET_STEAL), shown beside the all-pairs figures. */
export function quietSummary(s: ScenarioResult, threshold = QUIET_STEAL): QuietSummary | undefined {
  const { pairRatios, pairSteal, appRoundP99s } = s;
  if (pairRatios === undefined || pairSteal?.length !== pairRatios.length) return undefined;
  const quiet = pairRatios.flatMap((_r, i) => ((pairSteal[i] ?? 1) < threshold ? [i] : []));
  if (quiet.length === 0) return { pairs: 0, of: pairRatios.length };
  const p99s = appRoundP99s === undefined ? [] : quiet.map((i) => appRoundP99s[i] ?? 0);
  return {
    pairs: quiet.length,
    of: pairRatios.length,
    ratio: quantile(
      quiet.map((i) => pairRatios[i] ?? 0),
      0.5,
    ),
    ...(p99s.length === 0 ? {} : { appP99: quantile(p99s, 0.5) }),
  };
}

export interface CpuSummary {
  readonly app: number;
  readonly ceiling: number;
  readonly ratio: number;
}

/**
 * The CPU each side spent per request (medians over the rounds) and the median of the pairs' ceiling ÷ app CPU:
 * what the app's own work costs against the ceiling's. Time the hypervisor gave other tenants is in neither, so
 * steal moves this far less than the requests-per-second ratio; it explains the verdict, it does not replace it.
 */
export function cpuSummary(s: ScenarioResult): CpuSummary | undefined {
  const { appCpuUs: app, ceilingCpuUs: ceiling } = s;
  if (app === undefined || ceiling?.length !== app.length || app.length === 0) return undefined;
  const pairs = app.flatMap((a, i) => (a > 0 && (ceiling[i] ?? 0) > 0 ? [(ceiling[i] ?? 0) / a] : []));
  if (pairs.length === 0) return undefined;
  return { app: quantile(app, 0.5), ceiling: quantile(ceiling, 0.5), ratio: quantile(pairs, 0.5) };
}

/** The app's CPU per request (median over the rounds), for scenarios with or without a ceiling. */
export function appCpu(s: ScenarioResult): number | undefined {
  const measured = (s.appCpuUs ?? []).filter((v) => v > 0);
  return measured.length === 0 ? undefined : quantile(measured, 0.5);
}

/** The value below which a share `q` (0 to 1) of the sorted values lie (nearest rank). */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))] ?? 0;
}

/**
 * The ratio to the ceiling: the median of the round pairs' ratios. Each app round runs right beside a ceiling
 * round, so the machine's slow swings (other tenants) cancel within a pair, and the median is not moved by a
 * pair one of whose rounds was disturbed. Without pairs, the ratio of the totals.
 */
export function ratio(s: ScenarioResult): number | undefined {
  if (s.app === undefined || s.ceiling === undefined || s.ceiling.rps === 0) return undefined;
  if (s.pairRatios !== undefined && s.pairRatios.length > 0) return quantile(s.pairRatios, 0.5);
  return s.app.rps / s.ceiling.rps;
}

/** The middle half of the pair ratios, as "q1–q3", to show how noisy the run was. */
export function ratioSpread(s: ScenarioResult): string {
  if (s.pairRatios === undefined || s.pairRatios.length < 2) return '';
  return `${quantile(s.pairRatios, 0.25).toFixed(2)}–${quantile(s.pairRatios, 0.75).toFixed(2)}`;
}

/** The slower of the reference servers for what this scenario does, times ten. */
export function tenTimesFloor(s: ScenarioResult): number {
  return s.reference === 'gzip'
    ? 10 * REFERENCES.expressGzip
    : 10 * Math.max(REFERENCES.flaskStatic, REFERENCES.expressPage);
}

export interface Verdict {
  readonly ok: boolean;
  readonly why: string;
}

export function verdict(s: ScenarioResult): Verdict {
  if (s.app === undefined) return { ok: true, why: 'skipped' };
  const problems: string[] = [];
  const r = ratio(s);
  // Rounded down to three places, so a ratio just under the target never reads as equal to it (0.3995 is 0.399, not
  // 0.40).
  if (s.target !== undefined && r !== undefined && r < s.target)
    problems.push(`ratio ${(Math.floor(r * 1000) / 1000).toFixed(3)} < ${String(s.target)}`);
  if (s.target === 0.6 && s.app.p99 >= STATIC_P99_LIMIT_MS)
    problems.push(`p99 ${s.app.p99.toFixed(1)} ms >= ${String(STATIC_P99_LIMIT_MS)}`);
  // The tenfold reference is for single pages; a scenario without a ceiling (visits through many pages) has none.
  if (s.ceiling !== undefined && s.app.rps < tenTimesFloor(s))
    problems.push(`< 10x reference (${String(tenTimesFloor(s))}/s)`);
  if (s.app.errors > 0) problems.push(`${String(s.app.errors)} errors`);
  return problems.length === 0 ? { ok: true, why: 'ok' } : { ok: false, why: problems.join('; ') };
}

const int = (n: number): string => Math.round(n).toLocaleString('en-GB');
const ms = (n: number): string => n.toFixed(2);

export function markdown(run: RunResult): string {
  const lines = [
    `# lpa-front bench, ${run.startedAt}`,
    '',
    `${run.machine}; load generator ${run.tool} on cpu ${run.clientCpus}, ${String(run.connections)} connections; ` +
      `server on cpu ${run.serverCpus}, ${String(run.workers)} worker(s); ${String(run.rounds)} ` +
      `alternating rounds of ${String(run.seconds)} s after warm-up; session ` +
      `store: ${run.store}.`,
    '',
    'req/s are totals over all rounds; "ratio" is the median of the rounds\' app ÷ ceiling ' +
      'pairs (each pair run back to back), ' +
      "with the middle half of the pairs beside it; p99 is the median of the rounds' p99s, the " +
      'worst round in brackets. ' +
      `"steal" is the largest share of a bench core the hypervisor gave other tenants during a ` +
      `pair (median and worst pair); ` +
      `"quiet pairs" repeats the ratio and app p99 over only the pairs with steal ` +
      `under ${String(QUIET_STEAL * 100)} %. ` +
      "\"CPU µs/req\" is the CPU time (user + system, the app's with Redis's; Redis's own in brackets) per request, " +
      "median over the rounds, and in brackets the median pair's ceiling ÷ app CPU, which steal " +
      'hardly moves. The verdict uses all pairs and requests per second.',
    '',
    '| scenario | app req/s | p50 ms | p99 ms (worst round) | errors | ceiling req/s | ' +
      'ceiling p99 ms | ratio | ratio q1–q3 | steal % (worst) | quiet pairs: ratio, p99 ms | CPU ' +
      'µs/req app, ceiling (ratio) | target | ≥10× ref | verdict |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- | --- |',
  ];
  for (const s of run.scenarios) {
    if (s.app !== undefined && s.ceiling === undefined) {
      // No ceiling (the mixed scenario: many different responses): the app's own figures only.
      const cpu = appCpu(s);
      lines.push(
        `| ${s.title} | ${int(s.app.rps)} | ${ms(s.app.p50)} ` +
          `| ${ms(s.app.p99)}${s.app.p99Worst === undefined ? '' : ` (${ms(s.app.p99Worst)})`} ` +
          `| ${String(s.app.errors)} | – | – | – | – | – | – ` +
          `| ${cpu === undefined ? '–' : `${cpu.toFixed(0)}, no ceiling`} | | – ` +
          `| ${s.app.errors > 0 ? `${String(s.app.errors)} errors` : 'no ceiling: not judged'} |`,
      );
      continue;
    }
    if (s.app === undefined || s.ceiling === undefined) {
      lines.push(
        `| ${s.title} | – | – | – | – | – | – | – | – | – | – | – ` +
          `| ${s.target === undefined ? '' : String(s.target)} | – | skipped: ${s.skipped ?? 'n/a'} ` +
          `|`,
      );
      continue;
    }
    const r = ratio(s);
    const v = verdict(s);
    const ten = s.app.rps >= tenTimesFloor(s);
    const worst = s.app.p99Worst === undefined ? '' : ` (${ms(s.app.p99Worst)})`;
    const q = quietSummary(s);
    const steal =
      s.pairSteal === undefined || s.pairSteal.length === 0
        ? '–'
        : `${(quantile(s.pairSteal, 0.5) * 100).toFixed(1)} ` + `(${(Math.max(...s.pairSteal) * 100).toFixed(1)})`;
    const quiet =
      q === undefined
        ? '–'
        : q.ratio === undefined
          ? `0 of ${String(q.of)}`
          : `${String(q.pairs)} of ${String(q.of)}: ${q.ratio.toFixed(2)}, ${q.appP99 === undefined ? '–' : ms(q.appP99)}`;
    const c = cpuSummary(s);
    const redis =
      s.redisCpuUs === undefined || s.redisCpuUs.length === 0
        ? ''
        : ` (Redis ${quantile(s.redisCpuUs, 0.5).toFixed(0)})`;
    const cpu = c === undefined ? '–' : `${c.app.toFixed(0)}${redis}, ${c.ceiling.toFixed(0)} (${c.ratio.toFixed(2)})`;
    lines.push(
      `| ${s.title} | ${int(s.app.rps)} | ${ms(s.app.p50)} | ${ms(s.app.p99)}${worst} ` +
        `| ${String(s.app.errors)} | ${int(s.ceiling.rps)} | ${ms(s.ceiling.p99)} ` +
        `| ${r === undefined ? '–' : r.toFixed(2)} | ${ratioSpread(s)} | ${steal} | ${quiet} ` +
        `| ${cpu} | ${s.target === undefined ? '' : `≥ ${String(s.target)}`} ` +
        `| ${ten ? 'yes' : 'no'} (${(s.app.rps / (tenTimesFloor(s) / 10)).toFixed(0)}×) ` +
        `| ${v.ok ? 'ok' : v.why} |`,
    );
  }
  lines.push(
    '',
    `Peak RSS of the app (sum of each process's ` + `VmHWM): ${(run.peakRssBytes / 1048576).toFixed(1)} MiB.`,
    '',
  );
  if (run.workerRss !== undefined && run.workerRss.length > 0) lines.push(workerRssLine(run.workerRss), '');
  const cold = run.coldStart;
  if (cold !== undefined) {
    lines.push(
      `Cold start, not in the table: the first ${String(cold.seconds)} s of load on the newly ` +
        `started app (${cold.title}) ran at ${int(cold.rps)} req/s, ` +
        `p50 ${ms(cold.p50)} ms, p99 ${ms(cold.p99)} ms, ${String(cold.errors)} errors, while V8 ` +
        `was still compiling the request path; that scenario then warmed up longer than the others ` +
        `before its rounds.`,
      '',
    );
  }
  lines.push(
    'Reference figures (issue 6, same machine class, one core): Flask + Talisman + gunicorn ≈ ' +
      '1,200 req/s (static page); ' +
      'Express + helmet + Nunjucks ≈ 2,000 req/s (full GOV.UK page), ≈ 340 req/s with gzip. ' +
      '"≥10× ref" compares with 10 × 2,000 = 20,000 req/s (10 × 340 = 3,400 for compressed responses).',
    '',
  );
  for (const s of run.scenarios) if (s.note !== undefined) lines.push(`- ${s.title}: ${s.note}`);
  for (const n of run.notes) lines.push(`- ${n}`);
  return `${lines.join('\n')}\n`;
}

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

/** The workers' own RSS (each process that serves requests, never a cluster primary), peak and at the end. */
export function workerRssLine(workers: readonly WorkerRss[]): string {
  return (
    `RSS of each worker (its own, not a cluster ` +
    `primary's): ${workers.map((w) => `pid ${String(w.pid)} peak ${mib(w.peakBytes)}, at the end ${mib(w.finalBytes)}`).join('; ')}.`
  );
}

function escapeXml(s: string): string {
  return s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );
}

/** Horizontal bars: each scenario's req/s beside its ceiling's, one scale for all. */
export function svg(run: RunResult): string {
  const rows = run.scenarios.filter((s) => s.app !== undefined && s.ceiling !== undefined);
  const max = Math.max(1, ...rows.flatMap((s) => [s.app?.rps ?? 0, s.ceiling?.rps ?? 0]));
  const left = 320;
  const width = 980;
  const barMax = width - left - 110;
  const rowHeight = 46;
  const top = 50;
  const height = top + rows.length * rowHeight + 40;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${String(width)}" ` +
      `height="${String(height)}" viewBox="0 0 ${String(width)} ${String(height)}" ` +
      `font-family="sans-serif" font-size="12">`,
    `<title>lpa-front requests per second beside the ceiling</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">lpa-front vs ceiling ` +
      `(requests/s, ${escapeXml(run.tool)}, ${String(run.connections)} connections)</text>`,
    `<rect x="${String(left)}" y="30" width="12" height="10" fill="#1d70b8"/><text ` +
      `x="${String(left + 16)}" y="39">lpa-front</text>`,
    `<rect x="${String(left + 90)}" y="30" width="12" height="10" fill="#b1b4b6"/><text ` +
      `x="${String(left + 106)}" y="39">ceiling (bare node:http, same bytes)</text>`,
  ];
  rows.forEach((s, i) => {
    const y = top + i * rowHeight;
    const app = s.app?.rps ?? 0;
    const ceiling = s.ceiling?.rps ?? 0;
    const r = ratio(s);
    out.push(`<text x="10" y="${String(y + 20)}">${escapeXml(s.title)}</text>`);
    out.push(
      `<rect x="${String(left)}" y="${String(y + 4)}" ` +
        `width="${((barMax * app) / max).toFixed(1)}" height="16" fill="#1d70b8"/>`,
    );
    out.push(
      `<text x="${(left + (barMax * app) / max + 4).toFixed(1)}" ` +
        `y="${String(y + 16)}">${int(app)}${r === undefined ? '' : ` (${r.toFixed(2)})`}</text>`,
    );
    out.push(
      `<rect x="${String(left)}" y="${String(y + 22)}" ` +
        `width="${((barMax * ceiling) / max).toFixed(1)}" height="16" fill="#b1b4b6"/>`,
    );
    out.push(
      `<text x="${(left + (barMax * ceiling) / max + 4).toFixed(1)}" ` + `y="${String(y + 34)}">${int(ceiling)}</text>`,
    );
  });
  out.push(
    `<text x="10" y="${String(height - 12)}" ` +
      `fill="#505a5f">${escapeXml(`${run.startedAt} · ${run.machine} · server cpu ${run.serverCpus}, client cpu ${run.clientCpus}`)}</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------
// Soak (memory check)

export interface SoakSample {
  readonly requests: number;
  readonly rssBytes: number;
  /** V8's live heap after the latest full (mark-compact) collection, from the app's --trace-gc lines. */
  readonly liveHeapBytes?: number;
  /**
   * V8's committed heap (what it holds from the OS) after that collection: RSS minus this is memory outside V8's heap.
   */
  readonly heapCommittedBytes?: number;
}

/** Least-squares growth of `value` per 100,000 requests. */
export function growthPer100k(points: readonly { readonly requests: number; readonly value: number }[]): number {
  if (points.length < 2) return 0;
  const mx = points.reduce((n, p) => n + p.requests, 0) / points.length;
  const my = points.reduce((n, p) => n + p.value, 0) / points.length;
  const num = points.reduce((n, p) => n + (p.requests - mx) * (p.value - my), 0);
  const den = points.reduce((n, p) => n + (p.requests - mx) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 100_000;
}

/**
 * The live and committed heap after the last full collection in a chunk of --trace-gc output, in bytes (undefined:
 * none).
 */
export function lastMajorGc(text: string): { readonly liveBytes: number; readonly committedBytes: number } | undefined {
  let last: { liveBytes: number; committedBytes: number } | undefined;
  for (const m of text.matchAll(/Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(([\d.]+)\)/g)) {
    last = { liveBytes: Number(m[1]) * 1048576, committedBytes: Number(m[2]) * 1048576 };
  }
  return last;
}

export interface HeapVerdict {
  readonly liveAfterWarmup: number;
  readonly liveEnd: number;
  readonly slopePer100k: number;
  readonly flat: boolean;
  readonly collections: number;
  /**
   * V8's committed heap, and RSS outside it, at the first sample after warm-up and at the last (undefined: not
   * reported).
   */
  readonly committedAfterWarmup?: number;
  readonly committedEnd?: number;
  readonly outsideAfterWarmup?: number;
  readonly outsideEnd?: number;
}

/**
 * Is the live heap (what a leak would grow) flat after warm-up? Slope < 0.5 MiB per 100,000 requests over the last
 * half.
 */
export function heapVerdict(samples: readonly SoakSample[], warmupFraction = 0.2): HeapVerdict | undefined {
  const total = samples.at(-1)?.requests ?? 0;
  const after = samples.filter((s) => s.requests >= total * warmupFraction && s.liveHeapBytes !== undefined);
  if (after.length < 4) return undefined;
  const half = after.slice(Math.floor(after.length / 2));
  const slopePer100k = growthPer100k(half.map((s) => ({ requests: s.requests, value: s.liveHeapBytes ?? 0 })));
  const first = after[0];
  const last = after.at(-1);
  const committed =
    first?.heapCommittedBytes !== undefined && last?.heapCommittedBytes !== undefined
      ? {
          committedAfterWarmup: first.heapCommittedBytes,
          committedEnd: last.heapCommittedBytes,
          outsideAfterWarmup: first.rssBytes - first.heapCommittedBytes,
          outsideEnd: last.rssBytes - last.heapCommittedBytes,
        }
      : {};
  return {
    liveAfterWarmup: first?.liveHeapBytes ?? 0,
    liveEnd: last?.liveHeapBytes ?? 0,
    slopePer100k,
    flat: slopePer100k < 0.5 * 1048576,
    collections: new Set(after.map((s) => s.liveHeapBytes)).size,
    ...committed,
  };
}

export interface SoakVerdict {
  readonly warmupRequests: number;
  readonly rssAfterWarmup: number;
  readonly rssEnd: number;
  readonly rssMaxAfterWarmup: number;
  /** Growth over the second half of the post-warm-up run, in bytes per 100,000 requests (least squares). */
  readonly slopePer100k: number;
  readonly flat: boolean;
}

/**
 * RSS has stopped growing when, after warm-up (the first `warmupFraction` of requests), the least-squares
 * slope over the second half of the samples is under 1 MiB per 100,000 requests, and RSS at the end is at
 * most 10 % (or 8 MiB, whichever is larger) above RSS at the end of warm-up.
 */
export function soakVerdict(samples: readonly SoakSample[], warmupFraction = 0.2): SoakVerdict {
  const total = samples.at(-1)?.requests ?? 0;
  const warmupRequests = Math.round(total * warmupFraction);
  const after = samples.filter((s) => s.requests >= warmupRequests);
  const rssAfterWarmup = after[0]?.rssBytes ?? 0;
  const rssEnd = samples.at(-1)?.rssBytes ?? 0;
  const rssMaxAfterWarmup = Math.max(0, ...after.map((s) => s.rssBytes));
  const half = after.slice(Math.floor(after.length / 2));
  const slope = growthPer100k(half.map((s) => ({ requests: s.requests, value: s.rssBytes })));
  const flat = slope < 1048576 && rssEnd - rssAfterWarmup <= Math.max(8 * 1048576, rssAfterWarmup * 0.1);
  return { warmupRequests, rssAfterWarmup, rssEnd, rssMaxAfterWarmup, slopePer100k: slope, flat };
}

export function soakSvg(samples: readonly SoakSample[], title: string): string {
  const width = 800;
  const height = 320;
  const pad = 50;
  const maxX = Math.max(1, ...samples.map((s) => s.requests));
  const maxY = Math.max(1, ...samples.map((s) => s.rssBytes)) * 1.1;
  const x = (v: number): string => (pad + ((width - 2 * pad) * v) / maxX).toFixed(1);
  const y = (v: number): string => (height - pad - ((height - 2 * pad) * v) / maxY).toFixed(1);
  const points = samples.map((s) => `${x(s.requests)},${y(s.rssBytes)}`).join(' ');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${String(width)}" ` +
      `height="${String(height)}" viewBox="0 0 ${String(width)} ${String(height)}" ` +
      `font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<line x1="${String(pad)}" y1="${String(height - pad)}" x2="${String(width - pad)}" ` +
      `y2="${String(height - pad)}" stroke="#0b0c0c"/>`,
    `<line x1="${String(pad)}" y1="${String(pad)}" x2="${String(pad)}" y2="${String(height - pad)}" stroke="#0b0c0c"/>`,
    `<text x="${String(width - pad)}" y="${String(height - pad + 30)}" text-anchor="end">${int(maxX)} requests</text>`,
    `<text x="${String(pad - 4)}" y="${String(pad)}" text-anchor="end">${(maxY / 1048576).toFixed(0)}</text>`,
    `<text x="${String(pad - 4)}" y="${String(height - pad)}" text-anchor="end">0</text>`,
    `<text x="10" y="${String(height / 2)}">RSS MiB</text>`,
    `<polyline fill="none" stroke="#1d70b8" stroke-width="2" points="${points}"/>`,
    '</svg>',
    '',
  ].join('\n');
}

export interface RssFlatness {
  /**
   * The requests where the window after warm-up starts (the first sample at or past `at`) and where the last one
   * starts.
   */
  readonly atRequests: number;
  readonly endFromRequests: number;
  /**
   * Median RSS of the samples in each window: a sample taken while a sign-in holds its 32 MiB scrypt buffer moves
   * neither.
   */
  readonly rssAt: number;
  readonly rssEnd: number;
  /** How many samples each level is the median of. */
  readonly samplesAt: number;
  readonly samplesEnd: number;
  /** The highest sample from `at` requests on (sign-ins in flight included). */
  readonly rssPeak: number;
  /** The share of the samples from `at` requests on that are above `limitBytes`, and how many samples that is of. */
  readonly shareOverLimit: number;
  readonly samplesFrom: number;
  /** Median RSS at the end ≤ median RSS after `at` requests + `tolerance`. */
  readonly flat: boolean;
  /** Both medians ≤ `limitBytes`. */
  readonly underLimit: boolean;
  readonly limitBytes: number;
  readonly tolerance: number;
}

/**
 * Issue 20's memory target for one worker: RSS from `at` requests (100,000 by default, after warm-up) to the end of
 * the run grows by at most `tolerance` (5 %) and stays at or under `limitBytes` (150 MiB). Each level is the median of
 * the samples in a window of `window` (5 %) of the run's requests, so that one sample landing on a transient (a
 * sign-in's scrypt buffer) does not decide it; the highest sample is reported beside them. Undefined when the run
 * never reached `at` requests.
 */
export function rssFlatness(
  samples: readonly SoakSample[],
  at = 100_000,
  tolerance = 0.05,
  limitBytes = 150 * 1048576,
  window = 0.05,
): RssFlatness | undefined {
  const first = samples.find((s) => s.requests >= at);
  const last = samples.at(-1);
  if (first === undefined || last === undefined) return undefined;
  const span = last.requests * window;
  // The lower median: with an even count the lower middle, since the transients it must ignore only ever add.
  const inWindow = (from: number, to: number): number[] =>
    samples
      .filter((s) => s.requests >= from && s.requests <= to)
      .map((s) => s.rssBytes)
      .sort((a, b) => a - b);
  const median = (sorted: readonly number[]): number => sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
  const endFrom = Math.max(first.requests, last.requests - span);
  const atWindow = inWindow(first.requests, first.requests + span);
  const endWindow = inWindow(endFrom, last.requests);
  const rssAt = median(atWindow);
  const rssEnd = median(endWindow);
  const from = samples.filter((s) => s.requests >= first.requests).map((s) => s.rssBytes);
  return {
    atRequests: first.requests,
    endFromRequests: endFrom,
    rssAt,
    rssEnd,
    samplesAt: atWindow.length,
    samplesEnd: endWindow.length,
    rssPeak: Math.max(...from),
    shareOverLimit: from.filter((b) => b > limitBytes).length / from.length,
    samplesFrom: from.length,
    flat: rssEnd <= rssAt * (1 + tolerance),
    underLimit: Math.max(rssAt, rssEnd) <= limitBytes,
    limitBytes,
    tolerance,
  };
}

/** The report's lines for rssFlatness. */
export function rssFlatnessLines(f: RssFlatness): string[] {
  return [
    `| worker RSS from ${int(f.atRequests)} requests (median of the ${int(f.samplesAt)} samples in the next 5 % ` +
      `of the run) | ${mib(f.rssAt)} |`,
    `| worker RSS at the end (median of the ${int(f.samplesEnd)} samples from ${int(f.endFromRequests)} requests) ` +
      `| ${mib(f.rssEnd)} |`,
    `| highest worker RSS sample from ${int(f.atRequests)} requests on (sign-ins in flight ` +
      `included) | ${mib(f.rssPeak)} |`,
    `| samples from ${int(f.atRequests)} requests on above ${mib(f.limitBytes)} ` +
      `| ${(f.shareOverLimit * 100).toFixed(1)} % of ${int(f.samplesFrom)} |`,
    `| flat: end ≤ RSS from ${int(f.atRequests)} + ${String(f.tolerance * 100)} % ` +
      `(${mib(f.rssAt * (1 + f.tolerance))}) | ${f.flat ? 'yes' : 'NO'} |`,
    `| at or under ${mib(f.limitBytes)} (both medians) | ${f.underLimit ? 'yes' : 'NO'} |`,
  ];
}

/** A moment of the run (ms since the epoch) and the requests counted by then. */
export interface Checkpoint {
  readonly atMs: number;
  readonly requests: number;
}

/**
 * The requests served by `atMs`, interpolated linearly between the checkpoints around it (the load is counted per
 * round, the RSS sampled every few hundred ms); before the first checkpoint its count, after the last the last one's.
 */
export function requestsAt(atMs: number, checkpoints: readonly Checkpoint[]): number {
  const next = checkpoints.findIndex((c) => c.atMs >= atMs);
  if (next === -1) return checkpoints.at(-1)?.requests ?? 0;
  const b = checkpoints[next];
  const a = checkpoints[next - 1];
  if (b === undefined) return 0;
  if (a === undefined || b.atMs === a.atMs) return b.requests;
  return Math.round(a.requests + ((b.requests - a.requests) * (atMs - a.atMs)) / (b.atMs - a.atMs));
}

/** A worker's resident memory by kind of mapping, from /proc/<pid>/smaps (bytes). */
export interface SmapsSummary {
  /** The node executable's own pages (clean, shared between processes). */
  readonly binary: number;
  /** Other files: shared libraries, and anything else mapped from disk. */
  readonly files: number;
  /** glibc's main arena ([heap]). */
  readonly brk: number;
  /** Anonymous mappings: V8's heap and code space, glibc's other arenas, large buffers (a scrypt's 32 MiB). */
  readonly anonymous: number;
  /** Stacks, vdso and the like. */
  readonly other: number;
}

export function smapsSummary(text: string, exe: string): SmapsSummary {
  const sums = { binary: 0, files: 0, brk: 0, anonymous: 0, other: 0 };
  let kind: keyof SmapsSummary = 'other';
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+ *(.*)$/.exec(line);
    if (head !== null) {
      const name = head[1] ?? '';
      kind =
        name === exe
          ? 'binary'
          : name === ''
            ? 'anonymous'
            : name === '[heap]'
              ? 'brk'
              : name.startsWith('/')
                ? 'files'
                : 'other';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    if (rss !== null) sums[kind] += Number(rss[1]) * 1024;
  }
  return sums;
}

/** One line for the report: smapsSummary in MiB. */
export function smapsLine(s: SmapsSummary): string {
  return (
    `node binary ${mib(s.binary)}, other files ${mib(s.files)}, glibc main arena ${mib(s.brk)}, ` +
    `anonymous (V8 heap, other arenas, buffers) ${mib(s.anonymous)}, other ${mib(s.other)}`
  );
}
