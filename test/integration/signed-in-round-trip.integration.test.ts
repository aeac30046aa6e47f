/**
 * A signed-in page costs one Redis round trip (issue 20, ADR 0038): the session's read (GETEX, which also slides its
 * idle TTL) and the deny-list read (EXISTS, ADR 0019) leave in one write, and nothing else is sent for an unchanged
 * session. Proved on the wire with a real redis-server behind a proxy that can hold the app's commands: while held,
 * both must already have been sent (a second round trip would wait for the first's answer). The deny-list stays
 * immediate across instances, and a Redis without GETEX (before 6.2) still gets its sessions slid.
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { build } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { Browser, csrfTokenFrom } from '../helpers/http.ts';
import { startRedis, waitFor } from '../helpers/services.ts';
import type { StartedRedis } from '../helpers/services.ts';
import { createServices } from '../../src/services.ts';
import { RedisStore } from '../../src/sessions/redis-store.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { SESSION_KEYS } from '../../src/sessions/session-store.ts';
import { PATHS } from '../../src/paths.ts';

const PASSWORD = 'correct horse battery staple';
const PREFIX = 'PHPREDIS_SESSION:';
const dirs: string[] = [];
const clients: Redis[] = [];
let redis: StartedRedis;

before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const c of clients) c.disconnect();
  await redis.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A proxy to Redis that records what the app sends and, while held, keeps it from Redis. */
interface Gate {
  readonly port: number;
  /** Commands sent since the last `record()` (the RESP of each, upper-cased names only). */
  commands(): string[];
  record(): void;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

async function startGate(targetPort: number): Promise<Gate> {
  let held = false;
  let sent = '';
  const pending: { upstream: net.Socket; chunk: Buffer }[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ port: targetPort, host: '127.0.0.1' });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      sent += chunk.toString('latin1');
      if (held) pending.push({ upstream, chunk });
      else upstream.write(chunk);
    });
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    // RESP arrays: *<n>\r\n$<len>\r\n<name>\r\n...; the first bulk string of each array is the command's name.
    commands: () => [...sent.matchAll(/\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n/g)].map((m) => (m[1] ?? '').toUpperCase()),
    record: () => {
      sent = '';
    },
    hold: () => {
      held = true;
    },
    release: () => {
      held = false;
      for (const { upstream, chunk } of pending.splice(0)) upstream.write(chunk);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lpa-round-trip-'));
  dirs.push(dir);
  return dir;
}

/** The app on this Redis; `commandTimeoutMs` replaces the store's 2 s one (for a test that holds commands). */
async function app(t: TestContext, redisUrl: string, dataDir = tempDir(), commandTimeoutMs?: number): Promise<Built> {
  return build(t, {
    env: { DATA_DIR: dataDir, REDIS_URL: redisUrl },
    services: (config, logger) =>
      createServices(config, {
        logger,
        signInPolicy: { failureDelayMs: 0 },
        ...(commandTimeoutMs === undefined
          ? {}
          : {
              sessionStore: new RedisStore({
                url: new URL(redisUrl),
                prefix: config.sessionKeyPrefix,
                logger,
                commandTimeoutMs,
              }),
            }),
      }),
  });
}

async function signIn(built: Built, email: string): Promise<{ browser: Browser; id: string }> {
  await (built.services.credentials as LocalCredentials).addUser({
    email,
    password: PASSWORD,
    name: { first: 'Pat', last: 'Smith' },
  });
  const browser = new Browser(built.origin);
  const form = await browser.get(PATHS.login);
  assert.equal(
    (await browser.post(PATHS.login, { email, password: PASSWORD, _csrf: csrfTokenFrom(form.text) })).status,
    303,
  );
  return { browser, id: (browser.cookies.get(built.config.sessionCookieName) ?? '').slice(0, 32) };
}

function rawClient(url = redis.url): Redis {
  const client = new Redis(url);
  clients.push(client);
  return client;
}

