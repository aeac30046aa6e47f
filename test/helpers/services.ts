// Real services for integration tests: Redis, PHP's built-in server (the legacy front's session writer) and
// nginx, each started on 127.0.0.1 and a port chosen at run time, and stopped afterwards.
//
// Everything started here runs in its own process group (processes.ts, shared with npm run stack and the bench).
// stop() signals the whole group (so a shell's children go too) and waits for the exit; whatever a test forgot to
// stop is killed when the test process exits (process.on('exit')) or is interrupted (SIGINT/SIGTERM).
// The system packages come from scripts/ensure-system-packages.sh.
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, writeFile, readFile, rm, chmod } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomInt } from 'node:crypto';
import { createRequire } from 'node:module';
import { issueTestCertificates, killGroupsOnSignals, spawnGroup } from './processes.ts';

const execFileAsync = promisify(execFile);

const LOOPBACK = '127.0.0.1';
const OUTPUT_CAP = 64 * 1024;

// ---------------------------------------------------------------------------------------------------------
// Small utilities

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (reserved, then released at once), for a server started just
 * after. The port comes from below the kernel's automatic range (see pickablePorts), so in that moment neither a
 * listen on port 0 nor an outgoing connection of any process can take it.
 */
export async function freePort(): Promise<number> {
  const reserved = await reservePort();
  await reserved.release();
  return reserved.port;
}

const AUTOMATIC_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';

/**
 * The ports freePort() and reservePort() choose from: 10000 up to the start of the kernel's automatic range
 * (ip_local_port_range, 32768-60999 by default). The kernel hands out ports in that range by itself, to every
 * listen on port 0 (each test app, fake API, proxy) and every outgoing connection (each client socket), so a port
 * taken from it and released for a server that binds it a few hundred ms later (redis-server, php -S, nginx) could
 * be handed to one of those meanwhile: under 2 test files at a time, the server then failed with "address already
 * in use", or a ready check reached someone else's server. Below that range only an explicit bind takes a port.
 * Undefined when the range leaves too little room below it (then the kernel picks, as before).
 */
export function pickablePorts(rangeText?: string): { readonly low: number; readonly high: number } | undefined {
  let text = rangeText;
  if (text === undefined) {
    try {
      text = readFileSync(AUTOMATIC_RANGE_FILE, 'utf8');
    } catch {
      return undefined; // not Linux
    }
  }
  const automaticLow = Number(text.trim().split(/\s+/)[0]);
  const low = 10_000;
  const high = automaticLow - 1;
  return Number.isInteger(automaticLow) && high - low >= 4096 ? { low, high } : undefined;
}

function listenOn(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(port, LOOPBACK, () => {
      resolve(server);
    });
  });
}

