/**
 * Mail: the file transport's lines, the Notify JWT, and the outbox against a fake Notify on 127.0.0.1 that goes
 * down, loses answers and is raced by two workers: nothing is lost, nothing is sent twice.
 */
import { describe, test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/config.ts';
import { createEgress } from './egress.ts';
import type { Egress } from './egress.ts';
import { openStore } from './sqlite-store.ts';
import type { Store } from './sqlite-store.ts';
import { MAIL_FILE, fileTransport, notifyJwt, notifyTransport, parseNotifyKey } from './mail.ts';
import { MAIL_OUTBOX_MIGRATIONS, createMailOutbox } from './mail-outbox.ts';

const SERVICE_ID = '26785a09-ab16-4eb0-8407-a37497a57506';
const SECRET = '3d844edf-8d35-48ac-975b-e847b4f122b0';
const KEY = `lpa_front_test-${SERVICE_ID}-${SECRET}`;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
const templates = loadConfig({}).notifyTemplates;

interface Accepted {
  email_address: string;
  template_id: string;
  personalisation: Record<string, string>;
  reference: string;
}

/** A fake GOV.UK Notify: checks the JWT, records accepted emails; can be down or lose its answers. */
function fakeNotify(state: { mode: 'up' | 'down' | 'lose-answer' | 'refuse'; accepted: Accepted[]; posts: number }) {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const auth = req.headers.authorization ?? '';
      const [h, p, sig] = auth.replace(/^Bearer /, '').split('.');
      const good =
        h !== undefined &&
        p !== undefined &&
        sig === createHmac('sha256', SECRET).update(`${h}.${p}`).digest('base64url');
      const claims = good
        ? (JSON.parse(Buffer.from(p, 'base64url').toString()) as { iss: string; iat: number })
        : undefined;
      if (claims?.iss !== SERVICE_ID || Math.abs(claims.iat - Date.now() / 1000) > 30) {
        res.writeHead(403, { 'content-type': 'application/json' }).end('{"errors":[{"error":"AuthError"}]}');
        return;
      }
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'GET' && url.pathname === '/v2/notifications') {
        const found = state.accepted.filter((a) => a.reference === url.searchParams.get('reference'));
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ notifications: found.map((a) => ({ reference: a.reference })) }));
        return;
      }
      if (req.method !== 'POST' || url.pathname !== '/v2/notifications/email') {
        res.writeHead(404).end();
        return;
      }
      state.posts++;
      if (state.mode === 'down') {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      if (state.mode === 'refuse') {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"errors":[{"error":"BadRequestError"}]}');
        return;
      }
      state.accepted.push(JSON.parse(Buffer.concat(chunks).toString()) as Accepted);
      if (state.mode === 'lose-answer') {
        req.socket.destroy();
        return;
      }
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"id":"x"}');
    });
  });
}

test('the Notify JWT: HS256 over {iss: service id, iat}, signed with the secret half of the key', () => {
  assert.deepEqual(parseNotifyKey(KEY), { serviceId: SERVICE_ID, secret: SECRET });
  const [h, p, sig] = notifyJwt(KEY, 1_700_000_000).split('.');
  assert.deepEqual(JSON.parse(Buffer.from(h ?? '', 'base64url').toString()), { typ: 'JWT', alg: 'HS256' });
  assert.deepEqual(JSON.parse(Buffer.from(p ?? '', 'base64url').toString()), { iss: SERVICE_ID, iat: 1_700_000_000 });
  assert.equal(
    sig,
    createHmac('sha256', SECRET)
      .update(`${h ?? ''}.${p ?? ''}`)
      .digest('base64url'),
  );
});

test(
  'the file transport appends one JSON line per email to DATA_DIR/mail.jsonl, readable by ' + 'its owner only',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'lpa-mail-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const transport = fileTransport(dir, () => Date.UTC(2026, 7, 21, 12));
    await transport.send({
      to: 'a@example.com',
      template: 'accountActivate',
      personalisation: { activateAccountUrl: 'http://x/signup/confirm/T' },
      reference: 'r1',
    });
    await transport.send({
      to: 'b@example.com',
      template: 'passwordReset',
      personalisation: { forgotPasswordUrl: 'http://x/forgot-password/reset/U' },
      reference: 'r2',
    });
    const lines = readFileSync(join(dir, MAIL_FILE), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines[0], {
      to: 'a@example.com',
      template: 'accountActivate',
      personalisation: { activateAccountUrl: 'http://x/signup/confirm/T' },
      sentAt: '2026-08-21T12:00:00.000Z',
    });
    assert.equal(lines.length, 2);
    assert.equal(statSync(join(dir, MAIL_FILE)).mode & 0o777, 0o600);
  },
);

