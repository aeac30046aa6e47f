import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import {
  PhpArray,
  PhpBytes,
  PhpFloat,
  PhpObject,
  PhpReference,
  PhpSerializeError,
  fromPlain,
  phpEquals,
} from './php-serialize.ts';
import { PhpSession, PhpSessionError, decodeSession, encodeSession } from './php-session-codec.ts';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

// Current (Mezzio) era, per the facts sheet §2b.
const MEZZIO =
  'identity|a:5:{s:6:"userId";s:32:"a1b2c3d4e5f60718293a4b5c6d7e8f90";s:5:"token";s:43:"Q2hhbmdlTWVQbGVhc2VUaGlzSXNBVG9rZW5WYWx1ZTE";' +
  's:14:"tokenExpiresAt";s:25:"2026-08-21T14:20:00+00:00";s:9:"lastLogin";s:25:"2026-08-20T09:00:00+00:00";s:13:"sharedSpaceId";N;}' +
  '__csrf|s:32:"9f86d081884c7d659a2feaa0c55ad015";' +
  'SessionDetails|a:3:{s:12:"currentRoute";s:14:"user/dashboard";s:13:"previousRoute";s:17:"application.login";s:10:"routeStore";s:14:"user/dashboard";}';

// Laminas era (§2a): objects, mangled private names, float metadata.
const LAMINAS =
  '__Laminas|a:1:{s:20:"_REQUEST_ACCESS_TIME";d:1677664800.123;}' +
  'initialised|O:26:"Laminas\\Stdlib\\ArrayObject":4:{s:7:"storage";a:1:{s:4:"init";b:1;}s:4:"flag";i:2;s:13:"iteratorClass";s:13:"ArrayIterator";s:19:"protectedProperties";a:4:{i:0;s:7:"storage";i:1;s:4:"flag";i:2;s:13:"iteratorClass";i:3;s:19:"protectedProperties";}}' +
  'UserDetails|O:26:"Laminas\\Stdlib\\ArrayObject":1:{s:7:"storage";a:1:{s:8:"identity";O:4:"User":2:{s:8:"\0User\0id";s:2:"u1";s:15:"\0User\0lastLogin";O:8:"DateTime":3:{s:4:"date";s:26:"2023-03-01 ' +
  '11:15:00.000000";s:13:"timezone_type";i:3;s:8:"timezone";s:3:"UTC";}}}}';

describe('php-session-codec: decode and encode', () => {
  const cases: [string, string | Buffer, string[]][] = [
    ['empty session', '', []],
    ['Mezzio-era session', MEZZIO, ['identity', '__csrf', 'SessionDetails']],
    ['Laminas-era session', LAMINAS, ['__Laminas', 'initialised', 'UserDetails']],
    ['empty key name (PHP allows it)', '|s:1:"x";', ['']],
    ['numeric key name stays a string key', '5|i:1;', ['5']],
    ['unicode key name', Buffer.from('clé|b:1;', 'utf8'), ['clé']],
    ['binary value', b('bin|s:2:"\xff\x00";'), ['bin']],
    ['references across keys (one slot table)', 'a|a:1:{i:0;s:1:"y";}b|R:2;c|r:1;', ['a', 'b', 'c']],
    ['value containing "|" bytes', 'k|s:3:"a|b";j|a:1:{s:1:"|";N;}', ['k', 'j']],
  ];
  for (const [name, raw, names] of cases) {
    test(name, () => {
      const bytes = typeof raw === 'string' ? b(raw) : raw;
      const s = decodeSession(bytes);
      assert.deepEqual(s.names(), names);
      assert.deepEqual(s.encode(), bytes);
      assert.deepEqual(encodeSession(s), bytes);
      assert.deepEqual(s.changes(), { clear: false, ops: [] });
    });
  }

  test('values decode to the expected shapes', () => {
    const s = decodeSession(MEZZIO);
    const identity = s.get('identity');
    assert.ok(identity instanceof PhpArray);
    assert.equal(identity.get('userId'), 'a1b2c3d4e5f60718293a4b5c6d7e8f90');
    assert.equal(identity.get('sharedSpaceId'), null);
    assert.equal(s.get('__csrf'), '9f86d081884c7d659a2feaa0c55ad015');
    const l = decodeSession(LAMINAS);
    const meta = l.get('__Laminas');
    assert.ok(meta instanceof PhpArray);
    assert.ok(phpEquals(meta.get('_REQUEST_ACCESS_TIME') ?? null, new PhpFloat(1677664800.123)));
    const ud = l.get('UserDetails');
    assert.ok(ud instanceof PhpObject);
    const user = (ud.getProperty('storage') as PhpArray).get('identity');
    assert.ok(user instanceof PhpObject);
    assert.equal(user.getProperty('id', 'private'), 'u1');
  });
});