/** A free loopback port held open: randomly from pickablePorts() (another if in use), else the kernel's choice. */
async function holdPort(): Promise<net.Server> {
  const range = pickablePorts();
  for (let tries = 0; range !== undefined && tries < 100; tries++) {
    const port = range.low + randomInt(range.high - range.low + 1);
    try {
      return await listenOn(port);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  return listenOn(0);
}

/**
 * A free loopback port, held open until `release()`: for a server that starts seconds later (nginx in the
 * stack, after the instances that must know its address), so no other test's freePort() can take it meanwhile.
 */
export async function reservePort(): Promise<{ readonly port: number; release(): Promise<void> }> {
  const server = await holdPort();
  const address = server.address();
  if (address === null || typeof address === 'string') {
    server.close();
    throw new Error('reservePort: no port assigned');
  }
  // Idempotent, so an error path may release again.
  const release = (): Promise<void> =>
    new Promise<void>((done, fail) => {
      if (!server.listening) {
        done();
        return;
      }
      server.close((err) => (err ? fail(err) : done()));
    });
  return { port: address.port, release };
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Words for the timeout message: "timed out after 5000 ms waiting for <what>". */
  what?: string;
}

/**
 * Calls fn until it returns a truthy value (which is returned) without throwing. On timeout, rejects with
 * an error naming `what` and carrying the last error fn threw as its cause.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 50, what = 'condition' }: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Resolves true when something accepts a TCP connection on host:port. */
export function canConnect(port: number, host = LOOPBACK, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** One HTTP GET on loopback; resolves with status and body text. */
export function httpGet(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------------------
// Processes

export interface StartProcessOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Resolves truthy once the process is ready to serve; polled until it does or timeoutMs passes. */
  readyCheck?: () => Promise<boolean> | boolean;
  timeoutMs?: number;
  /** Name used in error messages; defaults to the command. */
  name?: string;
}

export interface StartedProcess {
  readonly pid: number;
  readonly name: string;
  /** stdout and stderr so far (the last 64 KiB), for diagnostics. */
  output(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Signals the whole process group (SIGTERM, then SIGKILL after 5 s) and waits for the exit. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Spawns cmd in its own process group, collects its output, and waits for readyCheck (if given). Rejects,
 * with the collected output in the message, if the process exits or readyCheck does not pass in time.
 */
export async function startProcess(
  cmd: string,
  args: readonly string[],
  { env, cwd, readyCheck, timeoutMs = 15_000, name = path.basename(cmd) }: StartProcessOptions = {},
): Promise<StartedProcess> {
  killGroupsOnSignals();
  const group = spawnGroup(cmd, args, { cwd, env: { ...process.env, ...env } });
  const child = group.child;
  let out = '';
  const collect = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    if (out.length > OUTPUT_CAP) out = out.slice(-OUTPUT_CAP);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const { exited } = group;
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  // 'close' follows 'exit' once the pipes are drained (never, while a left-over grandchild holds them).
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));

  // Neither the child's pipes keep the test process alive; the exit hook cleans up.
  for (const stream of [child.stdout, child.stderr]) {
    if (stream instanceof net.Socket) stream.unref();
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= group.stop('SIGTERM', 5000));

  const started: StartedProcess = {
    get pid() {
      return child.pid ?? -1;
    },
    name,
    output: () => out,
    exited,
    stop,
  };

  const failure = (why: string): Error =>
    new Error(`${name} ${why}\n$ ${cmd} ${args.join(' ')}\n--- output ---\n${out.trimEnd()}`);

  const spawned = await Promise.race([
    new Promise<null>((resolve) => child.once('spawn', () => resolve(null))),
    spawnError.then((err) => failure(`could not be started: ${err.message}`)),
  ]);
  if (spawned !== null) throw spawned;

  if (readyCheck) {
    let failed: Error | undefined;
    try {
      await waitFor(async () => group.hasExited() || (await readyCheck()), { timeoutMs, what: `${name} to be ready` });
    } catch (err) {
      failed = failure(err instanceof Error ? err.message : String(err));
    }
    if (failed === undefined && !group.hasExited()) return started;
    if (failed === undefined) {
      const { code, signal } = await exited;
      await Promise.race([closed, new Promise((r) => setTimeout(r, 500))]); // its last words, for the message
      failed = failure(`exited before it was ready (code ${String(code)}, signal ${String(signal)})`);
    }
    await stop();
    throw failed;
  }
  return started;
}

/** Finds a system binary on PATH or in the sbin folders a non-root PATH often lacks. */
export function systemBinary(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} not found on PATH: run scripts/ensure-system-packages.sh`);
}

async function tempDir(prefix: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `lpa-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

// ---------------------------------------------------------------------------------------------------------
// Redis

/** Sends one command over RESP and resolves with the raw reply (sockets made by connect()). */
function respCommand(connect: () => net.Socket, args: readonly string[], timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect();
    let reply = '';
    const finish = (err?: Error): void => {
      socket.destroy();
      if (err) reject(err);
      else resolve(reply);
    };
    socket.setTimeout(timeoutMs, () => finish(new Error('redis: no reply')));
    socket.on('error', (err) => finish(err));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.endsWith('\r\n')) finish();
    });
    let frame = `*${args.length}\r\n`;
    for (const a of args) frame += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
    socket.write(frame);
  });
}

