import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AboutYouValues } from './user-schema.ts';
import { FIELDS, checkAboutYou, chosenAddress, realDate, valuesFromDetails, valuesOf } from './user-schema.ts';

const NOW = new Date('2026-12-06T12:00:00Z');
const OK = { 'name-title': 'Dr', 'name-first': 'Ada', 'name-last': 'Lovelace' };
const v = (body: Record<string, string>): AboutYouValues => valuesOf(body);
const fieldsOf = (body: Record<string, string>) =>
  checkAboutYou(v(body), NOW).errors.map((e) => `${e.field} ${e.key.replace('aboutYou:errors.', '')}`);

test('about-you: the live rules and messages, table-driven', () => {
  const cases: [Record<string, string>, string[]][] = [
    [{}, ['name-title titleRequired', 'name-first firstRequired', 'name-last lastRequired']],
    [OK, []],
    [{ ...OK, 'name-title': 'Prefer not to say' }, []],
    [{ ...OK, 'name-title': 'Mrs.XY' }, ['name-title titleLength']],
    [{ ...OK, 'name-first': 'é'.repeat(50) }, []],
    [{ ...OK, 'name-first': 'é'.repeat(51) }, ['name-first firstLength']],
    [{ ...OK, 'name-last': 'B'.repeat(51) }, ['name-last lastLength']],
    [{ ...OK, 'name-first': 'A\u0000' }, ['name-first control']],
    [{ ...OK, 'dob-date-day': '8' }, ['dob-date-day dobRequired']],
    [{ ...OK, 'dob-date-day': '31', 'dob-date-month': '2', 'dob-date-year': '1980' }, ['dob-date-day dobInvalid']],
    [{ ...OK, 'dob-date-day': '8', 'dob-date-month': '4', 'dob-date-year': '80' }, ['dob-date-day dobInvalid']],
    [{ ...OK, 'dob-date-day': '7', 'dob-date-month': '12', 'dob-date-year': '2026' }, ['dob-date-day dobFuture']],
    [{ ...OK, 'dob-date-day': '6', 'dob-date-month': '12', 'dob-date-year': '2026' }, []],
    [{ ...OK, 'address-postcode': 'SW1H 9AJ' }, ['address-address1 address1Required']],
    [
      { ...OK, 'address-address1': '1 High St' },
      ['address-address2 address2Required', 'address-postcode postcodeRequired'],
    ],
    [{ ...OK, 'address-address1': '1 High St', 'address-address2': 'Town' }, []],
    [{ ...OK, 'address-address1': '1 High St', 'address-postcode': 'SW1H 9AJX1' }, ['address-postcode postcodeLength']],
    [
      { ...OK, 'address-address1': 'x'.repeat(51), 'address-address3': 'y'.repeat(51), 'address-postcode': 'B1' },
      ['address-address1 address1Length', 'address-address3 address3Length'],
    ],
  ];
  for (const [body, expected] of cases) assert.deepEqual(fieldsOf(body), expected, JSON.stringify(body));
});

test('about-you: what is saved', () => {
  assert.deepEqual(
    checkAboutYou(
      v({
        ...OK,
        'name-title': 'Prefer not to say',
        'dob-date-day': '8',
        'dob-date-month': '04',
        'dob-date-year': '1980',
        'address-address1': '1 High St',
        'address-postcode': 'B1 1TF',
      }),
      NOW,
    ).update,
    {
      name: { first: 'Ada', last: 'Lovelace' },
      dob: '1980-04-08',
      address: { address1: '1 High St', address2: null, address3: null, postcode: 'B1 1TF' },
    },
  );
  assert.deepEqual(checkAboutYou(v(OK), NOW).update, {
    name: { title: 'Dr', first: 'Ada', last: 'Lovelace' },
    dob: null,
    address: null,
  });
  const back = valuesFromDetails({ name: { first: 'Ada', last: 'L' }, dob: '1980-04-08', address: null });
  assert.equal(back['name-title'], 'Prefer not to say');
  assert.deepEqual([back['dob-date-day'], back['dob-date-month'], back['dob-date-year']], ['08', '04', '1980']);
  assert.equal(FIELDS.length, 10);
  assert.equal(realDate('29', '2', '2024'), '2024-02-29');
  assert.equal(realDate('29', '2', '2023'), null);
  assert.deepEqual(chosenAddress('["1 A St","","Town","B1 1TF"]'), {
    line1: '1 A St',
    line2: '',
    line3: 'Town',
    postcode: 'B1 1TF',
  });
  for (const bad of ['', 'x', '[1,2,3,4]', '["a"]', '{"a":1}']) assert.equal(chosenAddress(bad), null, bad);
});
