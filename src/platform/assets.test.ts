/** Which encoding an asset is sent in. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseEncoding } from './assets.ts';

test('asset encoding follows Accept-Encoding, including refusals', () => {
  const both = { br: Buffer.alloc(1), gzip: Buffer.alloc(1) };
  assert.equal(chooseEncoding('gzip, deflate, br', both), 'br');
  assert.equal(chooseEncoding('gzip', both), 'gzip');
  assert.equal(chooseEncoding('br;q=0, gzip', both), 'gzip');
  assert.equal(chooseEncoding('identity', both), 'identity');
  assert.equal(chooseEncoding(undefined, both), 'identity');
  assert.equal(chooseEncoding('br', { gzip: Buffer.alloc(1) }), 'identity');
  assert.equal(chooseEncoding('*', both), 'br');
});
