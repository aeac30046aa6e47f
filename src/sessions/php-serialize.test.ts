import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import {
  PhpArray,
  PhpBytes,
  PhpCustomObject,
  PhpEnum,
  PhpFloat,
  PhpObject,
  PhpReader,
  PhpReference,
  PhpSerializeError,
  formatPhpFloat,
  formatPhpFloatDigits,
  fromPlain,
  normalizeKey,
  phpEquals,
  serialize,
  serializeWithInfo,
  toPlain,
  unserialize,
} from './php-serialize.ts';
import type { PhpValue } from './php-serialize.ts';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const list = (...v: PhpValue[]): PhpArray => PhpArray.fromList(v);
const arr = (...e: [string | number | bigint, PhpValue][]): PhpArray => PhpArray.fromEntries(e);

// [name, serialized bytes (latin1 string: one char per byte), the value it means]
const roundTrips: [string, Buffer | string, PhpValue][] = [
  ['null', 'N;', null],
  ['false', 'b:0;', false],
  ['true', 'b:1;', true],
  ['zero', 'i:0;', 0],
  ['negative int', 'i:-42;', -42],
  ['max safe int', 'i:9007199254740991;', Number.MAX_SAFE_INTEGER],
  ['beyond safe int is bigint', 'i:9007199254740992;', 9007199254740992n],
  ['PHP_INT_MAX', 'i:9223372036854775807;', 9223372036854775807n],
  ['PHP_INT_MIN', 'i:-9223372036854775808;', -9223372036854775808n],
  ['float 0.1', 'd:0.1;', new PhpFloat(0.1)],
  ['float integral stays float', 'd:1;', new PhpFloat(1)],
  ['float 1e25', 'd:1.0E+25;', new PhpFloat(1e25)],
  ['float 1.5e-7', 'd:1.5E-7;', new PhpFloat(1.5e-7)],
  ['float -0', 'd:-0;', new PhpFloat(-0)],
  ['float INF', 'd:INF;', new PhpFloat(Infinity)],
  ['float -INF', 'd:-INF;', new PhpFloat(-Infinity)],
  ['float NAN', 'd:NAN;', new PhpFloat(NaN)],
  ['float non-canonical text kept', 'd:.50;', new PhpFloat(0.5)],
  ['float exponent lower-case kept', 'd:1e5;', new PhpFloat(100000)],
  ['empty string', 's:0:"";', ''],
  ['ascii string', 's:5:"hello";', 'hello'],
  ['string with quotes and semicolons', 's:5:"a";b"";', 'a";b"'],
  ['utf-8 string: length in bytes', Buffer.from('s:5:"é€";', 'utf8'), 'é€'],
  ['emoji (4-byte utf-8)', Buffer.from('s:4:"😀";', 'utf8'), '😀'],
  ['BOM kept', Buffer.from('s:3:"\uFEFF";', 'utf8'), '\uFEFF'],
  ['NUL bytes', 's:3:"a\0b";', 'a\0b'],
  ['binary (invalid utf-8) string', b('s:3:"\xff\xfe\x00";'), new PhpBytes(b('\xff\xfe\x00'))],
  ['truncated utf-8 sequence is bytes', b('s:1:"\xc3";'), new PhpBytes(b('\xc3'))],
  ['empty array', 'a:0:{}', new PhpArray()],
  ['list', 'a:2:{i:0;s:1:"a";i:1;i:2;}', list('a', 2)],
  ['int and string keys in order', 'a:3:{s:1:"z";N;i:5;b:1;i:-1;s:0:"";}', arr(['z', null], [5, true], [-1, ''])],
  ['bigint key', 'a:1:{i:9223372036854775807;N;}', arr([9223372036854775807n, null])],
  [
    'numeric-looking but non-canonical string keys stay strings',
    'a:3:{s:2:"01";i:1;s:2:"-0";i:2;s:19:"9223372036854775808";i:3;}',
    arr(['01', 1], ['-0', 2], ['9223372036854775808', 3]),
  ],
  ['nested', 'a:1:{s:1:"a";a:1:{s:1:"b";a:0:{}}}', arr(['a', arr(['b', new PhpArray()])])],
  ['binary key', b('a:1:{s:1:"\xff";i:1;}'), PhpArray.fromEntries([[new PhpBytes(b('\xff')), 1]])],
  ['object empty', 'O:8:"stdClass":0:{}', new PhpObject('stdClass')],
  [
    'object with public, protected, private props',
    'O:3:"Foo":3:{s:1:"a";i:1;s:4:"\0*\0b";i:2;s:6:"\0Foo\0c";i:3;}',
    new PhpObject('Foo', [
      ['a', 1],
      ['\0*\0b', 2],
      ['\0Foo\0c', 3],
    ]),
  ],
  [
    'ArrayObject (__serialize data: int property keys)',
    'O:11:"ArrayObject":4:{i:0;i:0;i:1;a:0:{}i:2;a:0:{}i:3;N;}',
    new PhpObject('ArrayObject', [
      [0, 0],
      [1, new PhpArray()],
      [2, new PhpArray()],
      [3, null],
    ]),
  ],
  [
    'object numeric string prop stays string',
    'O:8:"stdClass":1:{s:1:"1";N;}',
    new PhpObject('stdClass', [['1', null]]),
  ],
  ['namespaced class', 'O:26:"Laminas\\Stdlib\\ArrayObject":0:{}', new PhpObject('Laminas\\Stdlib\\ArrayObject')],
  ['custom object opaque payload', 'C:3:"Foo":6:{x:i:0;}', new PhpCustomObject('Foo', 'x:i:0;')],
  ['custom object with binary payload', b('C:3:"Foo":3:{\xff}\x00}'), new PhpCustomObject('Foo', b('\xff}\x00'))],
  ['custom object empty payload', 'C:3:"Foo":0:{}', new PhpCustomObject('Foo', '')],
  ['enum', 'E:11:"Suit:Hearts";', new PhpEnum('Suit', 'Hearts')],
  [
    'r: reference to object',
    'a:2:{i:0;O:8:"stdClass":0:{}i:1;r:2;}',
    list(new PhpObject('stdClass'), new PhpReference('r', 2)),
  ],
  [
    'R: reference (slots: R: takes none, r: takes one)',
    'a:6:{i:0;O:8:"stdClass":0:{}i:1;r:2;i:2;s:1:"x";i:3;s:1:"x";i:4;R:5;i:5;r:2;}',
    list(
      new PhpObject('stdClass'),
      new PhpReference('r', 2),
      'x',
      'x',
      new PhpReference('R', 5),
      new PhpReference('r', 2),
    ),
  ],
  ['R: to the array itself', 'a:1:{i:0;R:1;}', list(new PhpReference('R', 1))],
];

