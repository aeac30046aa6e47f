import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatTraceparent,
  formatXTraceId,
  incomingTrace,
  parseTraceparent,
  parseXrayHeader,
  trustedPeerCheck,
} from './trace-context.ts';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

test('traceparent: only version 00, lowercase hex, non-zero ids, exact length', () => {
  assert.deepEqual(parseTraceparent(`00-${T}-${S}-01`), { traceId: T, parentId: S, sampled: true });
  assert.deepEqual(parseTraceparent(`00-${T}-${S}-00`), { traceId: T, parentId: S, sampled: false });
  assert.deepEqual(parseTraceparent(`00-${T}-${S}-03`), { traceId: T, parentId: S, sampled: true });
  const refused = [
    undefined,
    '',
    `01-${T}-${S}-01`,
    `ff-${T}-${S}-01`,
    `00-${T.toUpperCase()}-${S}-01`,
    `00-${'0'.repeat(32)}-${S}-01`,
    `00-${T}-${'0'.repeat(16)}-01`,
    `00-${T}-${S}-1`,
    `00-${T}-${S}-01-extra`,
    ` 00-${T}-${S}-01`,
    `00-${T}-${S}-01 `,
    `00-${T.slice(1)}g-${S}-01`,
    `00_${T}_${S}_01`,
    `00-${T}-${S}-0x`,
    `00-${T}${S}-01`,
  ];
  for (const value of refused) assert.equal(parseTraceparent(value), undefined, String(value));
});

test('X-Amzn-Trace-Id: Root exactly valid, Parent optional and valid, other fields ignored', () => {
  const root = `1-${T.slice(0, 8)}-${T.slice(8)}`;
  assert.deepEqual(parseXrayHeader(`Root=${root}`), { traceId: T, parentId: undefined }); // what the ALB sends
  assert.deepEqual(parseXrayHeader(`Root=${root};Parent=${S};Sampled=1`), { traceId: T, parentId: S });
  assert.deepEqual(parseXrayHeader(`Self=1-67891234-12456789abcdef012345678;Root=${root};Sampled=?`), {
    traceId: T,
    parentId: undefined,
  });
  const refused = [
    undefined,
    '',
    'Root=',
    `Root=2-${T.slice(0, 8)}-${T.slice(8)}`,
    `Root=1-${T}`,
    `Root=1-${T.slice(0, 8)}-${T.slice(8).toUpperCase()}`,
    `Root=${root};Root=${root}`,
    `Root=${root};Parent=xyz`,
    `Root=${root};Parent=${S};Parent=${S}`,
    `Root=${root};Parent=${'0'.repeat(16)}`,
    `Parent=${S}`,
    `Root=1-00000000-${'0'.repeat(24)}`,
    `Root=${root};junk`,
    `Root=${root};${'a=b;'.repeat(80)}`,
    `Root=${root}\r\nX: y`,
  ];
  for (const value of refused) assert.equal(parseXrayHeader(value), undefined, String(value));
});

test("outgoing headers: W3C traceparent and the PHP front's X-Trace-Id layout", () => {
  assert.equal(formatTraceparent({ traceId: T, spanId: S, sampled: true }), `00-${T}-${S}-01`);
  assert.equal(
    formatXTraceId({ traceId: T, spanId: S, sampled: false }),
    `Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=${S};Sampled=0`,
  );
  // What goes out comes back in through the same parsers.
  assert.deepEqual(parseXrayHeader(formatXTraceId({ traceId: T, spanId: S, sampled: true })), {
    traceId: T,
    parentId: S,
  });
});

test('trusted peers: addresses and ranges of TRUSTED_PROXIES only, IPv4-mapped forms included', () => {
  const trusted = trustedPeerCheck(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
  for (const address of ['127.0.0.1', '::ffff:127.0.0.1', '10.1.2.3', 'fd12::1'])
    assert.equal(trusted(address), true, address);
  for (const address of [undefined, '127.0.0.2', '11.0.0.1', '::1', 'fe80::1', 'not-an-ip'])
    assert.equal(trusted(address), false, String(address));
  assert.equal(trustedPeerCheck([])('127.0.0.1'), false);
});

test('an incoming header counts only from a trusted peer; traceparent wins over X-Amzn-Trace-Id', () => {
  const other = 'aaaaaaaabbbbbbbbccccccccdddddddd';
  const headers = {
    traceparent: `00-${T}-${S}-01`,
    'x-amzn-trace-id': `Root=1-${other.slice(0, 8)}-${other.slice(8)}`,
  };
  assert.equal(incomingTrace(headers, false), undefined);
  assert.deepEqual(incomingTrace(headers, true), { traceId: T, parentId: S });
  assert.deepEqual(incomingTrace({ ...headers, traceparent: 'garbage' }, true), {
    traceId: other,
    parentId: undefined,
  });
  assert.equal(
    incomingTrace({ traceparent: [`00-${T}-${S}-01`, `00-${T}-${S}-01`] }, true),
    undefined,
    'a repeated header is refused',
  );
});
