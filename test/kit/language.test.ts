/**
 * The language of a request (ADR 0030): `?lang=` naming an offered language, else the `lang` cookie, else English;
 * nothing else is ever used or written back. And the catalogue: English fallback, a missing key throws.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseLanguage, createCatalogue } from '../../src/i18n/catalogue.ts';

test('chooseLanguage: query, then cookie, then English; only offered languages', () => {
  const offered = ['en', 'cy'];
  assert.deepEqual(chooseLanguage('cy', undefined, offered), { lang: 'cy', fromQuery: true });
  assert.deepEqual(chooseLanguage(undefined, 'cy', offered), { lang: 'cy', fromQuery: false });
  assert.deepEqual(chooseLanguage('en', 'cy', offered), { lang: 'en', fromQuery: true });
  assert.deepEqual(chooseLanguage(undefined, undefined, offered), { lang: 'en', fromQuery: false });
  for (const hostile of ['fr', '<script>', 'cy; Path=/', ['cy'], 'CY', '']) {
    assert.deepEqual(
      chooseLanguage(hostile, undefined, offered),
      { lang: 'en', fromQuery: false },
      JSON.stringify(hostile),
    );
    assert.equal(chooseLanguage(undefined, typeof hostile === 'string' ? hostile : undefined, offered).lang, 'en');
  }
  assert.equal(chooseLanguage('cy', undefined, ['en']).lang, 'en', 'Welsh is not offered until it is translated');
});

test('catalogue: English today, other languages fall back to it, a key missing in English throws', () => {
  const catalogue = createCatalogue({
    resources: { en: { kit: { continue: 'Continue', hello: 'Hello {{name}}' } }, cy: { kit: { continue: 'Parhau' } } },
    languages: ['en', 'cy'],
  });
  assert.equal(catalogue.forLanguage('en')('kit:continue'), 'Continue');
  assert.equal(catalogue.forLanguage('cy')('kit:continue'), 'Parhau');
  assert.equal(
    catalogue.forLanguage('cy')('kit:hello', { name: '<b>' }),
    'Hello <b>',
    'not escaped here: Nunjucks escapes on output',
  );
  assert.throws(() => catalogue.forLanguage('en')('kit:nothing'), /no English message for kit:nothing/);
  const app = createCatalogue();
  for (const key of [
    'govuk:errorSummaryTitle',
    'govuk:skipLink',
    'govuk:copyright',
    'chrome:serviceName',
    'kit:checkAnswers.title',
  ])
    assert.ok(app.has(key), key);
  assert.equal(app.forLanguage('en')('govuk:errorSummaryTitle'), 'There is a problem');
});
