/**
 * Bench plumbing: processes pinned to cores, captured responses, the load generator (wrk, or autocannon
 * when wrk is missing), and RSS sampling from /proc. Everything listens on 127.0.0.1 only.
 */
import { randomBytes } from 'node:crypto';
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

import { spawnGroup } from '../test/helpers/processes.ts';

export const LOOPBACK = '127.0.0.1';

export function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A free loopback port: the tests' helper (test/helpers/services.ts), one copy for tests, scripts and bench. */
export { freePort } from '../test/helpers/services.ts';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------------------
// Processes

export interface Proc {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** Starts `cmd args` pinned to `cpus` (taskset, when available) in its own process group; output goes to logFile. */
export function startPinned(
  cpus: string | null,
  cmd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  logFile: string,
): Proc {
  const [file, argv] = cpus !== null && has('taskset') ? ['taskset', ['-c', cpus, cmd, ...args]] : [cmd, [...args]];
  // The supervisor the tests and `npm run stack` use (test/helpers/processes.ts): killed if the bench exits first.
  const group = spawnGroup(file, argv, { env, logFile });
  const pid = group.child.pid;
  if (pid === undefined) throw new Error(`could not start ${cmd}`);
  return {
    pid,
    child: group.child,
    logFile,
    exited: group.exited.then((e) => e.code),
    stop: () => group.stop('SIGTERM', 5000),
  };
}

export async function waitForPort(port: number, proc: Proc, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const state = { dead: false };
  void proc.exited.then(() => {
    state.dead = true;
  });
  while (Date.now() < deadline) {
    if (state.dead) throw new Error(`process exited before listening; see ${proc.logFile}:\n${tail(proc.logFile)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, LOOPBACK);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => {
        resolve(false);
      });
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listening on ${String(port)} after ${String(timeoutMs)} ms; see ${proc.logFile}`);
}

export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------------------
// HTTP: one request, raw headers and raw (still encoded) body, for capturing what the ceiling must replay

export interface RequestSpec {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface Captured {
  readonly status: number;
  /** Raw header pairs as sent, in order, without the ones Node's http server writes itself. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

/** Headers node:http adds on its own (the ceiling's server writes them the same way Fastify's does). */
const NODE_ADDED = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

export function request(port: number, spec: RequestSpec): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: LOOPBACK,
        port,
        method: spec.method,
        path: spec.path,
        headers: spec.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const pairs: [string, string][] = [];
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
            const name = res.rawHeaders[i] ?? '';
            if (!NODE_ADDED.has(name.toLowerCase())) pairs.push([name, res.rawHeaders[i + 1] ?? '']);
          }
          resolve({ status: res.statusCode ?? 0, headers: pairs, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`${spec.method} ${spec.path} timed out`)));
    req.on('error', reject);
    req.end(spec.body);
  });
}

export function header(c: Captured, name: string): string | undefined {
  return c.headers.find(([k]) => k.toLowerCase() === name)?.[1];
}

export function setCookies(c: Captured): string[] {
  return c.headers.filter(([k]) => k.toLowerCase() === 'set-cookie').map(([, v]) => v);
}

/** `name=value` pairs from Set-Cookie headers, ready for a Cookie header. */
export function cookieHeader(c: Captured, previous = ''): string {
  const jar = new Map<string, string>();
  for (const pair of previous.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  for (const sc of setCookies(c)) {
    const first = sc.split(';', 1)[0] ?? '';
    const eq = first.indexOf('=');
    if (eq <= 0) continue;
    const name = first.slice(0, eq);
    const value = first.slice(eq + 1);
    if (value === '' || /max-age=0/i.test(sc)) jar.delete(name);
    else jar.set(name, value);
  }
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

/** The value of the first `<input ... name="NAME" ... value="...">` in a page. */
export function inputValue(html: string, name: string): string | undefined {
  for (const m of html.matchAll(/<input\b[^>]*>/g)) {
    const tag = m[0];
    if (/\bname="([^"]*)"/.exec(tag)?.[1] !== name) continue;
    return /\bvalue="([^"]*)"/.exec(tag)?.[1];
  }
  return undefined;
}

/** Names of the inputs of a page's forms (to find the sign-in fields). */
export function inputs(html: string): { name: string; type: string }[] {
  const out: { name: string; type: string }[] = [];
  for (const m of html.matchAll(/<input\b[^>]*>/g)) {
    const name = /\bname="([^"]*)"/.exec(m[0])?.[1];
    if (name === undefined) continue;
    out.push({ name, type: /\btype="([^"]*)"/.exec(m[0])?.[1] ?? 'text' });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Memory: RSS of a process and its children, from /proc