describe('php-serialize: decode → value → encode is byte-identical', () => {
  for (const [name, input, expected] of roundTrips) {
    test(name, () => {
      const bytes = typeof input === 'string' ? b(input) : input;
      const v = unserialize(bytes);
      assert.ok(phpEquals(v, expected), `decoded value differs: ${serialize(v).toString('latin1')}`);
      assert.deepEqual(serialize(v), bytes);
      assert.deepEqual(serialize(expected).length > 0, true);
    });
  }
});

// [name, value, exact bytes it encodes to]
const encodings: [string, PhpValue, string | Buffer][] = [
  ['safe integer number → i:', 7, 'i:7;'],
  ['-0 number → float', -0, 'd:-0;'],
  ['non-integer number → d:', 1.5, 'd:1.5;'],
  ['unsafe integer number → d:', 2 ** 60, 'd:1.152921504606847E+18;'],
  ['NaN number', NaN, 'd:NAN;'],
  ['bigint', 123n, 'i:123;'],
  ['PhpFloat integral', new PhpFloat(100), 'd:100;'],
  ['PhpFloat 1e15', new PhpFloat(1e15), 'd:1000000000000000;'],
  ['PhpFloat 1e17', new PhpFloat(1e17), 'd:1.0E+17;'],
  ['PhpFloat 0.0001', new PhpFloat(0.0001), 'd:0.0001;'],
  ['PhpFloat 0.00001', new PhpFloat(0.00001), 'd:1.0E-5;'],
  ['PhpFloat 5e-324', new PhpFloat(5e-324), 'd:5.0E-324;'],
  ['unicode string', 'Ünïcödé', Buffer.from('s:11:"Ünïcödé";', 'utf8')],
  ['PhpBytes with valid utf-8 stays bytes', new PhpBytes(Buffer.from('ab')), 's:2:"ab";'],
  ['string key "1" becomes int key', PhpArray.fromEntries([['1', 'x']]), 'a:1:{i:1;s:1:"x";}'],
  [
    'UTF-8 PhpBytes key is the string key',
    PhpArray.fromEntries([
      [new PhpBytes(Buffer.from('7')), 'x'],
      [new PhpBytes(Buffer.from('')), 'y'],
      ['', 'z'],
    ]),
    'a:2:{i:7;s:1:"x";s:0:"";s:1:"z";}',
  ],
  ['bigint key inside safe range is an int key', PhpArray.fromEntries([[5n, 'x']]), 'a:1:{i:5;s:1:"x";}'],
  [
    'object prop names kept as given (string "0")',
    new PhpObject('stdClass', [['0', 1]]),
    'O:8:"stdClass":1:{s:1:"0";i:1;}',
  ],
  ['object prop names kept as given (int 0)', new PhpObject('stdClass', [[0, 1]]), 'O:8:"stdClass":1:{i:0;i:1;}'],
  [
    'protected/private helpers',
    new PhpObject('A', [
      [PhpObject.propertyKey('p', 'protected'), 1],
      [PhpObject.propertyKey('q', 'private', 'A'), 2],
    ]),
    'O:1:"A":2:{s:4:"\0*\0p";i:1;s:4:"\0A\0q";i:2;}',
  ],
  [
    'fromPlain object',
    fromPlain({ userId: 'u', n: 1, ok: true, none: null, list: ['a'] }),
    'a:5:{s:6:"userId";s:1:"u";s:1:"n";i:1;s:2:"ok";b:1;s:4:"none";N;s:4:"list";a:1:{i:0;s:1:"a";}}',
  ],
  [
    'fromPlain Map keeps order',
    fromPlain(
      new Map<string, unknown>([
        ['b', 1],
        ['a', 2],
      ]),
    ),
    'a:2:{s:1:"b";i:1;s:1:"a";i:2;}',
  ],
];

