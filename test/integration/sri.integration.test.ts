/**
 * Issue 18.8 (app side): every same-origin script and stylesheet a page loads carries Subresource Integrity, and the
 * value is the sha384 of the bytes the app serves at that URL (whatever encoding the client accepts). Anonymous and
 * signed-in pages. (A module's own imports are not covered: docs/adr/0024 says why.)
 */
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/app.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import { createServices } from '../../src/services.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { PATHS } from '../../src/paths.ts';

async function sha384(origin: string, path: string, encoding: string): Promise<{ integrity: string }> {
  const res = await fetch(origin + path, { headers: { 'accept-encoding': encoding } });
  assert.equal(res.status, 200, path);
  const bytes = Buffer.from(await res.arrayBuffer());
  return { integrity: `sha384-${createHash('sha384').update(bytes).digest('base64')}` };
}

/** Checks every script and stylesheet on a page; returns how many there were. */
async function assertIntegrity(origin: string, page: string, where: string): Promise<number> {
  const doc = html(page);
  const elements = [
    ...doc.querySelectorAll('script[src]').map((e) => ({ e, url: e.getAttribute('src') ?? '' })),
    ...doc.querySelectorAll('link[rel="stylesheet"]').map((e) => ({ e, url: e.getAttribute('href') ?? '' })),
  ];
  for (const { e, url } of elements) {
    assert.ok(url.startsWith(PATHS.assets), `${where}: ${url} is same-origin`);
    const integrity = e.getAttribute('integrity');
    assert.match(integrity ?? '', /^sha384-[A-Za-z0-9+/]{64}$/, `${where}: ${url} has no sha384 integrity`);
    for (const encoding of ['br', 'gzip', 'identity']) {
      const served = await sha384(origin, url, encoding);
      assert.equal(integrity, served.integrity, `${where}: ${url} (${encoding}) does not match its integrity`);
    }
  }
  return elements.length;
}

test('every same-origin script and stylesheet carries the sha384 of what the app serves', async (t) => {
  const built = await build(t, {
    services: (config) => createServices(config, { signInPolicy: { failureDelayMs: 0 } }),
  });
  const browser = new Browser(built.origin);
  for (const path of [PATHS.home, PATHS.accessibility, PATHS.feedback, PATHS.login, '/no-such-page']) {
    const res = await browser.get(path);
    const count = await assertIntegrity(built.origin, res.text, path);
    assert.ok(count >= 2, `${path}: the stylesheet and application.mjs (${String(count)})`);
  }

  const users = built.services.credentials as LocalCredentials;
  await users.addUser({
    email: 'ada@example.com',
    password: 'correct horse battery staple',
    name: { first: 'Ada', last: 'Lovelace' },
  });
  const form = await browser.get(PATHS.login);
  const signedIn = await browser.post(PATHS.login, {
    email: 'ada@example.com',
    password: 'correct horse battery staple',
    _csrf: csrfTokenFrom(form.text),
  });
  assert.equal(signedIn.status, 303);
  const dashboard = await browser.get(PATHS.aboutYou);
  assert.equal(dashboard.status, 200);
  const count = await assertIntegrity(built.origin, dashboard.text, 'signed in');
  assert.ok(count >= 3, `signed in: the session-timeout module too (${String(count)})`);
});
