/**
 * `npm run bench`: lpa-front in production mode against a ceiling (bare node:http writing the same bytes),
 * in alternating rounds, server and load generator pinned to different cores, on loopback.
 * `npm run bench -- --soak`: a long bounded run sampling RSS (does memory stop growing after warm-up?).
 *
 * Options (all optional):
 *   --rounds 10 --seconds 2 --warmup 2 --first-warmup 30 --connections 50 --workers 1 --server-cpus 0 --client-cpus 1
 *   --only static,form-get   --tool wrk|autocannon   --name bench   --log-level info   --no-redis
 *   --soak --soak-requests 3000000   (about 10 minutes: RSS settles only after ~500,000, and warm-up is the first 20 %)
 * --profile (the app runs with --cpu-prof; profiles land in bench/results/profiles/, summarised by bench/profile.ts)
 *   --rss-requests 500000   (memory run of the mixed scenarios: is the worker's RSS flat and under 150 MiB? issue 20)
 *   --visit-rate 20   (requests/s of the memory run's visits beside the rotation; 0: none)
 *   --rss-sample-ms 100   (the memory run reads the worker's VmRSS this often, for the whole run)
 *   --node-flags="--max-semi-space-size=16"   (replaces the Dockerfile CMD's Node flags, for an A/B of memory flags)
 *   --backend embedded|api   (api: production's configuration, API_BASE_URL pointing at bench/lpa-api.ts)
 * Results: bench/results/<name>.md, .json, .svg (soak: <name>-soak.*). See docs/adr/0006-performance.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Captured, LoadResult, Proc, RequestSpec } from './lib.ts';
import {
  cookieHeader,
  cpuTimeOf,
  freePort,
  has,
  header,
  inputValue,
  inputs,
  largestWorkerRss,
  load,
  loadMixed,
  peakRssOf,
  productionNodeFlags,
  request,
  rssOf,
  sleep,
  startPinned,
  tail,
  waitForPort,
  workerPids,
  workerRss,
  benchAppEnv,
} from './lib.ts';
import type { Checkpoint, ColdStart, RunResult, ScenarioResult, Side, SmapsSummary, SoakSample } from './report.ts';
import {
  REFERENCES,
  cpuList,
  heapVerdict,
  parseProcStat,
  rssFlatness,
  rssFlatnessLines,
  stealShare,
  lastMajorGc,
  markdown,
  quantile,
  ratio,
  requestsAt,
  smapsLine,
  smapsSummary,
  soakSvg,
  soakVerdict,
  svg,
  tenTimesFloor,
  verdict,
} from './report.ts';

const ROOT = path.join(import.meta.dirname, '..');
const RESULTS = path.join(ROOT, 'bench', 'results');

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '2' },
    'first-warmup': { type: 'string', default: '30' },
    connections: { type: 'string', default: '50' },
    workers: { type: 'string', default: '1' },
    'server-cpus': { type: 'string', default: '0' },
    'client-cpus': { type: 'string', default: '1' },
    only: { type: 'string' },
    tool: { type: 'string' },
    name: { type: 'string', default: 'bench' },
    'log-level': { type: 'string', default: 'info' },
    'no-redis': { type: 'boolean', default: false },
    soak: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'soak-requests': { type: 'string', default: '3000000' },
    'rss-requests': { type: 'string' },
    'node-flags': { type: 'string' },
    'visit-rate': { type: 'string', default: '20' },
    'rss-sample-ms': { type: 'string', default: '100' },
    backend: { type: 'string', default: 'embedded' },
  },
  strict: true,
});

const rounds = Number(opts.rounds);
const seconds = Number(opts.seconds);
const warmup = Number(opts.warmup);
/**
 * The first scenario meets a freshly started app. In 2 s slices of load on `/` (quiet machine), CPU per request fell
 * from 183 µs in the first slice to about 80 µs from the fourth, and to 52–64 µs (the ceiling's own level) only after
 * about 24 s; p99 from 314 ms to 6–7 ms. The first 4–6 s also show 13–60 ms event-loop stalls while V8 compiles the
 * request path. So the first scenario warms up for 30 s, and its first COLD_SECONDS are measured and reported apart
 * as the cold start. Later scenarios share most of that path and keep the 2 s warm-up.
 */
