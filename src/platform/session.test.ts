/** The session plugin's pure parts: ids, signed and PHP-shared cookies, change tracking, requireSession. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import {
  Session,
  decodeCookieValue,
  encodeCookieValue,
  newSessionId,
  randomHex128,
  readCookie,
  requireSession,
  serializeCookie,
} from './session.ts';
import { HttpError } from './http-error.ts';
import { DELETE } from '../sessions/session-store.ts';

const key = Buffer.alloc(32, 7);
const signed = { name: 'lpa-session', secure: true, signingKey: key };
const php = { name: 'lpa3', secure: true, signingKey: null };

test('session ids are 32 lowercase hex characters and unique', () => {
  const ids = new Set(Array.from({ length: 1000 }, newSessionId));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^[0-9a-f]{32}$/);
});

test('signed cookies verify; tampered, truncated or foreign ones do not', () => {
  const id = newSessionId();
  const value = encodeCookieValue(id, signed);
  assert.equal(decodeCookieValue(value, signed), id);
  const other = newSessionId();
  const bad = [
    `${other}${value.slice(32)}`,
    value.slice(0, -1),
    `${value}x`,
    id,
    encodeCookieValue(id, { ...signed, signingKey: Buffer.alloc(32, 8) }),
    '',
    undefined,
  ];
  for (const v of bad) assert.equal(decodeCookieValue(v, signed), null, String(v));
});

test('PHP-shared cookies are the bare id, and only a well-formed one is accepted', () => {
  const id = newSessionId();
  assert.equal(encodeCookieValue(id, php), id);
  assert.equal(decodeCookieValue(id, php), id);
  for (const v of ['../../etc', `${id}x`, id.toUpperCase(), 'PHPREDIS_SESSION:abc', ''])
    assert.equal(decodeCookieValue(v, php), null);
});

test('cookie attributes: HttpOnly, SameSite=Lax, Path=/, Secure when https, no Domain', () => {
  const c = serializeCookie('lpa3', 'abc', php);
  assert.equal(c, 'lpa3=abc; Path=/; HttpOnly; SameSite=Lax; Secure');
  assert.doesNotMatch(c, /Domain/i);
  assert.doesNotMatch(serializeCookie('x', 'y', { ...php, secure: false }), /Secure/);
  assert.match(serializeCookie('x', '', php, true), /Max-Age=0/);
});

test('readCookie finds one cookie by exact name', () => {
  assert.equal(readCookie('a=1; lpa3=xyz; b=2', 'lpa3'), 'xyz');
  assert.equal(readCookie('xlpa3=1; lpa3x=2', 'lpa3'), undefined);
  assert.equal(readCookie(undefined, 'lpa3'), undefined);
});

test('a session records only what changed, and regenerate moves every key to a new id', () => {
  const s = new Session(
    'a'.repeat(32),
    new Map<string, unknown>([
      ['keep', 1],
      ['drop', 2],
    ]),
    false,
  );
  assert.equal(s.changed, false);
  s.set('new', 'x');
  s.delete('drop');
  s.delete('absent');
  const { changes, oldId } = s.takeChanges();
  assert.deepEqual(
    [...changes],
    [
      ['new', 'x'],
      ['drop', DELETE],
    ],
  );
  assert.equal(oldId, null);
  s.regenerate();
  assert.equal(s.id, null);
  assert.equal(s.changed, true, 'a regenerated session is saved under its new id');
  const moved = s.takeChanges();
  assert.equal(moved.oldId, 'a'.repeat(32));
  assert.deepEqual([...moved.changes.keys()], [], 'the store copies the old session; nothing is rewritten');
});

test('requireSession: the session where the route has one; a 500 naming the route where it has none', () => {
  const session = new Session(null, null, false);
  const withSession = { session, routeOptions: { url: '/page' } } as unknown as FastifyRequest;
  assert.equal(requireSession(withSession), session);
  // A route with `config: { session: false }`: the session plugin leaves request.session null.
  const without = { session: null, routeOptions: { url: '/no-session' } } as unknown as FastifyRequest;
  assert.throws(
    () => requireSession(without),
    (err: unknown) => err instanceof HttpError && err.statusCode === 500 && err.message.includes('/no-session'),
  );
});

test('pooled 128-bit hex values are well-formed and never repeat', () => {
  const values = new Set(Array.from({ length: 5000 }, randomHex128));
  assert.equal(values.size, 5000);
  for (const v of values) assert.match(v, /^[0-9a-f]{32}$/);
});
