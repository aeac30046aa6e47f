/**
 * `node bench/ab-summary.ts <prefix> [out.md]`: one table of an A/B of Node flags, from the bench result files
 * `bench/results/<prefix>-<variant>-<n>.json` (one scenario each, e.g. `--only mixed`), rounds numbered n, variants
 * run in turn within a round. Per variant: req/s and the app's CPU µs per request (with Redis), median and range, and
 * each round's CPU per request against the first variant's in the same round (the machine is shared: compare within
 * a round). Writes the table to out.md when given.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunResult } from './report.ts';
import { quantile } from './report.ts';

export interface AbRun {
  readonly variant: string;
  readonly round: number;
  readonly rps: number;
  readonly cpuUs: number;
  readonly errors: number;
  readonly peakRssBytes: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? 0 : n % 2 === 1 ? (s[(n - 1) / 2] ?? 0) : ((s[n / 2 - 1] ?? 0) + (s[n / 2] ?? 0)) / 2;
};

/** The markdown table for runs; `base` is the variant the others are compared with round by round. */
export function abTable(runs: readonly AbRun[], base: string): string {
  const variants = [...new Set([base, ...runs.map((r) => r.variant)])].filter((v) => runs.some((r) => r.variant === v));
  const rounds = [...new Set(runs.map((r) => r.round))].sort((a, b) => a - b);
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-GB');
  const lines = [
    `| variant | rounds | req/s median (range) | CPU µs/req median (range) | CPU ÷ ${base}'s, same round: median ` +
      `(range) | errors | worker peak RSS |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const v of variants) {
    const mine = runs.filter((r) => r.variant === v);
    const rel = rounds.flatMap((n) => {
      const a = runs.find((r) => r.variant === base && r.round === n);
      const b = mine.find((r) => r.round === n);
      return a === undefined || b === undefined || a.cpuUs === 0 ? [] : [b.cpuUs / a.cpuUs];
    });
    const rps = mine.map((r) => r.rps);
    const cpu = mine.map((r) => r.cpuUs);
    const peak = mine.map((r) => r.peakRssBytes / 1048576);
    lines.push(
      `| ${v} | ${String(mine.length)} | ${fmt(median(rps))} (${fmt(Math.min(...rps))}–${fmt(Math.max(...rps))}) ` +
        `| ${fmt(median(cpu))} (${fmt(Math.min(...cpu))}–${fmt(Math.max(...cpu))}) ` +
        `| ${v === base || rel.length === 0 ? '–' : `${median(rel).toFixed(2)} (${Math.min(...rel).toFixed(2)}–${Math.max(...rel).toFixed(2)})`} ` +
        `| ${String(mine.reduce((n, r) => n + r.errors, 0))} ` +
        `| ${quantile(peak, 0).toFixed(0)}–${quantile(peak, 1).toFixed(0)} MiB |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function abRun(file: string, run: RunResult): AbRun | undefined {
  const m = /-([A-Za-z0-9]+)-(\d+)\.json$/.exec(file);
  const s = run.scenarios[0];
  if (m === null || s?.app === undefined) return undefined;
  return {
    variant: m[1] ?? '',
    round: Number(m[2]),
    rps: s.app.rps,
    cpuUs: s.appCpuUs?.[0] ?? 0,
    errors: s.app.errors,
    peakRssBytes: Math.max(0, ...(run.workerRss ?? []).map((w) => w.peakBytes)),
  };
}

if (import.meta.main) {
  const [prefix, out] = process.argv.slice(2);
  if (prefix === undefined) throw new Error('usage: node bench/ab-summary.ts <prefix> [out.md]');
  const dir = path.join(import.meta.dirname, 'results');
  const runs = readdirSync(dir)
    .filter((f) => f.startsWith(`${prefix}-`) && f.endsWith('.json'))
    .flatMap((f) => {
      const r = abRun(f, JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as RunResult);
      return r === undefined ? [] : [r];
    });
  const table = abTable(runs, runs.some((r) => r.variant === 'def') ? 'def' : (runs[0]?.variant ?? ''));
  process.stdout.write(table);
  if (out !== undefined) writeFileSync(out, table);
}