function statusField(pid: number, field: string): number {
  try {
    const line = readFileSync(`/proc/${String(pid)}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${field}:`));
    const kb = line === undefined ? NaN : parseInt(line.slice(field.length + 1).trim(), 10);
    return Number.isNaN(kb) ? 0 : kb * 1024;
  } catch {
    return 0;
  }
}

export function processTree(pid: number): number[] {
  const out = [pid];
  try {
    const children = readFileSync(`/proc/${String(pid)}/task/${String(pid)}/children`, 'utf8').trim();
    for (const c of children.split(/\s+/)) if (c !== '') out.push(...processTree(Number(c)));
  } catch {
    /* gone */
  }
  return out;
}

/** Current RSS of the tree, in bytes. */
export function rssOf(pid: number): number {
  return processTree(pid).reduce((n, p) => n + statusField(p, 'VmRSS'), 0);
}

/** Peak RSS (VmHWM) of the tree: the sum of each process's own peak, in bytes. */
export function peakRssOf(pid: number): number {
  return processTree(pid).reduce((n, p) => n + statusField(p, 'VmHWM'), 0);
}

/** The processes that serve requests: a cluster primary's workers, or the app process itself when it forks none. */
export function workerPids(pid: number): number[] {
  const tree = processTree(pid);
  return tree.length > 1 ? tree.slice(1) : tree;
}

/** Each worker's own RSS, peak (VmHWM) and now (VmRSS), in bytes: never a cluster primary's, never a sum. */
export function workerRss(pid: number): { pid: number; peakBytes: number; finalBytes: number }[] {
  return workerPids(pid).map((p) => ({
    pid: p,
    peakBytes: statusField(p, 'VmHWM'),
    finalBytes: statusField(p, 'VmRSS'),
  }));
}

/** The largest worker's RSS now, in bytes (issue 20's target is per worker). */
export function largestWorkerRss(pid: number): number {
  return Math.max(0, ...workerPids(pid).map((p) => statusField(p, 'VmRSS')));
}

/**
 * The Node flags production starts the app with: those between `node` and the script in the Dockerfile's last
 * exec-form CMD (`CMD ["node", "--flag", ..., "src/server.ts"]`), so the bench measures what runs.
 */
export function productionNodeFlags(dockerfile: string): string[] {
  const cmd = dockerfile
    .split('\n')
    .filter((l) => /^CMD\s+\[/.test(l))
    .at(-1);
  if (cmd === undefined) return [];
  const args = JSON.parse(cmd.replace(/^CMD\s+/, '')) as unknown;
  if (!Array.isArray(args) || args[0] !== 'node') return [];
  return args.slice(1, -1).filter((a): a is string => typeof a === 'string' && a.startsWith('--'));
}

/**
 * utime + stime of one process, in clock ticks, from the text of /proc/<pid>/stat (fields 14 and 15, counted
 * after the command name, which may itself hold spaces and parentheses).
 */
export function cpuTicksFromStat(text: string): number {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3, the state
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks : 0;
}

const CLOCK_TICKS_PER_SECOND = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time (user + system) the trees of `pids` have used so far, in µs (10 ms resolution). Steal is not in it:
 * time the hypervisor gave other tenants is not time the process ran.
 */
export function cpuTimeOf(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    for (const p of processTree(pid)) {
      try {
        ticks += cpuTicksFromStat(readFileSync(`/proc/${String(p)}/stat`, 'utf8'));
      } catch {
        /* gone */
      }
    }
  }
  return (ticks * 1e6) / CLOCK_TICKS_PER_SECOND;
}

// ---------------------------------------------------------------------------------------------------------
// Load generation

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  /** Milliseconds. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Socket errors (connect, read, write, timeout). */
  readonly socketErrors: number;
  /** Responses whose status was not the one expected. */
  readonly unexpected: number;
  readonly statuses: Readonly<Record<string, number>>;
}

export interface LoadOptions {
  readonly tool: 'wrk' | 'autocannon';
  readonly cpus: string | null;
  readonly port: number;
  readonly spec: RequestSpec;
  readonly expectStatus: number;
  readonly connections: number;
  readonly seconds: number;
  readonly workDir: string;
  /** Several requests in turn (soak); the first is `spec`. */
  readonly rotate?: readonly RequestSpec[];
  /** Further statuses that count as expected (a rotation with a form sent with an error, answered 400). */
  readonly alsoExpect?: readonly number[];
}

