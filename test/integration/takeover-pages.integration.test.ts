/**
 * Pages compared with the live front (issue 16, points 3, 4, 9 and 12), over HTTP against the real app: the home
 * page's entry points signed out and signed in, the cookies page describing both fronts' cookies, the title hint's
 * limit, and the 404 page that explains a legacy-only page where lpa-front is the whole site.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/app.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import { createServices } from '../../src/services.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { LEGACY_PATHS, PATHS } from '../../src/paths.ts';
import { TITLES } from '../../src/features/user/user-schema.ts';

const EMAIL = 'caroline.herschel@example.com';
const PASSWORD = 'correct horse battery staple 45';

test('home page, cookies, about-you hint and legacy-only pages', async (t) => {
  const built = await build(t, {
    services: (config) => createServices(config, { signInPolicy: { failureDelayMs: 0 } }),
  });
  await (built.services.credentials as LocalCredentials).addUser({
    email: EMAIL,
    password: PASSWORD,
    name: { first: 'Caroline', last: 'Herschel' },
  });
  const anonymous = new Browser(built.origin);

  await t.test(
    '/ and /home signed out: "Create my account", "Sign in" and the Use-an-LPA pointer, as ' + 'the live page',
    async () => {
      for (const path of [PATHS.home, PATHS.start]) {
        const doc = html((await anonymous.get(path)).text);
        assert.equal(doc.querySelector('[data-qa="create-account"]')?.getAttribute('href'), PATHS.signup, path);
        assert.equal(doc.querySelector('[data-qa="create-account"]')?.textContent.trim(), 'Create my account');
        assert.equal(doc.querySelector('[data-qa="home-sign-in"]')?.getAttribute('href'), PATHS.login, path);
        assert.equal(
          doc.querySelector('[data-qa="use-an-lpa"]')?.getAttribute('href'),
          'https://use-lasting-power-of-attorney.service.gov.uk/home',
        );
        assert.equal(
          doc.querySelector('[data-qa="make-an-lpa"]'),
          null,
          'no "Make an LPA" start for a visitor who is not signed in',
        );
      }
    },
  );

  const browser = new Browser(built.origin);
  const form = await browser.get(PATHS.login);
  assert.equal(
    (await browser.post(PATHS.login, { email: EMAIL, password: PASSWORD, _csrf: csrfTokenFrom(form.text) })).status,
    303,
  );

  await t.test('/ signed in: the "Make an LPA" start to the legacy create path, no account entry points', async () => {
    const doc = html((await browser.get(PATHS.home)).text);
    assert.equal(doc.querySelector('[data-qa="make-an-lpa"]')?.getAttribute('href'), LEGACY_PATHS.createLpa);
    assert.equal(doc.querySelector('[data-qa="create-account"]'), null);
    assert.equal(doc.querySelector('[data-qa="home-sign-in"]'), null);
  });

  await t.test('about-you: the title hint offers the live titles', async () => {
    const hint = html((await browser.get(PATHS.aboutYou)).text).querySelector('#name-title-hint')?.textContent ?? '';
    for (const title of TITLES) assert.ok(hint.includes(title), hint);
  });

  await t.test(
    '/cookies describes the analytics cookies the legacy pages set after consent, and no "no ' + 'banner" claim',
    async () => {
      const text = html((await anonymous.get(PATHS.cookies)).text).querySelector('main')?.textContent ?? '';
      assert.doesNotMatch(text, /We do not use analytics cookies/);
      assert.doesNotMatch(text, /no cookie banner/);
      for (const name of ['cookie_policy', 'seen_cookie_message', 'Google Analytics'])
        assert.ok(text.includes(name), name);
    },
  );

  await t.test(
    'a legacy-only page answers 404 with a page that says where it lives; an unknown page ' + 'stays "Page not found"',
    async () => {
      for (const path of [LEGACY_PATHS.guide, '/lpa/123/donor']) {
        const res = await anonymous.get(path);
        assert.equal(res.status, 404, path);
        const doc = html(res.text);
        assert.ok(doc.querySelector('[data-qa="legacy-page"]'), `${path}: explained`);
        assert.equal(doc.querySelector('h1')?.textContent.trim(), 'This page is on the older part of the service');
      }
      for (const path of ['/no-such-page', '/signupx', '/lpa-x']) {
        const res = await anonymous.get(path);
        assert.equal(res.status, 404);
        assert.equal(html(res.text).querySelector('h1')?.textContent.trim(), 'Page not found', path);
      }
    },
  );
});
