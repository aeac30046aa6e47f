/**
 * Old against new for one request, each side a production app of its own code (as that code's Dockerfile runs it:
 * its CMD's Node flags, `dist/server/server.js` when it has one, else `src/server.ts`), loaded in alternating rounds
 * (old, new, new, old, …) in one run on the same pinned CPUs. Reports the medians of CPU µs per request (with the
 * side's Redis, when it has one) and requests per second, their ratios new/old, and issue 20's "slower" test: the new
 * median beside the old code's worst round. The machine is shared: ratios, not absolute figures, are what one run can
 * say. ADR 0053 (about-you), issue 20 (the budget check).
 *
 *   git archive <old commit> | tar -x -C /tmp/old && ln -s "$PWD/node_modules" /tmp/old/
 *   (cd /tmp/old && npm run build)
 *   node bench/ab.ts --old /tmp/old --scenario form-get|static|about-you|dashboard
 *        [--rounds 10 --seconds 3 --warmup 5 --connections 10 --name ab-<scenario>]
 *
 * Sessions in Redis, as `npm run bench` runs them: one redis-server per side, pinned beside its app.
 * Results: bench/results/<name>.md.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Proc, RequestSpec } from './lib.ts';
import {
  benchAppEnv,
  cookieHeader,
  cpuTimeOf,
  freePort,
  inputValue,
  load,
  productionNodeFlags,
  request,
  sleep,
  startPinned,
  waitForPort,
} from './lib.ts';

const ROOT = path.join(import.meta.dirname, '..');
const SCENARIOS = ['about-you', 'form-get', 'static', 'dashboard'] as const;
type Scenario = (typeof SCENARIOS)[number];
const { values: opts } = parseArgs({
  options: {
    old: { type: 'string' },
    scenario: { type: 'string', default: 'about-you' },
    rounds: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10' },
    'server-cpus': { type: 'string', default: '0' },
    'client-cpus': { type: 'string', default: '1' },
    name: { type: 'string' },
  },
});
if (opts.old === undefined) throw new Error('usage: node bench/ab.ts --old <checkout of the old code> --scenario …');
const scenario = opts.scenario as Scenario;
if (!SCENARIOS.includes(scenario)) throw new Error(`--scenario: one of ${SCENARIOS.join(', ')}`);
const rounds = Number(opts.rounds);
const seconds = Number(opts.seconds);
const connections = Number(opts.connections);
const work = mkdtempSync(path.join(os.tmpdir(), 'lpa-ab-'));
const PASSWORD = `Bench-${randomBytes(12).toString('hex')}-Aa1!`;
const EMAIL = 'bench.ab@example.com';

interface Side {
  readonly name: 'old' | 'new';
  readonly procs: Proc[];
  readonly cpuPids: number[];
  readonly port: number;
  readonly spec: RequestSpec;
  readonly expect: number;
}

async function startRedis(name: string): Promise<{ proc: Proc; url: string }> {
  const port = await freePort();
  const proc = startPinned(
    opts['server-cpus'],
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
    process.env,
    path.join(work, `${name}-redis.log`),
  );
  await waitForPort(port, proc);
  return { proc, url: `redis://127.0.0.1:${String(port)}` };
}

async function startSide(name: 'old' | 'new', dir: string): Promise<Side> {
  const procs: Proc[] = [];
  const redis = await startRedis(name);
  procs.push(redis.proc);
  const port = await freePort();
  const origin = `https://127.0.0.1:${String(port)}`;
  const env = benchAppEnv({ port, dataDir: path.join(work, name), workers: 1, logLevel: 'info', redisUrl: redis.url });
  const added = spawnSync(process.execPath, ['scripts/user-add.ts', '--email', EMAIL, '--name', 'Bench User'], {
    cwd: dir,
    env,
    input: `${PASSWORD}\n`,
    encoding: 'utf8',
  });
  if (added.status !== 0) throw new Error(`${name}: user:add failed: ${added.stderr}`);
  const flags = productionNodeFlags(readFileSync(path.join(dir, 'Dockerfile'), 'utf8'));
  const compiled = path.join(dir, 'dist/server/server.js');
  const entry = existsSync(compiled) ? compiled : path.join(dir, 'src/server.ts');
  const app = startPinned(
    opts['server-cpus'],
    process.execPath,
    [...flags, entry],
    env,
    path.join(work, `${name}.log`),
  );
  procs.push(app);
  await waitForPort(port, app);
  const browser = {
    host: `127.0.0.1:${String(port)}`,
    'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0',
    accept: 'text/html',
  };
  const get = (p: string, cookie?: string): RequestSpec => ({
    method: 'GET',
    path: p,
    headers: cookie === undefined ? browser : { ...browser, cookie },
  });
  const post = (p: string, body: Record<string, string>, cookie: string): RequestSpec => ({
    method: 'POST',
    path: p,
    headers: {
      ...browser,
      cookie,
      origin,
      'sec-fetch-site': 'same-origin',
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(body).toString(),
  });
  const signIn = async (): Promise<string> => {
    const login = await request(port, get('/login'));
    const loginCookie = cookieHeader(login);
    const csrf = inputValue(login.body.toString('utf8'), '_csrf') ?? '';
    const signedIn = await request(
      port,
      post('/login', { email: EMAIL, password: PASSWORD, _csrf: csrf }, loginCookie),
    );
    return cookieHeader(signedIn, loginCookie);
  };
  let spec: RequestSpec;
  let expect = 200;
  if (scenario === 'static') spec = get('/');
  else if (scenario === 'form-get') spec = get('/send-feedback');
  else if (scenario === 'dashboard') spec = get('/user/dashboard', await signIn());
  else {
    const cookie = await signIn();
    const page = await request(port, get('/user/about-you', cookie));
    if (page.status !== 200) throw new Error(`${name}: GET /user/about-you answered ${String(page.status)}`);
    // Last name missing and a date of birth that is no date: two errors, the rest shown back.
    spec = post(
      '/user/about-you',
      {
        'name-title': 'Dr',
        'name-first': 'Bench',
        'name-last': '',
        'dob-date-day': '31',
        'dob-date-month': '2',
        'dob-date-year': '1980',
        'address-address1': '1 High Street',
        'address-address2': 'Town',
        'address-address3': '',
        'address-postcode': 'B1 1TF',
        action: 'save',
        _csrf: inputValue(page.body.toString('utf8'), '_csrf') ?? '',
      },
      cookie,
    );
    expect = 400;
  }
  const probe = await request(port, spec);
  if (probe.status !== expect)
    throw new Error(`${name}: ${spec.path} answered ${String(probe.status)}, not ${String(expect)}`);
  return { name, procs, cpuPids: procs.map((p) => p.pid), port, spec, expect };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

const sides: Side[] = [];
const NEW_DIR = process.env.AB_NEW ?? ROOT;
try {
  sides.push(await startSide('old', path.resolve(opts.old)), await startSide('new', NEW_DIR));
  const run = (side: Side, secs: number) =>
    load({
      tool: 'wrk',
      cpus: opts['client-cpus'],
      port: side.port,
      spec: side.spec,
      expectStatus: side.expect,
      connections,
      seconds: secs,
      workDir: work,
    });
  for (const side of sides) await run(side, Number(opts.warmup));
  const cpu: Record<'old' | 'new', number[]> = { old: [], new: [] };
  const rps: Record<'old' | 'new', number[]> = { old: [], new: [] };
  for (let round = 0; round < rounds; round++) {
    // ABBA: neither side always goes first after the other.
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      const before = cpuTimeOf(side.cpuPids);
      const result = await run(side, seconds);
      if (result.unexpected > 0 || result.socketErrors > 0)
        throw new Error(`${side.name}: ${String(result.unexpected)} unexpected answers`);
      cpu[side.name].push((cpuTimeOf(side.cpuPids) - before) / Math.max(1, result.requests));
      rps[side.name].push(result.rps);
      process.stdout.write(`round ${String(round + 1)} ${side.name}: ${result.rps.toFixed(0)} req/s\n`);
      await sleep(200);
    }
  }
  const ratio = (a: number, b: number) => (a / b).toFixed(3);
  const us = (xs: readonly number[]) => xs.map((x) => x.toFixed(0)).join(' ');
  const title = {
    'about-you': 'POST /user/about-you with an error',
    'form-get': 'GET /send-feedback',
    static: 'GET /',
    dashboard: 'GET /user/dashboard, signed in, session in Redis',
  }[scenario];
  const lines = [
    `# ${title}: old against new (${new Date().toISOString()})`,
    '',
    `Old: ${path.resolve(opts.old)}. ${String(rounds)} rounds of ${String(seconds)} s each side, alternating (ABBA),`,
    `${String(connections)} connections, server on CPU ${opts['server-cpus']}, wrk on CPU ${opts['client-cpus']}; shared machine: ratios only.`,
    '',
    // "Slower" (issues 19 and 20): the new median worse than the old code's worst round.
    '| | old median | new median | new / old (medians) | new median / old worst round |',
    '| --- | ---: | ---: | --- | --- |',
    `| CPU µs per request | ${median(cpu.old).toFixed(1)} | ${median(cpu.new).toFixed(1)} | ${ratio(median(cpu.new), median(cpu.old))} | ${ratio(median(cpu.new), Math.max(...cpu.old))} |`,
    `| requests per second | ${median(rps.old).toFixed(0)} | ${median(rps.new).toFixed(0)} | ${ratio(median(rps.new), median(rps.old))} | ${ratio(median(rps.new), Math.min(...rps.old))} |`,
    '',
    // Each round's pair ran back to back: their ratio cancels most of the machine's drift between rounds.
    `Median of the rounds' new/old CPU ratios: ${median(cpu.new.map((n, i) => n / (cpu.old[i] ?? n))).toFixed(3)}.`,
    '',
    `CPU µs per request by round, old: ${us(cpu.old)}; new: ${us(cpu.new)}`,
    '',
  ];
  const report = lines.join('\n');
  writeFileSync(path.join(ROOT, 'bench', 'results', `${opts.name ?? `ab-${scenario}`}.md`), report);
  process.stdout.write(report);
} finally {
  for (const side of sides) for (const p of side.procs) await p.stop();
  rmSync(work, { recursive: true, force: true });
}
