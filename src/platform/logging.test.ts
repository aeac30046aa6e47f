/** Logging: request ids, the access line, batched writes, redaction, the lazy per-request logger. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import {
  accessLineWriter,
  LazyRequestLogger,
  loggerOptions,
  newRequestId,
  requestChildLogger,
  TurnBatchedSink,
} from './logging.ts';

test('request ids are short and distinct', () => {
  const ids = new Set(Array.from({ length: 2000 }, newRequestId));
  assert.equal(ids.size, 2000);
  for (const id of ids) assert.match(id, /^[0-9A-HJKMNP-TV-Z]{8}$/, 'Crockford base32: no I, L, O or U');
  // 40 random bits spread over all 32 symbols in every position.
  for (let pos = 0; pos < 8; pos++)
    assert.equal(new Set([...ids].map((id) => id[pos])).size, 32, `position ${String(pos)}`);
});

test('the access line is what pino itself would write for the same fields', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      lines.push(
        ...c
          .toString()
          .split('\n')
          .filter((l) => l !== ''),
      );
      cb();
    },
  });
  const log = pino(loggerOptions('info'), sink);
  const fast = accessLineWriter(log);
  const paths = [
    '/',
    '/user/dashboard',
    '/a"b\\c',
    '/\u0001\u001f\u007f',
    '/é/€/😀',
    '/\ud800x',
    `/${'x'.repeat(300)}`,
  ];
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
    assert.deepEqual(Object.keys(JSON.parse(viaFast) as object), [
      'level',
      'time',
      'service',
      'pid',
      'reqId',
      'method',
      'path',
      'status',
      'ms',
      'msg',
    ]);
  }
  const quiet = pino(loggerOptions('warn'), sink);
  accessLineWriter(quiet)({ reqId: 'X', method: 'GET', path: '/', status: 200, ms: 1 });
  assert.equal(lines.length, paths.length * 2, 'nothing below the level is written');
});

test(
  "a turn's log lines reach the destination as one write, in order; flushes hand over what " + 'is pending',
  async () => {
    const writes: string[] = [];
    let flushes = 0;
    let syncFlushes = 0;
    const sink = {
      write: (data: string) => {
        writes.push(data);
        return true;
      },
      flush: (cb?: (err?: Error) => void) => {
        flushes++;
        cb?.();
      },
      flushSync: () => {
        syncFlushes++;
      },
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
    assert.deepEqual(
      (writes[0] ?? '')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { msg: string }).msg),
      ['first', 'request', 'third'],
    );

    log.info('fourth');
    batched.flushSync();
    assert.equal(writes.length, 2, 'flushSync hands pending lines over before flushing the destination');
    assert.equal(syncFlushes, 1);
    log.info('fifth');
    await new Promise<void>((resolve) => {
      batched.flush(() => {
        resolve();
      });
    });
    assert.equal(writes.length, 3);
    assert.equal(flushes, 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(writes.length, 3, "the turn's scheduled hand-over finds nothing left");
  },
);

test('logs redact secrets wherever a handler puts them', () => {
  let out = '';
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      out += c.toString();
      cb();
    },
  });
  const log = pino(loggerOptions('info'), sink);
  log.info(
    {
      password: 'hunter2',
      body: { _csrf: 'csrfvalue', email: 'someone@example.com' },
      headers: { cookie: 'lpa3=abc' },
      user: { token: 'tok123' },
    },
    'oops',
  );
  for (const secret of ['hunter2', 'csrfvalue', 'someone@example.com', 'lpa3=abc', 'tok123'])
    assert.ok(!out.includes(secret), secret);
  assert.match(out, /\[redacted\]/);
});

test('the per-request logger is made on first use, keeps the request id and redacts like the real child', () => {
  let out = '';
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      out += c.toString();
      cb();
    },
  });
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
  log.info(
    {
      password: 'hunter2',
      body: { _csrf: 'csrfvalue', email: 'someone@example.com' },
      headers: { cookie: 'lpa3=abc' },
      user: { token: 'tok123' },
    },
    'oops',
  );
  log.warn({ authorization: 'Bearer xyz' }, 'again');
  assert.equal(children, 1, 'one child, reused');
  for (const secret of ['hunter2', 'csrfvalue', 'someone@example.com', 'lpa3=abc', 'tok123', 'Bearer xyz'])
    assert.ok(!out.includes(secret), secret);
  const lines = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
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