describe('php-serialize: encoding', () => {
  for (const [name, value, expected] of encodings) {
    test(name, () => {
      assert.deepEqual(serialize(value), typeof expected === 'string' ? b(expected) : expected);
    });
  }
});

// [name, input, expected byte offset, message fragment]
const malformed: [string, string | Buffer, number, string][] = [
  ['empty input', '', 0, 'expected a value'],
  ['unknown tag', 'x:1;', 0, 'type tag'],
  ['legacy S: rejected', 'S:1:"a";', 0, 'type tag'],
  ['N without ;', 'N', 1, "';'"],
  ['bool 2', 'b:2;', 2, "'0;' or '1;'"],
  ['bool truncated', 'b:1', 2, "'0;' or '1;'"],
  ['int no digits', 'i:;', 2, 'integer digits'],
  ['int letters', 'i:12a;', 4, "';' after integer"],
  ['int missing ;', 'i:12', 4, "';' after integer"],
  ['int overflow', 'i:9223372036854775808;', 2, 'int64'],
  ['int underflow', 'i:-9223372036854775809;', 2, 'int64'],
  ['float garbage', 'd:1.2.3;', 2, 'a float'],
  ['float +INF (PHP rejects)', 'd:+INF;', 2, 'a float'],
  ['float hex', 'd:0x10;', 2, 'a float'],
  ['float no ;', 'd:1.5', 2, "float text and ';'"],
  ['string length too long', 's:10:"abc";', 2, 'exceeds the remaining input'],
  ['string length too short', 's:2:"abc";', 7, "closing '\"'"],
  ['string missing length', 's::"";', 2, 'string length'],
  ['string negative length', 's:-1:"";', 2, 'string length'],
  ['string no opening quote', 's:1:a";', 4, 'opening'],
  ['string no ;', 's:1:"a"', 7, "';'"],
  ['truncated string', 's:3:"ab', 7, '3 bytes of string data'],
  ['array huge count', 'a:1000000:{}', 2, 'element count exceeds'],
  ['array count larger than elements', 'a:2:{i:0;s:5:"hello";}', 21, 'array key'],
  ['array count larger than the input could hold', 'a:2:{i:0;N;}', 2, 'element count exceeds'],
  ['array count smaller than elements', 'a:1:{i:0;N;i:1;N;}', 11, "'}'"],
  ['array bad key type', 'a:1:{N;N;}', 5, 'array key'],
  ['array float key', 'a:1:{d:1;N;}', 5, 'array key'],
  ['array duplicate key', 'a:2:{i:1;N;s:1:"1";N;}', 11, 'duplicate array key'],
  ['array missing {', 'a:0:}', 4, "'{'"],
  ['array truncated', 'a:1:{i:0;', 9, 'a value'],
  ['object bad class name', 'O:3:"a-b":0:{}', 2, 'invalid class name'],
  ['object empty class name', 'O:0:"":0:{}', 2, 'invalid class name'],
  ['object duplicate prop', 'O:1:"A":2:{s:1:"a";N;s:1:"a";N;}', 21, 'duplicate property'],
  ['object count mismatch', 'O:1:"A":0:{s:1:"a";N;}', 11, "'}'"],
  ['custom payload too long', 'C:1:"A":9:{ab}', 8, 'exceeds the remaining input'],
  ['custom payload length wrong', 'C:1:"A":1:{ab}', 12, "'}'"],
  ['enum without case', 'E:4:"Suit";', 4, 'Class:Case'],
  ['enum empty case', 'E:5:"Suit:";', 4, 'Class:Case'],
  ['reference to slot 0', 'a:1:{i:0;R:0;}', 11, 'slot'],
  ['reference forward', 'a:1:{i:0;R:3;}', 11, 'slot'],
  ['r: to itself', 'r:1;', 2, 'slot'],
  ['top-level R: with nothing before', 'R:1;', 2, 'slot'],
  ['trailing garbage', 'i:1;x', 4, 'trailing bytes'],
  ['two values', 'N;N;', 2, 'trailing bytes'],
];