const firstWarmup = Math.max(warmup, Number(opts['first-warmup']));
const COLD_SECONDS = 2;
let coldStart: ColdStart | undefined;
const connections = Number(opts.connections);
const workers = Number(opts.workers);
const serverCpus = opts['server-cpus'];
const clientCpus = opts['client-cpus'];
/** /proc/stat per CPU (empty where there is none: steal then reads 0). */
const procStat = (): Map<number, number[]> => {
  try {
    return parseProcStat(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return new Map();
  }
};
const allCpus = [...procStat().keys()];
/** The cores the server and the load generator run on: steal on either disturbs a round. */
const benchCpus = [...new Set([...cpuList(serverCpus, allCpus), ...cpuList(clientCpus, allCpus)])];
const only = opts.only === undefined ? null : new Set(opts.only.split(','));
const backend = opts.backend;
if (backend !== 'embedded' && backend !== 'api') throw new Error(`--backend is embedded or api, not ${backend}`);
const notes: string[] = [];

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

// ---------------------------------------------------------------------------------------------------------
// What the run needs: wrk and redis-server from Debian (installed by the project's script when missing and
// we are root), the built assets, Node 24 (this process: npm puts node_modules/.bin first on PATH).

if (Number(process.versions.node.split('.')[0]) < 24)
  throw new Error(`bench needs Node 24 (run it with npm run bench); this is ${process.version}`);
if (
  (!has('wrk') || !has('redis-server') || !has('taskset')) &&
  process.getuid?.() === 0 &&
  existsSync(path.join(ROOT, 'scripts/ensure-system-packages.sh'))
) {
  say('bench: installing missing system packages (wrk, redis-server) with scripts/ensure-system-packages.sh');
  spawnSync('bash', [path.join(ROOT, 'scripts/ensure-system-packages.sh')], { stdio: 'inherit' });
}
const tool: 'wrk' | 'autocannon' =
  opts.tool === 'autocannon' || (opts.tool === undefined && !has('wrk')) ? 'autocannon' : 'wrk';
if (tool === 'autocannon')
  notes.push(
    'wrk was not available: autocannon (Node, single process) generated the load; the ' +
      'ceilings may be limited by the client.',
  );
if (!has('taskset')) notes.push('taskset was not available: processes were not pinned to cores.');
if (!existsSync(path.join(ROOT, 'dist/assets/manifest.json'))) {
  say('bench: building assets (npm run build)');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-assets.ts')], { stdio: 'inherit', cwd: ROOT });
}
// Always: the bench runs the compiled server (ADR 0058), which must be the code checked out, never an older build.
execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-server.ts')], { stdio: 'inherit', cwd: ROOT });

const work = mkdtempSync(path.join(os.tmpdir(), 'lpa-bench-'));
const dataDir = path.join(work, 'data');
mkdirSync(dataDir);
mkdirSync(RESULTS, { recursive: true });
const started: Proc[] = [];
let cleaning = false;
async function cleanup(): Promise<void> {
  if (cleaning) return;
  cleaning = true;
  for (const p of started.reverse()) await p.stop();
  rmSync(work, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void cleanup().then(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------------------
// Redis (the session store shared with the PHP front), the app, a user to sign in with

let redisUrl: string | undefined;
let redisPid: number | undefined;
if (!opts['no-redis'] && has('redis-server')) {
  const port = await freePort();
  const redis = startPinned(
    serverCpus,
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
    process.env,
    path.join(work, 'redis.log'),
  );
  started.push(redis);
  await waitForPort(port, redis);
  redisUrl = `redis://127.0.0.1:${String(port)}`;
  redisPid = redis.pid;
}

const appPort = await freePort();
const publicOrigin = `https://127.0.0.1:${String(appPort)}`;
const host = `127.0.0.1:${String(appPort)}`;
const appEnv = benchAppEnv({ port: appPort, dataDir, workers, logLevel: opts['log-level'], redisUrl });

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
// Visits of the mixed scenario sign in as these in turn, one account per visit running at once (at most 8): sign-in is
// throttled per account (10 attempts in 15 minutes, a success resets it). The first is the dashboard scenario's user.
const wantsVisits = opts['rss-requests'] !== undefined || only === null || only.has('mixed');
const users = Array.from({ length: wantsVisits ? 8 : 1 }, (_, i) => ({
  email: i === 0 ? 'bench.user@example.com' : `bench.user.${String(i)}@example.com`,
  password: `Bench-${randomBytes(12).toString('hex')}-Aa1!`,
}));
const [user = { email: '', password: '' }] = users;
let userNote: string | null = null;
// --backend api: production's configuration. The LPA API checks the passwords (no scrypt in lpa-front) and lists
// the LPAs; bench/lpa-api.ts (the integration tests' contract-checked fake) runs on the client's core, seeded with
// the accounts above.
let lpaApi: Proc | undefined;
if (backend === 'api') {
  const seedFile = path.join(work, 'lpa-api-seed.json');
  writeFileSync(seedFile, JSON.stringify({ users }));
  lpaApi = startPinned(
    clientCpus,
    process.execPath,
    [path.join(ROOT, 'bench/lpa-api.ts'), seedFile],
    process.env,
    path.join(work, 'lpa-api.log'),
  );
  started.push(lpaApi);
  let origin: string | undefined;
  for (let i = 0; i < 200 && origin === undefined; i++) {
    origin = /^LPA_API_ORIGIN (\S+)$/m.exec(readFileSync(lpaApi.logFile, 'utf8'))?.[1];
    if (origin === undefined) await sleep(100);
  }
  if (origin === undefined) throw new Error(`the bench's LPA API did not start:\n${tail(lpaApi.logFile)}`);
  appEnv.API_BASE_URL = origin;
  appEnv.EGRESS_ALLOW_PRIVATE = '127.0.0.1';
  notes.push(
    `Backend: the LPA API (API_BASE_URL), bench/lpa-api.ts on cpu ${clientCpus}: passwords are checked there ` +
      `and LPAs listed there, as in production.`,
  );
} else if (pkg.scripts?.['user:add'] === undefined) {
  userNote = 'sign-in has not landed yet (no `npm run user:add`)';
} else {
  for (const u of users) {
    const r = spawnSync('npm', ['run', '--silent', 'user:add', '--', '--email', u.email, '--name', 'Bench User'], {
      cwd: ROOT,
      env: appEnv,
      input: `${u.password}\n`,
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      userNote =
        `npm run user:add failed ` +
        `(${String(r.status)}): ${(r.stderr + r.stdout)
          .trim()
          .split('\n')
          .filter((l) => /Error|error/.test(l))
          .slice(0, 2)
          .join(' ')}`;
      break;
    }
  }
}

/**
 * Stops the bench's LPA API and reads what it answered: its calls by operation, and each contract violation (an
 * error of the run). Undefined with the embedded backend.
 */
async function lpaApiSummary(): Promise<
  { calls: number; violations: string[]; byOperation: object; connections: number } | undefined
> {
  if (lpaApi === undefined) return undefined;
  await lpaApi.stop();
  const log = readFileSync(lpaApi.logFile, 'utf8');
  const done = /^LPA_API_DONE (.*)$/m.exec(log)?.[1];
  const parsed =
    done === undefined ? {} : (JSON.parse(done) as { calls?: number; byOperation?: object; connections?: number });
  return {
    calls: parsed.calls ?? 0,
    violations: [...log.matchAll(/^LPA_API_VIOLATION (.*)$/gm)].map((m) => m[1] ?? ''),
    byOperation: parsed.byOperation ?? {},
    connections: parsed.connections ?? 0,
  };
}

// The Node flags production uses (the Dockerfile's CMD), unless --node-flags replaces them for an A/B.
const memoryFlags =
  opts['node-flags'] === undefined
    ? productionNodeFlags(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'))
    : opts['node-flags'].split(/\s+/).filter((f) => f !== '');
if (memoryFlags.length > 0)
  notes.push(
    `The app ran with the Node ` +
      `flags ${memoryFlags.join(' ')}${opts['node-flags'] === undefined ? " (the Dockerfile's CMD)" : ' (--node-flags)'}.`,
  );

say(
  `bench: starting lpa-front (production, ${String(workers)} worker(s), cpu ${serverCpus}) ` +
    `on ${host}${redisUrl === undefined ? ' with the memory session store' : ' with Redis'}, ` +
    `backend ${backend === 'api' ? `the LPA API at ${appEnv.API_BASE_URL ?? ''}` : 'embedded'}`,
);
const profileDir = path.join(RESULTS, 'profiles');
if (opts.profile) mkdirSync(profileDir, { recursive: true });
// The soak also has V8 report each collection, so the live heap after full collections can be followed (a leak grows
// it).
const memoryRun = opts.soak || opts['rss-requests'] !== undefined;
const nodeFlags = [
  ...memoryFlags,
  ...(opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
  ...(memoryRun ? ['--trace-gc'] : []),
];
const app = startPinned(
  serverCpus,
  process.execPath,
  // What production runs: the compiled build (the Dockerfile's CMD, ADR 0058).
  [...nodeFlags, path.join(ROOT, 'dist/server/server.js')],
  appEnv,
  path.join(work, 'app.log'),
);
started.push(app);
await waitForPort(appPort, app);
await sleep(workers > 1 ? 1500 : 300);
// The app buffers its log lines (flushed every second), so wait for the start-up line to land.
let storeKind = 'unknown';
for (let i = 0; i < 30 && storeKind === 'unknown'; i++) {
  storeKind = /"store":"([a-z-]+)"/.exec(readFileSync(app.logFile, 'utf8'))?.[1] ?? 'unknown';
  if (storeKind === 'unknown') await sleep(100);
}
if (redisUrl !== undefined && storeKind !== 'redis')
  notes.push(
    `REDIS_URL was set but the app reported session store "${storeKind}" (the Redis store may ` +
      `not have landed yet).`,
  );

// ---------------------------------------------------------------------------------------------------------
// Scenarios

const BROWSER: Record<string, string> = {
  host,
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'accept-language': 'en-GB,en;q=0.9',
};

interface Prepared {
  spec: RequestSpec;
  expectStatus: number;
  rotate?: RequestSpec[];
}
type Prepare = () => Promise<Prepared | string>;

interface Scenario {
  readonly name: string;
  readonly title: string;
  readonly target?: number;
  readonly reference: 'static' | 'gzip';
  readonly prepare: Prepare;
  /** Visits through several pages (bench/session-flow.ts) rather than one request: no ceiling to compare with. */
  readonly mixed?: true;
}

const get = (p: string, extra: Record<string, string> = {}): RequestSpec => ({
  method: 'GET',
  path: p,
  headers: { ...BROWSER, ...extra },
});

function formPost(p: string, body: Record<string, string>, cookie: string): RequestSpec {
  const text = new URLSearchParams(body).toString();
  return {
    method: 'POST',
    path: p,
    headers: {
      ...BROWSER,
      cookie,
      origin: publicOrigin,
      'sec-fetch-site': 'same-origin',
      'sec-fetch-mode': 'navigate',
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: text,
  };
}

async function formPage(p: string): Promise<{ page: Captured; cookie: string; token: string } | string> {
  const page = await request(appPort, get(p));
  if (page.status === 404) return `${p} answers 404 (not built yet)`;
  if (page.status !== 200) return `GET ${p} answered ${String(page.status)}`;
  const field = inputValue(page.body.toString('utf8'), '_csrf');
  if (field === undefined) return `no _csrf field on ${p}`;
  return { page, cookie: cookieHeader(page), token: field };
}

const cssPath = (
  JSON.parse(readFileSync(path.join(ROOT, 'dist/assets/manifest.json'), 'utf8')) as Record<string, string>
)['css/govuk-frontend.min.css'];

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'static',
    title: '/ (static page)',
    target: 0.6,
    reference: 'static',
    prepare: async () => ({ spec: get('/'), expectStatus: 200 }),
  },
  {
    name: 'long',
    title: '/accessibility (long page)',
    target: 0.6,
    reference: 'static',
    prepare: async () => ({ spec: get('/accessibility'), expectStatus: 200 }),
  },
  {
    name: 'form-get',
    title: 'GET /send-feedback (new session + token)',
    target: 0.4,
    reference: 'static',
    prepare: async () => {
      const probe = await formPage('/send-feedback');
      return typeof probe === 'string' ? probe : { spec: get('/send-feedback'), expectStatus: 200 };
    },
  },
  {
    name: 'form-post',
    title: 'POST /send-feedback (validation error)',
    target: 0.3, // issue 20
    reference: 'static',
    prepare: async () => {
      // One session per connection, as from that many people: one person does not send 50 forms at once.
      const specs: RequestSpec[] = [];
      for (let i = 0; i < connections; i++) {
        const form = await formPage('/send-feedback');
        if (typeof form === 'string') return form;
        // Every field empty but the token: the schema refuses it and the page is rendered again with errors.
        specs.push(formPost('/send-feedback', { _csrf: form.token }, form.cookie));
      }
      // Leave FEEDBACK_MIN_SECONDS (default 3) to pass, as a person would, so the rule in force is not bypassed.
      await sleep(3500);
      const [first] = specs;
      return first === undefined ? 'no connections' : { spec: first, rotate: specs, expectStatus: 400 };
    },
  },
  {
    name: 'dashboard',
    title: '/user/dashboard (signed in, session in Redis)',
    target: 0.4, // issue 20
    reference: 'static',
    prepare: async () => {
      if (userNote !== null) return userNote;
      if (storeKind !== 'redis') return `session store is "${storeKind}", not Redis`;
      const login = await formPage('/login');
      if (typeof login === 'string') return login;
      const fields = inputs(login.page.body.toString('utf8'));
      const email = fields.find((f) => f.type === 'email' || /email|user/i.test(f.name))?.name;
      const password = fields.find((f) => f.type === 'password')?.name;
      if (email === undefined || password === undefined) return 'could not find the sign-in fields on /login';
      const res = await request(
        appPort,
        formPost('/login', { [email]: user.email, [password]: user.password, _csrf: login.token }, login.cookie),
      );
      if (res.status < 300 || res.status >= 400) return `sign-in answered ${String(res.status)}, not a redirect`;
      const cookie = cookieHeader(res, login.cookie);
      const dash = await request(appPort, get('/user/dashboard', { cookie }));
      if (dash.status !== 200)
        return (
          `GET /user/dashboard after sign-in answered ${String(dash.status)} ` + `(${header(dash, 'location') ?? ''})`
        );
      return { spec: get('/user/dashboard', { cookie }), expectStatus: 200 };
    },
  },
  {
    name: 'asset',
    title: 'CSS asset (br, pre-compressed)',
    reference: 'static',
    prepare: async () =>
      cssPath === undefined
        ? 'no css in the asset manifest'
        : {
            spec: get(cssPath, { accept: 'text/css,*/*;q=0.1', 'accept-encoding': 'gzip, deflate, br, zstd' }),
            expectStatus: 200,
          },
  },
  {
    name: 'static-gzip',
    title: '/ with Accept-Encoding: br, gzip',
    target: 0.3,
    reference: 'gzip',
    prepare: async () => ({ spec: get('/', { 'accept-encoding': 'br, gzip' }), expectStatus: 200 }),
  },
  {
    name: 'mixed',
    title: 'mixed: visits (home, sign in, dashboard, form with an error, corrected, dashboard, sign ' + 'out)',
    reference: 'static',
    mixed: true,
    // The visits need only the app; this returns the first page as a check that the app answers.
    prepare: async () => {
      if (userNote !== null) return userNote;
      if (storeKind !== 'redis') return `session store is "${storeKind}", not Redis`;
      return { spec: get('/'), expectStatus: 200 };
    },
  },
];

// ---------------------------------------------------------------------------------------------------------
// Running

let peakSampled = 0;
function sampleDuring<T>(work: Promise<T>): Promise<T> {
  const timer = setInterval(() => {
    peakSampled = Math.max(peakSampled, rssOf(app.pid));
  }, 250);
  return work.finally(() => {
    clearInterval(timer);
  });
}

function side(results: readonly LoadResult[]): Side {
  const requests = results.reduce((n, r) => n + r.requests, 0);
  const secs = results.reduce((n, r) => n + r.seconds, 0);
  const p99s = results.map((r) => r.p99);
  const statuses: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  return {
    rps: secs === 0 ? 0 : requests / secs,
    p50: quantile(
      results.map((r) => r.p50),
      0.5,
    ),
    p99: quantile(p99s, 0.5),
    p99Worst: Math.max(0, ...p99s),
    errors: results.reduce((n, r) => n + r.socketErrors + r.unexpected, 0),
    requests,
    statuses,
  };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-GB');

async function runScenario(s: Scenario, index: number, total: number): Promise<ScenarioResult> {
  const label = `[${String(index)}/${String(total)}] ${s.title}`;
  const base = {
    name: s.name,
    title: s.title,
    reference: s.reference,
    ...(s.target === undefined ? {} : { target: s.target }),
  };
  const prepared = await s.prepare();
  if (typeof prepared === 'string') {
    say(`${label}: skipped (${prepared})`);
    return { ...base, skipped: prepared };
  }
  if (s.mixed === true) return runMixed(label, base);
  const captured = await request(appPort, prepared.spec);
  if (captured.status !== prepared.expectStatus) {
    const why = `expected ${String(prepared.expectStatus)}, got ${String(captured.status)}`;
    say(`${label}: skipped (${why})`);
    return { ...base, skipped: why };
  }
  const file = path.join(work, `ceiling-${s.name}.json`);
  writeFileSync(
    file,
    JSON.stringify({ status: captured.status, headers: captured.headers, body: captured.body.toString('base64') }),
  );
  const ceilingPort = await freePort();
  const ceiling = startPinned(
    serverCpus,
    process.execPath,
    [path.join(ROOT, 'bench/ceiling.ts'), file, String(ceilingPort), String(workers)],
    process.env,
    path.join(work, `ceiling-${s.name}.log`),
  );
  started.push(ceiling);
  try {
    await waitForPort(ceilingPort, ceiling);
    const check = await request(ceilingPort, prepared.spec);
    if (!check.body.equals(captured.body) || check.status !== captured.status)
      throw new Error('the ceiling does not replay the captured response');
    const encoding = header(captured, 'content-encoding');
    say(`${label}: ${String(captured.body.length)} bytes${encoding === undefined ? '' : ` (${encoding})`}, warming up`);
    const run = (port: number, secs: number): Promise<LoadResult> =>
      load({
        tool,
        cpus: clientCpus,
        port,
        spec: prepared.spec,
        expectStatus: prepared.expectStatus,
        connections,
        seconds: secs,
        workDir: work,
        ...(prepared.rotate === undefined ? {} : { rotate: prepared.rotate }),
      });
    if (coldStart === undefined && firstWarmup > COLD_SECONDS) {
      const cold = await sampleDuring(run(appPort, COLD_SECONDS));
      coldStart = {
        title: s.title,
        seconds: COLD_SECONDS,
        rps: cold.rps,
        p50: cold.p50,
        p99: cold.p99,
        errors: cold.socketErrors + cold.unexpected,
      };
      say(
        `${label}: cold start (first ${String(COLD_SECONDS)} s of load on the new ` +
          `app): ${fmt(cold.rps)} req/s, p99 ${cold.p99.toFixed(2)} ms; warming ` +
          `up ${String(firstWarmup - COLD_SECONDS)} s more`,
      );
      await sampleDuring(run(appPort, firstWarmup - COLD_SECONDS));
    } else {
      await sampleDuring(run(appPort, warmup));
    }
    await run(ceilingPort, warmup);
    const appRuns: LoadResult[] = [];
    const ceilingRuns: LoadResult[] = [];
    const pairSteal: number[] = [];
    // CPU time per request: the app's includes Redis, which serves only the app and runs on the same core(s).
    const appCpuPids = redisPid === undefined ? [app.pid] : [app.pid, redisPid];
    const cpuUs: Record<'app' | 'ceiling', number[]> = { app: [], ceiling: [] };
    // Redis's own share of the app's, reported beside it (issue 20).
    const redisCpuUs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first, so neither always follows the other.
      const order = r % 2 === 0 ? (['app', 'ceiling'] as const) : (['ceiling', 'app'] as const);
      const line: string[] = [];
      let steal = 0;
      for (const who of order) {
        const before = procStat();
        const cpuPids = who === 'app' ? appCpuPids : [ceiling.pid];
        const cpuBefore = cpuTimeOf(cpuPids);
        const redisBefore = redisPid === undefined ? 0 : cpuTimeOf([redisPid]);
        const result = who === 'app' ? await sampleDuring(run(appPort, seconds)) : await run(ceilingPort, seconds);
        const perRequest = (cpuTimeOf(cpuPids) - cpuBefore) / Math.max(1, result.requests);
        if (who === 'app' && redisPid !== undefined)
          redisCpuUs.push((cpuTimeOf([redisPid]) - redisBefore) / Math.max(1, result.requests));
        const taken = stealShare(before, procStat(), benchCpus);
        steal = Math.max(steal, taken);
        (who === 'app' ? appRuns : ceilingRuns).push(result);
        cpuUs[who].push(perRequest);
        line.push(
          `${who} ${fmt(result.rps)} req/s p99 ${result.p99.toFixed(2)} ms ` +
            `cpu ${perRequest.toFixed(0)} µs/req steal ${(taken * 100).toFixed(1)} ` +
            `%${result.socketErrors + result.unexpected > 0 ? ` ERRORS ${String(result.socketErrors + result.unexpected)}` : ''}`,
        );
      }
      pairSteal.push(steal);
      say(`${label}: round ${String(r + 1)}/${String(rounds)}: ${line.join(' | ')}`);
    }
    const appSide = side(appRuns);
    let note: string | undefined;
    if (appSide.errors > 0) {
      // Say why: the first distinct error lines the app logged (messages only, the log is redacted anyway).
      const errors = readFileSync(app.logFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"level":"error"'));
      const reasons = [
        ...new Set(
          errors
            .map((l) => /"msg":"([^"]*)"/.exec(l)?.[1] ?? '')
            .concat(errors.map((l) => /"message":"([^"]{0,160})/.exec(l)?.[1] ?? '')),
        ),
      ].filter((m) => m !== '');
      note =
        `statuses ${JSON.stringify(appSide.statuses)}; app errors ` +
        `logged: ${reasons.slice(0, 4).join(' / ') || 'none'}`;
      say(`${label}: ${note}`);
    }
    const pairRatios = appRuns.map((a, i) => a.rps / Math.max(1, ceilingRuns[i]?.rps ?? 0));
    const result: ScenarioResult = {
      ...base,
      app: appSide,
      ceiling: side(ceilingRuns),
      pairRatios,
      pairSteal,
      appRoundP99s: appRuns.map((a) => a.p99),
      bodyBytes: captured.body.length,
      appCpuUs: cpuUs.app,
      ceilingCpuUs: cpuUs.ceiling,
      ...(redisCpuUs.length === 0 ? {} : { redisCpuUs }),
      ...(note === undefined ? {} : { note }),
    };
    const ra = ratio(result);
    say(
      `${label}: ${fmt(result.app?.rps ?? 0)} vs ${fmt(result.ceiling?.rps ?? 0)} req/s, ` +
        `ratio ${ra === undefined ? '–' : ra.toFixed(2)}: ${verdict(result).why}`,
    );
    return result;
  } finally {
    await ceiling.stop();
  }
}

/**
 * The mixed scenario: every connection makes visits one after another. A visit takes seconds (sign-in alone is one
 * scrypt, ~100 ms of CPU), so the scenario runs once for all its rounds' time rather than in short rounds that would
 * restart every visit. There is no ceiling (a visit is many different responses): it reports the app's own req/s,
 * latency, errors and CPU per request (with Redis's).
 */
async function runMixed(
  label: string,
  base: Pick<ScenarioResult, 'name' | 'title' | 'reference'>,
): Promise<ScenarioResult> {
  const secs = Math.max(20, rounds * seconds);
  // At most 8 visits at once: each starts with a sign-in (one scrypt, ~90 ms of CPU), and 50 at once saturate the core
  // for seconds. In that state (2026-12-06, one worker on one shared core) the next page after sign-in was not signed
  // in (302 to /login) for every visit. The app is not at fault:
  // test/integration/concurrent-sign-ins.integration.test.ts
  // signs 50 in at once over real HTTP and Redis, and each is signed in on its next page, but the last sign-in queued
  // behind the others answers after about 15 s, past mixed-client.ts's 10 s timeout: the visit then goes on without
  // the new session cookie (the likely cause, not measured in the bench itself).
  const visitConnections = Math.min(connections, 8);
  notes.push(
    `mixed ran ${String(visitConnections)} visits at once (of ${String(connections)} ` +
      `connections): see bench/run.ts runMixed.`,
  );
  const visits = (s: number) =>
    loadMixed({
      cpus: clientCpus,
      port: appPort,
      host,
      origin: publicOrigin,
      users,
      connections: visitConnections,
      seconds: s,
    });
  say(`${label}: warming up`);
  const w = await sampleDuring(visits(coldStart === undefined ? firstWarmup : Math.max(warmup, 5)));
  if (w.requests === 0) return { ...base, skipped: `no request completed (${w.firstUnexpected.join(', ')})` };
  const cpuPids = redisPid === undefined ? [app.pid] : [app.pid, redisPid];
  const before = cpuTimeOf(cpuPids);
  const r = await sampleDuring(visits(secs));
  const perRequest = (cpuTimeOf(cpuPids) - before) / Math.max(1, r.requests);
  const appSide = side([r]);
  const note =
    appSide.errors > 0
      ? `statuses ${JSON.stringify(appSide.statuses)}; first ` + `unexpected: ${r.firstUnexpected.join(', ')}`
      : undefined;
  say(
    `${label}: ${fmt(r.rps)} req/s over ${String(secs)} s, ${String(r.visits)} visits, ` +
      `p99 ${r.p99.toFixed(2)} ms, cpu ${perRequest.toFixed(0)} µs/req (app with Redis; no ` +
      `ceiling)${note === undefined ? '' : `; ${note}`}`,
  );
  return {
    ...base,
    app: appSide,
    appCpuUs: [perRequest],
    appRoundP99s: [r.p99],
    ...(note === undefined ? {} : { note }),
  };
}

/** Adds the bench's LPA API's figures to the notes (--backend api); returns its contract violations, errors. */
async function noteLpaApi(): Promise<number> {
  const summary = await lpaApiSummary();
  if (summary === undefined) return 0;
  notes.push(
    `The LPA API answered ${fmt(summary.calls)} calls (${JSON.stringify(summary.byOperation)}) on ` +
      `${fmt(summary.connections)} TCP connections, ` +
      `${String(summary.violations.length)} contract violations${summary.violations.length > 0 ? `, first: ${summary.violations.slice(0, 3).join(' / ')}` : ''}.`,
  );
  return summary.violations.length;
}

async function bench(): Promise<void> {
  const chosen = SCENARIOS.filter((s) => only === null || only.has(s.name));
  const results: ScenarioResult[] = [];
  for (const [i, s] of chosen.entries()) {
    try {
      results.push(await runScenario(s, i + 1, chosen.length));
    } catch (err) {
      const why = err instanceof Error ? err.message.split('\n').slice(0, 4).join(' ') : String(err);
      say(`[${String(i + 1)}/${String(chosen.length)}] ${s.title}: FAILED ${why}`);
      results.push({ name: s.name, title: s.title, reference: s.reference, skipped: `failed: ${why}` });
    }
  }
  if ((await noteLpaApi()) > 0) say('bench: the LPA API saw contract violations (see the notes)');
  const run: RunResult = {
    startedAt: new Date().toISOString(),
    machine:
      `${os.cpus()[0]?.model.trim() ?? 'cpu'} ` +
      `× ${String(os.availableParallelism())}, ${os.platform()} ${os.release()}, ` +
      `Node ${process.version}`,
    tool,
    connections,
    rounds,
    seconds,
    workers,
    serverCpus,
    clientCpus,
    store: storeKind,
    peakRssBytes: Math.max(peakRssOf(app.pid), peakSampled),
    workerRss: workerRss(app.pid),
    scenarios: results,
    ...(coldStart === undefined ? {} : { coldStart }),
    notes,
  };
  const md = markdown(run);
  writeFileSync(path.join(RESULTS, `${opts.name}.md`), md);
  writeFileSync(path.join(RESULTS, `${opts.name}.json`), `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(path.join(RESULTS, `${opts.name}.svg`), svg(run));
  say('');
  say(md);
  say(
    `Reference (issue 6): Flask ${fmt(REFERENCES.flaskStatic)} req/s static; Express + ` +
      `helmet ${fmt(REFERENCES.expressPage)} req/s, ${fmt(REFERENCES.expressGzip)} with gzip.`,
  );
  for (const s of results) {
    if (s.app === undefined || s.ceiling === undefined) continue;
    const floor = tenTimesFloor(s);
    say(
      `  ≥10× check ${s.title}: ${fmt(s.app.rps)} req/s vs ${fmt(floor)} ` +
        `needed: ${s.app.rps >= floor ? 'PASS' : 'FAIL'}`,
    );
  }
  say(`Results: ${path.relative(ROOT, path.join(RESULTS, `${opts.name}.{md,json,svg}`))}`);
}

/** The largest worker's VmRSS and its smaps by kind of mapping; undefined if /proc cannot tell. */
function workerSmaps(): (SmapsSummary & { readonly rssBytes: number }) | undefined {
  const pid = workerPids(app.pid)
    .map((p) => ({ p, rss: rssOf(p) }))
    .sort((a, b) => b.rss - a.rss)[0];
  if (pid === undefined) return undefined;
  try {
    const exe = readlinkSync(`/proc/${String(pid.p)}/exe`);
    return {
      ...smapsSummary(readFileSync(`/proc/${String(pid.p)}/smaps`, 'utf8'), exe),
      rssBytes: rssOf(pid.p),
    };
  } catch {
    return undefined;
  }
}

async function soak(): Promise<void> {
  // --rss-requests: issue 20's memory run. The same rounds as the soak, with signed-in pages in the rotation and,
  // beside
  // it, visits of the mixed scenario on a few connections (sign in, forms with and without errors, sign out).
  const rssRun = opts['rss-requests'] !== undefined;
  const target = Number(opts['rss-requests'] ?? opts['soak-requests']);
  const specs: RequestSpec[] = [
    get('/'),
    get('/', { 'accept-encoding': 'br, gzip' }),
    get('/accessibility', { 'accept-encoding': 'gzip' }),
  ];
  if (cssPath !== undefined) specs.push(get(cssPath, { 'accept-encoding': 'br, gzip' }));
  const mix = ['/', '/ (gzip)', '/accessibility (gzip)', 'css (br)'];
  const form = await formPage('/send-feedback');
  if (typeof form !== 'string') {
    if (storeKind === 'redis') {
      specs.push(get('/send-feedback'));
      mix.push('GET /send-feedback (new session each)');
    } else {
      notes.push(
        `GET /send-feedback left out of the soak: with the "${storeKind}" store every request ` +
          `keeps a new session in the app's memory for SESSION_TTL_SECONDS, so RSS would grow by ` +
          `design (and the memory store refuses new sessions past its cap).`,
      );
    }
  }
  // Visits sign in (one scrypt each, 32 MiB for ~100 ms), so they run at a people-like rate beside the rotation, on
  // connections of their own, for the whole run.
  const VISIT_RATE = Number(opts['visit-rate']);
  const visitConnections = rssRun && VISIT_RATE > 0 && userNote === null && storeKind === 'redis' ? 2 : 0;
  const alsoExpect: number[] = [];
  if (rssRun) {
    for (const name of ['dashboard', 'form-post'] as const) {
      const prepared = await SCENARIOS.find((x) => x.name === name)?.prepare();
      if (prepared === undefined || typeof prepared === 'string') continue;
      specs.push(...(prepared.rotate ?? [prepared.spec]).slice(0, 4));
      if (prepared.expectStatus !== 200) alsoExpect.push(prepared.expectStatus);
      mix.push(name === 'dashboard' ? '/user/dashboard (signed in)' : 'POST /send-feedback (validation error)');
    }
    if (visitConnections > 0)
      mix.push(
        `beside them, visits of the mixed scenario on ${String(visitConnections)} connections ` +
          `at ${String(VISIT_RATE)} requests/s`,
      );
    else notes.push(`No visits in the memory run: ${userNote ?? `session store is "${storeKind}", not Redis`}.`);
  }
  const stopVisits = new AbortController();
  const visiting =
    visitConnections > 0
      ? loadMixed({
          cpus: clientCpus,
          port: appPort,
          host,
          origin: publicOrigin,
          users,
          connections: visitConnections,
          seconds: 24 * 3600,
          rate: VISIT_RATE,
          signal: stopVisits.signal,
        })
      : undefined;
  say(`${rssRun ? 'rss' : 'soak'}: ${fmt(target)} requests, mix: ${mix.join(', ')}`);
  const rssNow = (): number => (rssRun ? largestWorkerRss(app.pid) : rssOf(app.pid));
  const samples: SoakSample[] = [{ requests: 0, rssBytes: rssNow() }];
  // Read only what the app's log gained since the last sample (it grows by a line per request).
  let logOffset = 0;
  let gc: { readonly liveBytes: number; readonly committedBytes: number } | undefined;
  const newLog = (): string => {
    const fd = openSync(app.logFile, 'r');
    try {
      const size = fstatSync(fd).size;
      const buf = Buffer.alloc(Math.max(0, size - logOffset));
      readSync(fd, buf, 0, buf.length, logOffset);
      logOffset = size;
      return buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  };
  let total = 0;
  let errors = 0;
  let visitCount = 0;
  const startedAt = Date.now();
  // The memory run reads the worker's RSS on a timer for the whole run, not once a round: a level is then the median
  // of many samples, so the sign-ins in flight (32 MiB each while their scrypt runs) decide neither level. Each sample
  // gets the requests served by then, interpolated between the counts taken at the start and end of each round.
  const sampleMs = Number(opts['rss-sample-ms']);
  const checkpoints: Checkpoint[] = [{ atMs: startedAt, requests: 0 }];
  const timed: { readonly atMs: number; readonly rssBytes: number }[] = [];
  const sampler = rssRun
    ? setInterval(() => {
        timed.push({ atMs: Date.now(), rssBytes: largestWorkerRss(app.pid) });
      }, sampleMs)
    : undefined;
  while (total < target) {
    checkpoints.push({ atMs: Date.now(), requests: total });
    const r = await load({
      tool,
      cpus: clientCpus,
      port: appPort,
      spec: specs[0] ?? get('/'),
      rotate: specs,
      expectStatus: 200,
      alsoExpect,
      connections,
      seconds: 2,
      workDir: work,
    });
    // The visits' requests are counted at the end; at 20/s they add a fraction of a per cent between samples.
    total += r.requests + (visiting === undefined ? 0 : Math.round(VISIT_RATE * r.seconds));
    checkpoints.push({ atMs: Date.now(), requests: total });
    errors += r.socketErrors + r.unexpected;
    const rss = rssNow();
    gc = lastMajorGc(newLog()) ?? gc;
    samples.push({
      requests: total,
      rssBytes: rss,
      ...(gc === undefined ? {} : { liveHeapBytes: gc.liveBytes, heapCommittedBytes: gc.committedBytes }),
    });
    say(
      `${rssRun ? 'rss' : 'soak'}: ${fmt(total)} / ${fmt(target)} requests, ${fmt(r.rps)} ` +
        `req/s, ${rssRun ? 'worker ' : ''}RSS ${(rss / 1048576).toFixed(1)} ` +
        `MiB${gc === undefined ? '' : `, after last full GC: live heap ${(gc.liveBytes / 1048576).toFixed(1)} MiB, committed ${(gc.committedBytes / 1048576).toFixed(1)} MiB`}${errors > 0 ? `, errors ${String(errors)}` : ''}`,
    );
  }
  clearInterval(sampler);
  const rssSamples: SoakSample[] = timed.map((t) => ({
    requests: requestsAt(t.atMs, checkpoints),
    rssBytes: t.rssBytes,
  }));
  stopVisits.abort();
  const v2 = await visiting;
  if (v2 !== undefined) {
    visitCount = v2.visits;
    errors += v2.socketErrors + v2.unexpected;
    if (v2.unexpected > 0)
      notes.push(
        `Visits: statuses ${JSON.stringify(v2.statuses)}; first ` + `unexpected: ${v2.firstUnexpected.join(', ')}.`,
      );
  }
  errors += await noteLpaApi();
  // What holds the largest worker's memory once the load has stopped, by kind of mapping.
  const smaps = rssRun ? workerSmaps() : undefined;
  const v = soakVerdict(samples);
  const flatness = rssRun ? rssFlatness(rssSamples) : undefined;
  const h = heapVerdict(samples);
  const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;
  const md = [
    `# lpa-front ${rssRun ? 'memory run of the mixed scenarios (issue 20)' : 'soak (memory check)'}, ${new Date().toISOString()}`,
    '',
    `${fmt(total)} requests in ${((Date.now() - startedAt) / 1000).toFixed(0)} s ` +
      `(${tool}, ${String(connections)} connections, ${String(workers)} worker(s), ` +
      `store ${storeKind}, backend ${backend}); mix: ${mix.join(', ')}; ` +
      `errors: ${String(errors)}${visitConnections > 0 ? `; ${fmt(visitCount)} visits` : ''}.` +
      (rssRun
        ? ` Worker RSS (VmRSS) sampled every ${String(sampleMs)} ms: ${fmt(rssSamples.length)} samples` +
          `; the rows below the flatness checks are per round (${fmt(samples.length)}).`
        : ''),
    '',
    '| measure | value |',
    '| --- | ---: |',
    `| ${rssRun ? 'worker ' : ''}RSS at start | ${mib(samples[0]?.rssBytes ?? 0)} |`,
    ...(flatness === undefined ? [] : rssFlatnessLines(flatness)),
    ...(smaps === undefined
      ? []
      : [`| worker RSS once the load stopped (${mib(smaps.rssBytes)}), by mapping (smaps) | ${smapsLine(smaps)} |`]),
    `| RSS after warm-up (${fmt(v.warmupRequests)} requests) | ${mib(v.rssAfterWarmup)} |`,
    `| highest RSS after warm-up | ${mib(v.rssMaxAfterWarmup)} |`,
    `| RSS at end | ${mib(v.rssEnd)} |`,
    `| growth over the last half (least squares) | ${mib(v.slopePer100k)} per 100,000 requests |`,
    // The kernel's RSS counters are per-thread approximations, so a sample can read a little above VmHWM.
    `| peak RSS (VmHWM, or the highest sample if higher) ` +
      `| ${mib(Math.max(rssRun ? Math.max(0, ...workerRss(app.pid).map((w) => w.peakBytes)) : peakRssOf(app.pid), ...samples.map((x) => x.rssBytes)))} ` +
      `|`,
    ...(h === undefined
      ? []
      : [
          `| V8 live heap after a full collection, after warm-up | ${mib(h.liveAfterWarmup)} |`,
          `| V8 live heap after the last full collection | ${mib(h.liveEnd)} |`,
          `| live heap growth over the last half (least squares) | ${mib(h.slopePer100k)} per 100,000 requests |`,
          ...(h.committedAfterWarmup === undefined ||
          h.committedEnd === undefined ||
          h.outsideAfterWarmup === undefined ||
          h.outsideEnd === undefined
            ? []
            : [
                `| V8 heap committed (held from the OS), after warm-up → end ` +
                  `| ${mib(h.committedAfterWarmup)} → ${mib(h.committedEnd)} |`,
                `| RSS outside V8's heap (native: buffers, zlib, sockets, code), after warm-up → end ` +
                  `| ${mib(h.outsideAfterWarmup)} → ${mib(h.outsideEnd)} |`,
              ]),
        ]),
    '',
    h === undefined
      ? 'Live heap: no full collections were reported (--trace-gc).'
      : `Live heap: ${h.flat ? 'FLAT (no leak in JavaScript objects)' : 'GROWING'} (criterion: < ` +
        `0.5 MiB per 100,000 requests over the last half).`,
    `Verdict: ${v.flat ? 'RSS stopped growing after warm-up' : 'RSS was STILL GROWING after warm-up'} ` +
      `(criterion: slope < 1 MiB per 100,000 requests and end ≤ max(8 MiB, 10 %) above the ` +
      `post-warm-up value).`,
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
  const suffix = rssRun ? 'rss' : 'soak';
  writeFileSync(path.join(RESULTS, `${opts.name}-${suffix}.md`), md);
  writeFileSync(
    path.join(RESULTS, `${opts.name}-${suffix}.json`),
    `${JSON.stringify({ total, errors, mix, store: storeKind, backend, workers, nodeFlags: memoryFlags, verdict: v, flatness: flatness ?? null, heap: h ?? null, smaps: smaps ?? null, samples, ...(rssRun ? { sampleMs, rssSamples } : {}) }, null, 2)}\n`,
  );
  writeFileSync(
    path.join(RESULTS, `${opts.name}-${suffix}.svg`),
    soakSvg(rssRun ? rssSamples : samples, `lpa-front ${rssRun ? 'worker ' : ''}RSS over ${fmt(total)} requests`),
  );
  say('');
  say(md);
}

try {
  if (memoryRun) await soak();
  else await bench();
} catch (err) {
  say(`bench failed: ${err instanceof Error ? err.message : String(err)}\n--- app log ---\n${tail(app.logFile)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