function luaString(s: string): string {
  return `"${[...Buffer.from(s)].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\${String(b)}`)).join('')}"`;
}

function luaRequest(spec: RequestSpec): string {
  const headers = Object.entries(spec.headers)
    .map(([k, v]) => `[${luaString(k)}] = ${luaString(v)}`)
    .join(', ');
  return (
    `wrk.format(${luaString(spec.method)}, ${luaString(spec.path)}, { ${headers} ` +
    `}, ${spec.body === undefined ? 'nil' : luaString(spec.body)})`
  );
}

/**
 * The wrk script. Counting statuses needs a `response` callback, which makes wrk hand every body to Lua;
 * it costs client CPU, so it is used only when the expected status is an error status (wrk already counts
 * statuses >= 400 as errors on its own, which is exact when 2xx/3xx is expected).
 */
function wrkScript(options: LoadOptions): string {
  const specs = options.rotate ?? [options.spec];
  const countStatuses = options.expectStatus >= 400 || (options.alsoExpect ?? []).some((s) => s >= 400);
  return `
local reqs = { ${specs.map(luaRequest).join(',\n  ')} }
local i = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
${specs.length === 1 ? 'local fixed = reqs[1]\nfunction request() return fixed end' : 'function request() i = i % #reqs + 1; return reqs[i] end'}
${countStatuses ? 'statuses = {}\nfunction response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end' : ''}
function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then for k, v in pairs(s) do counts[k] = (counts[k] or 0) + v end end
  end
  local parts = {}
  for k, v in pairs(counts) do table.insert(parts, string.format('"%d": %d', k, v)) end
  local e = summary.errors
  io.write(string.format('\\nWRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "timeout": %d, "status_errors": %d, "statuses": {%s}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, e.status, table.concat(parts, ", ")))
end
`;
}

function runCommand(file: string, args: readonly string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // taskset execs the command, so the signal reaches the client itself.
    signal?.addEventListener(
      'abort',
      () => {
        child.kill('SIGTERM');
      },
      { once: true },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${file} exited ${String(code)}:\n${out}`));
    });
  });
}

function pinned(cpus: string | null, file: string, args: readonly string[]): [string, string[]] {
  return cpus !== null && has('taskset') ? ['taskset', ['-c', cpus, file, ...args]] : [file, [...args]];
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  return options.tool === 'wrk' ? loadWrk(options) : loadAutocannon(options);
}

async function loadWrk(options: LoadOptions): Promise<LoadResult> {
  const script = path.join(options.workDir, `load-${String(options.port)}-${options.spec.method}.lua`);
  writeFileSync(script, wrkScript(options));
  const [file, args] = pinned(options.cpus, 'wrk', [
    '-t1',
    `-c${String(options.connections)}`,
    `-d${String(options.seconds)}s`,
    '--timeout',
    '5s',
    '-s',
    script,
    `http://${LOOPBACK}:${String(options.port)}${options.spec.path}`,
  ]);
  const out = await runCommand(file, args);
  const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (line === undefined) throw new Error(`wrk gave no result:\n${out}`);
  const r = JSON.parse(line.slice('WRK_JSON '.length)) as {
    requests: number;
    duration_us: number;
    p50_us: number;
    p99_us: number;
    max_us: number;
    connect: number;
    read: number;
    write: number;
    timeout: number;
    status_errors: number;
    statuses: Record<string, number>;
  };
  const seconds = r.duration_us / 1e6;
  const counted = Object.values(r.statuses).reduce((n, v) => n + v, 0);
  const expected = [options.expectStatus, ...(options.alsoExpect ?? [])].reduce(
    (n, s) => n + (r.statuses[String(s)] ?? 0),
    0,
  );
  // 2xx/3xx expected: wrk counts every status >= 400
  const unexpected = counted > 0 ? counted - expected : r.status_errors;
  return {
    requests: r.requests,
    seconds,
    rps: r.requests / seconds,
    p50: r.p50_us / 1000,
    p99: r.p99_us / 1000,
    max: r.max_us / 1000,
    socketErrors: r.connect + r.read + r.write + r.timeout,
    unexpected,
    statuses:
      counted > 0
        ? r.statuses
        : {
            [String(options.expectStatus)]: r.requests - r.status_errors,
            ...(r.status_errors > 0 ? { '>=400': r.status_errors } : {}),
          },
  };
}