describe('php-serialize: malformed input gives a clear PhpSerializeError', () => {
  for (const [name, input, offset, fragment] of malformed) {
    test(name, () => {
      assert.throws(
        () => unserialize(typeof input === 'string' ? b(input) : input),
        (err: unknown) => {
          assert.ok(err instanceof PhpSerializeError, `not a PhpSerializeError: ${String(err)}`);
          assert.ok(
            err.message.includes(fragment),
            `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(fragment)}`,
          );
          assert.equal(err.offset, offset, `offset in ${err.message}`);
          return true;
        },
      );
    });
  }

  test('depth bomb stops at maxDepth', () => {
    const bomb = 'a:1:{i:0;'.repeat(100) + 'N;' + '}'.repeat(100);
    assert.throws(() => unserialize(bomb), /nesting deeper than 64/);
    assert.ok(unserialize('a:1:{i:0;'.repeat(64) + 'N;' + '}'.repeat(64)) instanceof PhpArray);
    assert.throws(
      () => unserialize('a:1:{i:0;'.repeat(10) + 'N;' + '}'.repeat(10), { maxDepth: 5 }),
      /nesting deeper than 5/,
    );
  });

  test('input size limit', () => {
    const s = `s:2000:"${'x'.repeat(2000)}";`;
    assert.throws(() => unserialize(s, { maxBytes: 1000 }), /exceeds the 1000-byte limit/);
    assert.equal(unserialize(s, { maxBytes: 3000 }), 'x'.repeat(2000));
  });

  test('huge string length does not allocate', () => {
    assert.throws(() => unserialize('s:99999999999999999999:"a";'), /exceeds the remaining input/);
  });

  test('many small malformed prefixes of a valid value all fail cleanly', () => {
    const valid = b('a:3:{s:1:"k";O:3:"Foo":1:{s:6:"\0Foo\0p";d:0.1;}i:1;C:1:"A":2:{xy}i:2;a:1:{i:0;R:3;}}');
    assert.ok(unserialize(valid) instanceof PhpArray);
    for (let i = 0; i < valid.length; i++) {
      assert.throws(() => unserialize(valid.subarray(0, i)), PhpSerializeError, `prefix of ${i} bytes`);
    }
  });
});

