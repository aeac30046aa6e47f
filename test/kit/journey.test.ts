/**
 * The form kit's journey, proven on a test-only three-step journey (test/kit/journey/) in the real app over HTTP:
 * the order guard, validation with GOV.UK errors, CSRF, "check your answers" returning to the changed step and then
 * back to the summary, completion with a one-shot flash, and the route table's access rule.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { createCatalogue } from '../../src/i18n/catalogue.ts';
import type { Catalogue, Messages } from '../../src/i18n/catalogue.ts';
import { defineForm } from '../../src/platform/forms/index.ts';
import { PATHS } from '../../src/paths.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import { callBackJourney, completed, STEPS } from './journey/call-back.journey.ts';
import { addPublicRoutes, buildKitApp } from './kit-app.ts';

const HERE = import.meta.dirname;
const SIGNED_IN_ONLY = '/test-signed-in-form';

export function journeyCatalogue(): Catalogue {
  const catalogue = createCatalogue();
  catalogue.addNamespace('en', 'callBack', JSON.parse(readFileSync(join(HERE, 'journey/en.json'), 'utf8')) as Messages);
  return catalogue;
}

async function start(t: TestContext): Promise<Browser> {
  const catalogue = journeyCatalogue();
  const signedInForm = defineForm({
    path: SIGNED_IN_ONLY,
    title: 'callBack:name.title',
    fields: { fullName: callBackJourney.fields.fullName ?? assert.fail('fullName') },
    onSuccess: () => ({ redirect: PATHS.home }),
  });
  const { origin } = await buildKitApp(t, { catalogue, journeys: [callBackJourney], forms: [signedInForm] });
  return new Browser(origin);
}

/** GETs `path` and POSTs `fields` with the page's own CSRF token. */
async function submit(browser: Browser, path: string, fields: Record<string, string>) {
  const page = await browser.get(path);
  assert.equal(page.status, 200, `GET ${path}`);
  return browser.post(path, { ...fields, _csrf: csrfTokenFrom(page.text) });
}

function redirectsTo(page: { status: number; headers: Headers }, location: string): void {
  assert.equal(page.status, 303);
  assert.equal(page.headers.get('location'), location);
}