export interface MixedOptions {
  readonly cpus: string | null;
  readonly port: number;
  readonly host: string;
  readonly origin: string;
  readonly users: readonly { readonly email: string; readonly password: string }[];
  readonly connections: number;
  readonly seconds: number;
  /** Requests per second over all connections (none: as fast as the app answers). */
  readonly rate?: number;
  /** Ends the run early (it still reports what it did). */
  readonly signal?: AbortSignal;
}

/** Visits of the mixed scenario (bench/session-flow.ts) for `seconds`, from bench/mixed-client.ts (autocannon). */
export async function loadMixed(
  options: MixedOptions,
): Promise<LoadResult & { readonly visits: number; readonly firstUnexpected: readonly string[] }> {
  const client = path.join(import.meta.dirname, 'mixed-client.ts');
  const { cpus, signal, ...rest } = options;
  const [file, argv] = pinned(cpus, process.execPath, [client, JSON.stringify(rest)]);
  const out = await runCommand(file, argv, signal);
  const line = out.split('\n').find((l) => l.startsWith('MIXED_JSON '));
  if (line === undefined) throw new Error(`the mixed client gave no result:\n${out}`);
  const r = JSON.parse(line.slice('MIXED_JSON '.length)) as Omit<LoadResult, 'rps'> & {
    visits: number;
    firstUnexpected: string[];
  };
  return { ...r, rps: r.seconds === 0 ? 0 : r.requests / r.seconds };
}

async function loadAutocannon(options: LoadOptions): Promise<LoadResult> {
  const bin = path.join(import.meta.dirname, '..', 'node_modules', 'autocannon', 'autocannon.js');
  if (!existsSync(bin)) throw new Error('neither wrk nor autocannon is installed');
  const { spec } = options;
  const args = [bin, '-j', '-c', String(options.connections), '-d', String(options.seconds), '-m', spec.method];
  for (const [k, v] of Object.entries(spec.headers)) args.push('-H', `${k}=${v}`);
  if (spec.body !== undefined) args.push('-b', spec.body);
  args.push(`http://${LOOPBACK}:${String(options.port)}${spec.path}`);
  const [file, argv] = pinned(options.cpus, process.execPath, args);
  const out = await runCommand(file, argv);
  const json = out.slice(out.indexOf('{'), out.lastIndexOf('}') + 1);
  const r = JSON.parse(json) as {
    requests: { total: number };
    duration: number;
    latency: { p50: number; p99: number; max: number };
    errors: number;
    timeouts: number;
    statusCodeStats?: Record<string, { count: number }>;
  };
  const statuses = Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, v.count]));
  const counted = Object.values(statuses).reduce((n, v) => n + v, 0);
  return {
    requests: r.requests.total,
    seconds: r.duration,
    rps: r.requests.total / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    socketErrors: r.errors + r.timeouts,
    unexpected: counted - (statuses[String(options.expectStatus)] ?? 0),
    statuses,
  };
}

export interface BenchAppOptions {
  readonly port: number;
  readonly dataDir: string;
  readonly workers: number;
  readonly logLevel: string;
  readonly redisUrl?: string | undefined;
}

/** The environment lpa-front runs with in a bench: production mode on loopback, as the Dockerfile runs it. */
export function benchAppEnv(o: BenchAppOptions): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    // lpa-front alone, no legacy front beside it: a bench user with no LPAs sees the dashboard, not a redirect to the
    // legacy create page (LEGACY_FRONT is on by default in production).
    LEGACY_FRONT: 'false',
    MAIL_TRANSPORT: 'file',
    HOST: LOOPBACK,
    PORT: String(o.port),
    PUBLIC_ORIGIN: `https://${LOOPBACK}:${String(o.port)}`,
    SESSION_SECRET: randomBytes(48).toString('base64'),
    WORKERS: String(o.workers),
    // Access lines written as production writes them (to a file here): their cost is part of every request.
    LOG_LEVEL: o.logLevel,
    DATA_DIR: o.dataDir,
    // As the Dockerfile runs it (docs/adr/0006); MALLOC_ARENA_MAX in the bench's own environment overrides it.
    MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
    // The mixed scenario's visits each come from their own address (X-Forwarded-For), as people behind nginx do:
    // sign-in is throttled per address.
    TRUSTED_PROXIES: LOOPBACK,
    ...(o.redisUrl === undefined ? {} : { REDIS_URL: o.redisUrl }),
  };
}
