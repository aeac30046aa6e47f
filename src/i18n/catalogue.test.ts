/**
 * The catalogue keeps each message without values once found (a render asks for the same words every time):
 * what it answers must stay what i18next answers, before and after a namespace is added.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCatalogue } from './catalogue.ts';

const resources = {
  en: { demo: { hello: 'Hello', named: 'Hello {{name}}' } },
  xx: { demo: { hello: 'Hola' } },
};

test('a message is the same on every call, and values are applied on every call', () => {
  const t = createCatalogue({ resources, languages: ['en', 'xx'] }).forLanguage('en');
  assert.equal(t('demo:hello'), 'Hello');
  assert.equal(t('demo:hello'), 'Hello');
  assert.equal(t('demo:named', { name: 'Ada' }), 'Hello Ada');
  assert.equal(t('demo:named', { name: 'Bob' }), 'Hello Bob');
});

test('each language keeps its own words; a missing one falls back to English', () => {
  const words = createCatalogue({ resources, languages: ['en', 'xx'] });
  assert.equal(words.forLanguage('xx')('demo:hello'), 'Hola');
  assert.equal(words.forLanguage('en')('demo:hello'), 'Hello');
  assert.equal(words.forLanguage('xx')('demo:named', { name: 'Ada' }), 'Hello Ada');
});

test('a key English lacks throws on every call, never cached as found', () => {
  const t = createCatalogue({ resources, languages: ['en'] }).forLanguage('en');
  assert.throws(() => t('demo:missing'), /no English message for demo:missing/);
  assert.throws(() => t('demo:missing'), /no English message for demo:missing/);
});

test('a namespace added later is read, and replaces words already asked for', () => {
  const words = createCatalogue({ resources, languages: ['en'] });
  const before = words.forLanguage('en');
  assert.equal(before('demo:hello'), 'Hello');
  words.addNamespace('en', 'demo', { hello: 'Hi' });
  words.addNamespace('en', 'late', { word: 'Late' });
  assert.equal(words.forLanguage('en')('demo:hello'), 'Hi');
  assert.equal(words.forLanguage('en')('late:word'), 'Late');
  assert.equal(words.has('late:word'), true);
  assert.equal(
    before('demo:hello'),
    'Hi',
    "a translate function handed out before (the views' global t) reads the new words too",
  );
});