describe('form kit journey (test-only, three steps)', () => {
  before(() => {
    addPublicRoutes(Object.values(STEPS));
  });

  test('order guard: a step not reachable yet redirects to the furthest one that is', async (t) => {
    const browser = await start(t);
    redirectsTo(await browser.get(STEPS.contact), STEPS.name);
    redirectsTo(await browser.get(STEPS.phone), STEPS.name);
    redirectsTo(await browser.get(STEPS.check), STEPS.name);
    redirectsTo(await submit(browser, STEPS.name, { fullName: 'Ada Lovelace' }), STEPS.contact);
    redirectsTo(await browser.get(STEPS.phone), STEPS.contact);
    redirectsTo(await browser.get(STEPS.check), STEPS.contact);
    // A POST to a step not reachable is refused the same way, before its answers are looked at.
    const token = csrfTokenFrom((await browser.get(STEPS.contact)).text);
    redirectsTo(await browser.post(STEPS.phone, { phone: '01632 960 001', _csrf: token }), STEPS.contact);
    redirectsTo(await submit(browser, STEPS.contact, { contactBy: 'email' }), STEPS.check);
    // "email" takes the phone step off the path: it is not reachable, the summary is.
    redirectsTo(await browser.get(STEPS.phone), STEPS.check);
    assert.equal((await browser.get(STEPS.check)).status, 200);
    assert.equal((await browser.get(STEPS.name)).status, 200, 'a step already done stays reachable');
  });

  test('validation: GOV.UK errors, 400, the answer re-filled and escaped, links to the field', async (t) => {
    const browser = await start(t);
    const empty = await submit(browser, STEPS.name, { fullName: '   ' });
    assert.equal(empty.status, 400);
    const doc = html(empty.text);
    assert.match(doc.querySelector('title')?.text ?? '', /^\s*Error: What is your name\?/);
    const summary = doc.querySelector('.govuk-error-summary');
    assert.equal(summary?.querySelector('.govuk-error-summary__title')?.text.trim(), 'There is a problem');
    const link = summary.querySelector('.govuk-error-summary__list a');
    assert.equal(link?.text.trim(), 'Enter your full name');
    assert.equal(link.getAttribute('href'), '#fullName');
    assert.ok(doc.querySelector('input#fullName'), 'the link target is the field');
    assert.match(doc.querySelector('#fullName-error')?.text ?? '', /Error:\s*Enter your full name/);

    const hostile = `<script>alert(1)</script>${'x'.repeat(40)}`;
    const long = await submit(browser, STEPS.name, { fullName: hostile });
    assert.equal(long.status, 400);
    assert.ok(!long.text.includes('<script>alert(1)'), 'the answer is escaped');
    assert.equal(
      html(long.text).querySelector('input#fullName')?.getAttribute('value'),
      hostile,
      'the answer is re-filled',
    );
    assert.match(long.text, /Full name must be 50 characters or fewer/);

    const notAnOption = await submit(browser, STEPS.name, { fullName: 'Ada' });
    redirectsTo(notAnOption, STEPS.contact);
    const bad = await submit(browser, STEPS.contact, { contactBy: 'pigeon' });
    assert.equal(bad.status, 400);
    assert.equal(html(bad.text).querySelector('.govuk-error-summary__list a')?.getAttribute('href'), '#contactBy');
    assert.ok(html(bad.text).querySelector('input#contactBy'), 'the first radio carries the id the error links to');
  });

  test('CSRF: a POST without the token is refused (403) and changes nothing', async (t) => {
    const browser = await start(t);
    await browser.get(STEPS.name);
    const refused = await browser.post(STEPS.name, { fullName: 'Ada' });
    assert.equal(refused.status, 403);
    redirectsTo(await browser.get(STEPS.contact), STEPS.name);
  });

  test('check your answers: Change returns to the changed step, then back to the summary', async (t) => {
    const browser = await start(t);
    await submit(browser, STEPS.name, { fullName: 'Ada Lovelace' });
    await submit(browser, STEPS.contact, { contactBy: 'email' });
    let check = html((await browser.get(STEPS.check)).text);
    const rows = () =>
      check
        .querySelectorAll('.govuk-summary-list__row')
        .map((r) => [r.querySelector('dt')?.text.trim(), r.querySelector('dd')?.text.trim()]);
    assert.deepEqual(rows(), [
      ['Full name', 'Ada Lovelace'],
      ['How should we contact you?', 'By email'],
    ]);
    const changeName = check.querySelectorAll('.govuk-summary-list__actions a')[0]?.getAttribute('href');
    assert.equal(changeName, `${STEPS.name}?change=1#fullName`);

    // A change that keeps the path: straight back to the summary.
    const namePage = await browser.get(`${STEPS.name}?change=1`);
    assert.equal(
      html(namePage.text).querySelector('input#fullName')?.getAttribute('value'),
      'Ada Lovelace',
      'the answer is filled in',
    );
    assert.equal(html(namePage.text).querySelector('form#kit-form')?.getAttribute('action'), `${STEPS.name}?change=1`);
    redirectsTo(
      await browser.post(`${STEPS.name}?change=1`, { fullName: 'Ada King', _csrf: csrfTokenFrom(namePage.text) }),
      STEPS.check,
    );

    // A change that puts a new step on the path: that step first (still changing), then the summary.
    redirectsTo(await submit(browser, `${STEPS.contact}?change=1`, { contactBy: 'phone' }), `${STEPS.phone}?change=1`);
    redirectsTo(await browser.get(STEPS.check), STEPS.phone);
    redirectsTo(await submit(browser, `${STEPS.phone}?change=1`, { phone: '01632 960 001' }), STEPS.check);
    check = html((await browser.get(STEPS.check)).text);
    assert.deepEqual(rows(), [
      ['Full name', 'Ada King'],
      ['How should we contact you?', 'By phone'],
      ['Phone number', '01632 960 001'],
    ]);

    // Changing back drops the phone step from the path and from the summary (its answer is not sent).
    redirectsTo(await submit(browser, `${STEPS.contact}?change=1`, { contactBy: 'email' }), STEPS.check);
    check = html((await browser.get(STEPS.check)).text);
    assert.deepEqual(rows(), [
      ['Full name', 'Ada King'],
      ['How should we contact you?', 'By email'],
    ]);
  });

  test(
    'completion: answers on the path only, state cleared, a flash message shown once ' + '(POST-redirect-GET)',
    async (t) => {
      const browser = await start(t);
      completed.length = 0;
      await submit(browser, STEPS.name, { fullName: 'Grace Hopper' });
      await submit(browser, STEPS.contact, { contactBy: 'phone' });
      await submit(browser, STEPS.phone, { phone: '01632 960 002' });
      await submit(browser, `${STEPS.contact}?change=1`, { contactBy: 'email' });
      redirectsTo(await submit(browser, STEPS.check, {}), STEPS.name);
      assert.deepEqual(completed, [{ fullName: 'Grace Hopper', contactBy: 'email' }]);
      assert.equal((await browser.request('HEAD', STEPS.name)).status, 200, 'a HEAD does not use the flash up');
      const first = html((await browser.get(STEPS.name)).text);
      assert.equal(first.querySelector('.govuk-notification-banner__content')?.text.trim(), 'We will call you back');
      assert.equal(first.querySelector('input#fullName')?.getAttribute('value') ?? '', '', 'the state is cleared');
      const second = html((await browser.get(STEPS.name)).text);
      assert.equal(second.querySelector('.govuk-notification-banner'), null, 'the flash is shown once');
      redirectsTo(await browser.get(STEPS.check), STEPS.name);
    },
  );

  test('access rule from the route table: a kit path missing from PUBLIC_ROUTES needs a signed-in user', async (t) => {
    const browser = await start(t);
    const page = await browser.get(SIGNED_IN_ONLY);
    assert.equal(page.status, 302);
    assert.equal(page.headers.get('location'), PATHS.login);
  });
});
