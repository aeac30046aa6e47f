import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSignIn } from './sign-in-schema.ts';

test('empty fields get the live messages; email trimmed, password untouched', () => {
  assert.deepEqual(readSignIn({}).errors.map((e) => [e.text, e.href]), [['Enter your email address', '#email'], ['Enter your password', '#password']]);
  assert.deepEqual(readSignIn({ email: '   ', password: 'x' }).errors.map((e) => e.href), ['#email']);
  const ok = readSignIn({ email: ' a@b.c ', password: ' pass word ' });
  assert.deepEqual(ok, { input: { email: 'a@b.c', password: ' pass word ' }, errors: [] });
});
