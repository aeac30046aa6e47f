/**
 * `npm run stack`: the whole edge on loopback, for people to try and for the edge tests.
 *
 *   nginx (deploy/nginx/generate.ts) on https://127.0.0.1:$STACK_PORT (8443), plain HTTP on $STACK_HTTP_PORT
 *   (8080) redirecting to it; two lpa-front instances (`node src/server.ts`, production mode, TRUSTED_PROXIES
 *   = nginx's address); one Redis for the shared sessions when redis-server is installed; with `clamd` (what
 *   `npm run stack` asks for when clamd is installed), a ClamAV daemon for evidence uploads (ADR 0040), with only a
 *   test signature for EICAR (no signature download here: a real deployment runs freshclam).
 *
 * A local test CA and a server certificate for 127.0.0.1/localhost are made with the openssl CLI into .stack/
 * (the CA is written to .stack/ca.pem: `curl --cacert .stack/ca.pem`, or NODE_EXTRA_CA_CERTS=.stack/ca.pem).
 * Everything runs in its own process group and is stopped on SIGINT/SIGTERM: nginx first (graceful), then the
 * instances (they drain in-flight requests), then Redis.
 *
 * Tests import `startStack(options)` and use free ports and a temporary folder.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { generateNginxConf } from '../deploy/nginx/generate.ts';
import type { EdgeOptions, LegacyUpstream } from '../deploy/nginx/generate.ts';
import {
  canConnect,
  freePort,
  REDIS_BASE_ARGS,
  reservePort,
  startClamd,
  systemBinary,
  waitFor,
} from '../test/helpers/services.ts';
import type { StartedClamd } from '../test/helpers/services.ts';
import { issueTestCertificates, spawnGroup } from '../test/helpers/processes.ts';

const execFileAsync = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const LOOPBACK = '127.0.0.1';

export interface StackOptions {
  /** Working folder for certificates, configs, logs and data. Default <repo>/.stack. */
  readonly dir?: string;
  /** TLS port; 0 picks a free one. Default $STACK_PORT or 8443. */
  readonly httpsPort?: number;
  /** Redirect-only HTTP port; 0 picks a free one. Default $STACK_HTTP_PORT or 8080. */
  readonly httpPort?: number;
  /** lpa-front instances. Default 2. */
  readonly instances?: number;
  /** Start Redis and pass REDIS_URL to the instances. Default: when redis-server is installed. */
  readonly redis?: boolean;
  /**
   * Start a clamd (test signatures only) and pass CLAMD_ADDRESS to the instances. Default false (the edge tests need
   * none).
   */
  readonly clamd?: boolean;
  /** The legacy front for undeclared paths; none: 404. */
  readonly legacy?: LegacyUpstream;
  /** Extra environment for the instances. */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra environment for one instance (by index), over `env`: e.g. a fault on one of them only. */
  readonly instanceEnv?: readonly (Readonly<Record<string, string>> | undefined)[];
  /** Passed to the generator (e.g. shorter timeouts in tests; alsoRoute, for tests only). */
  readonly edge?: Partial<
    Pick<
      EdgeOptions,
      | 'proxyReadTimeout'
      | 'proxyConnectTimeout'
      | 'proxyTries'
      | 'clientMaxBodySize'
      | 'alsoRoute'
      | 'tcpFront'
      | 'workerConnections'
      | 'traceSamplePercent'
    >
  >;
  /** Progress lines; default silent. */
  readonly log?: (line: string) => void;
}

export interface Service {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal to the process group (SIGTERM by default) and waits for the exit (SIGKILL after graceMs). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  log(): string;
}

export interface Instance {
  readonly port: number;
  /** http://127.0.0.1:<port>, direct (bypassing nginx). */
  readonly origin: string;
  readonly service: Service;
  /** Stops (SIGTERM, drains) and waits for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits until it answers. */
  start(): Promise<void>;
}

