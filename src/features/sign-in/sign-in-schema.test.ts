import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCatalogue } from '../../i18n/catalogue.ts';
import { checkFields } from '../../platform/forms/fields.ts';
import { SIGN_IN_FIELDS } from './sign-in-schema.ts';

const en = createCatalogue().forLanguage('en');
const read = (body: Record<string, string>) => checkFields(SIGN_IN_FIELDS, Object.keys(SIGN_IN_FIELDS), body, en);

test('empty fields get the live messages; email trimmed, password untouched and never shown back', () => {
  assert.deepEqual(
    read({}).errors.map((e) => [e.text, e.href]),
    [
      ['Enter your email address', '#email'],
      ['Enter your password', '#password'],
    ],
  );
  assert.deepEqual(
    read({ email: '   ', password: 'x' }).errors.map((e) => e.href),
    ['#email'],
  );
  // A password of spaces is a password (only an empty one is missing).
  assert.deepEqual(read({ email: 'a@b.c', password: '   ' }).errors, []);
  const ok = read({ email: ' a@b.c ', password: ' pass word ' });
  assert.deepEqual(ok.errors, []);
  assert.deepEqual(ok.normalised, { email: 'a@b.c', password: ' pass word ' });
  assert.deepEqual(ok.values, { email: 'a@b.c', password: '' });
});
