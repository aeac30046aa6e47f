import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import net from 'node:net';
import type tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import {
  canConnect,
  freePort,
  httpGet,
  nginxBaseConfig,
  phpRedisSessionIni,
  pickablePorts,
  reservePort,
  startNginx,
  startPhpServer,
  startProcess,
  startRedis,
  startRedisTls,
  waitFor,
} from './services.ts';

/** True while a process with this pid exists and is not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; Z is a zombie (dead, not yet reaped by whoever adopted it).
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

/** Runs a Node script (ESM, TypeScript allowed) that uses the helpers; resolves with its stdout. */
function runNode(script: string, signal?: NodeJS.Signals): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      if (signal && out.includes('\n')) child.kill(signal);
    });
    child.on('error', reject);
    child.on('exit', () => resolve(out));
  });
}

async function redisPing(url: string, options: { tls?: tls.ConnectionOptions } = {}): Promise<string> {
  const client = new Redis(url, { ...options, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await client.connect();
    return await client.ping();
  } finally {
    client.disconnect();
  }
}

describe('freePort and waitFor', () => {
  test('reservePort holds its port until released, then it can be bound; releasing twice is harmless', async () => {
    const reserved = await reservePort();
    const bind = (): Promise<net.Server> =>
      new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(reserved.port, '127.0.0.1', () => {
          resolve(server);
        });
      });
    await assert.rejects(bind(), /EADDRINUSE/);
    await reserved.release();
    await reserved.release();
    const server = await bind();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('freePort gives a port that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    assert.ok(port > 1024 && port < 65536);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test("freePort and reservePort choose below the kernel's automatic range: no listen(0) or connect takes the port", async () => {
    const range = pickablePorts();
    assert.ok(range, `${readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim()} leaves room below it`);
    const automaticLow = range.high + 1;
    for (let i = 0; i < 20; i++) {
      const port = i % 2 === 0 ? await freePort() : await reservePort().then(async (r) => (await r.release(), r.port));
      assert.ok(port >= range.low && port < automaticLow, `port ${String(port)}`);
    }
  });

  test('pickablePorts reads the kernel range; too little room below it means the kernel picks', () => {
    assert.deepEqual(pickablePorts('32768\t60999\n'), { low: 10_000, high: 32_767 });
    assert.deepEqual(pickablePorts('20000 60999'), { low: 10_000, high: 19_999 });
    assert.equal(pickablePorts('1024 65535'), undefined);
    assert.equal(pickablePorts('12000 60999'), undefined);
    assert.equal(pickablePorts('nonsense'), undefined);
  });

  test('waitFor returns the first truthy value', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? `done after ${calls}` : false), { intervalMs: 1 });
    assert.equal(value, 'done after 3');
  });

  test('waitFor times out with the last error', async () => {
    await assert.rejects(
      waitFor(
        () => {
          throw new Error('still broken');
        },
        { timeoutMs: 50, intervalMs: 5, what: 'the thing' },
      ),
      /timed out after 50 ms waiting for the thing: still broken/,
    );
  });
});

