import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createHmac, hkdfSync } from 'node:crypto';
import { pino } from 'pino';
import type { FastifyRequest } from 'fastify';
import { auditSignIn, auditSignOut, createUserHasher } from './audit.ts';

const SECRET = Buffer.from('a-secret-of-at-least-32-bytes-for-the-test');

test('user hash: HMAC-SHA256 under an HKDF key, of the normalised email, 128 bits hex', () => {
  const hash = createUserHasher(SECRET);
  const key = Buffer.from(hkdfSync('sha256', SECRET, Buffer.alloc(0), 'lpa-front audit user hash v1', 32));
  const expected = createHmac('sha256', key).update('ada@example.com').digest('hex').slice(0, 32);
  assert.equal(hash(' Ada@Example.COM '), expected);
  assert.notEqual(
    hash('ada@example.com'),
    createUserHasher(Buffer.from('another-secret-of-at-least-32-bytes!!'))('ada@example.com'),
  );
  assert.notEqual(
    expected,
    createHmac('sha256', SECRET).update('ada@example.com').digest('hex').slice(0, 32),
    'not keyed by the raw secret',
  );
});

test('one line per event, user agent cleaned and cut, warn for failures', () => {
  const lines: string[] = [];
  const log = pino(
    { level: 'info' },
    new Writable({
      write(c: Buffer, _e, cb) {
        lines.push(c.toString());
        cb();
      },
    }),
  ).child({ reqId: 'REQ1' });
  const request = {
    ip: '192.0.2.1',
    id: 'REQ1',
    headers: { 'user-agent': `evil\n{"event":"forged"}${'x'.repeat(300)}` },
    log,
  } as unknown as FastifyRequest;
  auditSignIn(request, { event: 'auth.sign_in.failure', userHash: 'ab'.repeat(16), reason: 'authentication-failed' });
  auditSignIn(request, { event: 'auth.sign_in.success', userHash: 'cd'.repeat(16) });
  assert.equal(lines.length, 2);
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const a: Record<string, unknown> | undefined = parsed[0];
  const b: Record<string, unknown> | undefined = parsed[1];
  assert.ok(a && b);
  assert.equal(a.event, 'auth.sign_in.failure');
  assert.equal(a.level, 40);
  assert.equal(b.level, 30);
  assert.equal(a.reqId, 'REQ1');
  assert.equal(a.ip, '192.0.2.1');
  assert.equal(String(a.userAgent).length, 200);
  assert.equal(String(a.userAgent).includes('\n'), false);
});

test("sign-out: one info line in the sign-in events' shape, naming the account by its hash", () => {
  const lines: string[] = [];
  const log = pino(
    { level: 'info' },
    new Writable({
      write(c: Buffer, _e, cb) {
        lines.push(c.toString());
        cb();
      },
    }),
  ).child({ reqId: 'REQ2' });
  const request = {
    ip: '192.0.2.2',
    id: 'REQ2',
    headers: { 'user-agent': `agent\r\n${'y'.repeat(300)}` },
    log,
  } as unknown as FastifyRequest;
  auditSignOut(request, { userHash: 'ef'.repeat(16), signedIn: true });
  auditSignOut(request, { userHash: null, signedIn: false });
  const [a, b] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(a && b);
  assert.deepEqual(
    {
      audit: a.audit,
      event: a.event,
      userHash: a.userHash,
      signedIn: a.signedIn,
      ip: a.ip,
      reqId: a.reqId,
      level: a.level,
    },
    {
      audit: true,
      event: 'auth.sign_out',
      userHash: 'ef'.repeat(16),
      signedIn: true,
      ip: '192.0.2.2',
      reqId: 'REQ2',
      level: 30,
    },
  );
  assert.equal(String(a.userAgent).length, 200);
  assert.equal(/[\r\n]/.test(String(a.userAgent)), false);
  assert.equal(b.userHash, null);
  assert.equal(b.signedIn, false);
});
