/**
 * A form with two actions and a date field on the kit (ADR 0053), over HTTP in the real app, on a test-only form
 * (test/kit/two-actions/): each button checks only its own scope and has its own outcome, a field that belongs to
 * one button is shown back only on its answer, the date is one error linked to its first wrong part, an undeclared
 * action is refused, and CSRF is checked whichever button is pressed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { createCatalogue } from '../../src/i18n/catalogue.ts';
import type { Messages } from '../../src/i18n/catalogue.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import { addPublicRoutes, buildKitApp } from './kit-app.ts';
import { APPOINTMENT_PATH, appointmentForm, booked } from './two-actions/appointment.form.ts';

const HERE = join(import.meta.dirname, 'two-actions');

async function start(t: TestContext): Promise<{ browser: Browser; token: string; blank: string }> {
  const catalogue = createCatalogue();
  catalogue.addNamespace('en', 'twoActions', JSON.parse(readFileSync(join(HERE, 'en.json'), 'utf8')) as Messages);
  const { origin } = await buildKitApp(t, { catalogue, forms: [appointmentForm], templateDirs: [HERE] });
  const browser = new Browser(origin);
  const page = await browser.get(APPOINTMENT_PATH);
  assert.equal(page.status, 200);
  return { browser, token: csrfTokenFrom(page.text), blank: page.text };
}

const summary = (text: string) =>
  [...html(text).querySelectorAll('.govuk-error-summary__list a')].map(
    (a) => `${a.getAttribute('href') ?? ''} ${a.textContent.trim()}`,
  );
const value = (text: string, id: string) => html(text).querySelector(`#${id}`)?.getAttribute('value') ?? '';
const wrongParts = (text: string) =>
  ['day', 'month', 'year'].filter((p) =>
    html(text).querySelector(`#visit-${p}`)?.classList.contains('govuk-input--error'),
  );

describe('form kit: two actions and a date', () => {
  before(() => {
    addPublicRoutes([APPOINTMENT_PATH]);
  });

  test('the blank page: the date input with its words from the catalogue, a button per action', async (t) => {
    const { blank } = await start(t);
    const doc = html(blank);
    assert.equal(doc.querySelector('#visit-hint')?.textContent.trim(), 'For example, 27 3 2027');
    assert.deepEqual(
      doc.querySelectorAll('.govuk-date-input__label').map((l) => l.textContent.trim()),
      ['Day', 'Month', 'Year'],
    );
    assert.deepEqual(
      doc.querySelectorAll('button[name="action"]').map((b) => [b.getAttribute('value'), b.textContent.trim()]),
      [
        ['find', 'Find branch'],
        ['book', 'Book visit'],
      ],
    );
  });

  test('"find" checks only the code: the rest is kept as typed, not judged; its answer is its own', async (t) => {
    const { browser, token } = await start(t);
    const typed = { name: '', 'visit-day': '31', 'visit-month': '2', 'visit-year': 'x<b>', code: 'AB1' };
    const found = await browser.post(APPOINTMENT_PATH, { ...typed, action: 'find', _csrf: token });
    assert.equal(found.status, 200);
    assert.deepEqual(summary(found.text), []);
    assert.equal(html(found.text).querySelector('[data-qa="found"]')?.textContent, 'Branch AB1');
    assert.equal(value(found.text, 'visit-year'), 'x<b>', 'kept, escaped by the macro');
    assert.equal(found.text.includes('x<b>'), false);
    assert.equal(value(found.text, 'code'), 'AB1');

    const badCode = await browser.post(APPOINTMENT_PATH, { ...typed, code: 'ab', action: 'find', _csrf: token });
    assert.equal(badCode.status, 400);
    assert.deepEqual(summary(badCode.text), ['#code Enter a branch code like AB1']);
    assert.equal(booked.length, 0);
  });

  test('"book" checks the name and the date, not the code, which it does not show back', async (t) => {
    const { browser, token } = await start(t);
    const res = await browser.post(APPOINTMENT_PATH, {
      name: '',
      'visit-day': '12',
      'visit-month': '',
      'visit-year': '',
      code: 'not a code',
      action: 'book',
      _csrf: token,
    });
    assert.equal(res.status, 400);
    assert.deepEqual(summary(res.text), [
      '#name Enter your full name',
      '#visit-month The date of your visit must include a day, month and year',
    ]);
    assert.deepEqual(wrongParts(res.text), ['month', 'year'], 'only the missing parts are highlighted');
    assert.equal(value(res.text, 'visit-day'), '12');
    assert.equal(value(res.text, 'code'), '', 'the search box belongs to "find"');

    const impossible = await browser.post(APPOINTMENT_PATH, {
      name: 'Ada',
      'visit-day': '30',
      'visit-month': '2',
      'visit-year': '2027',
      _csrf: token,
    });
    assert.deepEqual(summary(impossible.text), ['#visit-day The date of your visit must be a real date']);
    assert.deepEqual(wrongParts(impossible.text), ['day', 'month', 'year']);
  });

  test('a body naming no action is the first one; valid answers reach it normalised', async (t) => {
    const { browser, token } = await start(t);
    const before = booked.length;
    const res = await browser.post(APPOINTMENT_PATH, {
      name: ' Ada ',
      'visit-day': '4',
      'visit-month': '03',
      'visit-year': '2027',
      code: 'anything',
      _csrf: token,
    });
    assert.equal(res.status, 303);
    assert.deepEqual(booked.slice(before), [{ name: 'Ada', visit: '2027-03-04' }]);
  });

  test('an undeclared or repeated action is refused; CSRF is checked whichever button is pressed', async (t) => {
    const { browser, token } = await start(t);
    for (const action of ['delete', 'constructor', '__proto__']) {
      const res = await browser.post(APPOINTMENT_PATH, { name: 'Ada', action, _csrf: token });
      assert.equal(res.status, 400, action);
    }
    const twice = await browser.post(APPOINTMENT_PATH, `name=Ada&action=find&action=book&_csrf=${token}`);
    assert.equal(twice.status, 400);
    for (const action of ['find', 'book']) {
      const res = await browser.post(APPOINTMENT_PATH, { name: 'Ada', code: 'AB1', action });
      assert.equal(res.status, 403, action);
    }
  });
});
