/**
 * Old against new for one request: POST /user/about-you with an error (answered 400 with the page and its errors),
 * signed in, each side a production app of its own code, loaded in alternating rounds (old, new, new, old, …) in one
 * run on the same pinned CPUs. Reports the medians of CPU µs per request and requests per second, and their ratios
 * new/old (the machine is shared: ratios, not absolute figures, are what one run can say). ADR 0053.
 *
 *   git archive <old commit> | tar -x -C /tmp/old && ln -s "$PWD/node_modules" "$PWD/dist" /tmp/old/
 *   node bench/about-you-ab.ts --old /tmp/old [--rounds 10 --seconds 3 --warmup 5 --connections 10]
 *
 * Sessions in memory (no Redis): both sides alike. Results: bench/results/about-you-ab.md.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Proc, RequestSpec } from './lib.ts';
import {
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
const { values: opts } = parseArgs({
  options: {
    old: { type: 'string' },
    rounds: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10' },
    'server-cpus': { type: 'string', default: '0' },
    'client-cpus': { type: 'string', default: '1' },
  },
});
if (opts.old === undefined) throw new Error('usage: node bench/about-you-ab.ts --old <checkout of the old code>');
const rounds = Number(opts.rounds);
const seconds = Number(opts.seconds);
const connections = Number(opts.connections);
const work = mkdtempSync(path.join(os.tmpdir(), 'lpa-about-you-ab-'));
const PASSWORD = `Bench-${randomBytes(12).toString('hex')}-Aa1!`;
const EMAIL = 'bench.about-you@example.com';

interface Side {
  readonly name: 'old' | 'new';
  readonly app: Proc;
  readonly port: number;
  readonly spec: RequestSpec;
}

async function startSide(name: 'old' | 'new', dir: string): Promise<Side> {
  const port = await freePort();
  const origin = `https://127.0.0.1:${String(port)}`;
  const dataDir = path.join(work, name);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    LEGACY_FRONT: 'false',
    MAIL_TRANSPORT: 'file',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_ORIGIN: origin,
    SESSION_SECRET: randomBytes(48).toString('base64'),
    WORKERS: '1',
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    MALLOC_ARENA_MAX: '2',
  };
  const added = spawnSync(process.execPath, ['scripts/user-add.ts', '--email', EMAIL, '--name', 'Bench User'], {
    cwd: dir,
    env,
    input: `${PASSWORD}\n`,
    encoding: 'utf8',
  });
  if (added.status !== 0) throw new Error(`${name}: user:add failed: ${added.stderr}`);
  const flags = productionNodeFlags(readFileSync(path.join(dir, 'Dockerfile'), 'utf8'));
  const app = startPinned(
    opts['server-cpus'],
    process.execPath,
    [...flags, path.join(dir, 'src/server.ts')],
    env,
    path.join(work, `${name}.log`),
  );
  await waitForPort(port, app);
  const browser = {
    host: `127.0.0.1:${String(port)}`,
    'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0',
    accept: 'text/html',
  };
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
  const login = await request(port, { method: 'GET', path: '/login', headers: browser });
  const loginCookie = cookieHeader(login);
  const signedIn = await request(
    port,
    post(
      '/login',
      { email: EMAIL, password: PASSWORD, _csrf: inputValue(login.body.toString('utf8'), '_csrf') ?? '' },
      loginCookie,
    ),
  );
  const cookie = cookieHeader(signedIn, loginCookie);
  const page = await request(port, { method: 'GET', path: '/user/about-you', headers: { ...browser, cookie } });
  if (page.status !== 200) throw new Error(`${name}: GET /user/about-you answered ${String(page.status)}`);
  const token = inputValue(page.body.toString('utf8'), '_csrf') ?? '';
  // Last name missing and a date of birth that is no date: two errors, the rest shown back.
  const spec = post(
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
      _csrf: token,
    },
    cookie,
  );
  const probe = await request(port, spec);
  if (probe.status !== 400) throw new Error(`${name}: the POST answered ${String(probe.status)}, not 400`);
  return { name, app, port, spec };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

const sides: Side[] = [];
try {
  sides.push(await startSide('old', path.resolve(opts.old)), await startSide('new', ROOT));
  const run = (side: Side, secs: number) =>
    load({
      tool: 'wrk',
      cpus: opts['client-cpus'],
      port: side.port,
      spec: side.spec,
      expectStatus: 400,
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
      const before = cpuTimeOf([side.app.pid]);
      const result = await run(side, seconds);
      if (result.unexpected > 0 || result.socketErrors > 0)
        throw new Error(`${side.name}: ${String(result.unexpected)} unexpected answers`);
      cpu[side.name].push((cpuTimeOf([side.app.pid]) - before) / Math.max(1, result.requests));
      rps[side.name].push(result.rps);
      await sleep(200);
    }
  }
  const ratio = (a: number, b: number) => (a / b).toFixed(3);
  const lines = [
    `# POST /user/about-you with an error: old against new (${new Date().toISOString()})`,
    '',
    `${String(rounds)} rounds of ${String(seconds)} s each side, alternating (ABBA), ${String(connections)} connections,`,
    `server on CPU ${opts['server-cpus']}, wrk on CPU ${opts['client-cpus']}; shared machine: ratios only.`,
    '',
    // "Slower" (issue 19): the new median worse than the old code's worst round.
    '| | new / old (medians) | new median / old worst round |',
    '| --- | --- | --- |',
    `| CPU per request | ${ratio(median(cpu.new), median(cpu.old))} | ${ratio(median(cpu.new), Math.max(...cpu.old))} |`,
    `| requests per second | ${ratio(median(rps.new), median(rps.old))} | ${ratio(median(rps.new), Math.min(...rps.old))} |`,
    '',
    `Per round, CPU new/old: ${cpu.new.map((n, i) => ratio(n, cpu.old[i] ?? n)).join(' ')}`,
    '',
  ];
  const report = lines.join('\n');
  writeFileSync(path.join(ROOT, 'bench', 'results', 'about-you-ab.md'), report);
  process.stdout.write(report);
} finally {
  for (const side of sides) await side.app.stop();
  rmSync(work, { recursive: true, force: true });
}
