/**
 * The rescan queue and retention (ADR 0040) with a real clamd, the real SQLite store and the local storage: a file
 * found clean under an older signature database is scanned again and rejected when the current one matches it;
 * files past retention are deleted with their bytes; a user's files go with the account.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { createClamd } from '../../backends/clamd.ts';
import { EVIDENCE_MIGRATIONS, createEvidenceFiles } from '../../backends/evidence-files.ts';
import { createLocalFileStorage } from '../../backends/local-file-storage.ts';
import { openStore } from '../../backends/sqlite-store.ts';
import { EICAR, EICAR_SIGNATURE, startClamd } from '../../../test/helpers/services.ts';
import { makePdf } from '../../../test/helpers/upload-fixtures.ts';
import { createEvidenceService } from './evidence-service.ts';

async function* once(data: Buffer): AsyncIterable<Uint8Array> {
  await Promise.resolve();
  yield data;
}

test('rescan after a signature update, retention, and deletion with the account', async (t) => {
  const clamdProcess = await startClamd();
  t.after(() => clamdProcess.stop());
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lpa-evidence-service-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const store = openStore(dataDir, { migrations: EVIDENCE_MIGRATIONS });
  t.after(() => {
    store.close();
  });
  const files = createEvidenceFiles(store);
  const storage = await createLocalFileStorage(dataDir);
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    }),
  );
  let clock = Date.UTC(2026, 11, 6);
  const day = 86_400_000;
  const service = createEvidenceService({
    files,
    storage,
    clamd: createClamd({
      address: { kind: 'unix', path: clamdProcess.address.slice('unix:'.length) },
      timeoutMs: 5000,
    }),
    logger,
    retentionMs: 90 * day,
    scanIntervalMs: 60_000,
    staleReservationMs: 60_000,
    now: () => clock,
  });
  const add = async (userId: string, data: Buffer): Promise<string> => {
    const id = await files.reserve(userId, `hash-${userId}`, 'letter.pdf', 5, clock);
    assert.ok(id !== undefined);
    const stored = await storage.put(once(data), { maxBytes: 1 << 20 });
    await files.stored(id, stored.key, 'application/pdf', stored.bytes);
    return id;
  };
  const onDisk = async (): Promise<number> => (await readdir(path.join(dataDir, 'uploads'))).length;

  // Found clean before the signature existed: recorded as scanned with an older database.
  const clean = await add('u1', makePdf());
  const laterFound = await add(
    'u1',
    makePdf({ objects: [`<< /Length ${EICAR.length} >>\nstream\n${EICAR}\nendstream`] }),
  );
  for (const id of [clean, laterFound]) await files.clean(id, 'ClamAV 1.4.6/27000', clock);
  assert.deepEqual(
    await files.dueForScan('ClamAV 1.4.6/27000', 10),
    [],
    'nothing to rescan while the database is the same',
  );

  // clamd now answers with another database (here its local one): both are rescanned, the infected one is rejected.
  assert.equal(await service.sweep(), 2);
  assert.equal((await files.byId(clean))?.status, 'ready');
  assert.equal((await files.byId(laterFound))?.status, 'rejected');
  assert.equal((await files.byId(laterFound))?.storageKey, null);
  assert.equal(await onDisk(), 1, 'the infected file is deleted');
  const infected = lines.find((l) => l.event === 'evidence.scan.infected');
  assert.ok(infected !== undefined);
  assert.equal(infected.signature, EICAR_SIGNATURE);
  assert.equal(infected.rescan, true);
  assert.equal(await service.sweep(), 0, 'scanned with the current database: not again');

  // Retention: 90 days after upload, the file and its record go.
  const newer = await add('u2', makePdf());
  clock += 91 * day;
  await files.reserve('u3', null, 'x.pdf', 5, clock - 120_000); // a reservation whose request died
  await service.sweep();
  assert.equal(await files.byId(clean), undefined);
  assert.equal(await files.byId(laterFound), undefined);
  assert.equal(await files.byId(newer), undefined);
  assert.equal((await files.forUser('u3')).length, 0, 'a stale reservation is dropped');
  assert.equal(await onDisk(), 0);
  assert.equal(lines.filter((l) => l.event === 'evidence.retention.delete').length, 3);

  // With the account: every file of that user, bytes and records.
  await add('u4', makePdf());
  await add('u4', makePdf());
  await add('u5', makePdf());
  assert.equal(await service.deleteForUser('u4'), 2);
  assert.equal((await files.forUser('u4')).length, 0);
  assert.equal((await files.forUser('u5')).length, 1);
  assert.equal(await onDisk(), 1);
});