async function redisPing(connect: () => net.Socket): Promise<boolean> {
  return (await respCommand(connect, ['PING'])).startsWith('+PONG');
}

export interface RedisOptions {
  /** Extra redis-server arguments, e.g. ['--requirepass', 'x']. */
  args?: readonly string[];
  timeoutMs?: number;
}

export interface StartedRedis {
  /** redis://127.0.0.1:<port> (rediss:// for TLS). */
  readonly url: string;
  readonly port: number;
  readonly process: StartedProcess;
  stop(): Promise<void>;
}

/** A throwaway redis-server on loopback: no persistence, protected mode, foreground (tests and `npm run stack`). */
export const REDIS_BASE_ARGS = [
  '--bind',
  LOOPBACK,
  '--save',
  '',
  '--appendonly',
  'no',
  '--protected-mode',
  'yes',
  '--daemonize',
  'no',
  '--loglevel',
  'warning',
] as const;

/** redis-server on 127.0.0.1 and a free port, without persistence; resolves once it answers PING. */
export async function startRedis(opts: RedisOptions = {}): Promise<StartedRedis> {
  const port = await freePort();
  const work = await tempDir('redis');
  const proc = await startProcess(
    systemBinary('redis-server'),
    ['--port', String(port), ...REDIS_BASE_ARGS, '--dir', work.dir, ...(opts.args ?? [])],
    {
      name: 'redis-server',
      readyCheck: () => redisPing(() => net.connect({ port, host: LOOPBACK })),
      timeoutMs: opts.timeoutMs,
    },
  ).catch(async (err: unknown) => {
    await work.remove();
    throw err;
  });
  return {
    url: `redis://${LOOPBACK}:${port}`,
    port,
    process: proc,
    stop: async () => {
      await proc.stop();
      await work.remove();
    },
  };
}

export interface StartedRedisTls extends StartedRedis {
  /** PEM of the CA that signed the server certificate (CN/SAN 127.0.0.1); pass as `tls: { ca }`. */
  readonly ca: string;
}

/**
 * redis-server with TLS only (port 0 for plain TCP) and a throwaway CA and server certificate made with the
 * openssl CLI. Clients need no certificate (--tls-auth-clients no).
 */
export async function startRedisTls(opts: RedisOptions = {}): Promise<StartedRedisTls> {
  const port = await freePort();
  const work = await tempDir('redis-tls');
  try {
    const { ca, certFile, keyFile, caFile } = await makeCertificates(work.dir);
    const proc = await startProcess(
      systemBinary('redis-server'),
      [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        certFile,
        '--tls-key-file',
        keyFile,
        '--tls-ca-cert-file',
        caFile,
        '--tls-auth-clients',
        'no',
        ...REDIS_BASE_ARGS,
        '--dir',
        work.dir,
        ...(opts.args ?? []),
      ],
      {
        name: 'redis-server (tls)',
        readyCheck: () => redisPing(() => tls.connect({ port, host: LOOPBACK, ca })),
        timeoutMs: opts.timeoutMs,
      },
    );
    return {
      url: `rediss://${LOOPBACK}:${port}`,
      port,
      ca,
      process: proc,
      stop: async () => {
        await proc.stop();
        await work.remove();
      },
    };
  } catch (err) {
    await work.remove();
    throw err;
  }
}

export interface Certificates {
  ca: string;
  caFile: string;
  cert: string;
  certFile: string;
  key: string;
  keyFile: string;
}

/** A throwaway CA and a server certificate for 127.0.0.1 / localhost, written into dir (processes.ts), for 2 days. */
export async function makeCertificates(dir: string): Promise<Certificates> {
  const { caFile, certFile, keyFile } = await issueTestCertificates(dir, { ca: 2, server: 2 });
  return {
    ca: await readFile(caFile, 'utf8'),
    caFile,
    cert: await readFile(certFile, 'utf8'),
    certFile,
    key: await readFile(keyFile, 'utf8'),
    keyFile,
  };
}

