/**
 * Issue 18 point 2: the session Redis stopped (process gone) or hung (SIGSTOP), with a real redis-server.
 *
 * Public pages answer 200 whatever the store does, with or without a session cookie; a form that needs the store
 * answers the service's "try again later" page with 503 and Retry-After (or, once anonymous forms keep no server
 * state, 200 without a session cookie); signed-in pages answer 503 with Retry-After; no response carries a driver
 * or framework message; every answer comes well within nginx's 30 s proxy_read_timeout; and the site recovers
 * when Redis does (ADR 0021).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { build } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import type { Page } from '../helpers/http.ts';
import { startProcess, startRedis, systemBinary, waitFor } from '../helpers/services.ts';
import type { StartedRedis } from '../helpers/services.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { PATHS } from '../../src/paths.ts';

const COOKIE = 'lpa3';
const PASSWORD = 'correct horse battery staple';
// A named user: one without a name is sent to /user/about-you/new first, as on the live service.
const NAMED = { first: 'Sam', last: 'Tester' };
/** What a driver, Node or Fastify would put in a body; none of it may reach a user. */
const LEAKS =
  /command timed out|max retries|ECONNREFUSED|READONLY|Connection is closed|statusCode|ioredis|redis|stream isn't writeable|FST_/i;
/** Far below nginx's proxy_read_timeout (30 s): the store's per-command bound is 2 s. */
const MAX_ANSWER_MS = 7000;
const PUBLIC_PAGES = [
  PATHS.home,
  PATHS.start,
  PATHS.accessibility,
  PATHS.cookies,
  PATHS.privacy,
  PATHS.terms,
  PATHS.contact,
];

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Visitors {
  readonly built: Built;
  /** No cookie at all. */
  readonly fresh: () => Browser;
  /** An lpa3 cookie from an anonymous visit to a signed-in page (the session keeps where to resume after sign-in). */
  readonly anonymous: Browser;
  readonly signedIn: Browser;
  readonly signedInToken: string;
}

async function visitors(t: { after(fn: () => unknown): void }, redis: StartedRedis): Promise<Visitors> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lpa-redis-faults-'));
  dirs.push(dataDir);
  const built = await build(t, { env: { REDIS_URL: redis.url, DATA_DIR: dataDir } });
  const anonymous = new Browser(built.origin);
  assert.equal((await anonymous.get(PATHS.dashboard)).status, 302);
  assert.ok(anonymous.cookies.has(COOKIE));
  const email = `u${randomBytes(6).toString('hex')}@example.com`;
  await (built.services.credentials as LocalCredentials).addUser({ email, password: PASSWORD, name: NAMED });
  const signedIn = new Browser(built.origin);
  const form = await signedIn.get(PATHS.login);
  assert.equal(
    (await signedIn.post(PATHS.login, { email, password: PASSWORD, _csrf: csrfTokenFrom(form.text) })).status,
    303,
  );
  const dashboard = await signedIn.get(PATHS.dashboard);
  assert.equal(dashboard.status, 200);
  return {
    built,
    fresh: () => new Browser(built.origin),
    anonymous,
    signedIn,
    signedInToken: csrfTokenFrom(dashboard.text),
  };
}

async function timed(what: string, request: Promise<Page>, problems: string[]): Promise<Page> {
  const started = performance.now();
  const page = await request;
  const ms = performance.now() - started;
  if (ms > MAX_ANSWER_MS) problems.push(`${what}: answered after ${ms.toFixed(0)} ms`);
  if (LEAKS.test(page.text)) problems.push(`${what}: body leaks an internal message: ${page.text.slice(0, 200)}`);
  return page;
}

function expectTryAgainLater(what: string, page: Page, problems: string[]): void {
  if (page.status !== 503) {
    problems.push(`${what}: ${String(page.status)}, not 503`);
    return;
  }
  const retryAfter = page.headers.get('retry-after') ?? '';
  if (!/^\d+$/.test(retryAfter)) problems.push(`${what}: no Retry-After (${retryAfter})`);
  const doc = html(page.text);
  const h1 = doc.querySelector('h1')?.textContent.trim();
  if (h1 !== 'Sorry, there is a problem with the service') problems.push(`${what}: heading ${String(h1)}`);
  if (!page.text.includes('Try again later.')) problems.push(`${what}: no "Try again later."`);
  if (!(page.headers.get('content-type') ?? '').startsWith('text/html'))
    problems.push(`${what}: not the service's HTML page`);
}

