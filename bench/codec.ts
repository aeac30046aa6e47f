/**
 * Throughput of the PHP serialize codec and the `php` session codec on a realistic ~2 KB current-era
 * (Mezzio) session: identity array, CSRF token, SessionDetails, flash messages, clone data.
 * Run: ./node_modules/.bin/node bench/codec.ts   (prints ops/sec; no network, no files)
 */
import type { Buffer } from 'node:buffer';
import { fromPlain, serialize, unserialize, PhpArray, PhpFloat } from '../src/sessions/php-serialize.ts';
import { decodeSession, PhpSession } from '../src/sessions/php-session-codec.ts';

function buildSession(): Buffer {
  const s = PhpSession.empty();
  s.set(
    'identity',
    fromPlain({
      userId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
      token: 'Q2hhbmdlTWVQbGVhc2VUaGlzSXNBVG9rZW5WYWx1ZTE',
      tokenExpiresAt: '2026-08-21T14:20:00+00:00',
      lastLogin: '2026-08-20T09:00:00+00:00',
      sharedSpaceId: null,
    }),
  );
  s.set('__csrf', '9f86d081884c7d659a2feaa0c55ad015');
  s.set(
    'SessionDetails',
    fromPlain({ currentRoute: 'lpa/donor', previousRoute: 'lpa/form-type', routeStore: 'lpa/donor' }),
  );
  s.set('pre_auth_request_url', 'https://www.lastingpowerofattorney.service.gov.uk/lpa/91333263035/donor');
  s.set('termsAndConditionsCheckSeen', true);
  s.set('feedback_form_generated_time', 1787318400);
  s.set(
    'Mezzio\\Flash\\FlashMessagesInterface::FLASH_NEXT',
    fromPlain({
      'dashboard-message': {
        value: 'Thanks for logging in. Your LPA account will stay open for another 9 months.',
        hops: 1,
      },
    }),
  );
  s.set(
    'onelogin_auth',
    fromPlain({ state: 'f'.repeat(43), nonce: 'e'.repeat(43), customAttributes: { redirect: '/user/dashboard' } }),
  );
  s.set(
    'clone_data',
    fromPlain({
      91333263035: {
        donor: {
          name: { title: 'Mrs', first: 'Nancy', last: 'Garrison' },
          otherNames: '',
          dob: { date: '1948-02-01T00:00:00.000000+0000' },
          email: { address: 'nancy@example.com' },
          address: {
            address1: 'Bank End Farm House',
            address2: 'Undercliff Drive',
            address3: 'Ventnor, Isle of Wight',
            postcode: 'PO38 1UL',
          },
          canSign: true,
        },
        primaryAttorneys: [
          {
            id: 1,
            name: { title: 'Mr', first: 'Amy', last: 'Wheeler' },
            dob: { date: '1970-04-12T00:00:00.000000+0000' },
            address: {
              address1: 'Brickhill Cottage',
              address2: 'Birch Cross',
              address3: 'Marchington, Uttoxeter, Staffordshire',
              postcode: 'ST14 8NX',
            },
          },
          {
            id: 2,
            name: { title: 'Mr', first: 'David', last: 'Wheeler' },
            dob: { date: '1972-11-30T00:00:00.000000+0000' },
            address: {
              address1: 'Brickhill Cottage',
              address2: 'Birch Cross',
              address3: 'Marchington, Uttoxeter, Staffordshire',
              postcode: 'ST14 8NX',
            },
          },
        ],
        whoIsRegistering: 'donor',
        repeatCaseNumber: null,
        payment: { method: 'card', amount: new PhpFloat(82), reducedFeeReceivesBenefits: false },
      },
    }),
  );
  return s.encode();
}

function bench(name: string, fn: () => unknown, ms = 1500): void {
  for (let i = 0; i < 2000; i++) fn(); // warm up
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const end = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 200; i++) fn();
    n += 200;
    now = process.hrtime.bigint();
  }
  const secs = Number(now - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  // ops per CPU-second as well: on a shared, loaded machine wall-clock figures understate the codec
  process.stdout.write(
    `${name.padEnd(58)} ${Math.round(n / secs)
      .toLocaleString('en-GB')
      .padStart(9)} ops/s ` +
      `wall  ${Math.round(n / cpuSecs)
        .toLocaleString('en-GB')
        .padStart(9)} ` +
      `ops/CPU-s  ${((cpuSecs / n) * 1e6).toFixed(1).padStart(6)} µs CPU/op\n`,
  );
}

const raw = buildSession();
const session = decodeSession(raw);
const clone = session.get('clone_data');
if (!(clone instanceof PhpArray)) throw new Error('bench session is malformed');
const cloneBytes = serialize(clone);
process.stdout.write(`session: ${raw.length} bytes, ${session.size} keys (node ${process.version})\n`);

bench('decodeSession (2 KB)', () => decodeSession(raw));
bench('session.encode (nothing changed: raw bytes reused)', () => session.encode());
bench('decodeSession + set SessionDetails + changes + encode', () => {
  const s = decodeSession(raw);
  s.set(
    'SessionDetails',
    fromPlain({ currentRoute: 'lpa/when-lpa-starts', previousRoute: 'lpa/donor', routeStore: 'lpa/when-lpa-starts' }),
  );
  s.changes();
  return s.encode();
});
bench('read-modify-write: decode, patch on a fresh decode, encode', () => {
  const s = decodeSession(raw);
  s.set('__csrf', 'ffffffffffffffffffffffffffffffff');
  return decodeSession(raw).applyPatch(s.changes()).encode();
});
bench(`unserialize value tree (clone_data, ${cloneBytes.length} B)`, () => unserialize(cloneBytes));
bench(`serialize value tree (clone_data, ${cloneBytes.length} B)`, () => serialize(clone));
bench('unserialize + serialize value tree', () => serialize(unserialize(cloneBytes)));
