/**
 * The public content pages for a signed-in user, over HTTP against the real app: they carry the same signed-in
 * chrome (navigation, a sign-out form with its CSRF token, the session-timeout script) as every other page, and
 * a visit keeps the session alive. Anonymous visitors still get the page rendered once per process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/app.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import { createServices } from '../../src/services.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { MemoryStore } from '../../src/sessions/memory-store.ts';
import { PATHS } from '../../src/paths.ts';
import { CONTENT_PAGES } from '../../src/features/content/content-routes.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test(
  'content pages show a signed-in user their navigation and a working sign-out, and keep ' + 'the session alive',
  async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lpa-content-signed-in-'));
    dirs.push(dataDir);
    let clock = Date.now();
    const store = new MemoryStore({ now: () => clock });
    const built = await build(t, {
      env: { DATA_DIR: dataDir },
      services: (config) => createServices(config, { sessionStore: store, signInPolicy: { failureDelayMs: 0 } }),
    });
    const users = built.services.credentials as LocalCredentials;
    await users.addUser({
      email: 'ada@example.com',
      password: 'correct horse battery staple',
      name: { first: 'Ada', last: 'Lovelace' },
    });

    const anonymous = new Browser(built.origin);
    const before = html((await anonymous.get(PATHS.accessibility)).text);
    assert.equal(before.querySelector(`form[action="${PATHS.logout}"]`), null, 'anonymous: no sign-out form');
    assert.equal(before.querySelector(`a[href="${PATHS.dashboard}"]`), null, 'anonymous: no account navigation');
    assert.deepEqual(
      [...anonymous.cookies.keys()],
      ['lpa-form'],
      "anonymous: a content page makes no session (the cookie banner's form cookie only, ADR " + '0037)',
    );

    const browser = new Browser(built.origin);
    const form = await browser.get(PATHS.login);
    const signedIn = await browser.post(PATHS.login, {
      email: 'ada@example.com',
      password: 'correct horse battery staple',
      _csrf: csrfTokenFrom(form.text),
    });
    assert.equal(signedIn.status, 303);
    const sessionId = browser.cookies.get(built.config.sessionCookieName)?.slice(0, 32) ?? '';

    for (const page of CONTENT_PAGES) {
      const res = await browser.get(page.path);
      assert.equal(res.status, 200, page.path);
      const doc = html(res.text);
      const signOut = doc.querySelector(`form[action="${PATHS.logout}"]`);
      assert.ok(signOut, `${page.path}: sign-out form`);
      assert.match(
        csrfTokenFrom(res.text),
        /^[0-9a-f]{32}$/,
        `${page.path}: the sign-out form carries the session's token`,
      );
      assert.ok(doc.querySelector(`a[href="${PATHS.dashboard}"]`), `${page.path}: "Your LPAs" navigation`);
      assert.ok(doc.querySelector('script[src*="session-timeout"]'), `${page.path}: session-timeout script`);
      assert.equal(res.headers.get('cache-control'), 'no-store', `${page.path}: a personalised page is not cached`);
    }

    // A visit slides the idle session: 80 % of its lifetime, a content page, 80 % again, and it is still there.
    const ttlMs = built.config.sessionTtlSeconds * 1000;
    clock += ttlMs * 0.8;
    assert.equal((await browser.get(PATHS.terms)).status, 200);
    clock += ttlMs * 0.8;
    assert.notEqual(await store.load(sessionId), null, 'a content page view extends the session');

    // The sign-out form on a content page works.
    const page = await browser.get(PATHS.cookies);
    const out = await browser.post(PATHS.logout, { _csrf: csrfTokenFrom(page.text) });
    assert.equal(out.status, 303);
    assert.equal(await store.load(sessionId), null, 'signed out from a content page');
  },
);
