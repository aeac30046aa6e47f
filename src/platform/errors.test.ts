/** Which status an error is answered with. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statusFor } from './errors.ts';
import { CsrfError } from './csrf.ts';
import { HttpError } from './http-error.ts';
import { StoreUnavailableError } from '../sessions/store-unavailable.ts';

test('errors map to statuses without trusting arbitrary codes', () => {
  assert.equal(statusFor(new CsrfError('mismatch')), 403);
  assert.equal(statusFor(new HttpError(413, 'x')), 413);
  assert.equal(statusFor(new HttpError(418, 'x')), 400);
  assert.equal(statusFor(new Error('boom')), 500);
  assert.equal(statusFor(Object.assign(new Error('v'), { validation: [] })), 400);
  // A store that cannot be reached is "try again later", with a Retry-After any caller gets by throwing it.
  const unavailable = new StoreUnavailableError('redis down');
  assert.equal(statusFor(unavailable), 503);
  assert.match(unavailable.headers['retry-after'] ?? '', /^\d+$/);
  assert.equal(statusFor(new HttpError(503, 'x')), 503);
  assert.equal(
    statusFor(Object.assign(new Error('x'), { statusCode: 503 })),
    500,
    'a library error claiming 503 is not trusted',
  );
});
