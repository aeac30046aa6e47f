import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryRevocationStore, tokenDigest } from './revocation-store.ts';

test('memory deny-list: refused for the TTL, then forgotten; bounded, oldest dropped first', async () => {
  let clock = 1_000_000;
  const store = new MemoryRevocationStore({ now: () => clock, maxEntries: 2 });
  await store.revoke('token-a', 10);
  assert.equal(await store.isRevoked('token-a'), true);
  assert.equal(await store.isRevoked('token-b'), false);
  clock += 10_000;
  assert.equal(await store.isRevoked('token-a'), false, 'gone once its TTL has passed');

  await store.revoke('token-a', 0.2);
  clock += 999;
  assert.equal(await store.isRevoked('token-a'), true, 'at least one second, whatever the TTL');
  await store.revoke('token-b', 60);
  await store.revoke('token-c', 60);
  assert.deepEqual([await store.isRevoked('token-a'), await store.isRevoked('token-b'), await store.isRevoked('token-c')], [false, true, true]);
  await store.close();
});

test('keys are the SHA-256 of the token, never the token', () => {
  assert.equal(tokenDigest('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('account index (ADR 0047): every remembered token of an account but the one kept is refused, then forgotten', async () => {
  let clock = 1_000_000;
  const store = new MemoryRevocationStore({ now: () => clock });
  await store.remember('account-a', 'token-1', 600);
  await store.remember('account-a', 'token-2', 600);
  await store.remember('account-a', 'token-old', 5);
  await store.remember('account-b', 'token-3', 600);
  assert.equal(await store.accountOf('token-2'), 'account-a');
  clock += 10_000;
  assert.equal(await store.accountOf('token-old'), null, 'forgotten once its TTL has passed');
  assert.equal(await store.revokeAccount('account-a', 'token-2', 60), 1, 'only the live token that is not kept');
  assert.deepEqual([await store.isRevoked('token-1'), await store.isRevoked('token-2'), await store.isRevoked('token-3')], [true, false, false]);
  assert.equal(await store.accountOf('token-1'), null);
  assert.equal(await store.revokeAccount('account-a', null, 60), 1, 'the kept one stays indexed');
  assert.equal(await store.isRevoked('token-2'), true);
  await store.close();
});
