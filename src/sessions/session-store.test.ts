import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sessionNumber } from './session-store.ts';
import { decodeSession } from './php-session-codec.ts';
import { toPlain, PhpFloat } from './php-serialize.ts';

test('sessionNumber reads a number however the store returns it', () => {
  assert.equal(sessionNumber(1795892388.198), 1795892388.198);
  assert.equal(sessionNumber(42), 42);
  assert.equal(sessionNumber(new PhpFloat(1.5, '1.5')), 1.5);
  // What the Redis store hands the app for a float the PHP front (microtime(true)) or this app wrote.
  const stored = new Map(
    decodeSession(Buffer.from('feedback_form_generated_time|d:1795892388.198;n|i:7;'))
      .entries()
      .map(([k, v]) => [k, toPlain(v)]),
  );
  assert.ok(stored.get('feedback_form_generated_time') instanceof PhpFloat, 'control: a PHP float is not a JS number');
  assert.equal(sessionNumber(stored.get('feedback_form_generated_time')), 1795892388.198);
  assert.equal(sessionNumber(stored.get('n')), 7);
  for (const [i, bad] of [
    '1795892388.198',
    null,
    undefined,
    true,
    Number.NaN,
    Infinity,
    new PhpFloat(Number.NaN, 'NAN'),
    {},
    [1],
  ].entries()) {
    assert.equal(sessionNumber(bad), undefined, `case ${String(i)}`);
  }
});
