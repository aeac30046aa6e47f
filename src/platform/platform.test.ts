/** Unit tests of the small pure parts of the platform plugins; the plugins themselves are proven over HTTP in test/integration. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { FastifyRequest } from 'fastify';
import { Session, decodeCookieValue, encodeCookieValue, newSessionId, randomHex128, readCookie, requireSession, serializeCookie } from './session.ts';
import { crossSiteReason, tokensMatch } from './csrf.ts';
import { MAX_FIELDS, parseForm } from './limits.ts';
import { contentSecurityPolicy, nextNonce, staticSecurityHeaders } from './security-headers.ts';
import { chooseEncoding } from './assets.ts';
import { accessLineWriter, LazyRequestLogger, loggerOptions, newRequestId, requestChildLogger, TurnBatchedSink } from './logging.ts';
import { statusFor } from './errors.ts';
import { CsrfError } from './csrf.ts';
import { HttpError } from './http-error.ts';
import { StoreUnavailableError } from '../sessions/store-unavailable.ts';
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
  for (const v of ['../../etc', `${id}x`, id.toUpperCase(), 'PHPREDIS_SESSION:abc', '']) assert.equal(decodeCookieValue(v, php), null);
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
  const s = new Session('a'.repeat(32), new Map<string, unknown>([['keep', 1], ['drop', 2]]), false);
  assert.equal(s.changed, false);
  s.set('new', 'x');
  s.delete('drop');
  s.delete('absent');
  const { changes, oldId } = s.takeChanges();
  assert.deepEqual([...changes], [['new', 'x'], ['drop', DELETE]]);
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
  assert.throws(() => requireSession(without), (err: unknown) => err instanceof HttpError && err.statusCode === 500 && err.message.includes('/no-session'));
});

test('cross-site requests are recognised from fetch metadata or Origin', () => {
  const origin = 'https://lpa.example';
  assert.equal(crossSiteReason('same-origin', origin, origin), false);
  assert.equal(crossSiteReason(undefined, undefined, origin), false);
  assert.equal(crossSiteReason('none', undefined, origin), false);
  assert.equal(crossSiteReason('cross-site', undefined, origin), true);
  assert.equal(crossSiteReason('same-site', undefined, origin), true);
  assert.equal(crossSiteReason(undefined, 'https://evil.example', origin), true);
  assert.equal(crossSiteReason(undefined, 'null', origin), true);
  assert.equal(crossSiteReason('same-origin', 'https://lpa.example.evil.example', origin), true);
});

test('CSRF tokens compare exactly', () => {
  assert.equal(tokensMatch('abc', 'abc'), true);
  assert.equal(tokensMatch('abc', 'abd'), false);
  assert.equal(tokensMatch('abc', 'abcd'), false);
});

test('form bodies: strings only, no repeats, bounded field count, no prototype keys', () => {
  const f = parseForm('a=1&b=%3Cx%3E&c=');
  assert.equal(Object.getPrototypeOf(f), null);
  assert.deepEqual({ ...f }, { a: '1', b: '<x>', c: '' });
  assert.throws(() => parseForm('a=1&a=2'), (e: HttpError) => e.statusCode === 400);
  assert.throws(() => parseForm(Array.from({ length: MAX_FIELDS + 1 }, (_, i) => `f${String(i)}=1`).join('&')), (e: HttpError) => e.statusCode === 413);
  const proto = parseForm('__proto__=x&constructor=y');
  assert.equal(({} as Record<string, unknown>).x, undefined);
  assert.equal(proto.__proto__, 'x');
});

test('nonces are 128-bit, base64 and never repeat', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const n = nextNonce();
    assert.match(n, /^[A-Za-z0-9+/]{22}==$/);
    seen.add(n);
  }
  assert.equal(seen.size, 5000);
});

test('the CSP is strict', () => {
  const csp = contentSecurityPolicy('NONCE', true);
  for (const d of ["script-src 'self' 'nonce-NONCE'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'self'", "form-action 'self' https://www.gov.uk;", "require-trusted-types-for 'script'", "style-src 'self'", 'upgrade-insecure-requests']) {
    assert.ok(csp.includes(d), d);
  }
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*|data:|http:/);
  assert.doesNotMatch(contentSecurityPolicy('N', false), /upgrade-insecure-requests/);
  const h = staticSecurityHeaders();
  assert.match(h['strict-transport-security'] ?? '', /max-age=31536000; includeSubDomains/);
  assert.equal(h['x-xss-protection'], '0');
});

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

test('request ids are short and distinct', () => {
  const ids = new Set(Array.from({ length: 2000 }, newRequestId));
  assert.equal(ids.size, 2000);
  for (const id of ids) assert.match(id, /^[0-9A-HJKMNP-TV-Z]{8}$/, 'Crockford base32: no I, L, O or U');
  // 40 random bits spread over all 32 symbols in every position.
  for (let pos = 0; pos < 8; pos++) assert.equal(new Set([...ids].map((id) => id[pos])).size, 32, `position ${String(pos)}`);
});

test('the access line is what pino itself would write for the same fields', () => {
  const lines: string[] = [];
  const sink = new Writable({ write(c: Buffer, _e, cb) { lines.push(...c.toString().split('\n').filter((l) => l !== '')); cb(); } });
  const log = pino(loggerOptions('info'), sink);
  const fast = accessLineWriter(log);
  const paths = ['/', '/user/dashboard', '/a"b\\c', '/\u0001\u001f\u007f', '/é/€/😀', '/\ud800x', `/${'x'.repeat(300)}`];
  for (const path of paths) {
    const fields = { reqId: newRequestId(), method: 'GET', path, status: 404, ms: 1.3 };
    log.info({ ...fields }, 'request');
    fast(fields);
  }
  assert.equal(lines.length, paths.length * 2);
  for (let i = 0; i < lines.length; i += 2) {
    const [viaPino, viaFast] = [lines[i] ?? '', lines[i + 1] ?? ''];
    const noTime = (l: string): string => l.replace(/"time":"[^"]+"/, '"time":"T"');
    assert.equal(noTime(viaFast), noTime(viaPino));
    assert.deepEqual(Object.keys(JSON.parse(viaFast) as object), ['level', 'time', 'service', 'pid', 'reqId', 'method', 'path', 'status', 'ms', 'msg']);
  }
  const quiet = pino(loggerOptions('warn'), sink);
  accessLineWriter(quiet)({ reqId: 'X', method: 'GET', path: '/', status: 200, ms: 1 });
  assert.equal(lines.length, paths.length * 2, 'nothing below the level is written');
});

test('a turn\'s log lines reach the destination as one write, in order; flushes hand over what is pending', async () => {
  const writes: string[] = [];
  let flushes = 0;
  let syncFlushes = 0;
  const sink = {
    write: (data: string) => { writes.push(data); return true; },
    flush: (cb?: (err?: Error) => void) => { flushes++; cb?.(); },
    flushSync: () => { syncFlushes++; },
  };
  const batched = new TurnBatchedSink(sink);
  const log = pino(loggerOptions('info'), batched);
  const access = accessLineWriter(log);
  log.info('first');
  access({ reqId: 'A', method: 'GET', path: '/', status: 200, ms: 1 });
  log.warn('third');
  assert.equal(writes.length, 0, 'nothing is written before the turn ends');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(writes.length, 1);
  assert.deepEqual((writes[0] ?? '').trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg), ['first', 'request', 'third']);

  log.info('fourth');
  batched.flushSync();
  assert.equal(writes.length, 2, 'flushSync hands pending lines over before flushing the destination');
  assert.equal(syncFlushes, 1);
  log.info('fifth');
  await new Promise<void>((resolve) => { batched.flush(() => { resolve(); }); });
  assert.equal(writes.length, 3);
  assert.equal(flushes, 1);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(writes.length, 3, 'the turn\'s scheduled hand-over finds nothing left');
});

test('logs redact secrets wherever a handler puts them', () => {
  let out = '';
  const sink = new Writable({ write(c: Buffer, _e, cb) { out += c.toString(); cb(); } });
  const log = pino(loggerOptions('info'), sink);
  log.info({ password: 'hunter2', body: { _csrf: 'csrfvalue', email: 'someone@example.com' }, headers: { cookie: 'lpa3=abc' }, user: { token: 'tok123' } }, 'oops');
  for (const secret of ['hunter2', 'csrfvalue', 'someone@example.com', 'lpa3=abc', 'tok123']) assert.ok(!out.includes(secret), secret);
  assert.match(out, /\[redacted\]/);
});

test('the per-request logger is made on first use, keeps the request id and redacts like the real child', () => {
  let out = '';
  const sink = new Writable({ write(c: Buffer, _e, cb) { out += c.toString(); cb(); } });
  const root = pino(loggerOptions('info'), sink);
  let children = 0;
  const counting = Object.create(root) as typeof root;
  counting.child = (bindings, options) => {
    children++;
    return root.child(bindings, options);
  };
  const log = requestChildLogger(counting, { reqId: 'ABCD1234' }, {});
  assert.ok(log instanceof LazyRequestLogger);
  assert.equal(children, 0, 'no child logger until something logs');
  assert.equal(log.level, 'info');
  log.info({ password: 'hunter2', body: { _csrf: 'csrfvalue', email: 'someone@example.com' }, headers: { cookie: 'lpa3=abc' }, user: { token: 'tok123' } }, 'oops');
  log.warn({ authorization: 'Bearer xyz' }, 'again');
  assert.equal(children, 1, 'one child, reused');
  for (const secret of ['hunter2', 'csrfvalue', 'someone@example.com', 'lpa3=abc', 'tok123', 'Bearer xyz']) assert.ok(!out.includes(secret), secret);
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 2);
  for (const line of lines) assert.equal(line.reqId, 'ABCD1234');
  assert.equal(lines[0]?.password, '[redacted]');
  // Debug is below the level: nothing written, as with a real child.
  log.debug({ password: 'x' }, 'quiet');
  assert.equal(out.trim().split('\n').length, 2);
  // A route's log level reaches the child.
  const debugLog = requestChildLogger(root, { reqId: 'EFGH5678' }, { level: 'debug' });
  assert.equal(debugLog.level, 'debug');
  debugLog.debug({ token: 'secret-token' }, 'loud');
  assert.match(out, /"reqId":"EFGH5678"/);
  assert.ok(!out.includes('secret-token'));
});

test('pooled 128-bit hex values are well-formed and never repeat', () => {
  const values = new Set(Array.from({ length: 5000 }, randomHex128));
  assert.equal(values.size, 5000);
  for (const v of values) assert.match(v, /^[0-9a-f]{32}$/);
});

test('errors map to statuses without trusting arbitrary codes', () => {
  assert.equal(statusFor(new CsrfError('mismatch')), 403);
  assert.equal(statusFor(new HttpError(413, 'x')), 413);
  assert.equal(statusFor(new HttpError(418, 'x')), 400);
  assert.equal(statusFor(new Error('boom')), 500);
  assert.equal(statusFor(Object.assign(new Error('v'), { validation: [] })), 400);
  // A store that cannot be reached is "try again later", with a Retry-After any caller gets by throwing it.
  const unavailable = new StoreUnavailableError('redis down');
  assert.equal(statusFor(unavailable), 503);
  assert.match(unavailable.headers['retry-after'] ?? '', /^\d+$/);
  assert.equal(statusFor(new HttpError(503, 'x')), 503);
  assert.equal(statusFor(Object.assign(new Error('x'), { statusCode: 503 })), 500, 'a library error claiming 503 is not trusted');
});
