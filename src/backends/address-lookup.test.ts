import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressFromOs, addressesFromOsBody, fixtureLookup, plausiblePostcode } from './address-lookup.ts';

test('OS Places addresses are split into lines as the live OrdnanceSurvey service splits them', () => {
  assert.deepEqual(addressFromOs('1, HIGH STREET, TOWN, AB1 2CD', 'AB1 2CD'), {
    line1: '1 HIGH STREET',
    line2: 'TOWN',
    line3: '',
    postcode: 'AB1 2CD',
    description: '1 HIGH STREET, TOWN',
  });
  assert.deepEqual(addressFromOs('FLAT 2, 104, PETTY FRANCE, WESTMINSTER, LONDON, SW1H 9AJ', 'SW1H 9AJ'), {
    line1: 'FLAT 2',
    line2: '104 PETTY FRANCE',
    line3: 'WESTMINSTER, LONDON',
    postcode: 'SW1H 9AJ',
    description: 'FLAT 2, 104 PETTY FRANCE, WESTMINSTER, LONDON',
  });
  assert.deepEqual(addressFromOs('A, B, C, D, E, F, G, AB1 2CD', 'AB12CD').line3, 'E, F, G');
  assert.deepEqual(addressesFromOsBody({ header: { totalresults: 0 } }), []);
  assert.throws(() => addressesFromOsBody({ header: {} }));
  assert.equal(plausiblePostcode('SW1H 9AJ'), true);
  for (const bad of ['', ' ', 'SW1H/9AJ', 'x'.repeat(11), 'a&key=b']) assert.equal(plausiblePostcode(bad), false, bad);
});

test('the embedded fixture answers a few postcodes, however they are spaced', async () => {
  const lookup = fixtureLookup();
  assert.equal((await lookup.lookupPostcode('sw1h9aj')).length, 3);
  assert.equal((await lookup.lookupPostcode('B1 1TF'))[1]?.line1, '2A EXAMPLE STREET');
  assert.deepEqual(await lookup.lookupPostcode('ZZ9 9ZZ'), []);
});
