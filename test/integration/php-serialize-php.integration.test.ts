/**
 * The PHP serialize codec and the `php` session format against REAL PHP (Debian php-cli).
 * Nothing is skipped: without `php` on PATH the suite fails and says how to install it.
 *
 * Each scenario runs ONE php process (scripts in a temp dir, data via stdin/stdout as JSON + base64).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  PhpArray,
  PhpBytes,
  PhpCustomObject,
  PhpEnum,
  PhpFloat,
  PhpObject,
  PhpReference,
  fromPlain,
  serialize,
  unserialize,
} from '../../src/sessions/php-serialize.ts';
import type { PhpKey, PhpValue } from '../../src/sessions/php-serialize.ts';
import { decodeSession, PhpSession } from '../../src/sessions/php-session-codec.ts';

let dir = '';

// PHP helpers shared by every script: classes used by the corpus, and d(): a canonical description of
// a PHP value (exact float bits, hex strings, mangled property names) that describe() below mirrors.
const PRELUDE = String.raw`<?php
error_reporting(E_ALL & ~E_DEPRECATED);
ini_set('display_errors', 'stderr');
class Priv { private $a = 1; protected $b = [2]; public $c = 'c'; private $d;
  function __construct() { $this->d = new DateTime('2023-03-01 11:15:00.5', new DateTimeZone('UTC')); } }
class Child extends Priv { private $a = 'child'; public $e = null; }
class Cust implements Serializable { public $x; function __construct($x = null) { $this->x = $x; }
  function serialize() { return serialize($this->x); } function unserialize($s) { $this->x = unserialize($s); } }
class Raw implements Serializable { public $p = ''; function serialize() { return $this->p; } function unserialize($s) { $this->p = $s; } }
class LaminasLikeArrayObject extends ArrayObject {}
enum Suit: string { case Hearts = 'H'; case Spades = 'S'; }
enum Pure { case One; }
function d($v) {
  if (is_null($v)) return 'N';
  if (is_bool($v)) return $v ? 'T' : 'F';
  if (is_int($v)) return "i($v)";
  if (is_float($v)) return is_nan($v) ? 'f(nan)' : 'f(' . bin2hex(pack('E', $v)) . ')';
  if (is_string($v)) return 's(' . bin2hex($v) . ')';
  if (is_array($v)) return 'a{' . dk($v) . '}';
  if ($v instanceof UnitEnum) return 'e(' . get_class($v) . ':' . $v->name . ')';
  if ($v instanceof Raw) return 'c(Raw:' . bin2hex($v->p) . ')';
  $arr = (array)$v; $cls = get_class($v);
  if ($v instanceof __PHP_Incomplete_Class) { $cls = $arr['__PHP_Incomplete_Class_Name']; unset($arr['__PHP_Incomplete_Class_Name']); }
  return 'o(' . $cls . '){' . dk($arr) . '}';
}
function dk($arr) { $o = []; foreach ($arr as $k => $x) $o[] = (is_int($k) ? "i($k)" : 's(' . bin2hex($k) . ')') . '=>' . d($x); return implode(',', $o); }
function input() { return json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR); }
function start_session() {
  ini_set('session.use_cookies', '0'); ini_set('session.cache_limiter', ''); ini_set('session.save_path', sys_get_temp_dir());
  ini_set('session.serialize_handler', 'php');
  if (session_status() !== PHP_SESSION_ACTIVE) { session_id('t' . bin2hex(random_bytes(8))); session_start(); }
}
`;

/** Runs a PHP script body (after PRELUDE) with JSON on stdin; returns parsed JSON stdout. */
function php(name: string, body: string, input: unknown = null): unknown {
  const file = join(dir, `${name}.php`);
  writeFileSync(file, PRELUDE + body);
  const r = spawnSync('php', ['-d', 'memory_limit=512M', '-d', `session.save_path=${dir}`, file], {
    input: JSON.stringify(input),
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, TMPDIR: dir },
  });
  if (r.error) throw r.error;
  const stderr = r.stderr.toString();
  assert.equal(r.status, 0, `php ${name} exited ${String(r.status)}: ${stderr}`);
  assert.equal(stderr, '', `php ${name} wrote to stderr: ${stderr}`);
  return JSON.parse(r.stdout.toString()) as unknown;
}

