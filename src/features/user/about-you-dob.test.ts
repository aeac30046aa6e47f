/**
 * The date of birth of "Your details" as a kit date field with the live rules (checkDob): one error for the whole
 * date, linked to the first part it is about, over a table of valid, invalid and hostile values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFields } from '../../platform/forms/index.ts';
import { aboutYouFields } from './user-schema.ts';

const NOW = new Date('2026-12-06T23:30:00Z'); // already 6 December in the UK (GMT): the 7th is the future
const fields = aboutYouFields(() => NOW);
const dob = (day: unknown, month: unknown, year: unknown) =>
  checkFields(fields, ['dob-date'], { 'dob-date-day': day, 'dob-date-month': month, 'dob-date-year': year }, (k) => k);

test('date of birth: valid dates give YYYY-MM-DD; none at all is no date of birth', () => {
  const valid: [unknown, unknown, unknown, string][] = [
    ['', '', '', ''],
    [' ', '\t', '', ''],
    ['10', '12', '1815', '1815-12-10'],
    ['08', '04', '1980', '1980-04-08'],
    ['29', '2', '2024', '2024-02-29'],
    ['6', '12', '2026', '2026-12-06'],
    ['1', '1', '0100', '0100-01-01'],
  ];
  for (const [day, month, year, iso] of valid) {
    const checked = dob(day, month, year);
    assert.deepEqual(checked.errors, [], JSON.stringify([day, month, year]));
    assert.equal(checked.normalised['dob-date'], iso);
  }
});

test('date of birth: the live messages, one error, linked to the first part it is about', () => {
  const all = ['day', 'month', 'year'];
  const invalid: [unknown, unknown, unknown, string, string[]][] = [
    ['8', '', '', 'dobRequired', all],
    ['', '', '1980', 'dobRequired', all],
    ['31', '2', '1990', 'dobInvalid', all],
    ['8', '4', '80', 'dobInvalid', all],
    ['1', '1', '0099', 'dobInvalid', all],
    ['1', '1', '10000', 'dobInvalid', all],
    ['1e1', '1', '1990', 'dobInvalid', all],
    ['١', '1', '1990', 'dobInvalid', all],
    ['<script>', '1', '1990', 'dobInvalid', all],
    ['7', '12', '2026', 'dobFuture', all],
    ['1', '1', '2999', 'dobFuture', all],
    ['1', '1\u0002', '1990', 'control', ['month']],
    ['\u0085', '1', '1990\u007f', 'control', ['day', 'year']],
    [['1', '2'], '1', '1990', 'dobRequired', all],
    [{}, 1, null, '', []],
  ];
  for (const [day, month, year, key, parts] of invalid) {
    const checked = dob(day, month, year);
    const label = JSON.stringify([day, month, year]);
    if (key === '') {
      assert.deepEqual(checked.errors, [], label);
      continue;
    }
    assert.deepEqual(checked.errors, [{ text: `aboutYou:errors.${key}`, href: `#dob-date-${parts[0] ?? ''}` }], label);
    assert.deepEqual(checked.wrongParts?.['dob-date'], parts, label);
    assert.equal(checked.normalised['dob-date'], '', label);
  }
});
