import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import { createCatalogue } from '../../i18n/catalogue.ts';
import { checkFields } from '../../platform/forms/fields.ts';
import {
  FEEDBACK_FIELDS,
  FeedbackBody,
  MESSAGES,
  RATINGS,
  characterCount,
  isValidEmail,
  isValidPhone,
} from './feedback-schema.ts';

const en = createCatalogue().forLanguage('en');
const ENGLISH = Object.fromEntries(Object.entries(MESSAGES).map(([k, key]) => [k, en(key)])) as Record<
  keyof typeof MESSAGES,
  string
>;

/** The form's rules as the kit runs them: errors in English, values for the success handler. */
function validateFeedback(body: Record<string, string>) {
  const checked = checkFields(FEEDBACK_FIELDS, Object.keys(FEEDBACK_FIELDS), body, en);
  return { ok: checked.errors.length === 0, errors: checked.errors, value: checked.normalised, values: checked.values };
}

const valid = { rating: 'satisfied', details: 'It was fine.', email: '', phone: '' };

describe('the feedback fields on the kit', () => {
  const cases: { name: string; body: Record<string, string>; errors: [string, string][] }[] = [
    {
      name: 'nothing at all',
      body: {},
      errors: [
        [ENGLISH.rating, '#rating'],
        [ENGLISH.detailsRequired, '#details'],
      ],
    },
    { name: 'rating missing', body: { ...valid, rating: '' }, errors: [[ENGLISH.rating, '#rating']] },
    { name: 'rating unknown', body: { ...valid, rating: 'ecstatic' }, errors: [[ENGLISH.rating, '#rating']] },
    {
      name: 'rating differently cased',
      body: { ...valid, rating: 'Satisfied' },
      errors: [[ENGLISH.rating, '#rating']],
    },
    {
      name: 'details only spaces',
      body: { ...valid, details: ' \r\n\t ' },
      errors: [[ENGLISH.detailsRequired, '#details']],
    },
    {
      name: 'details 2001 characters',
      body: { ...valid, details: 'a'.repeat(2001) },
      errors: [[ENGLISH.detailsTooLong, '#details']],
    },
    {
      name: 'details 2001 emoji',
      body: { ...valid, details: '😀'.repeat(2001) },
      errors: [[ENGLISH.detailsTooLong, '#details']],
    },
    { name: 'email without @', body: { ...valid, email: 'someone.example.com' }, errors: [[ENGLISH.email, '#email']] },
    {
      name: 'email without a dot in the domain',
      body: { ...valid, email: 'someone@localhost' },
      errors: [[ENGLISH.email, '#email']],
    },
    { name: 'email with two @', body: { ...valid, email: 'a@b@example.com' }, errors: [[ENGLISH.email, '#email']] },
    {
      name: 'email with a space',
      body: { ...valid, email: 'some one@example.com' },
      errors: [[ENGLISH.email, '#email']],
    },
    {
      name: 'email with an empty atom',
      body: { ...valid, email: 'some..one@example.com' },
      errors: [[ENGLISH.email, '#email']],
    },
    {
      name: 'email with markup',
      body: { ...valid, email: '<script>@example.com' },
      errors: [[ENGLISH.email, '#email']],
    },
    {
      name: 'email too long',
      body: { ...valid, email: `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com` },
      errors: [[ENGLISH.email, '#email']],
    },
    { name: 'phone too short', body: { ...valid, phone: '12345' }, errors: [[ENGLISH.phone, '#phone']] },
    { name: 'phone with letters', body: { ...valid, phone: '0123 ABC 789' }, errors: [[ENGLISH.phone, '#phone']] },
    {
      name: 'phone with a plus in the middle',
      body: { ...valid, phone: '0123+456789' },
      errors: [[ENGLISH.phone, '#phone']],
    },
    { name: 'phone too long', body: { ...valid, phone: '1'.repeat(21) }, errors: [[ENGLISH.phone, '#phone']] },
    {
      name: 'everything wrong, in field order',
      body: { rating: 'x', details: '', email: 'x', phone: 'x' },
      errors: [
        [ENGLISH.rating, '#rating'],
        [ENGLISH.detailsRequired, '#details'],
        [ENGLISH.email, '#email'],
        [ENGLISH.phone, '#phone'],
      ],
    },
  ];
  for (const c of cases) {
    test(`refuses: ${c.name}`, () => {
      const result = validateFeedback(c.body);
      assert.equal(result.ok, false);
      assert.deepEqual(
        result.errors.map((e) => [e.text, e.href]),
        c.errors,
      );
    });
  }

  const accepted: { name: string; body: Record<string, string>; expect: Partial<Record<string, string>> }[] = [
    {
      name: 'the minimum',
      body: { rating: 'very-dissatisfied', details: 'x' },
      expect: { rating: 'very-dissatisfied', details: 'x', email: '', phone: '' },
    },
    {
      name: 'exactly 2000 characters',
      body: { ...valid, details: 'a'.repeat(2000) },
      expect: { details: 'a'.repeat(2000) },
    },
    {
      name: '2000 emoji (4000 UTF-16 units)',
      body: { ...valid, details: '😀'.repeat(2000) },
      expect: { details: '😀'.repeat(2000) },
    },
    {
      name: 'CRLF counts as one character',
      body: { ...valid, details: 'a\r\n'.repeat(999) + 'ab' },
      expect: { details: 'a\n'.repeat(999) + 'ab' },
    },
    {
      name: 'surrounding spaces trimmed and still 2000',
      body: { ...valid, details: `  ${'b'.repeat(2000)}\n` },
      expect: { details: 'b'.repeat(2000) },
    },
    {
      name: 'email lowercased and trimmed',
      body: { ...valid, email: '  Someone.Name+tag@Example.GOV.uk ' },
      expect: { email: 'someone.name+tag@example.gov.uk' },
    },
    {
      name: 'phone with spaces and brackets',
      body: { ...valid, phone: ' +44 (0)20 7946 0000 ' },
      expect: { phone: '+44 (0)20 7946 0000' },
    },
    { name: 'phone with hyphens', body: { ...valid, phone: '020-7946-0000' }, expect: { phone: '020-7946-0000' } },
    {
      name: 'markup is kept as typed (escaped on output)',
      body: { ...valid, details: '<b>bold</b> & "quotes"' },
      expect: { details: '<b>bold</b> & "quotes"' },
    },
  ];
  for (const c of accepted) {
    test(`accepts: ${c.name}`, () => {
      const result = validateFeedback(c.body);
      assert.equal(result.ok, true, result.ok ? '' : JSON.stringify(result.errors));
      for (const [k, v] of Object.entries(c.expect))
        assert.equal((result.value as unknown as Record<string, string>)[k], v, k);
    });
  }

  test('every live rating value is accepted', () => {
    assert.deepEqual(
      RATINGS.map((r) => r.value),
      ['very-satisfied', 'satisfied', 'neither-satisfied-or-dissatisfied', 'dissatisfied', 'very-dissatisfied'],
    );
    for (const r of RATINGS) assert.equal(validateFeedback({ ...valid, rating: r.value }).ok, true, r.value);
  });

  test('inherited properties are not read as fields', () => {
    const body = Object.create({ rating: 'satisfied', details: 'inherited' }) as Record<string, string>;
    const result = validateFeedback(body);
    assert.equal(result.ok, false);
  });

  test('the values to re-show are the input trimmed, markup and case as typed', () => {
    const result = validateFeedback({ rating: 'x', details: '  <script>  ', email: ' A@B ', phone: '' });
    assert.deepEqual(result.values, { rating: 'x', details: '<script>', email: 'A@B', phone: '' });
  });

  test('every message is in the English catalogue', () => {
    for (const key of Object.values(MESSAGES)) assert.ok(!en(key).includes(':'), key);
  });
});