const b64 = (buf: Uint8Array): string => Buffer.from(buf).toString('base64');
const unb64 = (s: string): Buffer => Buffer.from(s, 'base64');
const hex = (s: string | Uint8Array): string => Buffer.from(s as string).toString('hex');

/** TS mirror of the PHP d(): what PHP should see when it unserializes our encoding of v. */
function describe_(v: PhpValue): string {
  if (v === null) return 'N';
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  if (typeof v === 'bigint') return `i(${v})`;
  if (typeof v === 'number')
    return Number.isSafeInteger(v) && !Object.is(v, -0) ? `i(${v})` : describe_(new PhpFloat(v));
  if (typeof v === 'string') return `s(${hex(v)})`;
  if (v instanceof PhpFloat) {
    if (Number.isNaN(v.value)) return 'f(nan)';
    const buf = Buffer.alloc(8);
    buf.writeDoubleBE(v.value); // PHP pack('E'): big-endian
    return `f(${buf.toString('hex')})`;
  }
  if (v instanceof PhpBytes) return `s(${Buffer.from(v.bytes).toString('hex')})`;
  const dk = (entries: [PhpKey, PhpValue][]): string =>
    entries
      .map(
        ([k, x]) =>
          `${typeof k === 'number' || typeof k === 'bigint' ? `i(${k})` : `s(${k instanceof PhpBytes ? Buffer.from(k.bytes).toString('hex') : hex(k)})`}=>${describe_(x)}`,
      )
      .join(',');
  if (v instanceof PhpArray) return `a{${dk(v.entries())}}`;
  if (v instanceof PhpEnum) return `e(${v.className}:${v.caseName})`;
  if (v instanceof PhpCustomObject) return `c(${v.className}:${Buffer.from(v.payload).toString('hex')})`;
  if (v instanceof PhpObject) return `o(${v.className}){${dk(v.properties.entries())}}`;
  throw new Error(`describe_: references are not described (${v.kind}:${v.slot})`);
}

/**
 * Walks a decoded value with PHP's var_hash rules and checks every reference: r: must point at an
 * object (PHP writes r: only for an object seen again), R: at an existing slot. A wrong slot-counting
 * rule shows up as an r: landing on a non-object or a slot that does not exist.
 */
function checkSlots(v: PhpValue, slots: PhpValue[] = [], state = { opaque: false }): PhpValue[] {
  if (v instanceof PhpReference) {
    if (state.opaque) {
      if (v.kind === 'r') slots.push(v);
      return slots;
    }
    const target = slots[v.slot - 1];
    assert.ok(target !== undefined, `${v.kind}:${v.slot} points past ${slots.length} slots`);
    if (v.kind === 'r') {
      if (!(target instanceof PhpObject || target instanceof PhpEnum || target instanceof PhpCustomObject)) {
        assert.fail(`r:${v.slot} points at a non-object ${describeShort(target)}`);
      }
      slots.push(target);
    }
    return slots;
  }
  slots.push(v);
  if (v instanceof PhpCustomObject) state.opaque = true;
  if (v instanceof PhpArray) for (const x of v.values()) checkSlots(x, slots, state);
  if (v instanceof PhpObject) for (const x of v.properties.values()) checkSlots(x, slots, state);
  return slots;
}
/** Deep copy in which every PhpFloat forgets the text it was decoded from. */
function withoutFloatSources(v: PhpValue): PhpValue {
  if (v instanceof PhpFloat) return new PhpFloat(v.value);
  if (v instanceof PhpArray)
    return PhpArray.fromEntries(v.entries().map(([k, x]) => [k, withoutFloatSources(x)] as const));
  if (v instanceof PhpObject)
    return new PhpObject(
      v.className,
      v.properties.entries().map(([k, x]) => [k, withoutFloatSources(x)] as const),
    );
  return v;
}

/** Replaces every repeated enum case by r:<slot of its first occurrence>, counting slots like PHP. */
function enumsAsReferences(root: PhpValue): PhpValue {
  let slot = 0;
  const first = new Map<string, number>();
  const visit = (v: PhpValue): PhpValue => {
    slot++;
    if (v instanceof PhpEnum) {
      const id = `${v.className}:${v.caseName}`;
      const at = first.get(id);
      if (at !== undefined) return new PhpReference('r', at);
      first.set(id, slot);
    }
    const table = v instanceof PhpArray ? v : v instanceof PhpObject ? v.properties : null;
    if (table !== null) for (const [k, x] of table.entries()) table.set(k, visit(x));
    return v;
  };
  return visit(root);
}
function describeShort(v: PhpValue): string {
  try {
    return v instanceof PhpReference ? `${v.kind}:${v.slot}` : describe_(v).slice(0, 60);
  } catch {
    return v === null ? 'null' : typeof v === 'object' ? v.constructor.name : typeof v;
  }
}