export interface Stack {
  /** https://127.0.0.1:<httpsPort> */
  readonly origin: string;
  /** http://127.0.0.1:<httpPort> (redirects only). */
  readonly httpOrigin: string;
  readonly httpsPort: number;
  readonly httpPort: number;
  readonly caPem: string;
  readonly caFile: string;
  readonly dir: string;
  readonly instances: readonly Instance[];
  readonly redisUrl: string | undefined;
  /** CLAMD_ADDRESS given to the instances, when `clamd` was asked for. */
  readonly clamdAddress: string | undefined;
  readonly nginx: Service & { readonly confFile: string; readonly accessLog: string };
  readonly sessionSecret: string;
  /**
   * Takes an instance out of nginx's rotation (or puts it back): the config is regenerated with the server marked
   * `down` and nginx reloaded; resolves once no worker with the old config is left. A rolling restart takes an
   * instance out before stopping it, as a load balancer deregisters a target before it is stopped.
   */
  setInRotation(index: number, inRotation: boolean): Promise<void>;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------
// Processes: each in its own group, output to a log file, killed if this process exits without stopping them.

function spawnService(
  name: string,
  cmd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  logFile: string,
  cwd = ROOT,
): Service {
  const group = spawnGroup(cmd, args, { cwd, env, logFile });
  return {
    name,
    get pid() {
      return group.pid;
    },
    logFile,
    exited: group.exited,
    stop: (signal: NodeJS.Signals = 'SIGTERM', graceMs = 12_000) => group.stop(signal, graceMs),
    log: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
  };
}

async function waitReady(
  service: Service,
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const state = { exited: false };
  void service.exited.then(() => {
    state.exited = true;
  });
  try {
    await waitFor(async () => state.exited || (await check()), { timeoutMs, intervalMs: 100, what });
  } catch (err) {
    throw new Error(
      `${what}: ${err instanceof Error ? err.message : String(err)}\n--- ${service.logFile} ` +
        `---\n${service.log().slice(-4000)}`,
      { cause: err },
    );
  }
  if (state.exited)
    throw new Error(
      `${service.name} exited before it was ready\n--- ${service.logFile} ` + `---\n${service.log().slice(-4000)}`,
    );
}

function httpStatus(port: number, path: string, host: string): Promise<number> {
  return new Promise((res) => {
    const req = http.get({ host: LOOPBACK, port, path, headers: { host }, agent: false, timeout: 2000 }, (r) => {
      r.resume();
      res(r.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => {
      res(0);
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Certificates

/** A local CA (ca.pem) and a server certificate for 127.0.0.1 and localhost (200 days: testssl flags certificates
 * that expire within 60 days), reused while more than 61 days remain. */
export async function ensureCertificates(dir: string): Promise<{ caFile: string; certFile: string; keyFile: string }> {
  const tls = join(dir, 'tls');
  mkdirSync(tls, { recursive: true, mode: 0o700 });
  const caFile = join(dir, 'ca.pem');
  const certFile = join(tls, 'server.pem');
  const keyFile = join(tls, 'server.key');
  if (existsSync(caFile) && existsSync(certFile) && existsSync(keyFile)) {
    try {
      await execFileAsync('openssl', ['x509', '-checkend', String(61 * 86400), '-noout', '-in', certFile]);
      return { caFile, certFile, keyFile };
    } catch {
      // expiring or unreadable: make new ones
    }
  }
  const issued = await issueTestCertificates(tls, { ca: 400, server: 200 });
  writeFileSync(caFile, readFileSync(issued.caFile));
  return { caFile, certFile, keyFile };
}

// ---------------------------------------------------------------------------------------------------------

function envPort(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,5}$/.test(raw)) throw new Error(`${name} must be a port number`);
  return Number(raw);
}

function hasBinary(name: string): boolean {
  try {
    systemBinary(name);
    return true;
  } catch {
    return false;
  }
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const say = options.log ?? (() => undefined);
  const dir = resolve(options.dir ?? join(ROOT, '.stack'));
  mkdirSync(join(dir, 'logs'), { recursive: true });
  // As root, nginx's workers run as nobody: they must traverse to the temp folders.
  chmodSync(dir, 0o755);
  // A port chosen here (0 asked for) stays held until nginx starts, so nothing else can take it in between and
  // answer in nginx's place.
  const pick = async (p: number): Promise<{ port: number; release(): Promise<void> }> =>
    p === 0 ? reservePort() : { port: p, release: async () => undefined };
  const httpsReserved = await pick(options.httpsPort ?? envPort('STACK_PORT', 8443));
  const httpReserved = await pick(options.httpPort ?? envPort('STACK_HTTP_PORT', 8080));
  const httpsPort = httpsReserved.port;
  const httpPort = httpReserved.port;
  const publicHost = `${LOOPBACK}:${String(httpsPort)}`;
  const { caFile, certFile, keyFile } = await ensureCertificates(dir);
  const started: Service[] = [];
  let clamd: StartedClamd | undefined;
  const stopAll = async (): Promise<void> => {
    // nginx first (graceful quit), then the instances (they drain), then Redis.
    const rank = (s: Service): number => (s.name === 'nginx' ? 0 : s.name === 'redis-server' ? 2 : 1);
    const order = [...started].sort((a, b) => rank(a) - rank(b));
    await order[0]?.stop(order[0].name === 'nginx' ? 'SIGQUIT' : 'SIGTERM');
    await Promise.all(
      order
        .slice(1)
        .filter((s) => rank(s) === 1)
        .map((s) => s.stop('SIGTERM')),
    );
    for (const s of order.filter((x) => rank(x) === 2)) await s.stop('SIGTERM');
    await clamd?.stop();
  };

  try {
    let redisUrl: string | undefined;
    if (options.redis ?? hasBinary('redis-server')) {
      const port = await freePort();
      mkdirSync(join(dir, 'redis'), { recursive: true });
      const redis = spawnService(
        'redis-server',
        systemBinary('redis-server'),
        ['--port', String(port), ...REDIS_BASE_ARGS, '--dir', join(dir, 'redis')],
        process.env,
        join(dir, 'logs/redis.log'),
      );
      started.push(redis);
      await waitReady(redis, () => canConnect(port), 'redis-server to accept connections');
      redisUrl = `redis://${LOOPBACK}:${String(port)}`;
      say(`redis      ${redisUrl}`);
    } else {
      say('redis      not installed: the instances use in-memory sessions, which are NOT shared between them');
    }

    if (options.clamd === true) {
      clamd = await startClamd();
      say(`clamd      ${clamd.address} (a test signature for EICAR only: no signature download here)`);
    }

    const sessionSecret = randomBytes(48).toString('base64');
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const instanceCount = options.instances ?? 2;
    // Started side by side: each takes a few seconds to compile its templates.
    const instances = await Promise.all(
      Array.from({ length: instanceCount }, async (_unused, i): Promise<Instance> => {
        const name = `lpa-front-${String(i + 1)}`;
        const port = await freePort();
        const env: NodeJS.ProcessEnv = {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          NODE_ENV: 'production',
          MAIL_TRANSPORT: 'file',
          HOST: LOOPBACK,
          PORT: String(port),
          PUBLIC_ORIGIN: `https://${publicHost}`,
          SESSION_SECRET: sessionSecret,
          TRUSTED_PROXIES: LOOPBACK,
          DATA_DIR: dataDir,
          WORKERS: '1',
          LOG_LEVEL: 'info',
          ...(redisUrl !== undefined ? { REDIS_URL: redisUrl } : {}),
          ...(clamd !== undefined ? { CLAMD_ADDRESS: clamd.address } : {}),
          ...options.env,
          ...options.instanceEnv?.[i],
        };
        const logFile = join(dir, `logs/${name}.log`);
        const launch = async (): Promise<Service> => {
          const service = spawnService(name, process.execPath, ['src/server.ts'], env, logFile);
          started.push(service);
          await waitReady(
            service,
            async () => (await httpStatus(port, '/ping/elb', publicHost)) === 200,
            `${name} on port ${String(port)}`,
          );
          return service;
        };
        let service = await launch();
        say(`lpa-front  http://${LOOPBACK}:${String(port)} (direct; log ${logFile})`);
        return {
          port,
          origin: `http://127.0.0.1:${String(port)}`,
          get service() {
            return service;
          },
          stop: () => service.stop('SIGTERM'),
          start: async () => {
            const old = service;
            started.splice(started.indexOf(old), 1);
            service = await launch();
          },
        };
      }),
    );

    const prefix = join(dir, 'nginx');
    mkdirSync(join(prefix, 'logs'), { recursive: true });
    mkdirSync(join(prefix, 'temp'), { recursive: true });
    chmodSync(prefix, 0o755);
    const confFile = join(prefix, 'nginx.conf');
    const outOfRotation = new Set<number>();
    const writeConf = (): void => {
      writeFileSync(
        confFile,
        generateNginxConf({
          publicHost,
          httpsPort,
          httpPort,
          listenAddress: LOOPBACK,
          certFile,
          keyFile,
          upstreams: instances.map((inst, i) => ({
            address: `${LOOPBACK}:${String(inst.port)}`,
            down: outOfRotation.has(i),
          })),
          legacy: options.legacy,
          prefix,
          ...options.edge,
        }),
      );
    };
    writeConf();
    const nginxBin = systemBinary('nginx');
    const base = ['-p', prefix, '-c', confFile, '-e', join(prefix, 'logs/error.log')];
    try {
      await execFileAsync(nginxBin, [...base, '-t', '-q']);
    } catch (err) {
      throw new Error(`nginx -t rejected ${confFile}:\n${(err as { stderr?: string }).stderr ?? String(err)}`, {
        cause: err,
      });
    }
    // nginx writes its pid file (generate.ts puts it in the prefix) only once its listening sockets are open, so
    // a port answering before that is not nginx.
    const pidFile = join(prefix, 'logs/nginx.pid');
    rmSync(pidFile, { force: true });
    // The TCP front's unix sockets, left behind if the last run was killed: nginx cannot bind over them.
    for (const name of readdirSync(join(prefix, 'temp')))
      if (name.endsWith('.sock')) rmSync(join(prefix, 'temp', name), { force: true });
    await httpsReserved.release();
    await httpReserved.release();
    const nginxService = spawnService(
      'nginx',
      nginxBin,
      [...base, '-g', 'daemon off;'],
      process.env,
      join(prefix, 'logs/error.log'),
    );
    started.push(nginxService);
    await waitReady(
      nginxService,
      async () => existsSync(pidFile) && (await canConnect(httpsPort)) && canConnect(httpPort),
      `nginx on ${String(httpsPort)}/${String(httpPort)}`,
    );
    say(`nginx      https://${publicHost}  (http://${LOOPBACK}:${String(httpPort)} redirects; config ${confFile})`);
    say(`test CA    ${caFile}`);

    // The workers nginx runs now (Linux: the master's children), to tell when a reload has replaced them all.
    const workers = (): string[] => {
      try {
        return readFileSync(`/proc/${String(nginxService.pid)}/task/${String(nginxService.pid)}/children`, 'utf8')
          .trim()
          .split(/\s+/)
          .filter(Boolean);
      } catch {
        return [];
      }
    };
    const setInRotation = async (index: number, inRotation: boolean): Promise<void> => {
      if (inRotation) outOfRotation.delete(index);
      else outOfRotation.add(index);
      writeConf();
      await execFileAsync(nginxBin, [...base, '-t', '-q']);
      const before = workers();
      process.kill(nginxService.pid, 'SIGHUP');
      if (before.length === 0) {
        await new Promise((r) => setTimeout(r, 1000)); // no /proc children list: give the reload a second
        return;
      }
      await waitFor(
        () => {
          const now = workers();
          return now.length > 0 && now.every((pid) => !before.includes(pid));
        },
        { timeoutMs: 15_000, what: 'nginx to reload' },
      );
    };

    let stopping: Promise<void> | undefined;
    return {
      origin: `https://${publicHost}`,
      httpOrigin: `http://127.0.0.1:${String(httpPort)}`,
      httpsPort,
      httpPort,
      caPem: readFileSync(caFile, 'utf8'),
      caFile,
      dir,
      instances,
      redisUrl,
      clamdAddress: clamd?.address,
      sessionSecret,
      nginx: Object.assign(nginxService, { confFile, accessLog: join(prefix, 'logs/access.log') }),
      setInRotation,
      stop: () => (stopping ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    await httpsReserved.release();
    await httpReserved.release();
    throw err;
  }
}

async function main(): Promise<void> {
  const log = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const stack = await startStack({ log, clamd: hasBinary('clamd') });
  const keepAlive = setInterval(() => undefined, 1 << 30); // the services are unref'd; this process waits for them
  log(`\nReady: ${stack.origin}/  (curl --cacert ${stack.caFile} ${stack.origin}/). Ctrl-C stops everything.`);
  const state = { shuttingDown: false };
  const shutdown = (signal: string): void => {
    state.shuttingDown = true;
    log(`\n${signal}: stopping nginx, lpa-front instances, redis, clamd`);
    void stack.stop().then(() => {
      clearInterval(keepAlive);
      process.exit(0);
    });
  };
  process.once('SIGINT', () => {
    shutdown('SIGINT');
  });
  process.once('SIGTERM', () => {
    shutdown('SIGTERM');
  });
  // Stay alive while the services run; if one dies, say so and stop the rest.
  await Promise.race([stack.nginx.exited, ...stack.instances.map((i) => i.service.exited)]);
  if (state.shuttingDown) return;
  log('a service exited unexpectedly; stopping the stack (logs in .stack/logs and .stack/nginx/logs)');
  await stack.stop();
  process.exit(1);
}

if (import.meta.main) await main();
