/** Form bodies as limits.ts parses them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HttpError } from './http-error.ts';
import { MAX_FIELDS, parseForm } from './limits.ts';

test('form bodies: strings only, no repeats, bounded field count, no prototype keys', () => {
  const f = parseForm('a=1&b=%3Cx%3E&c=');
  assert.equal(Object.getPrototypeOf(f), null);
  assert.deepEqual({ ...f }, { a: '1', b: '<x>', c: '' });
  assert.throws(
    () => parseForm('a=1&a=2'),
    (e: HttpError) => e.statusCode === 400,
  );
  assert.throws(
    () => parseForm(Array.from({ length: MAX_FIELDS + 1 }, (_, i) => `f${String(i)}=1`).join('&')),
    (e: HttpError) => e.statusCode === 413,
  );
  const proto = parseForm('__proto__=x&constructor=y');
  assert.equal(({} as Record<string, unknown>).x, undefined);
  assert.equal(proto.__proto__, 'x');
});