describe('php-session-codec: changes and patches', () => {
  test('decoded values are frozen; clone + set marks only that key', () => {
    const s = decodeSession(MEZZIO);
    const details = s.get('SessionDetails');
    assert.ok(details instanceof PhpArray);
    assert.throws(() => details.set('currentRoute', 'x'), TypeError);
    const next = details.clone().set('currentRoute', 'lpa/type');
    s.set('SessionDetails', next);
    assert.deepEqual(s.changes(), { clear: false, ops: [{ op: 'set', name: 'SessionDetails', value: next }] });
    const out = s.encode().toString('latin1');
    assert.ok(out.startsWith(MEZZIO.slice(0, MEZZIO.indexOf('SessionDetails|'))), 'untouched keys byte-identical');
    assert.ok(out.includes('s:12:"currentRoute";s:8:"lpa/type";'));
  });

  test('setting an equal value is not a change', () => {
    const s = decodeSession(MEZZIO);
    s.set('__csrf', '9f86d081884c7d659a2feaa0c55ad015');
    s.set('SessionDetails', (s.get('SessionDetails') as PhpArray).clone());
    assert.deepEqual(s.changes().ops, []);
  });

  test('new keys append, deletes are recorded', () => {
    const s = decodeSession(MEZZIO);
    s.delete('__csrf');
    s.set('auth_failure_code', 500);
    assert.deepEqual(s.names(), ['identity', 'SessionDetails', 'auth_failure_code']);
    assert.deepEqual(s.changes().ops, [
      { op: 'delete', name: '__csrf' },
      { op: 'set', name: 'auth_failure_code', value: 500 },
    ]);
    assert.ok(s.encode().toString('latin1').endsWith('auth_failure_code|i:500;'));
  });

  test("a patch applied to a fresh read keeps a concurrent writer's keys (no lost update)", () => {
    // request A read the session, then changed SessionDetails
    const a = decodeSession(MEZZIO);
    a.set(
      'SessionDetails',
      fromPlain({ currentRoute: 'lpa/donor', previousRoute: 'user/dashboard', routeStore: 'lpa/donor' }),
    );
    // meanwhile request B rotated the CSRF token and added a flash key, and stored that
    const b2 = decodeSession(MEZZIO);
    b2.set('__csrf', 'ffffffffffffffffffffffffffffffff');
    b2.set('flash', 'saved');
    const stored = b2.encode();
    // A commits its patch on top of what is stored now
    const fresh = decodeSession(stored).applyPatch(a.changes());
    assert.equal(fresh.get('__csrf'), 'ffffffffffffffffffffffffffffffff');
    assert.equal(fresh.get('flash'), 'saved');
    assert.equal((fresh.get('SessionDetails') as PhpArray).get('currentRoute'), 'lpa/donor');
    assert.deepEqual(fresh.names(), ['identity', '__csrf', 'SessionDetails', 'flash']);
  });

  test('clear() then set: the patch clears the target first', () => {
    const s = decodeSession(MEZZIO);
    s.clear();
    s.set('identity', fromPlain({ userId: 'new' }));
    const patch = s.changes();
    assert.equal(patch.clear, true);
    const fresh = decodeSession(MEZZIO + 'other|i:1;').applyPatch(patch);
    assert.deepEqual(fresh.names(), ['identity']);
    assert.deepEqual(fresh.encode(), b('identity|a:1:{s:6:"userId";s:3:"new";}'));
  });

  test('PhpSession.empty()', () => {
    const s = PhpSession.empty()
      .set('a', true)
      .set('b', new PhpBytes(b('\xff')));
    assert.deepEqual(s.encode(), b('a|b:1;b|s:1:"\xff";'));
    assert.deepEqual(decodeSession(s.encode()).encode(), s.encode());
  });

  test('references: untouched order is fine, a change before them fails loudly', () => {
    const raw = 'a|a:1:{i:0;s:1:"y";}b|R:2;';
    const s = decodeSession(raw);
    s.set('z', 1); // appended after: harmless
    assert.deepEqual(s.encode(), b(`${raw}z|i:1;`));
    const t = decodeSession(raw);
    t.set('a', 'changed');
    assert.throws(() => t.encode(), PhpSessionError);
    const u = decodeSession(raw);
    u.delete('a');
    assert.throws(() => u.encode(), /PHP references/);
    // a new value with a reference is checked against the whole session's slots
    const v = decodeSession('a|s:1:"x";');
    v.set('b', new PhpReference('R', 1));
    assert.deepEqual(v.encode(), b('a|s:1:"x";b|R:1;'));
    v.set('c', new PhpReference('R', 5));
    assert.throws(() => v.encode(), /slot 5/);
  });
});

describe('php-session-codec: malformed sessions', () => {
  const bad: [string, string | Buffer, RegExp][] = [
    ['no delimiter', 'abc', /expected '\|'/],
    ['trailing junk', 'a|s:1:"x";junk', /expected '\|'/],
    ['name without value', 'a|s:1:"x";b', /expected '\|'/],
    ['bad value', 'a|s:5:"x";', /5 bytes of string data/],
    ['missing value', 'a|', /expected a value/],
    ['duplicate name', 'a|i:1;a|i:2;', /appears twice/],
    ['non-utf-8 name', b('\xff|i:1;'), /not valid UTF-8/],
    ['reference to an earlier key that does not exist', 'a|R:1;', /slot 1 but only 0/],
    ['too large', 'a|s:3000:"' + 'x'.repeat(3000) + '";', /exceeds the 1000-byte limit/],
    ['depth bomb', 'a|' + 'a:1:{i:0;'.repeat(80) + 'N;' + '}'.repeat(80), /nesting deeper than 64/],
  ];
  for (const [name, raw, re] of bad) {
    test(name, () => {
      assert.throws(
        () => decodeSession(raw, { maxBytes: name === 'too large' ? 1000 : undefined }),
        (err: unknown) => err instanceof PhpSerializeError && re.test(err.message) && err.offset >= 0,
      );
    });
  }
  test('set() rejects names PHP cannot store', () => {
    assert.throws(() => PhpSession.empty().set('a|b', 1), /contains '\|'/);
    assert.throws(() => PhpSession.empty().set('\ud800', 1), /lone surrogate/);
  });
  test("the decoded session does not alias the caller's buffer", () => {
    const input = b(MEZZIO);
    const s = decodeSession(input);
    input.fill(0x41);
    assert.deepEqual(s.encode(), b(MEZZIO));
  });
});