describe('helpers', () => {
  test('characterCount counts code points and CRLF as one', () => {
    assert.equal(characterCount('abc'), 3);
    assert.equal(characterCount('😀'), 1);
    assert.equal(characterCount('a\r\nb'), 3);
    assert.equal(characterCount('é'), 1);
  });
  test('emails', () => {
    for (const ok of [
      'a@b.co',
      'first.last@sub.example.org',
      "o'brien@example.ie",
      'x@xn--bcher-kva.example',
      'user@bücher.de',
    ])
      assert.ok(isValidEmail(ok), ok);
    for (const bad of [
      '',
      '@example.com',
      'a@',
      'a@.com',
      'a@example.',
      'a@-x.com',
      'a@example.c',
      '.a@example.com',
      'a.@example.com',
      'a@exa mple.com',
    ])
      assert.ok(!isValidEmail(bad), bad);
  });
  test('phones', () => {
    for (const ok of ['123456', '+441234567890', '(01234) 567 890', '1'.repeat(20), '1 2 3 4 5 6'])
      assert.ok(isValidPhone(ok), ok);
    for (const bad of ['12345', '++123456', '1'.repeat(21), '123456x', '+']) assert.ok(!isValidPhone(bad), bad);
  });
});

describe('FeedbackBody schema', () => {
  const check = (body: unknown): boolean => Value.Check(FeedbackBody, body);
  test('accepts the form as a browser sends it, empty fields included', () => {
    assert.ok(check({ _csrf: 'a'.repeat(32), rating: '', details: '', email: '', phone: '', send: '' }));
    assert.ok(check({}));
  });
  test('refuses unknown fields, non-strings and oversized values', () => {
    assert.ok(!check({ ...valid, extra: 'x' }));
    assert.ok(!check({ ...valid, rating: ['a', 'b'] }));
    assert.ok(!check({ ...valid, details: 'x'.repeat(12_001) }));
    assert.ok(!check({ ...valid, email: 'x'.repeat(1001) }));
  });
});