describe('the mail outbox with GOV.UK Notify', () => {
  const state = { mode: 'up' as 'up' | 'down' | 'lose-answer' | 'refuse', accepted: [] as Accepted[], posts: 0 };
  let server: http.Server;
  let egress: Egress;
  let origin: string;
  let dir: string;
  let store: Store;
  let clock = Date.now();

  before(async () => {
    server = fakeNotify(state);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
    egress = createEgress({
      allowedOrigins: [origin],
      allowPrivateFor: ['127.0.0.1'],
      timeoutMs: 1000,
      maxResponseBytes: 65536,
      logger: silent,
    });
    dir = mkdtempSync(join(tmpdir(), 'lpa-mail-outbox-'));
    store = openStore(dir, { migrations: MAIL_OUTBOX_MIGRATIONS });
  });
  after(async () => {
    egress.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
    await new Promise<void>((r) =>
      server.close(() => {
        r();
      }),
    );
  });
  beforeEach(() => {
    state.mode = 'up';
    state.accepted.length = 0;
    state.posts = 0;
    store.db.exec('DELETE FROM mail_outbox');
  });

  const outbox = () =>
    createMailOutbox({
      db: () => store.db,
      transport: notifyTransport({ apiKey: KEY, baseUrl: new URL(origin), templates, logger: silent, egress }),
      logger: silent,
      now: () => clock,
      random: () => 0,
      retry: { baseDelayMs: 1000, leaseMs: 5000 },
    });
  const email = {
    to: 'ada@example.com',
    template: 'passwordReset' as const,
    personalisation: { forgotPasswordUrl: 'https://lpa/forgot-password/reset/TOKEN' },
  };

  test('sent at once through Notify with the template id from config and a reference', async () => {
    const result = await outbox().send(email);
    assert.equal(result.sent, true);
    assert.equal(state.accepted.length, 1);
    const [first] = state.accepted;
    assert.ok(first);
    assert.equal(first.template_id, 'a4f2c358-0484-431f-8148-6d1280d79f44');
    assert.match(first.reference, /^[0-9a-f]{32}$/);
    const row = store.db.prepare('SELECT recipient, personalisation FROM mail_outbox').get();
    assert.deepEqual(
      { ...row },
      { recipient: '', personalisation: 'null' },
      'a sent row keeps neither the address nor the token',
    );
  });

  test('an outage loses nothing: kept, retried after the backoff, sent once', async () => {
    state.mode = 'down';
    const o = outbox();
    assert.equal((await o.send(email)).sent, false);
    assert.deepEqual(o.counts(), { pending: 1, parked: 0, sent: 0 });
    assert.equal(await o.deliverDue(), 0, 'not due before its backoff');
    state.mode = 'up';
    clock += 60_000;
    assert.equal(await o.deliverDue(), 1);
    assert.equal(await o.deliverDue(), 0);
    assert.equal(state.accepted.length, 1);
    assert.deepEqual(o.counts(), { pending: 0, parked: 0, sent: 1 });
  });

  test('an answer lost after Notify accepted: the retry finds the reference and does not send again', async () => {
    state.mode = 'lose-answer';
    const o = outbox();
    assert.equal((await o.send(email)).sent, false);
    assert.equal(state.accepted.length, 1);
    state.mode = 'up';
    clock += 60_000;
    assert.equal(await o.deliverDue(), 1);
    assert.equal(state.posts, 1, 'no second POST');
    assert.equal(state.accepted.length, 1);
  });

  test('two workers racing over the same due rows send each email once', async () => {
    state.mode = 'down';
    const a = outbox();
    const b = outbox();
    for (let i = 0; i < 6; i++) await a.send({ ...email, to: `user${String(i)}@example.com` });
    state.mode = 'up';
    state.posts = 0;
    clock += 60_000;
    const [x, y] = await Promise.all([a.deliverDue(), b.deliverDue()]);
    assert.equal(x + y, 6);
    assert.equal(state.posts, 6);
    assert.deepEqual(
      state.accepted.map((m) => m.email_address).sort(),
      ['user0', 'user1', 'user2', 'user3', 'user4', 'user5'].map((u) => `${u}@example.com`),
    );
  });

  test('a refusal (400) is parked, not retried, and keeps no token', async () => {
    state.mode = 'refuse';
    const o = outbox();
    assert.equal((await o.send(email)).sent, false);
    clock += 24 * 3600_000;
    assert.equal(await o.deliverDue(), 0);
    assert.equal(state.posts, 1);
    assert.deepEqual(o.counts(), { pending: 0, parked: 1, sent: 0 });
    assert.equal(store.db.prepare('SELECT personalisation FROM mail_outbox').get()?.personalisation, 'null');
  });
});