// ---------------------------------------------------------------------------------------------------------
// PHP built-in server

export interface PhpServerOptions {
  env?: Record<string, string>;
  /** Passed as `-d key=value`, e.g. { 'session.save_handler': 'redis', 'session.name': 'lpa3' }. */
  iniSettings?: Record<string, string>;
  timeoutMs?: number;
}

export interface StartedPhpServer {
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  readonly port: number;
  readonly process: StartedProcess;
  stop(): Promise<void>;
}

/** Ini settings that make PHP keep its sessions in the given Redis the way the legacy front does. */
export function phpRedisSessionIni(redisPort: number, sessionName = 'lpa3'): Record<string, string> {
  return {
    'session.save_handler': 'redis',
    'session.save_path': `tcp://${LOOPBACK}:${redisPort}`,
    'session.name': sessionName,
    'session.serialize_handler': 'php',
    'session.use_strict_mode': '1',
    // The live front's ids: 32 hex characters (Debian's php.ini would otherwise make 26 of base 32).
    'session.sid_length': '32',
    'session.sid_bits_per_character': '4',
  };
}

/** `php -S 127.0.0.1:<free port> -t docroot`; resolves once it answers HTTP (any status). */
export async function startPhpServer(docroot: string, opts: PhpServerOptions = {}): Promise<StartedPhpServer> {
  const port = await freePort();
  // Values are double-quoted: PHP's ini parser silently drops this and every later -d when a value holds '='.
  const ini = Object.entries(opts.iniSettings ?? {}).flatMap(([k, v]) => ['-d', `${k}="${v}"`]);
  const origin = `http://${LOOPBACK}:${port}`;
  const proc = await startProcess(systemBinary('php'), [...ini, '-S', `${LOOPBACK}:${port}`, '-t', docroot], {
    name: 'php -S',
    env: opts.env,
    cwd: docroot,
    readyCheck: async () => (await httpGet(`${origin}/`)).status > 0,
    timeoutMs: opts.timeoutMs,
  });
  return { origin, port, process: proc, stop: () => proc.stop() };
}

// ---------------------------------------------------------------------------------------------------------
// nginx

/**
 * A whole nginx.conf whose pid, logs and temp paths all sit inside prefix, so nginx runs unprivileged
 * paths-wise and leaves nothing behind. httpBody goes inside `http { }`: add server blocks there.
 */
export function nginxBaseConfig(prefix: string, httpBody = ''): string {
  const p = (rel: string): string => path.join(prefix, rel);
  return `worker_processes 1;
pid ${p('logs/nginx.pid')};
error_log ${p('logs/error.log')} info;
events { worker_connections 256; }
http {
  access_log ${p('logs/access.log')};
  default_type application/octet-stream;
  client_body_temp_path ${p('temp/client_body')};
  proxy_temp_path ${p('temp/proxy')};
  fastcgi_temp_path ${p('temp/fastcgi')};
  uwsgi_temp_path ${p('temp/uwsgi')};
  scgi_temp_path ${p('temp/scgi')};
${httpBody}
}
`;
}

export interface NginxOptions {
  /** Port to wait for; defaults to the first `listen` port in the config. */
  port?: number;
  timeoutMs?: number;
}

