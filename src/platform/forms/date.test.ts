import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCatalogue } from '../../i18n/catalogue.ts';
import type { DatePart } from './date.ts';
import { DATE_PARTS, checkDate, realDate } from './date.ts';
import type { FieldDeclaration } from './fields.ts';
import { checkFields, fieldView } from './fields.ts';

const en = createCatalogue().forLanguage('en');
const visit: FieldDeclaration = {
  macro: 'dateInput',
  label: 'govuk:dateInput.day', // any English key: the label is not what these tests look at
  required: true,
  messages: { required: 'required', incomplete: 'incomplete', invalid: 'invalid' },
};
const check = (body: unknown) => checkFields({ visit }, ['visit'], body, (key) => key);
const parts = (day: unknown, month: unknown, year: unknown) => ({
  'visit-day': day,
  'visit-month': month,
  'visit-year': year,
});

describe('the kit date field: GOV.UK rules', () => {
  const valid: [string, string, string, string][] = [
    ['1', '1', '2020', '2020-01-01'],
    ['01', '01', '2020', '2020-01-01'],
    [' 7 ', '\t3\n', ' 2027', '2027-03-07'],
    ['29', '2', '2024', '2024-02-29'],
    ['31', '12', '9999', '9999-12-31'],
    ['1', '1', '0001', '0001-01-01'],
    ['30', '4', '1900', '1900-04-30'],
  ];
  for (const [day, month, year, iso] of valid) {
    test(`accepts ${JSON.stringify([day, month, year])} as ${iso}`, () => {
      const checked = check(parts(day, month, year));
      assert.deepEqual(checked.errors, []);
      assert.equal(checked.normalised.visit, iso);
      assert.equal(realDate(day.trim(), month.trim(), year.trim()), iso);
    });
  }

  // [day, month, year, rule, parts it is about]
  const invalid: [unknown, unknown, unknown, string, DatePart[]][] = [
    ['', '', '', 'required', ['day', 'month', 'year']],
    [' ', '\t', '\r\n', 'required', ['day', 'month', 'year']],
    ['12', '', '', 'incomplete', ['month', 'year']],
    ['', '3', '2020', 'incomplete', ['day']],
    ['1', '1', '', 'incomplete', ['year']],
    ['29', '2', '2023', 'invalid', ['day', 'month', 'year']],
    ['31', '4', '2020', 'invalid', ['day', 'month', 'year']],
    ['0', '1', '2020', 'invalid', ['day']],
    ['32', '1', '2020', 'invalid', ['day']],
    ['1', '13', '2020', 'invalid', ['month']],
    ['1', '0', '2020', 'invalid', ['month']],
    ['1', '1', '99', 'invalid', ['year']],
    ['1', '1', '0000', 'invalid', ['year']],
    ['1', '1', '10000', 'invalid', ['year']],
    ['001', '1', '2020', 'invalid', ['day']],
    ['1e1', '+1', '-1', 'invalid', ['day', 'month', 'year']],
    ['1.0', '0x1', '2020.', 'invalid', ['day', 'month', 'year']],
    ['١', '٣', '٢٠٢٠', 'invalid', ['day', 'month', 'year']],
    ['Ⅻ', 'March', '2020', 'invalid', ['day', 'month']],
    ['<script>', '1', '2020', 'invalid', ['day']],
    ['1\u0000', '1', '2020', 'invalid', ['day']],
    ['1'.repeat(10_000), '1', '2020', 'invalid', ['day']],
    // What a hand-made body can send instead of a string: an empty part.
    [['1', '2'], '1', '2020', 'incomplete', ['day']],
    [{ toString: '1' }, 1, null, 'required', ['day', 'month', 'year']],
  ];
  for (const [day, month, year, rule, wrong] of invalid) {
    test(`refuses ${JSON.stringify([day, month, year]).slice(0, 60)}: ${rule}, ${wrong.join(' ')}`, () => {
      const checked = check(parts(day, month, year));
      assert.deepEqual(checked.errors, [{ text: rule, href: `#visit-${wrong[0] ?? ''}` }], 'one error, first part');
      assert.deepEqual(checked.wrongParts?.visit, wrong);
      assert.equal(checked.normalised.visit, '');
    });
  }

  test('a body that is no object, or whose parts are inherited, gives no date', () => {
    for (const body of [undefined, null, 'visit-day=1', 42, Object.create({ 'visit-day': '1' }) as unknown]) {
      assert.deepEqual(check(body).errors, [{ text: 'required', href: '#visit-day' }]);
    }
  });

  test('an optional date left empty is accepted as empty', () => {
    const checked = checkFields({ visit: { ...visit, required: false } }, ['visit'], parts('', '', ''), en);
    assert.deepEqual(checked.errors, []);
    assert.equal(checked.normalised.visit, '');
  });

  test('a form may give its own rules, and use checkDate in them', () => {
    const notAfter2026: FieldDeclaration = {
      ...visit,
      messages: { ...visit.messages, future: 'future' },
      date: {
        check: (p) =>
          checkDate(p) ??
          ((realDate(p.day, p.month, p.year) ?? '') > '2026-12-31' ? { rule: 'future', parts: DATE_PARTS } : undefined),
      },
    };
    const errors = (day: string, month: string, year: string) =>
      checkFields({ visit: notAfter2026 }, ['visit'], parts(day, month, year), (k) => k).errors.map((e) => e.text);
    assert.deepEqual(errors('31', '12', '2026'), []);
    assert.deepEqual(errors('1', '1', '2027'), ['future']);
    assert.deepEqual(errors('30', '2', '2027'), ['invalid']);
  });

  test('the view: the parts shown back, wrong ones highlighted, labels and hint from the catalogue', () => {
    const checked = check(parts('12', '', '2020'));
    const view = fieldView('visit', { ...visit, hint: 'govuk:dateInput.year' }, '', 'the error', en, {
      values: checked.values,
      wrong: checked.wrongParts?.visit,
    });
    assert.equal(view.macro, 'dateInput');
    assert.equal(view.params.namePrefix, 'visit');
    assert.equal(view.params.name, undefined);
    assert.deepEqual(view.params.hint, { text: 'Year' });
    const items = view.params.items as { id: string; label: string; value: string; classes: string }[];
    assert.deepEqual(
      items.map((i) => [i.id, i.label, i.value, i.classes]),
      [
        ['visit-day', 'Day', '12', 'govuk-input--width-2'],
        ['visit-month', 'Month', '', 'govuk-input--width-2 govuk-input--error'],
        ['visit-year', 'Year', '2020', 'govuk-input--width-4'],
      ],
    );
  });
});