describe('a signed-in page and Redis', () => {
  test(
    'one round trip: the session read (slid in the same command) and the deny-list read leave ' +
      'together, nothing after',
    async (t) => {
      const gate = await startGate(redis.port);
      t.after(() => gate.close());
      // Commands are held below for up to 5.2 s: a 10 s command timeout keeps a held one from failing meanwhile.
      const built = await app(t, `redis://127.0.0.1:${String(gate.port)}`, tempDir(), 10_000);
      const { browser, id } = await signIn(built, 'one-trip@example.com');
      // The first signed-in page on this process learns which token the session carries.
      assert.equal((await browser.get(PATHS.dashboard)).status, 200);
      assert.equal((await browser.get(PATHS.dashboard)).status, 200);
      const raw = rawClient();
      await raw.expire(PREFIX + id, 100);

      gate.record();
      gate.hold();
      const page = browser.get(PATHS.dashboard);
      // Up to 5 s for the request to reach the app and its commands the gate (1 s was tight on a loaded machine).
      await waitFor(() => Promise.resolve(gate.commands().length >= 2), {
        timeoutMs: 5000,
        intervalMs: 10,
        what: 'two commands sent while the first answer is held',
      }).catch(() => undefined);
      // Anything sent in the same turn has arrived by now; a command waiting for an answer never will while held.
      // (Held for at most 5.2 s in all: under the 10 s command timeout this app was given.)
      await new Promise((resolve) => setTimeout(resolve, 200));
      const firstTrip = gate.commands().sort();
      gate.release();
      const status = (await page).status;
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(firstTrip, ['EXISTS', 'GETEX'], 'both reads in the first trip');
      assert.equal(status, 200);
      assert.deepEqual(
        gate.commands().sort(),
        ['EXISTS', 'GETEX'],
        'and no other command for the page (no EXPIRE: the read slid it)',
      );
      const ttl = await raw.ttl(PREFIX + id);
      assert.ok(ttl > 100, `the idle TTL was slid by the read: ${String(ttl)} s`);
    },
  );

  test(
    'the deny-list read is made on every request: a token signed out on another instance is ' + 'refused at once',
    async (t) => {
      const dataDir = tempDir();
      const [a, b] = [await app(t, redis.url, dataDir), await app(t, redis.url, dataDir)];
      const { browser, id } = await signIn(a, 'two-instances@example.com');
      // Instance B serves this session signed in, and so learns its token.
      const onB = new Browser(b.origin);
      onB.cookies.set(b.config.sessionCookieName, browser.cookies.get(a.config.sessionCookieName) ?? '');
      assert.equal((await onB.get(PATHS.dashboard)).status, 200);
      assert.equal((await onB.get(PATHS.dashboard)).status, 200);
      const raw = rawClient();
      const stored = await raw.getBuffer(PREFIX + id);
      assert.ok(stored !== null);

      // Sign out on A; then the same session comes back with the same bytes (the PHP front's in-flight write, a copy).
      const page = await browser.get(PATHS.dashboard);
      assert.equal((await browser.post(PATHS.logout, { _csrf: csrfTokenFrom(page.text) })).status, 303);
      assert.equal(await raw.exists(PREFIX + id), 0);
      await raw.set(PREFIX + id, stored, 'EX', 600);

      const res = await onB.get(PATHS.dashboard);
      assert.equal(res.status, 302, 'B refuses the signed-out token though it saw it valid a moment ago');
      assert.equal(res.headers.get('location'), PATHS.login);
      assert.equal(
        (await b.services.sessionStore.load(id))?.has(SESSION_KEYS.identity),
        false,
        'and removes the identity',
      );
    },
  );

  test('a Redis without GETEX (before 6.2): pages still served, the session still slid', async (t) => {
    const old = await startRedis({ args: ['--rename-command', 'GETEX', ''] });
    t.after(() => old.stop());
    const built = await app(t, old.url);
    const { browser, id } = await signIn(built, 'old-redis@example.com');
    const raw = rawClient(old.url);
    for (let i = 0; i < 3; i++) {
      await raw.expire(PREFIX + id, 100);
      assert.equal((await browser.get(PATHS.dashboard)).status, 200);
      const ttl = await raw.ttl(PREFIX + id);
      assert.ok(ttl > 100, `slid after the page: ${String(ttl)} s`);
    }
  });
});
