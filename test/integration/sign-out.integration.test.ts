/**
 * Sign-out is final (issue 17.3, ADR 0019): the token ends in the backend and goes on the deny-list, so a copy of a
 * signed-out session's identity (brought back by a request in flight at sign-out, or stolen) gets the sign-in page.
 * Through the whole app: memory stores and, with a real redis-server, two instances sharing the deny-list.
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { build } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { Browser, csrfTokenFrom } from '../helpers/http.ts';
import { startRedis } from '../helpers/services.ts';
import type { StartedRedis } from '../helpers/services.ts';
import { createServices } from '../../src/services.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { encodeCookieValue, newSessionId } from '../../src/platform/session.ts';
import { REVOKED_KEY_PREFIX, tokenDigest } from '../../src/sessions/revocation-store.ts';
import { SESSION_KEYS } from '../../src/sessions/session-store.ts';
import { PATHS, SIGNED_OUT_URL } from '../../src/paths.ts';

const PASSWORD = 'correct horse battery staple';
const dirs: string[] = [];
let redis: StartedRedis;
const clients: Redis[] = [];

before(async () => { redis = await startRedis(); });
after(async () => {
  for (const c of clients) c.disconnect();
  await redis.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lpa-sign-out-'));
  dirs.push(dir);
  return dir;
}

async function app(t: TestContext, env: Record<string, string> = {}, dataDir = tempDir()): Promise<Built> {
  return build(t, {
    env: { DATA_DIR: dataDir, ...env },
    services: (config, logger) => createServices(config, { logger, signInPolicy: { failureDelayMs: 0 } }),
  });
}

function sessionIdOf(browser: Browser, built: Built): string {
  const value = browser.cookies.get(built.config.sessionCookieName);
  assert.ok(value !== undefined, 'session cookie present');
  return value.slice(0, 32);
}

async function signedIn(built: Built, email: string, origin = built.origin): Promise<{ browser: Browser; identity: Record<string, unknown> }> {
  const browser = new Browser(origin);
  const form = await browser.get(PATHS.login);
  assert.equal((await browser.post(PATHS.login, { email, password: PASSWORD, _csrf: csrfTokenFrom(form.text) })).status, 303);
  const identity = (await built.services.sessionStore.load(sessionIdOf(browser, built)))?.get(SESSION_KEYS.identity);
  assert.ok(identity !== null && typeof identity === 'object');
  return { browser, identity: identity as Record<string, unknown> };
}

async function signOut(browser: Browser): Promise<void> {
  const page = await browser.get(PATHS.dashboard);
  assert.equal(page.status, 200);
  const res = await browser.post(PATHS.logout, { _csrf: csrfTokenFrom(page.text) });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), SIGNED_OUT_URL);
}

/** A browser whose cookie leads to a session holding `identity`, planted in the store as a copy would be. */
async function withPlantedIdentity(built: Built, identity: Record<string, unknown>, origin = built.origin): Promise<Browser> {
  const id = newSessionId();
  await built.services.sessionStore.commit(id, new Map([[SESSION_KEYS.identity, identity]]), 600, 'new');
  const browser = new Browser(origin);
  // The cookie the app itself would give for that id (signed with the embedded store, bare with Redis).
  browser.cookies.set(built.config.sessionCookieName, encodeCookieValue(id, built.services.sessionCookie));
  return browser;
}

describe('sign-out ends the sign-in token', () => {
  test('a copy of a signed-out session\'s identity gets the sign-in page, not a signed-in one', async (t) => {
    const built = await app(t);
    await (built.services.credentials as LocalCredentials).addUser({ email: 'copy@example.com', password: PASSWORD, name: null });
    const { browser, identity } = await signedIn(built, 'copy@example.com');
    // Before sign-out, the copy works: the test plants a real identity.
    assert.equal((await (await withPlantedIdentity(built, identity)).get(PATHS.dashboard)).status, 200);

    await signOut(browser);
    const copy = await withPlantedIdentity(built, identity);
    const res = await copy.get(PATHS.dashboard);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), PATHS.login);
    assert.equal(await built.services.revocations.isRevoked(String(identity.token)), true);
    // The backend refuses the token too (the local backend deleted it).
    assert.deepEqual(await built.services.credentials.refresh(String(identity.token), 't'), { ok: false, reason: 'invalid' });
  });

  test('with Redis, a token signed out on one instance is refused by another at once, and only its hash is kept', async (t) => {
    const dataDir = tempDir();
    const [a, b] = [await app(t, { REDIS_URL: redis.url }, dataDir), await app(t, { REDIS_URL: redis.url }, dataDir)];
    await (a.services.credentials as LocalCredentials).addUser({ email: 'shared@example.com', password: PASSWORD, name: null });
    const { browser, identity } = await signedIn(a, 'shared@example.com');
    const token = String(identity.token);
    await signOut(browser);

    const raw = new Redis(redis.url);
    clients.push(raw);
    const ttl = await raw.ttl(REVOKED_KEY_PREFIX + tokenDigest(token));
    assert.ok(ttl > 4400 && ttl <= 4500, `deny-list entry lives as long as the token could: ${String(ttl)} s`);
    const keys = await raw.keys('*');
    for (const key of keys) {
      const value = await raw.type(key) === 'string' ? await raw.get(key) : '';
      assert.equal(`${key} ${value ?? ''}`.includes(token), false, 'the token itself is stored nowhere');
    }

    const copy = await withPlantedIdentity(b, identity, b.origin);
    const res = await copy.get(PATHS.dashboard);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), PATHS.login);
  });
});
