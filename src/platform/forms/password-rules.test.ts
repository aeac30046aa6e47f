import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createCatalogue } from '../../i18n/catalogue.ts';
import { checkFields, fieldKeys } from './fields.ts';
import { isCommonPassword, newPasswordFields, passwordMismatchMessage, passwordRule } from './password-rules.ts';

describe('passwordRule', () => {
  const cases: [string, ReturnType<typeof passwordRule>][] = [
    ['Short1a', 'minLength'],
    ['Elevenchar1', 'minLength'],
    // Twelve characters as a person counts them, not UTF-16 units: 11 letters and an emoji is 12.
    ['Abcdefghij1😀', undefined],
    ['Abcdefghij😀', 'minLength'],
    ['NoDigitsHereAtAll', 'digit'],
    ['ALLCAPS12345678', 'lowerCase'],
    ['alllower12345678', 'upperCase'],
    ['Password2024!', 'common'],
    ['!!Sunshine123456', 'common'],
    ['Qwertyuiop123', 'common'],
    ['Staple-Horse-7-Battery', undefined],
    ['Tr0ub4dor&3xyz', undefined],
  ];
  for (const [password, rule] of cases) {
    test(`${JSON.stringify(password)} → ${String(rule)}`, () => assert.equal(passwordRule(password), rule));
  }
});

describe('isCommonPassword', () => {
  test('the whole password, any case', () => {
    assert.equal(isCommonPassword('PASSWORD'), true);
    assert.equal(isCommonPassword('letmein'), true);
  });
  test('a common word with digits and symbols on its ends', () => {
    assert.equal(isCommonPassword('Football99!!'), true);
    assert.equal(isCommonPassword('2024Dragon'), true);
  });
  test('a short core is not matched (too many false alarms)', () => {
    assert.equal(isCommonPassword('1ab2'), false);
  });
  test('an uncommon password passes', () => {
    assert.equal(isCommonPassword('Velvet-Kettle-Orbit-42'), false);
  });
});

describe('newPasswordFields on the form kit', () => {
  const t = createCatalogue().forLanguage('en');
  for (const wording of ['set', 'change'] as const) {
    test(`${wording}: every key is in the English catalogue`, () => {
      const fields = newPasswordFields(wording);
      const catalogue = createCatalogue();
      for (const key of [
        ...fieldKeys(fields.password),
        ...fieldKeys(fields.password_confirm),
        passwordMismatchMessage(wording),
      ]) {
        assert.ok(catalogue.has(key), key);
      }
    });
  }
  test('each broken rule shows its own message, on the field; the password is never shown back', () => {
    const fields = newPasswordFields('set');
    const checked = checkFields(
      fields,
      ['password', 'password_confirm'],
      { password: 'alllower12345678', password_confirm: '' },
      t,
    );
    assert.deepEqual(checked.errors, [
      { text: 'Your password must include at least one capital letter (A-Z)', href: '#password' },
      { text: 'Confirm your password', href: '#password_confirm' },
    ]);
    assert.equal(checked.values.password, '');
    const common = checkFields(fields, ['password'], { password: 'Password2024!' }, t);
    assert.match(common.fieldErrors.password ?? '', /many people use/);
  });
  test('a password is taken exactly as typed: spaces are not trimmed', () => {
    const fields = newPasswordFields('change');
    const checked = checkFields(fields, ['password'], { password: '  Velvet Kettle 42  ' }, t);
    assert.deepEqual(checked.errors, []);
    assert.equal(checked.normalised.password, '  Velvet Kettle 42  ');
  });
});