describe('php-serialize: reference slots follow PHP', () => {
  test('slots are counted across values read by one reader (session keys)', () => {
    const r = new PhpReader(b('a:1:{i:0;s:1:"x";}R:2;'));
    r.readValue();
    assert.equal(r.slots, 2);
    const ref = r.readValue();
    assert.ok(ref instanceof PhpReference && ref.slot === 2);
    assert.equal(r.slots, 2, 'R: takes no slot');
    assert.equal(r.references, 1);
  });
  test('after a C: payload the upper bound is not checked (its slots are unknown)', () => {
    assert.ok(unserialize('a:2:{i:0;C:1:"A":0:{}i:1;R:9;}') instanceof PhpArray);
  });
  test('encoder checks references too, honouring slotOffset', () => {
    assert.throws(() => serialize(list(new PhpReference('R', 3))), /slot 3 but only 1/);
    assert.deepEqual(serializeWithInfo(new PhpReference('R', 3), { slotOffset: 3 }).bytes, b('R:3;'));
    const info = serializeWithInfo(list('a', new PhpReference('R', 2)));
    assert.equal(info.slots, 2);
    assert.equal(info.references, 1);
  });
  test('PhpReference rejects nonsense slots', () => {
    assert.throws(() => new PhpReference('r', 0), PhpSerializeError);
    assert.throws(() => new PhpReference('R', 1.5), PhpSerializeError);
  });
});

