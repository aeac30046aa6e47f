// An A/B aid for V8's memory flags (docs/adr/0032), preloaded into the app under a bench:
//   npm run bench -- --only mixed --backend api --node-flags="--max-semi-space-size=8 --import=./bench/gc-stats.mjs"
// From 15 s after start (past the first warm-up) it counts V8's collections by kind with their main-thread pauses, and
// at exit writes them with each kind of thread's CPU time over the same span (V8's worker threads do most of a full
// collection's marking) to <tmpdir>/gcstats-<pid>.json.
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const START_MS = 15_000;
const kinds = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
const stats = {};
let started = false;
const base = {};

/** CPU ms (user + system) per thread name (digits dropped), from /proc/self/task. */
function threads() {
  const out = {};
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[name] = (out[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  return out;
}

setTimeout(() => {
  started = true;
  Object.assign(base, threads());
}, START_MS).unref();

new PerformanceObserver((list) => {
  if (!started) return;
  for (const entry of list.getEntries()) {
    const kind = kinds[entry.detail?.kind] ?? 'other';
    const s = (stats[kind] ??= { n: 0, ms: 0 });
    s.n += 1;
    s.ms += entry.duration;
  }
}).observe({ entryTypes: ['gc'] });

process.on('exit', () => {
  const now = threads();
  const threadCpuMs = Object.fromEntries(Object.keys(now).map((k) => [k, now[k] - (base[k] ?? 0)]));
  writeFileSync(join(tmpdir(), `gcstats-${String(process.pid)}.json`), JSON.stringify({ gc: stats, threadCpuMs }));
});
