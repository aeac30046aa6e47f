/**
 * The recipe's claim (docs/recipes/add-a-form.md): a new public form with three fields is five files. This folder
 * is the example, made by following the recipe: the declaration, the template, the words and this test, plus the
 * route-table entry (below, standing in for its line in src/paths.ts, since the form exists only in the tests).
 * Nothing else is touched: the kit finds the declaration by its file name (src/forms.ts) and gives it its routes,
 * CSRF, validation, errors, re-filled answers, POST-redirect-GET and the flash message.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCatalogue } from '../../../src/i18n/catalogue.ts';
import type { Messages } from '../../../src/i18n/catalogue.ts';
import { discoverForms } from '../../../src/forms.ts';
import { Browser, csrfTokenFrom, html } from '../../helpers/http.ts';
import { addPublicRoutes, buildKitApp } from '../kit-app.ts';
import { PAPER_FORM_PATH, requests } from './paper-form.form.ts';

const HERE = import.meta.dirname;

// The route-table entry: in src/paths.ts, `paperForm: '/request-a-paper-form'` in PATHS and its line in PUBLIC_ROUTES.
addPublicRoutes([PAPER_FORM_PATH]);

test('the example form is five files: declaration, template, words, test, route-table entry', () => {
  const files = readdirSync(HERE).sort();
  assert.deepEqual(files, ['en.json', 'paper-form.form.ts', 'paper-form.njk', 'paper-form.test.ts']);
  assert.equal(files.length + 1, 5, 'these four and the route-table entry');
});

test('the example form works end to end on the real app', async (t) => {
  const catalogue = createCatalogue();
  // The words file: in the app, src/i18n/locales/en/paperForm.json, read with the others at start-up.
  catalogue.addNamespace('en', 'paperForm', JSON.parse(readFileSync(join(HERE, 'en.json'), 'utf8')) as Messages);
  const { forms, journeys } = await discoverForms(HERE);
  assert.equal(forms.length, 1, 'found by its file name, registered by no one');
  const { origin } = await buildKitApp(t, { catalogue, forms, journeys, templateDirs: [HERE] });
  const browser = new Browser(origin);

  const blank = await browser.get(PAPER_FORM_PATH);
  assert.equal(blank.status, 200);
  const doc = html(blank.text);
  assert.equal(doc.querySelector('h1')?.text.trim(), 'Ask for a paper form');
  assert.match(doc.querySelector('main .govuk-body')?.text ?? '', /We will post you the forms/);
  assert.deepEqual(
    doc.querySelectorAll('label').map((l) => l.text.trim()),
    ['Full name', 'Email address', 'Why do you need a paper form? (optional)'],
  );
  assert.equal(
    doc.querySelector('textarea#reason')?.getAttribute('maxlength') ?? null,
    null,
    'character count: limit told, not enforced by the browser',
  );
  assert.equal(
    doc.querySelector('.govuk-character-count')?.getAttribute('data-maxlength'),
    '500',
    "the limit told is the schema's",
  );

  const token = csrfTokenFrom(blank.text);
  const invalid = await browser.post(PAPER_FORM_PATH, {
    fullName: '',
    email: 'not-an-email',
    reason: 'x'.repeat(501),
    _csrf: token,
  });
  assert.equal(invalid.status, 400);
  const errors = html(invalid.text)
    .querySelectorAll('.govuk-error-summary__list a')
    .map((a) => [a.getAttribute('href'), a.text.trim()]);
  assert.deepEqual(errors, [
    ['#fullName', 'Enter your full name'],
    ['#email', 'Enter an email address in the correct format, like name@example.com'],
    ['#reason', 'Your reason must be 500 characters or fewer'],
  ]);
  assert.equal(html(invalid.text).querySelector('input#email')?.getAttribute('value'), 'not-an-email');
  assert.equal(requests.length, 0);

  const sent = await browser.post(PAPER_FORM_PATH, {
    fullName: ' Ada Lovelace ',
    email: 'ada@example.com',
    reason: '',
    _csrf: token,
  });
  assert.equal(sent.status, 303);
  assert.equal(sent.headers.get('location'), PAPER_FORM_PATH);
  assert.deepEqual(requests, [{ fullName: 'Ada Lovelace', email: 'ada@example.com', reason: '' }]);
  const after = html((await browser.get(PAPER_FORM_PATH)).text);
  assert.equal(after.querySelector('.govuk-notification-banner__content')?.text.trim(), 'We have your request');
  assert.equal(
    html((await browser.get(PAPER_FORM_PATH)).text).querySelector('.govuk-notification-banner'),
    null,
    'shown once',
  );
});