export interface StartedNginx {
  readonly prefix: string;
  readonly confFile: string;
  readonly process: StartedProcess;
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

function firstListenPort(conf: string): number | undefined {
  // "listen 8080;", "listen 127.0.0.1:8080 ssl;", "listen [::1]:8080;": the port follows the last colon.
  const listenArg = /(?:^|[{;\s])listen\s+([^\s;]+)/.exec(conf)?.[1];
  if (listenArg === undefined) return undefined;
  const portText = listenArg.slice(listenArg.lastIndexOf(':') + 1);
  return /^\d+$/.test(portText) ? Number(portText) : undefined;
}

/**
 * Writes the config into a fresh prefix directory, checks it with `nginx -t` (rejecting with nginx's own
 * message) and runs `nginx -p prefix -c conf -g 'daemon off;'` until the listen port accepts connections.
 * confText may be a function of the prefix, to use nginxBaseConfig(prefix, servers).
 */
export async function startNginx(
  confText: string | ((prefix: string) => string),
  opts: NginxOptions = {},
): Promise<StartedNginx> {
  const work = await tempDir('nginx');
  const prefix = work.dir;
  try {
    // As root, nginx's workers run as nobody and must reach files under the prefix.
    await chmod(prefix, 0o755);
    await mkdir(path.join(prefix, 'logs'));
    await mkdir(path.join(prefix, 'temp'));
    const conf = typeof confText === 'function' ? confText(prefix) : confText;
    const confFile = path.join(prefix, 'nginx.conf');
    await writeFile(confFile, conf);
    const port = opts.port ?? firstListenPort(conf);
    if (port === undefined) throw new Error('startNginx: no `listen <port>` in the config and no opts.port');
    const nginx = systemBinary('nginx');
    // -e: the startup error log before the config is read (the compiled-in one is /var/log/nginx).
    const base = ['-p', prefix, '-c', confFile, '-e', path.join(prefix, 'logs/error.log')];
    try {
      await execFileAsync(nginx, [...base, '-t', '-q']);
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? String(err);
      throw new Error(`nginx -t rejected the config:\n${stderr.trim()}`, { cause: err });
    }
    const proc = await startProcess(nginx, [...base, '-g', 'daemon off;'], {
      name: 'nginx',
      readyCheck: () => canConnect(port),
      timeoutMs: opts.timeoutMs,
    });
    const errorLog = async (): Promise<string> => {
      try {
        return await readFile(path.join(prefix, 'logs/error.log'), 'utf8');
      } catch {
        return '';
      }
    };
    return {
      prefix,
      confFile,
      process: proc,
      errorLog,
      stop: async () => {
        await proc.stop();
        await work.remove();
      },
    };
  } catch (err) {
    await work.remove();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------
// A switchable TCP proxy (one address in front of moving servers, like a failover DNS name)

export interface StartedTcpProxy {
  readonly port: number;
  /** New connections go to this port from now on; open ones stay where they are (as after a DNS move). */
  switchTo(targetPort: number): void;
  /** Closes the listener and every open connection. */
  close(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 and a free port, forwarding to 127.0.0.1:targetPort until switched. */
export async function startTcpProxy(targetPort: number): Promise<StartedTcpProxy> {
  let target = targetPort;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ port: target, host: LOOPBACK });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('startTcpProxy: no port assigned');
  return {
    port: address.port,
    switchTo: (port) => {
      target = port;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// ClamAV daemon

/** The EICAR anti-virus test file (https://www.eicar.org): harmless, detected by every scanner by agreement. */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

const EICAR_SIGNATURE_NAME = 'LpaTest.EICAR.Body';
/** The name clamd reports for startClamd's EICAR signature (clamd marks signatures of local databases UNOFFICIAL). */
export const EICAR_SIGNATURE = `${EICAR_SIGNATURE_NAME}.UNOFFICIAL`;

export interface ClamdOptions {
  /** 'unix' (default): a socket in a temp folder; 'tcp': 127.0.0.1 and a free port. */
  transport?: 'unix' | 'tcp';
  /** StreamMaxLength and MaxFileSize, bytes; default 25 MiB (above the app's 20 MiB default). */
  streamMaxBytes?: number;
  timeoutMs?: number;
}

export interface StartedClamd {
  /** A CLAMD_ADDRESS value: unix:/tmp/.../clamd.sock or tcp://127.0.0.1:<port>. */
  readonly address: string;
  readonly process: StartedProcess;
  stop(): Promise<void>;
}

/** Asks clamd PING over the given socket; true on PONG. */
function clamdPing(connect: () => net.Socket): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect();
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\0')) done(reply.startsWith('PONG'));
    });
    socket.write('zPING\0');
  });
}

/**
 * Debian's clamd in the foreground with a config and a signature database made here (no download is possible or
 * wanted): one `.ndb` body signature for the EICAR string at any offset of any file type, so EICAR inside a real
 * PDF is found by clamd itself. Resolves once clamd answers PING.
 */
export async function startClamd(opts: ClamdOptions = {}): Promise<StartedClamd> {
  const work = await tempDir('clamd');
  try {
    const db = path.join(work.dir, 'db');
    const tmp = path.join(work.dir, 'tmp');
    await mkdir(db);
    await mkdir(tmp);
    // name:target type (0 = any):offset (* = anywhere):hex body
    await writeFile(
      path.join(db, 'lpa-test.ndb'),
      `${EICAR_SIGNATURE_NAME}:0:*:${Buffer.from(EICAR, 'latin1').toString('hex')}\n`,
    );
    const max = opts.streamMaxBytes ?? 25 * 1024 * 1024;
    let address: string;
    let listen: string;
    let connect: () => net.Socket;
    if ((opts.transport ?? 'unix') === 'unix') {
      const sock = path.join(work.dir, 'clamd.sock');
      address = `unix:${sock}`;
      listen = `LocalSocket ${sock}\nLocalSocketMode 600\n`;
      connect = () => net.connect({ path: sock });
    } else {
      const port = await freePort();
      address = `tcp://${LOOPBACK}:${port}`;
      listen = `TCPSocket ${port}\nTCPAddr ${LOOPBACK}\n`;
      connect = () => net.connect({ port, host: LOOPBACK });
    }
    const conf = path.join(work.dir, 'clamd.conf');
    await writeFile(
      conf,
      `${listen}Foreground yes
DatabaseDirectory ${db}
TemporaryDirectory ${tmp}
PidFile ${path.join(work.dir, 'clamd.pid')}
LogFile ${path.join(work.dir, 'clamd.log')}
LogTime yes
Bytecode no
StreamMaxLength ${max}
MaxFileSize ${max}
MaxScanSize ${max * 4}
ReadTimeout 10
CommandReadTimeout 5
`,
    );
    const proc = await startProcess(systemBinary('clamd'), ['--config-file', conf], {
      name: 'clamd',
      readyCheck: () => clamdPing(connect),
      timeoutMs: opts.timeoutMs ?? 60_000,
    });
    return {
      address,
      process: proc,
      stop: async () => {
        await proc.stop();
        await work.remove();
      },
    };
  } catch (err) {
    await work.remove();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------
// S3-compatible server (npm s3rver, in this process)

/** The credentials s3rver accepts by default (its documented test account, not a secret). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverConstructor = new (opts: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

export interface StartedS3 {
  /** http://127.0.0.1:<port> */
  readonly endpoint: URL;
  /** Every request's method, path and headers, in order (s3rver ignores encryption and ACL headers: assert here). */
  readonly requests: { method: string; path: string; headers: http.IncomingHttpHeaders }[];
  /** Files s3rver keeps, to prove nothing is left behind. */
  readonly directory: string;
  stop(): Promise<void>;
}

/**
 * s3rver on 127.0.0.1 with the given buckets, behind a recording HTTP proxy so tests can see the headers the AWS SDK
 * sent. Data in a temp folder, removed on stop.
 */
export async function startS3(buckets: readonly string[]): Promise<StartedS3> {
  const work = await tempDir('s3');
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;
  const server = new S3rver({
    address: LOOPBACK,
    port: 0,
    silent: true,
    directory: work.dir,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port: s3Port } = await server.run();
  const requests: StartedS3['requests'] = [];
  const proxy = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: { ...req.headers } });
    const upstream = http.request(
      { host: LOOPBACK, port: s3Port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, LOOPBACK, resolve));
  const address = proxy.address();
  if (address === null || typeof address === 'string') throw new Error('startS3: no port');
  return {
    endpoint: new URL(`http://${LOOPBACK}:${address.port}`),
    requests,
    directory: work.dir,
    stop: async () => {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await server.close();
      await work.remove();
    },
  };
}