before(() => {
  const r = spawnSync('php', ['-r', 'echo PHP_VERSION;']);
  if (r.error || r.status !== 0) {
    throw new Error(
      'the `php` CLI is required for this test and was not found: install it with `apt-get ' +
        'install -y php-cli` (scripts/ set-up does this)',
    );
  }
  dir = mkdtempSync(join(tmpdir(), 'php-serialize-it-'));
});
after(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('PHP → codec: a corpus serialized by PHP round-trips byte for byte', () => {
  test('every shape', () => {
    const out = php(
      'corpus',
      String.raw`
$o = new stdClass; $o->p = 1; $o2 = new stdClass; $s = 'shared'; $n = 5;
$self = []; $self['me'] = &$self;
$odd = new stdClass; $odd->{'0'} = 'zero'; $odd->{''} = 'empty';
$corpus = [
  'null' => null, 'true' => true, 'false' => false, 'zero' => 0, 'int' => -123, 'intmax' => PHP_INT_MAX, 'intmin' => PHP_INT_MIN,
  'floats' => [0.1, 1e100, -0.0, INF, -INF, NAN, 1.0, 100.0, 1e15, 1e16, 1e17, 1.5e-7, 0.0001, 0.00001, 5e-324,
               1.7976931348623157e308, 1677664800.123, -2.5, 0.30000000000000004, 2.2250738585072014e-308, 123456789012345678.0],
  'float_grid' => array_merge(array_map(fn ($e) => 10.0 ** $e, range(-30, 30)), array_map(fn ($e) => 1.5 * 10.0 ** $e, range(-30, 30)),
               array_map(fn ($e) => 123456789.0 * 10.0 ** $e, range(-30, 30))),
  'float_random' => (function () { mt_srand(42); $r = []; for ($i = 0; $i < 500; $i++) { $r[] = unpack('E', pack('J', mt_rand() << 32 | mt_rand()))[1]; $r[] = mt_rand() / mt_getrandmax() * 10 ** mt_rand(-20, 20); } return $r; })(),
  'unicode' => "Ünïcödé 😀 \u{FEFF}", 'binary' => "\xff\x00\xfe\"\";", 'empty' => '',
  'nested' => ['a' => ['b' => ['c' => [1, 2, [3 => 'x', -7 => 'y', 'z' => []]]]]],
  'keys' => [5 => 'a', '05' => 'b', '-0' => 'c', PHP_INT_MAX => 'd', PHP_INT_MIN => 'e', "\xff" => 'f', '' => 'g', '9223372036854775808' => 'h'],
  'stdclass' => $o, 'odd_props' => $odd, 'priv' => new Priv, 'child' => new Child,
  'custom' => new Cust([1, 'two', [3]]), 'custom_binary' => new Cust("\xff\x00"),
  'arrayobject' => new ArrayObject(['x' => 1, 'y' => [2]]), 'arrayobject_sub' => new LaminasLikeArrayObject([1]),
  'arrayiterator' => new ArrayIterator([1, 2]),
  'datetime' => new DateTime('2026-08-21T14:20:00+00:00'),
  'datetimeimm' => new DateTimeImmutable('2026-08-21 14:20:00', new DateTimeZone('Europe/London')),
  'enum' => [Suit::Hearts, Suit::Hearts, Pure::One, Suit::Spades],
  'refs_obj' => [$o, $o, $o2, [$o2, $o]],
  'refs_R' => [&$s, &$s, [&$s], &$n, $n, &$n],
  'refs_mixed' => [$o, &$s, $o, [&$s, $o2], $o2, &$s, $o, ['k' => $o2]],
  'refs_after_custom' => [new Cust($o), $o, $o2, $o2],
  'self' => $self,
  'obj_ref_props' => (function () { $x = new stdClass; $v = 'v'; $x->a = &$v; $x->b = &$v; $x->c = $x; $x->d = [$x, &$v]; return $x; })(),
  'splobjectstorage' => (function () { $st = new SplObjectStorage; $k = new stdClass; $st[$k] = 'data'; $st[new stdClass] = [$k]; return $st; })(),
  'laminas_user' => new ArrayObject(['identity' => new Child, 'roles' => ['user']]),
];
$out = [];
foreach ($corpus as $k => $v) $out[$k] = base64_encode(serialize($v));
echo json_encode(['version' => PHP_VERSION, 'values' => $out]);
`,
    ) as { version: string; values: Record<string, string> };
    const names = Object.keys(out.values);
    assert.ok(names.length >= 30, `corpus has ${names.length} values`);
    const seen = new Set<string>();
    for (const name of names) {
      const bytes = unb64(out.values[name] ?? '');
      const value = unserialize(bytes);
      assert.deepEqual(
        serialize(value),
        bytes,
        `${name}: re-encoding differs from PHP ${out.version}: ${bytes.toString('latin1')}`,
      );
      // and without the floats' source text: our own float formatting must give PHP's bytes too
      assert.deepEqual(serialize(withoutFloatSources(value)), bytes, `${name}: float formatting differs from PHP`);
      const slots = checkSlots(value);
      assert.ok(slots.length > 0);
      const walk = (v: PhpValue): void => {
        seen.add(v === null ? 'null' : typeof v === 'object' ? v.constructor.name : typeof v);
        if (v instanceof PhpArray) v.values().forEach(walk);
        if (v instanceof PhpObject) v.properties.values().forEach(walk);
      };
      walk(value);
    }
    // the corpus really exercised every node type
    for (const t of [
      'null',
      'boolean',
      'number',
      'bigint',
      'string',
      'PhpFloat',
      'PhpBytes',
      'PhpArray',
      'PhpObject',
      'PhpCustomObject',
      'PhpEnum',
      'PhpReference',
    ]) {
      assert.ok(seen.has(t), `corpus produced no ${t}`);
    }
    // spot checks of the value model
    const child = unserialize(unb64(out.values.child ?? ''));
    assert.ok(child instanceof PhpObject);
    assert.equal(child.getProperty('a', 'private', 'Child'), 'child');
    assert.equal(child.getProperty('a', 'private', 'Priv'), 1);
    assert.ok(child.getProperty('b', 'protected') instanceof PhpArray);
    assert.ok(unserialize(unb64(out.values.custom ?? '')) instanceof PhpCustomObject, 'Serializable → C:');
    assert.equal(unserialize(unb64(out.values.intmax ?? '')), 9223372036854775807n);
  });
});

describe('codec → PHP: PHP unserializes what we encode and sees the values we meant', () => {
  test('value table', () => {
    const identity = fromPlain({
      userId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
      token: 'tok',
      tokenExpiresAt: '2026-08-21T14:20:00+00:00',
      lastLogin: '2026-08-20T09:00:00+00:00',
      sharedSpaceId: null,
    });
    const values: PhpValue[] = [
      null,
      true,
      false,
      0,
      -1,
      Number.MAX_SAFE_INTEGER,
      9223372036854775807n,
      -9223372036854775808n,
      0.1,
      -0,
      NaN,
      Infinity,
      -Infinity,
      1e100,
      new PhpFloat(1),
      new PhpFloat(5e-324),
      '',
      'Ünïcödé 😀',
      '\0*\0',
      new PhpBytes(Buffer.from([0xff, 0x00, 0x22, 0x3b])),
      identity,
      PhpArray.fromEntries([
        [7, 'a'],
        ['k', 'b'],
        [-3, 'c'],
        [9223372036854775807n, 'd'],
        [new PhpBytes(Buffer.from([0xfe])), 'e'],
        ['', 'f'],
      ]),
      new PhpObject('Unknown\\Klass', [
        ['pub', 1],
        [PhpObject.propertyKey('prot', 'protected'), 2],
        [PhpObject.propertyKey('priv', 'private', 'Unknown\\Klass'), [1, 2].length],
      ]),
      new PhpObject('stdClass', [['a', new PhpObject('stdClass')]]),
      new PhpEnum('Suit', 'Spades'),
      new PhpCustomObject('Raw', Buffer.from([0x7d, 0x7b, 0x00, 0xff])),
      PhpArray.fromList([PhpArray.fromList([PhpArray.fromList([])])]),
    ];
    const out = php(
      'accept',
      String.raw`
$res = [];
foreach (input() as $in) { $bytes = base64_decode($in); $v = unserialize($bytes);
  $res[] = ($v === false && $bytes !== 'b:0;') ? 'REJECTED' : ['d' => d($v), 'again' => base64_encode(serialize($v))]; }
echo json_encode($res);
`,
      values.map((v) => b64(serialize(v))),
    ) as ({ d: string; again: string } | 'REJECTED')[];
    values.forEach((v, i) => {
      const r = out[i];
      assert.ok(r !== undefined && r !== 'REJECTED', `PHP rejected ${serialize(v).toString('latin1')}`);
      assert.equal(r.d, describe_(v), `PHP saw something else for ${serialize(v).toString('latin1')}`);
      assert.deepEqual(unb64(r.again), serialize(v), 'PHP re-serializes to the same bytes');
    });
  });
});

describe('session format: PHP session_encode / session_decode', () => {
  test('PHP sessions decode and re-encode identically; a patch on top is accepted by PHP', () => {
    const out = php(
      'session-encode',
      String.raw`
start_session();
$cases = [];
$_SESSION = [];
$_SESSION['identity'] = ['userId' => str_repeat('a', 32), 'token' => 'tok', 'tokenExpiresAt' => '2026-08-21T14:20:00+00:00', 'lastLogin' => '2026-08-20T09:00:00+00:00', 'sharedSpaceId' => null];
$_SESSION['__csrf'] = bin2hex(random_bytes(16));
$_SESSION['SessionDetails'] = ['currentRoute' => 'user/dashboard', 'previousRoute' => 'application.login', 'routeStore' => 'user/dashboard'];
$_SESSION['auth_failure_code'] = 500;
$cases['mezzio'] = session_encode();
$_SESSION = [];
$_SESSION['__Laminas'] = ['_REQUEST_ACCESS_TIME' => 1677664800.123, 'EXPIRE_HOPS' => ['feedback' => ['hops' => 1, 'ts' => 1677664800.5]]];
$_SESSION['initialised'] = new ArrayObject(['init' => true]);
$_SESSION['UserDetails'] = new LaminasLikeArrayObject(['identity' => new Child, 'user' => new Priv]);
$_SESSION['CsrfValidator'] = new ArrayObject(['token' => hash('sha512', 'x')]);
$cases['laminas'] = session_encode();
$_SESSION = [];
$o = new stdClass; $s = 'shared';
$_SESSION['a'] = $o; $_SESSION['b'] = $o; $_SESSION['c'] = [&$s, &$s]; $_SESSION['d'] = &$s; $_SESSION['clé'] = "\xff"; $_SESSION[''] = 'empty';
$cases['refs'] = session_encode();
$_SESSION = [];
$cases['empty'] = session_encode();
echo json_encode(array_map('base64_encode', $cases));
`,
    ) as Record<string, string>;
    assert.deepEqual(Object.keys(out), ['mezzio', 'laminas', 'refs', 'empty']);
    const ours: string[] = [];
    for (const [name, enc] of Object.entries(out)) {
      const raw = unb64(enc);
      const s = decodeSession(raw);
      assert.deepEqual(s.encode(), raw, `${name}: re-encoded session differs`);
      if (name === 'mezzio') {
        assert.deepEqual(s.names(), ['identity', '__csrf', 'SessionDetails', 'auth_failure_code']);
        assert.equal((s.get('identity') as PhpArray).get('sharedSpaceId'), null);
        // a request changes one key and adds one: PHP must read the result
        s.set('SessionDetails', (s.get('SessionDetails') as PhpArray).clone().set('currentRoute', 'lpa/donor'));
        s.set('flash', fromPlain({ type: 'success', message: 'Saved ✓' }));
        ours.push(b64(s.encode()));
      }
      if (name === 'refs') {
        assert.deepEqual(s.names(), ['a', 'b', 'c', 'd', 'clé', '']);
        const b2 = s.get('b');
        assert.ok(
          b2 instanceof PhpReference && b2.kind === 'r' && b2.slot === 1,
          'slots are shared across session keys',
        );
        s.set('z', 'appended after references');
        ours.push(b64(s.encode()));
      }
    }
    ours.push(
      b64(
        PhpSession.empty()
          .set('only', new PhpFloat(0.1))
          .set('bin', new PhpBytes(Buffer.from([0xc3])))
          .encode(),
      ),
    );
    const accepted = php(
      'session-decode',
      String.raw`
start_session();
$res = [];
foreach (input() as $in) {
  $_SESSION = [];
  $ok = session_decode(base64_decode($in));
  if (!$ok) { $res[] = 'REJECTED'; start_session(); continue; }
  $res[] = ['again' => base64_encode(session_encode()), 'd' => d($_SESSION)];
}
echo json_encode($res);
`,
      ours,
    ) as ({ again: string; d: string } | 'REJECTED')[];
    ours.forEach((enc, i) => {
      const r = accepted[i];
      assert.ok(r !== undefined && r !== 'REJECTED', `PHP session_decode rejected ${unb64(enc).toString('latin1')}`);
      assert.deepEqual(unb64(r.again), unb64(enc), 'PHP session_encode gives back our bytes');
    });
    const first = accepted[0];
    assert.ok(first !== undefined && first !== 'REJECTED');
    assert.ok(
      first.d.includes(hex('lpa/donor')) && first.d.includes(hex('Saved ✓')),
      'PHP sees the changed and added keys',
    );
  });
});

describe('property: random values encoded here, unserialize+serialize in PHP, same bytes', () => {
  test('fast-check batch', () => {
    const key = fc.oneof(
      fc.integer({ min: -1000, max: 1000 }),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      fc.string({ unit: 'binary', maxLength: 8 }),
      fc.uint8Array({ maxLength: 4 }).map((u) => new PhpBytes(u)),
    );
    const className = fc.constantFrom('stdClass', 'Unknown', 'A\\B\\C', 'Priv_Like');
    const propName = fc.tuple(
      fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 6 }),
      fc.constantFrom('public', 'protected', 'private'),
    );
    const { value } = fc.letrec<{ value: PhpValue; leaf: PhpValue; arr: PhpValue; obj: PhpValue }>((tie) => ({
      leaf: fc.oneof(
        fc.constant(null),
        fc.boolean(),
        fc.integer(),
        fc.maxSafeInteger(),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.double().map((d) => new PhpFloat(d)),
        fc.double({ min: -1e6, max: 1e6 }).map((d) => new PhpFloat(d)),
        fc.string({ unit: 'binary', maxLength: 20 }),
        fc.string({ unit: 'grapheme', maxLength: 10 }),
        fc.uint8Array({ maxLength: 12 }).map((u) => new PhpBytes(u)),
        fc.constantFrom(new PhpEnum('Suit', 'Hearts'), new PhpEnum('Pure', 'One')),
        fc.uint8Array({ maxLength: 12 }).map((u) => new PhpCustomObject('Raw', u)),
      ),
      arr: fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }).map((e) => PhpArray.fromEntries(e)),
      obj: fc.tuple(className, fc.array(fc.tuple(propName, tie('value')), { maxLength: 4 })).map(([cls, props]) => {
        const o = new PhpObject(cls);
        for (const [[n, vis], v] of props) {
          const k = PhpObject.propertyKey(n, vis, cls);
          // numeric names become ints in PHP's (array) view; keep them out
          if (!/^[0-9]/.test(k)) o.properties.set(k, v);
        }
        return o;
      }),
      value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('leaf'), tie('arr'), tie('obj')),
    }));
    const seed = Date.now() ^ (Math.random() * 0x7fffffff);
    // PHP writes an enum case met again as r:<slot> (it is an object): do the same to the samples,
    // which also exercises slot numbering in the encoder.
    const samples = fc.sample(value, { numRuns: 3000, seed }).map((v) => enumsAsReferences(v));
    const encoded = samples.map((v) => serialize(v));
    const out = php(
      'property',
      String.raw`
$res = [];
foreach (input() as $in) { $bytes = base64_decode($in); $v = @unserialize($bytes);
  $res[] = ($v === false && $bytes !== 'b:0;') ? 'REJECTED' : base64_encode(serialize($v)); }
echo json_encode($res);
`,
      encoded.map(b64),
    ) as string[];
    assert.equal(out.length, samples.length);
    encoded.forEach((bytes, i) => {
      const again = out[i] ?? 'MISSING';
      assert.notEqual(again, 'REJECTED', `seed ${seed}: PHP rejected ${bytes.toString('latin1')}`);
      assert.equal(
        unb64(again).toString('latin1'),
        bytes.toString('latin1'),
        `seed ${seed}: PHP re-serialized differently`,
      );
      // and our decoder reads PHP's bytes back to the same bytes
      assert.deepEqual(serialize(unserialize(unb64(again))), bytes);
    });
  });
});
