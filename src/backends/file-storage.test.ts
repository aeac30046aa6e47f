import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { isStorageKey, StorageLimitError } from './file-storage.ts';
import { createFileStorage } from './file-storage-loader.ts';
import { loadConfig } from '../config/config.ts';
import type { FileStorage } from './file-storage.ts';
import { createLocalFileStorage } from './local-file-storage.ts';
import { createS3FileStorage } from './s3-file-storage.ts';
import { startS3, S3RVER_CREDENTIALS } from '../../test/helpers/services.ts';

async function* pieces(data: Buffer, size: number): AsyncIterable<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

async function* failsAfter(data: Buffer): AsyncIterable<Uint8Array> {
  yield data;
  throw new Error('client went away');
}

const MiB = 1024 * 1024;

/** The contract, run against each backend; `leftovers` lists whatever the backend still holds. */
async function contract(t: test.TestContext, storage: FileStorage, leftovers: () => Promise<string[]>): Promise<void> {
  await t.test('put then get returns the same bytes under a fresh UUID key', async () => {
    const data = Buffer.from('%PDF-1.7 evidence\n%%EOF\n');
    const a = await storage.put(pieces(data, 5), { maxBytes: 1024 });
    const b = await storage.put(pieces(data, 5), { maxBytes: 1024 });
    assert.ok(isStorageKey(a.key) && isStorageKey(b.key));
    assert.notEqual(a.key, b.key);
    assert.equal(a.bytes, data.length);
    const got = await storage.get(a.key);
    assert.ok(got);
    assert.deepEqual(await buffer(got), data);
    await storage.delete(a.key);
    await storage.delete(b.key);
    assert.equal(await storage.get(a.key), undefined);
    await storage.delete(a.key); // already gone: no error
  });
  await t.test('a large file in many chunks (multipart on S3)', async () => {
    const data = Buffer.alloc(12 * MiB + 123);
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32BE(i, i);
    const put = await storage.put(pieces(data, 64 * 1024), { maxBytes: 20 * MiB });
    const got = await storage.get(put.key);
    assert.ok(got);
    assert.ok((await buffer(got)).equals(data));
    await storage.delete(put.key);
  });
  await t.test('over maxBytes: StorageLimitError and nothing kept', async () => {
    await assert.rejects(
      storage.put(pieces(Buffer.alloc(7 * MiB), 256 * 1024), { maxBytes: 6 * MiB }),
      StorageLimitError,
    );
    await assert.rejects(storage.put(pieces(Buffer.alloc(2000), 100), { maxBytes: 1999 }), StorageLimitError);
    assert.deepEqual(await leftovers(), []);
  });
  await t.test('a source that fails mid-way: the error, and nothing kept', async () => {
    await assert.rejects(storage.put(failsAfter(Buffer.alloc(6 * MiB)), { maxBytes: 20 * MiB }), /client went away/);
    await assert.rejects(storage.put(failsAfter(Buffer.alloc(10)), { maxBytes: 20 * MiB }), /client went away/);
    assert.deepEqual(await leftovers(), []);
  });
  await t.test('keys that are not ours never reach a path or a bucket', async () => {
    for (const key of [
      '../../etc/passwd',
      '',
      '.partial-x',
      'uploads/x',
      'A0000000-0000-4000-8000-000000000000',
      '00000000-0000-4000-8000-000000000000/../x',
    ]) {
      assert.equal(await storage.get(key), undefined, key);
      await storage.delete(key);
    }
    assert.equal(await storage.get('00000000-0000-4000-8000-000000000000'), undefined, 'a well-formed unknown key');
  });
}

test('local storage under DATA_DIR', async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lpa-storage-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const storage = await createLocalFileStorage(dataDir);
  const dir = path.join(dataDir, 'uploads');
  await contract(t, storage, () => readdir(dir));
  await t.test('folder 0700, files 0600', async () => {
    const put = await storage.put(pieces(Buffer.from('x'), 1), { maxBytes: 10 });
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(path.join(dir, put.key))).mode & 0o777, 0o600);
    await storage.delete(put.key);
  });
});