describe('php-serialize: value model', () => {
  test('PhpArray keys follow PHP symtable rules', () => {
    const a = new PhpArray();
    a.set('1', 'one').set('01', 'zero-one').set(1n, 'uno');
    assert.deepEqual(a.keys(), [1, '01']);
    assert.equal(a.get(1), 'uno');
    assert.equal(a.get('1'), 'uno');
    assert.equal(normalizeKey('-9223372036854775808'), -9223372036854775808n);
    assert.equal(normalizeKey('9223372036854775808'), '9223372036854775808');
    assert.equal(normalizeKey(-0), 0);
    assert.throws(() => normalizeKey(1.5), PhpSerializeError);
  });
  test('lookups in big arrays use an index, deletes keep order', () => {
    const a = PhpArray.fromList(Array.from({ length: 50 }, (_, i) => i * 2));
    assert.equal(a.get(49), 98);
    assert.ok(a.delete(10));
    assert.equal(a.get(10), undefined);
    assert.equal(a.get(11), 22);
    assert.equal(a.size, 49);
    assert.equal(a.isList(), false);
  });
  test('push uses the next int key', () => {
    const a = arr(['x', 1], [7, 2]);
    a.push(3);
    assert.deepEqual(a.keys(), ['x', 7, 8]);
  });
  test('frozen values throw on mutation, clone() is mutable and deep', () => {
    const v = unserialize('a:1:{s:1:"a";a:1:{i:0;i:1;}}', { freeze: true });
    assert.ok(v instanceof PhpArray);
    assert.throws(() => v.set('b', 1), TypeError);
    const inner = v.get('a');
    assert.ok(inner instanceof PhpArray);
    assert.throws(() => inner.push(2), TypeError);
    const c = v.clone();
    const ci = c.get('a');
    assert.ok(ci instanceof PhpArray && !ci.frozen);
    ci.push(2);
    assert.equal(inner.size, 1);
    assert.deepEqual(serialize(c), b('a:1:{s:1:"a";a:2:{i:0;i:1;i:1;i:2;}}'));
  });
  test('PhpObject.describeKey', () => {
    assert.deepEqual(PhpObject.describeKey('\0*\0x'), { visibility: 'protected', name: 'x' });
    assert.deepEqual(PhpObject.describeKey('\0A\\B\0x'), { visibility: 'private', name: 'x', declaringClass: 'A\\B' });
    assert.deepEqual(PhpObject.describeKey('x'), { visibility: 'public', name: 'x' });
    const o = unserialize('O:1:"A":2:{s:4:"\0A\0p";i:1;s:4:"\0*\0q";i:2;}');
    assert.ok(o instanceof PhpObject);
    assert.equal(o.getProperty('p', 'private'), 1);
    assert.equal(o.getProperty('q', 'protected'), 2);
  });
  test('decoded strings and bytes do not alias the input buffer', () => {
    const input = b('a:2:{i:0;s:2:"\xff\xff";i:1;C:1:"A":1:{z}}');
    const v = unserialize(input);
    input.fill(0);
    assert.deepEqual(serialize(v), b('a:2:{i:0;s:2:"\xff\xff";i:1;C:1:"A":1:{z}}'));
  });
  test('toRecord / toPlain give null-prototype objects (no prototype pollution)', () => {
    const v = unserialize('a:2:{s:9:"__proto__";a:1:{s:5:"admin";b:1;}s:11:"constructor";i:1;}');
    assert.ok(v instanceof PhpArray);
    const rec = v.toRecord();
    assert.equal(Object.getPrototypeOf(rec), null);
    assert.ok(Object.hasOwn(rec, '__proto__'));
    const plain = toPlain(v) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(plain), null);
    assert.equal(({} as Record<string, unknown>).admin, undefined);
    assert.deepEqual(toPlain(list('a', 1)), ['a', 1]);
    // and back: JSON's own "__proto__" key is an ordinary key
    const back = fromPlain(JSON.parse('{"__proto__":{"admin":true}}'));
    assert.ok(back instanceof PhpArray && back.has('__proto__'));
  });
  test('fromPlain rejects what PHP cannot hold', () => {
    for (const bad of [undefined, () => 1, Symbol('x'), new Date(), { a: undefined }]) {
      assert.throws(() => fromPlain(bad), PhpSerializeError);
    }
  });
  test('encoder rejects lone surrogates, bad class names, cycles', () => {
    assert.throws(() => serialize('\ud800'), /lone surrogate/);
    assert.throws(() => serialize(new PhpObject('a b')), /invalid class name/);
    const cyc = new PhpArray();
    cyc.set(0, cyc);
    assert.throws(() => serialize(cyc), /nesting deeper/);
    assert.throws(() => serialize(2n ** 63n), /int64/);
    assert.throws(() => serialize(undefined as unknown as PhpValue), /unsupported/);
  });
  test('phpEquals distinguishes int and float, compares NaN as equal', () => {
    assert.ok(!phpEquals(1, new PhpFloat(1)));
    assert.ok(phpEquals(new PhpFloat(NaN), new PhpFloat(NaN)));
    assert.ok(!phpEquals(new PhpFloat(0), new PhpFloat(-0)));
    assert.ok(phpEquals(5, 5n));
    assert.ok(!phpEquals(list(1, 2), list(2, 1)));
    assert.ok(!phpEquals(arr(['a', 1], ['b', 2]), arr(['b', 2], ['a', 1])), 'order matters');
  });
  test('formatPhpFloat matches the PHP table', () => {
    const table: [number, string][] = [
      [0.30000000000000004, '0.30000000000000004'],
      [1.7976931348623157e308, '1.7976931348623157E+308'],
      [1.2345678901234568e17, '1.2345678901234568E+17'],
      [12345678901234568, '12345678901234568'],
      [1234567890123456.8, '1234567890123456.8'],
      [-1.25e-5, '-1.25E-5'],
      [1e22, '1.0E+22'],
      [2.5, '2.5'],
    ];
    for (const [x, s] of table) assert.equal(formatPhpFloat(x), s, String(x));
  });
  test('the plain-decimal fast path agrees with the general digits algorithm, edges included', () => {
    const edges = [
      1e-4,
      9.999999999999999e-5,
      1.0000000000000002e-4,
      1e17,
      99999999999999984,
      1e16,
      0.001,
      1,
      5,
      1795000000.123,
      Date.now() / 1000,
    ];
    const random = Array.from({ length: 20_000 }, (_, i) => {
      const sign = i % 2 === 0 ? 1 : -1;
      return sign * Math.random() * 10 ** ((Math.floor(i / 2) % 26) - 6);
    });
    for (const x of [...edges, ...edges.map((v) => -v), ...random])
      assert.equal(formatPhpFloat(x), formatPhpFloatDigits(x), String(x));
  });
});
