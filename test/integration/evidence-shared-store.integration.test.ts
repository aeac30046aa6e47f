/**
 * Evidence records shared through Redis (ADR 0059): two app instances, each with its own DATA_DIR (its own embedded
 * SQLite), one real redis-server (sessions and records), one real clamd and one file storage folder (the bytes, as
 * S3 would be in production). Parallel uploads through both still give exactly 5 files for the user; a file uploaded
 * through one is listed, downloaded and deleted through the other.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import { startClamd, startRedis } from '../helpers/services.ts';
import type { StartedClamd, StartedRedis } from '../helpers/services.ts';
import { makePng } from '../helpers/upload-fixtures.ts';
import { createLocalFileStorage } from '../../src/backends/local-file-storage.ts';
import type { FileStorage } from '../../src/backends/file-storage.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import type { CredentialBackend } from '../../src/backends/credentials.ts';
import { createServices } from '../../src/services.ts';
import { PATHS } from '../../src/paths.ts';

const BOUNDARY = '----lpaSharedStoreBoundary';
const EMAIL = 'ada@example.com';
const PASSWORD = 'correct horse battery staple';

function multipart(token: string, name: string, data: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${token}\r\n`),
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
    data,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

/** The same signed-in browser (one cookie, one Redis session) against either instance. */
async function post(origin: string, cookie: string, body: Buffer): Promise<{ status: number; text: string }> {
  // Trickled, so every request is in flight when its file part begins.
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      for (let at = 0; at < body.length; at += 64) {
        controller.enqueue(body.subarray(at, at + 64));
        await new Promise((r) => setTimeout(r, 5));
      }
      controller.close();
    },
  });
  const res = await fetch(origin + PATHS.evidence, {
    method: 'POST',
    headers: {
      cookie,
      'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
      origin: 'http://127.0.0.1:8005',
      'sec-fetch-site': 'same-origin',
    },
    body: stream,
    duplex: 'half',
    redirect: 'manual',
  } as RequestInit);
  return { status: res.status, text: await res.text() };
}

const rows = (text: string): { name: string; href: string | undefined }[] =>
  html(text)
    .querySelectorAll('[data-qa="evidence-file"]')
    .map((row) => ({
      name: row.querySelector('[data-qa="file-name"]')?.text.trim() ?? '',
      href: row.querySelector('[data-qa="download"]')?.getAttribute('href'),
    }));

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('evidence records in Redis, shared by two instances', () => {
  let redis: StartedRedis;
  let clamd: StartedClamd;
  before(async () => {
    [redis, clamd] = await Promise.all([startRedis(), startClamd()]);
  });
  after(async () => {
    await Promise.all([redis.stop(), clamd.stop()]);
  });

  /** Two instances: own DATA_DIR each, shared Redis, clamd, file storage and (as the API would be) credentials. */
  async function twoInstances(t: Parameters<typeof build>[0]): Promise<{ a: Built; b: Built; storageDir: string }> {
    const storageDir = mkdtempSync(join(tmpdir(), 'lpa-evidence-shared-'));
    dirs.push(storageDir);
    const storage: FileStorage = await createLocalFileStorage(storageDir);
    const env = (): Record<string, string> => {
      const dataDir = mkdtempSync(join(tmpdir(), 'lpa-evidence-instance-'));
      dirs.push(dataDir);
      return {
        DATA_DIR: dataDir,
        REDIS_URL: redis.url,
        CLAMD_ADDRESS: clamd.address,
        UPLOAD_SCAN_INTERVAL_MS: '3600000',
      };
    };
    let credentials: CredentialBackend | undefined;
    const a = await build(t, {
      env: env(),
      services: (config, logger) => {
        const services = createServices(config, { logger, fileStorage: storage });
        credentials = services.credentials;
        return services;
      },
    });
    const b = await build(t, {
      env: env(),
      services: (config, logger) => createServices(config, { logger, fileStorage: storage, credentials }),
    });
    await (a.services.credentials as LocalCredentials).addUser({
      email: EMAIL,
      password: PASSWORD,
      name: { first: 'Ada', last: 'Lovelace' },
    });
    return { a, b, storageDir };
  }

  async function signIn(built: Built): Promise<Browser> {
    const browser = new Browser(built.origin);
    const form = await browser.get(PATHS.login);
    const res = await browser.post(PATHS.login, { email: EMAIL, password: PASSWORD, _csrf: csrfTokenFrom(form.text) });
    assert.equal(res.status, 303);
    return browser;
  }

  test('8 uploads at once through two instances: exactly 5 kept', async (t) => {
    const { a, b, storageDir } = await twoInstances(t);
    const ada = await signIn(a);
    const token = csrfTokenFrom((await ada.get(PATHS.evidence)).text);
    const cookie = ada.cookieHeader();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        post((i % 2 === 0 ? a : b).origin, cookie, multipart(token, `photo-${String(i)}.png`, makePng(50, 50))),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.status).sort(),
      [303, 303, 303, 303, 303, 400, 400, 400],
      results.map((r) => r.status).join(' '),
    );
    assert.equal(readdirSync(join(storageDir, 'uploads')).length, 5);
    for (const instance of [a, b]) {
      const page = await fetch(instance.origin + PATHS.evidence, { headers: { cookie } });
      assert.equal(rows(await page.text()).length, 5, instance.origin);
    }
  });

  test('a file uploaded through one instance is listed, downloaded and deleted through the other', async (t) => {
    const { a, b, storageDir } = await twoInstances(t);
    const ada = await signIn(a);
    const png = makePng(30, 20);
    const up = await post(
      a.origin,
      ada.cookieHeader(),
      multipart(csrfTokenFrom((await ada.get(PATHS.evidence)).text), 'scan.png', png),
    );
    assert.equal(up.status, 303, up.text.slice(0, 300));

    const viaB = new Browser(b.origin);
    for (const [k, v] of ada.cookies) viaB.cookies.set(k, v);
    const list = await viaB.get(PATHS.evidence);
    const [file] = rows(list.text);
    assert.equal(file?.name, 'scan.png');
    const download = await fetch(b.origin + (file.href ?? ''), { headers: { cookie: viaB.cookieHeader() } });
    assert.equal(download.status, 200);
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), png);

    const del = await viaB.post(`${file.href ?? ''}/delete`, { _csrf: csrfTokenFrom(list.text) });
    assert.equal(del.status, 303);
    assert.deepEqual(rows((await ada.get(PATHS.evidence)).text), [], 'gone for the first instance too');
    assert.deepEqual(readdirSync(join(storageDir, 'uploads')), []);
  });
});
