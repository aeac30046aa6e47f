import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { BodyPool, ByteBudget, SizedBodies, splice } from './body-pool.ts';

const parts = [Buffer.from('<p nonce="'), Buffer.from('">a</p><input value="'), Buffer.from('">')];
const bytes = parts.reduce((n, p) => n + p.length, 0);
const text = (b: Buffer): string => b.toString('latin1');

test('splice puts each value between two parts, and refuses values that would need escaping', () => {
  assert.equal(text(splice(parts, bytes, ['N1', 'T1'])), '<p nonce="N1">a</p><input value="T1">');
  assert.throws(() => splice(parts, bytes, ['"><script>', 'T']), /escaping/);
  assert.throws(() => splice(parts, bytes, ['N']), /between each two parts/);
  const single = [Buffer.from('static')];
  assert.equal(splice(single, 6, []), single[0], 'a page with nothing to splice is sent as it is');
});

test('a body goes back to the pool only when its response finishes, and is reused with the new values', () => {
  const pool = new BodyPool(parts);
  const first = new EventEmitter();
  const second = new EventEmitter();
  const a = pool.body(['AAAA', 'TTTTTTTT'], first);
  const b = pool.body(['BBBB', 'UUUUUUUU'], second);
  const apart =
    a.buffer !== b.buffer || a.byteOffset + a.length <= b.byteOffset || b.byteOffset + b.length <= a.byteOffset;
  assert.ok(apart, 'two responses in flight never share a byte of body');
  assert.equal(text(a), '<p nonce="AAAA">a</p><input value="TTTTTTTT">');
  assert.equal(pool.free, 0, 'nothing is reused while its response is being written');
  first.emit('close');
  assert.equal(pool.free, 0, 'a response that closed without finishing keeps its body');
  second.emit('finish');
  assert.equal(pool.free, 1);
  const third = new EventEmitter();
  const c = pool.body(['CCCC', 'VVVVVVVV'], third);
  assert.equal(c, b, 'the finished body is the one reused');
  assert.equal(text(c), '<p nonce="CCCC">a</p><input value="VVVVVVVV">');
  assert.equal(pool.free, 0);
});

test('values of another length get a new body, never a reused one', () => {
  const pool = new BodyPool(parts);
  const res = new EventEmitter();
  const a = pool.body(['AAAA', 'TTTT'], res);
  res.emit('finish');
  const longer = pool.body(['AAAAAA', 'TTTT'], new EventEmitter());
  assert.notEqual(longer, a);
  assert.equal(text(longer), '<p nonce="AAAAAA">a</p><input value="TTTT">');
  assert.equal(pool.free, 1, 'the pooled body stays for values that fit it');
  assert.throws(
    () => pool.body(['"><x>', 'TTTT'], new EventEmitter()),
    /escaping/,
    'a reused body checks its values too',
  );
});

test('the pool keeps at most its bound', () => {
  const pool = new BodyPool(parts, 2);
  const responses = [0, 1, 2].map(() => new EventEmitter());
  for (const res of responses) pool.body(['AAAA', 'TTTT'], res);
  for (const res of responses) res.emit('finish');
  assert.equal(pool.free, 2);
});

test('idle bodies are bounded by bytes shared between pools, and a reused body gives its bytes back', () => {
  const body = bytes + 8; // every body below carries 4 + 4 bytes of values
  const budget = new ByteBudget(3 * body);
  const one = new BodyPool(parts, 64, budget);
  const other = new BodyPool(parts, 64, budget);
  const first = [0, 1].map(() => new EventEmitter());
  const second = [0, 1].map(() => new EventEmitter());
  for (const res of first) one.body(['AAAA', 'TTTT'], res);
  for (const res of second) other.body(['AAAA', 'TTTT'], res);
  for (const res of [...first, ...second]) res.emit('finish');
  assert.equal(one.free + other.free, 3, 'four bodies finished, three fit the budget: not 64 per pool');
  assert.equal(budget.used, 3 * body);
  one.body(['BBBB', 'UUUU'], new EventEmitter());
  assert.equal(budget.used, 2 * body, 'a body taken off the list is no longer idle');
  const late = new EventEmitter();
  other.body(['CCCC', 'VVVV'], late);
  other.body(['DDDD', 'WWWW'], new EventEmitter()); // made new: the list is empty
  late.emit('finish');
  assert.equal(budget.used, 2 * body, 'room again: the finished body went back');
  assert.ok(budget.take(body) && !budget.take(1), 'the budget never goes past its limit');
});

test('sized bodies: one per response in flight, back to its size class on finish, idle bytes within the budget', () => {
  const budget = new ByteBudget(48 * 1024);
  const sized = new SizedBodies(budget);
  const [r1, r2, r3] = [0, 1, 2].map(() => new EventEmitter());
  assert.ok(r1 !== undefined && r2 !== undefined && r3 !== undefined);
  const a = sized.take(100, r1);
  const b = sized.take(100, r2);
  assert.equal(a.length, 16 * 1024, 'the smallest class');
  assert.notEqual(a.buffer, b.buffer, 'two responses in flight never share a body');
  r1.emit('close');
  assert.equal(budget.used, 0, 'a response that closed without finishing keeps its body');
  r1.emit('finish');
  assert.equal(budget.used, 16 * 1024);
  assert.equal(sized.take(16 * 1024, new EventEmitter()), a, 'reused from its class');
  assert.equal(budget.used, 0, 'a body taken off the list is no longer idle');
  const big = sized.take(40 * 1024, r3);
  assert.equal(big.length, 64 * 1024, 'a power of two');
  r3.emit('finish');
  r2.emit('finish');
  assert.equal(budget.used, 16 * 1024, 'the 64 KiB body did not fit the budget and was left to the collector');
});