describe('startProcess', () => {
  test('stop() kills the whole process group, not only the leader', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lpa-proc-'));
    const pidFile = path.join(dir, 'child.pid');
    try {
      const proc = await startProcess('sh', ['-c', `sleep 300 & echo $! > ${pidFile}; wait`], {
        readyCheck: async () => (await readFile(pidFile, 'utf8').catch(() => '')).trim() !== '',
      });
      const grandchild = Number((await readFile(pidFile, 'utf8')).trim());
      assert.ok(alive(proc.pid) && alive(grandchild));
      await proc.stop();
      await waitFor(() => !alive(grandchild), { timeoutMs: 3000, what: 'the background sleep to die' });
      assert.equal(alive(proc.pid), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a process that exits before it is ready rejects with its output', async () => {
    await assert.rejects(
      startProcess('sh', ['-c', 'echo boom-on-stderr >&2; exit 3'], { readyCheck: () => false, timeoutMs: 5000 }),
      /exited before it was ready \(code 3[\s\S]*boom-on-stderr/,
    );
  });

  test('a readyCheck that never passes rejects, and the process is stopped', async () => {
    let pid = -1;
    await assert.rejects(
      startProcess('sh', ['-c', 'echo $$; exec sleep 300'], {
        readyCheck: () => false,
        timeoutMs: 300,
        name: 'sleeper',
      }).catch((err: unknown) => {
        const match = /--- output ---\n(\d+)/.exec(String(err));
        pid = Number(match?.[1] ?? -1);
        throw err;
      }),
      /sleeper timed out after 300 ms/,
    );
    assert.ok(pid > 0, 'the output carried the pid');
    await waitFor(() => !alive(pid), { timeoutMs: 3000, what: 'the sleeper to be stopped' });
  });

  for (const [how, ending, signal] of [
    ['exits normally', '', undefined],
    ['calls process.exit', 'process.exit(0);', undefined],
    ['is killed with SIGTERM', 'setInterval(() => {}, 1000);', 'SIGTERM'],
  ] as const) {
    test(`what a test forgot to stop is killed when the test process ${how}`, async () => {
      const helpers = new URL('./services.ts', import.meta.url).href;
      const out = await runNode(
        `import { startProcess } from ${JSON.stringify(helpers)};
const p = await startProcess('sleep', ['300']);
process.stdout.write(p.pid + '\\n');
${ending}`,
        signal,
      );
      const pid = Number(out.trim());
      assert.ok(pid > 0, `the script printed a pid: ${out}`);
      await waitFor(() => !alive(pid), { timeoutMs: 3000, what: 'the forgotten sleep to be killed' });
    });
  }

  test('a missing binary rejects', async () => {
    await assert.rejects(startProcess('/nonexistent/binary', []), /could not be started/);
  });
});

describe('startRedis', () => {
  test('answers PING on 127.0.0.1, keeps nothing on disk, and refuses connections after stop', async () => {
    const redis = await startRedis();
    assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await redisPing(redis.url), 'PONG');
    const client = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    try {
      const config = await client.config('GET', 'save');
      assert.deepEqual(config, ['save', '']);
      assert.deepEqual(await client.config('GET', 'bind'), ['bind', '127.0.0.1']);
    } finally {
      client.disconnect();
    }
    await redis.stop();
    assert.equal(await canConnect(redis.port), false);
    await assert.rejects(redisPing(redis.url));
  });

  test('startRedisTls speaks TLS only, with the CA it returns', async () => {
    const redis = await startRedisTls();
    try {
      assert.match(redis.url, /^rediss:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(await redisPing(redis.url, { tls: { ca: redis.ca } }), 'PONG');
      // Without the CA the certificate is not trusted.
      await assert.rejects(redisPing(redis.url, { tls: {} }));
    } finally {
      await redis.stop();
    }
    assert.equal(await canConnect(redis.port), false);
  });
});

describe('startPhpServer', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  test('serves PHP that writes its session to Redis (PHPREDIS_SESSION:<id>), and stops', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const docroot = await mkdtemp(path.join(os.tmpdir(), 'lpa-php-'));
    cleanups.push(() => rm(docroot, { recursive: true, force: true }));
    await writeFile(
      path.join(docroot, 'session.php'),
      `<?php
session_start();
$_SESSION['greeting'] = getenv('LPA_TEST_GREETING');
$_SESSION['visits'] = ($_SESSION['visits'] ?? 0) + 1;
header('Content-Type: text/plain');
echo session_id();
`,
    );
    const php = await startPhpServer(docroot, {
      env: { LPA_TEST_GREETING: 'hello from env' },
      iniSettings: phpRedisSessionIni(redis.port),
    });
    assert.match(php.origin, /^http:\/\/127\.0\.0\.1:\d+$/);

    const first = await httpGet(`${php.origin}/session.php`);
    assert.equal(first.status, 200, first.body);
    const setCookie = first.headers['set-cookie']?.[0] ?? '';
    const id = /^lpa3=([^;]+)/.exec(setCookie)?.[1];
    assert.ok(id, `session cookie named lpa3: ${setCookie}`);
    assert.equal(first.body, id);

    const second = await httpGet(`${php.origin}/session.php`, { cookie: `lpa3=${id}` });
    assert.equal(second.body, id);

    const client = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    try {
      const stored = await client.get(`PHPREDIS_SESSION:${id}`);
      assert.equal(stored, 'greeting|s:14:"hello from env";visits|i:2;');
      assert.ok((await client.ttl(`PHPREDIS_SESSION:${id}`)) > 0);
    } finally {
      client.disconnect();
    }

    await php.stop();
    assert.equal(await canConnect(php.port), false);
  });
});

describe('startNginx', () => {
  test('serves a `return 200` location from its own prefix, then stops', async () => {
    const port = await freePort();
    const nginx = await startNginx((prefix) =>
      nginxBaseConfig(
        prefix,
        `  server {
    listen 127.0.0.1:${port};
    location = /ok { default_type text/plain; return 200 "ok"; }
  }`,
      ),
    );
    try {
      const res = await httpGet(`http://127.0.0.1:${port}/ok`);
      assert.equal(res.status, 200);
      assert.equal(res.body, 'ok');
      assert.equal((await httpGet(`http://127.0.0.1:${port}/missing`)).status, 404);
      assert.match(await nginx.errorLog(), /start worker process/);
    } finally {
      await nginx.stop();
    }
    assert.equal(await canConnect(port), false);
  });

  test('a config nginx -t rejects fails with nginx own message', async () => {
    const port = await freePort();
    await assert.rejects(
      startNginx((prefix) => nginxBaseConfig(prefix, `server { listen 127.0.0.1:${port}; no_such_directive on; }`)),
      /nginx -t rejected the config:[\s\S]*unknown directive "no_such_directive"/,
    );
    assert.equal(await canConnect(port), false);
  });
});
