/**
 * One contract, two stores (ADR 0059): the evidence records in the embedded SQLite store and in a real redis-server
 * answer every operation the same way; and in Redis the per-user limit holds when many reservations race through
 * separate connections (as separate instances would).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { EVIDENCE_MIGRATIONS, createEvidenceFiles } from '../backends/evidence-files.ts';
import { openStore } from '../backends/sqlite-store.ts';
import { startRedis } from '../../test/helpers/services.ts';
import type { StartedRedis } from '../../test/helpers/services.ts';
import type { EvidenceFiles } from './evidence-records.ts';
import { createRedisEvidenceFiles } from './redis-evidence-files.ts';

const T0 = Date.UTC(2026, 11, 6);

async function contract(files: EvidenceFiles): Promise<void> {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const id = await files.reserve('ada', 'hash-ada', `file ${String(i)}.pdf`, 5, T0 + i);
    assert.ok(id !== undefined, `slot ${String(i)}`);
    ids.push(id);
  }
  const [a = '', b = '', c = '', d = '', e = ''] = ids;
  assert.equal(await files.reserve('ada', 'hash-ada', 'sixth.pdf', 5, T0 + 9), undefined, 'the sixth is refused');
  const bob = await files.reserve('bob', null, 'bob.pdf', 5, T0);
  assert.ok(bob !== undefined, "another user's count is his own");
  assert.deepEqual(await files.list('ada'), [], 'reservations are not listed');
  assert.equal(await files.get('ada', a), undefined);

  await files.stored(a, 'key-a', 'application/pdf', 100);
  await files.stored(b, 'key-b', 'image/png', 200);
  await files.stored(c, 'key-c', 'image/png', 300);
  const listed = await files.list('ada');
  assert.deepEqual(
    listed.map((f) => [f.displayName, f.status, f.storageKey, f.mediaType, f.bytes, f.userHash, f.createdAt]),
    [
      ['file 0.pdf', 'checking', 'key-a', 'application/pdf', 100, 'hash-ada', T0],
      ['file 1.pdf', 'checking', 'key-b', 'image/png', 200, 'hash-ada', T0 + 1],
      ['file 2.pdf', 'checking', 'key-c', 'image/png', 300, 'hash-ada', T0 + 2],
    ],
  );
  assert.equal((await files.get('ada', a))?.id, a);
  assert.equal(await files.get('bob', a), undefined, "Ada's file is not Bob's");
  assert.equal((await files.byId(d))?.status, 'receiving');

  await files.clean(a, 'db-1', T0 + 10);
  await files.clean(b, 'db-2', T0 + 10);
  assert.equal((await files.byId(a))?.scannedWith, 'db-1');
  assert.deepEqual(
    (await files.dueForScan('db-1', 10)).map((f) => f.id),
    [c, b],
    'checking first, then ready files scanned with another database',
  );
  assert.deepEqual(
    (await files.dueForScan(undefined, 10)).map((f) => f.id),
    [c],
  );
  await files.reject(c, 'virus', T0 + 11);
  const rejected = await files.byId(c);
  assert.deepEqual([rejected?.status, rejected?.reason, rejected?.storageKey], ['rejected', 'virus', null]);
  await files.clean(c, 'db-1', T0 + 12);
  assert.equal((await files.byId(c))?.status, 'rejected', 'a rejection is final');
  const again = await files.reserve('ada', 'hash-ada', 'again.pdf', 5, T0 + 13);
  assert.ok(again !== undefined, 'a rejected file frees its slot');

  assert.deepEqual((await files.staleReservations(T0 + 5, 10)).map((f) => f.id).sort(), [d, e, bob].sort());
  assert.deepEqual((await files.olderThan(T0 + 1, 10)).map((f) => f.id).sort(), [a, bob].sort());
  await files.release(d);
  assert.equal(await files.byId(d), undefined);
  assert.equal((await files.forUser('ada')).length, 5);
  assert.ok((await files.reserve('ada', 'hash-ada', 'one more.pdf', 5, T0 + 14)) !== undefined, 'released: free');
  assert.equal(await files.reserve('ada', 'hash-ada', 'too many.pdf', 5, T0 + 15), undefined);
}

describe('evidence records: the same contract in SQLite and Redis', () => {
  let redis: StartedRedis;
  const clients: Redis[] = [];
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await redis.stop();
  });
  const client = (): Redis => {
    const c = new Redis(redis.url, { lazyConnect: false });
    clients.push(c);
    return c;
  };

  test('SQLite (the embedded default)', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lpa-evidence-records-'));
    const store = openStore(dir, { migrations: EVIDENCE_MIGRATIONS });
    t.after(async () => {
      store.close();
      await rm(dir, { recursive: true, force: true });
    });
    await contract(createEvidenceFiles(store));
  });

  test('Redis', async () => {
    await contract(createRedisEvidenceFiles({ redis: client(), prefix: 'contract:' }));
  });

  test('Redis: 40 reservations racing through 4 connections give exactly 5', async () => {
    const stores = Array.from({ length: 4 }, () => createRedisEvidenceFiles({ redis: client(), prefix: 'race:' }));
    const results = await Promise.all(
      Array.from(
        { length: 40 },
        (_, i) =>
          stores
            .flatMap((s, n) => (n === i % stores.length ? [s] : []))[0]
            ?.reserve('ada', null, `f${String(i)}`, 5, T0) ?? Promise.reject(new Error('no store')),
      ),
    );
    assert.equal(results.filter((id) => id !== undefined).length, 5);
    assert.equal((await createRedisEvidenceFiles({ redis: client(), prefix: 'race:' }).forUser('ada')).length, 5);
  });
});
