/**
 * Issue 18 point 9: a Redis failover with a READONLY window (ADR 0021).
 *
 * Two real redis-servers behind one address (a TCP proxy on loopback, like the failover DNS name): A primary,
 * B its replica. Failover: B is promoted, A demoted to B's replica, so connections still on A get READONLY for
 * writes; 4 s later the address moves to B (open connections stay on A, as after a DNS move). Meanwhile reads are
 * served (a failed idle slide still serves the page) and a write answers the service's 503 with Retry-After;
 * after the move, writes resume within seconds (ioredis reconnects on READONLY) and every session is still
 * there, each with its own user.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { build } from '../helpers/app.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import { startRedis, startTcpProxy, waitFor } from '../helpers/services.ts';
import type { StartedRedis, StartedTcpProxy } from '../helpers/services.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { decodeSession } from '../../src/sessions/php-session-codec.ts';
import { toPlain } from '../../src/sessions/php-serialize.ts';
import { PATHS } from '../../src/paths.ts';

const PREFIX = 'PHPREDIS_SESSION:';
const COOKIE = 'lpa3';
const PASSWORD = 'correct horse battery staple';
const READONLY_WINDOW_MS = 4000;
const LEAKS = /READONLY|command timed out|max retries|Connection is closed|statusCode|ioredis|redis/i;

let a: StartedRedis;
let b: StartedRedis;
let proxy: StartedTcpProxy;
let rawA: Redis;
let rawB: Redis;
const dirs: string[] = [];

before(async () => {
  a = await startRedis();
  b = await startRedis();
  rawA = new Redis(a.url);
  rawB = new Redis(b.url);
  await rawB.replicaof('127.0.0.1', a.port);
  await waitFor(async () => (await rawB.info('replication')).includes('master_link_status:up'), {
    what: 'B to replicate A',
  });
  proxy = await startTcpProxy(a.port);
});
after(async () => {
  rawA.disconnect();
  rawB.disconnect();
  await proxy.close();
  await a.stop();
  await b.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function userIdIn(bytes: Buffer | null): unknown {
  if (bytes === null) return undefined;
  const identity = decodeSession(bytes).get('identity');
  return identity === undefined ? undefined : (toPlain(identity) as Record<string, unknown>).userId;
}

describe('Redis failover with a READONLY window', () => {
  test(
    'reads served, writes 503 with Retry-After meanwhile, writes back within seconds, no ' + 'session lost or mixed up',
    async (t) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'lpa-failover-'));
      dirs.push(dataDir);
      const built = await build(t, {
        env: { REDIS_URL: `redis://127.0.0.1:${String(proxy.port)}`, DATA_DIR: dataDir },
      });
      const users = built.services.credentials as LocalCredentials;

      // Five users signed in through the address, on A.
      const people: { browser: Browser; userId: string; id: string }[] = [];
      for (let i = 0; i < 5; i++) {
        const email = `u${String(i)}-${randomBytes(4).toString('hex')}@example.com`;
        const userId = await users.addUser({ email, password: PASSWORD, name: { first: 'Pat', last: 'Smith' } });
        const browser = new Browser(built.origin);
        const form = await browser.get(PATHS.login);
        assert.equal(
          (await browser.post(PATHS.login, { email, password: PASSWORD, _csrf: csrfTokenFrom(form.text) })).status,
          303,
        );
        assert.equal((await browser.get(PATHS.dashboard)).status, 200);
        people.push({ browser, userId, id: browser.cookies.get(COOKIE) ?? '' });
      }
      assert.equal(await rawA.wait(1, 2000), 1, 'control: B has every write');

      // Failover: B promoted, A demoted (its connections now answer writes with READONLY); the address still says A.
      await rawB.replicaof('NO', 'ONE');
      await rawA.replicaof('127.0.0.1', b.port);
      await waitFor(async () => (await rawA.info('replication')).includes('master_link_status:up'), {
        what: 'A to follow B',
      });
      const windowStarted = Date.now();

      const problems: string[] = [];
      let writesRefused = 0;
      while (Date.now() - windowStarted < READONLY_WINDOW_MS - 500) {
        for (const person of people) {
          // A read (the idle slide fails with READONLY): still served.
          const page = await person.browser.get(PATHS.dashboard);
          if (page.status !== 200) problems.push(`signed-in read during the window: ${String(page.status)}`);
        }
        // A write (a new session: an anonymous visit to a signed-in page keeps where to resume after sign-in): the
        // service's 503 with Retry-After, never the driver's text. (Forms write nothing before sign-in, ADR 0022.)
        const form = await new Browser(built.origin).get(PATHS.dashboard);
        if (form.status === 503) {
          writesRefused++;
          if (!/^\d+$/.test(form.headers.get('retry-after') ?? '')) problems.push('503 without Retry-After');
          if (html(form.text).querySelector('h1')?.textContent.trim() !== 'Sorry, there is a problem with the service')
            problems.push('503 without the service page');
        } else if (form.status !== 302) {
          problems.push(`write during the window: ${String(form.status)}`);
        }
        if (LEAKS.test(form.text)) problems.push(`leaked: ${form.text.slice(0, 200)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.deepEqual(problems, []);
      assert.ok(writesRefused > 0, 'control: the READONLY window refused writes');

      // The address moves to B; writes must resume within seconds, though the app's connection was opened to A.
      proxy.switchTo(b.port);
      const moved = Date.now();
      await waitFor(async () => (await new Browser(built.origin).get(PATHS.dashboard)).status === 302, {
        timeoutMs: 5000,
        intervalMs: 100,
        what: 'writes to resume after the address moved',
      });
      const resumedAfterMs = Date.now() - moved;
      t.diagnostic(`writes resumed ${String(resumedAfterMs)} ms after the address moved`);

      // Nothing lost or mixed up: each person is still signed in as themselves, and can write (sign out) on B.
      for (const person of people) {
        assert.equal(
          userIdIn(await rawB.getBuffer(PREFIX + person.id)),
          person.userId,
          'the session on B is this person’s',
        );
        const page = await person.browser.get(PATHS.dashboard);
        assert.equal(page.status, 200);
        const out = await person.browser.post(PATHS.logout, { _csrf: csrfTokenFrom(page.text) });
        assert.equal(out.status, 303);
        assert.equal(await rawB.exists(PREFIX + person.id), 0, 'signed out on the new primary');
      }
    },
  );
});