test('S3 storage against s3rver: encryption asked for, no ACL, nothing left after failures', async (t) => {
  const s3 = await startS3(['lpa-evidence']);
  t.after(() => s3.stop());
  const storage = createS3FileStorage({
    bucket: 'lpa-evidence',
    region: 'eu-west-1',
    endpoint: s3.endpoint,
    credentials: S3RVER_CREDENTIALS,
  });
  t.after(() => storage.close());
  const objects = async (): Promise<string[]> => {
    const bucketDir = path.join(s3.directory, 'lpa-evidence');
    const found: string[] = [];
    for (const entry of await readdir(bucketDir, { recursive: true, withFileTypes: true })) {
      // s3rver keeps parts of aborted multipart uploads (it does not implement AbortMultipartUpload): the aborts
      // themselves are asserted on the requests below.
      if (entry.isFile() && !entry.parentPath.includes('._S3rver_uploads'))
        found.push(path.join(entry.parentPath, entry.name));
    }
    return found;
  };
  await contract(t, storage, objects);

  await t.test('every write asks for SSE-S3 and sets no ACL', () => {
    const writes = s3.requests.filter((r) => r.method === 'PUT' || (r.method === 'POST' && r.path.includes('uploads')));
    assert.ok(
      writes.some((r) => r.method === 'POST' && /[?&]uploads(=|&|$)/.test(r.path)),
      'a multipart upload was made',
    );
    for (const r of s3.requests) {
      assert.equal(r.headers['x-amz-acl'], undefined, `${r.method} ${r.path}`);
      assert.equal(r.headers['x-amz-grant-read'], undefined);
      assert.equal(r.headers['x-amz-grant-full-control'], undefined);
    }
    for (const r of writes.filter((w) => w.method === 'PUT' && !w.path.includes('partNumber='))) {
      assert.equal(r.headers['x-amz-server-side-encryption'], 'AES256', `${r.method} ${r.path}`);
    }
    for (const r of writes.filter((w) => w.method === 'POST' && /[?&]uploads(=|&|$)/.test(w.path))) {
      assert.equal(r.headers['x-amz-server-side-encryption'], 'AES256', `${r.method} ${r.path}`);
    }
    assert.ok(
      s3.requests.every((r) => r.path.startsWith('/lpa-evidence/uploads/')),
      'objects only under uploads/',
    );
    // Every multipart upload started is completed or aborted (the failed and oversized ones above: aborted).
    const started = s3.requests.filter((r) => r.method === 'POST' && /[?&]uploads(=|&|$)/.test(r.path)).length;
    const completed = s3.requests.filter((r) => r.method === 'POST' && r.path.includes('uploadId=')).length;
    const aborted = s3.requests.filter((r) => r.method === 'DELETE' && r.path.includes('uploadId=')).length;
    assert.equal(aborted, 2, 'the oversized and the failed multipart uploads were aborted');
    assert.equal(completed + aborted, started);
  });

  await t.test('with a KMS key: aws:kms and the key id', async () => {
    const before = s3.requests.length;
    const kms = createS3FileStorage({
      bucket: 'lpa-evidence',
      region: 'eu-west-1',
      endpoint: s3.endpoint,
      credentials: S3RVER_CREDENTIALS,
      kmsKeyId: 'alias/lpa-evidence',
    });
    t.after(() => kms.close());
    const put = await kms.put(pieces(Buffer.from('x'), 1), { maxBytes: 10 });
    const sent = s3.requests.slice(before).find((r) => r.method === 'PUT');
    assert.ok(sent);
    assert.equal(sent.headers['x-amz-server-side-encryption'], 'aws:kms');
    assert.equal(sent.headers['x-amz-server-side-encryption-aws-kms-key-id'], 'alias/lpa-evidence');
    await kms.delete(put.key);
  });
});

test('createFileStorage follows the config: DATA_DIR by default, S3 when a bucket is named', async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'lpa-storage-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const local = await createFileStorage(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir }));
  const put = await local.put(pieces(Buffer.from('x'), 1), { maxBytes: 1 });
  assert.deepEqual(await readdir(path.join(dataDir, 'uploads')), [put.key]);

  const s3 = await startS3(['lpa-evidence']);
  t.after(() => s3.stop());
  // The SDK's default chain reads these variables: how the task role's keys arrive, never through our config.
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  t.after(() => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
  });
  const remote = await createFileStorage(
    loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      UPLOAD_S3_BUCKET: 'lpa-evidence',
      UPLOAD_S3_ENDPOINT: s3.endpoint.href,
    }),
  );
  const stored = await remote.put(pieces(Buffer.from('y'), 1), { maxBytes: 1 });
  assert.ok(s3.requests.some((r) => r.method === 'PUT' && r.path.startsWith(`/lpa-evidence/uploads/${stored.key}`)));
  assert.deepEqual(await readdir(path.join(dataDir, 'uploads')), [put.key], 'nothing written locally');
});