/** Every kind of visitor and page against a store that does not answer. */
async function checkWhileDown(v: Visitors): Promise<string[]> {
  const problems: string[] = [];
  for (const path of PUBLIC_PAGES) {
    for (const [who, browser] of [
      ['no cookie', v.fresh()],
      ['an lpa3 cookie', v.anonymous],
      ['signed in', v.signedIn],
    ] as const) {
      const page = await timed(`GET ${path} (${who})`, browser.get(path), problems);
      if (page.status !== 200) problems.push(`GET ${path} (${who}): ${String(page.status)}`);
    }
  }
  // Forms: the service's 503 page, or (once anonymous forms keep no server state) the form without a session.
  for (const path of [PATHS.feedback, PATHS.login]) {
    for (const [who, browser] of [
      ['no cookie', v.fresh()],
      ['an lpa3 cookie', v.anonymous],
    ] as const) {
      const page = await timed(`GET ${path} (${who})`, browser.get(path), problems);
      const setsSession = page.headers.getSetCookie().some((c) => c.startsWith(`${COOKIE}=`) && !/max-age=0/i.test(c));
      if (page.status === 200 && setsSession)
        problems.push(`GET ${path} (${who}): 200 with a session cookie the store never kept`);
      if (page.status !== 200) expectTryAgainLater(`GET ${path} (${who})`, page, problems);
    }
  }
  const post = await timed(
    'POST /send-feedback (an lpa3 cookie)',
    v.anonymous.post(PATHS.feedback, {
      _csrf: 'x'.repeat(32),
      rating: 'satisfied',
      details: 'fine',
      email: '',
      phone: '',
    }),
    problems,
  );
  expectTryAgainLater('POST /send-feedback (an lpa3 cookie)', post, problems);
  const signIn = await timed(
    'POST /login (no cookie)',
    v.fresh().post(PATHS.login, { _csrf: 'x'.repeat(32), email: 'a@example.com', password: 'x' }),
    problems,
  );
  // 403: no session, so no token
  if (signIn.status !== 403) expectTryAgainLater('POST /login (no cookie)', signIn, problems);
  for (const path of [PATHS.dashboard, PATHS.aboutYou]) {
    expectTryAgainLater(
      `GET ${path} (signed in)`,
      await timed(`GET ${path} (signed in)`, v.signedIn.get(path), problems),
      problems,
    );
  }
  const out = await timed(
    'POST /logout (signed in)',
    v.signedIn.post(PATHS.logout, { _csrf: v.signedInToken }),
    problems,
  );
  expectTryAgainLater('POST /logout (signed in)', out, problems);
  return problems;
}

describe('Redis stopped (the process is gone)', () => {
  let redis: StartedRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  test(
    'public pages 200, forms and signed-in pages 503 with Retry-After, nothing leaked; back ' + 'when Redis is',
    async (t) => {
      const v = await visitors(t, redis);
      await redis.process.stop();
      const problems = await checkWhileDown(v);
      assert.deepEqual(problems, []);
      assert.ok(!v.built.logText().includes(PASSWORD));

      // Redis back on the same address (empty: no persistence): the forms work again within seconds.
      const restarted = await startProcess(
        systemBinary('redis-server'),
        ['--port', String(redis.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { name: 'redis-server (restarted)' },
      );
      t.after(() => restarted.stop());
      await waitFor(async () => (await v.fresh().get(PATHS.feedback)).status === 200, {
        timeoutMs: 10_000,
        what: 'the form to work again',
      });
    },
  );
});

describe('Redis hung (SIGSTOP)', () => {
  let redis: StartedRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    process.kill(redis.process.pid, 'SIGCONT');
    await redis.stop();
  });

  test(
    'public pages 200, forms and signed-in pages 503 with Retry-After, each within the bound; ' + 'back after SIGCONT',
    async (t) => {
      const v = await visitors(t, redis);
      process.kill(redis.process.pid, 'SIGSTOP');
      let problems: string[];
      try {
        problems = await checkWhileDown(v);
      } finally {
        process.kill(redis.process.pid, 'SIGCONT');
      }
      assert.deepEqual(problems, []);
      // The hung store kept the session: once it answers, the signed-in user is still signed in.
      await waitFor(async () => (await v.signedIn.get(PATHS.dashboard)).status === 200, {
        timeoutMs: 10_000,
        what: 'the dashboard again',
      });
    },
  );
});
