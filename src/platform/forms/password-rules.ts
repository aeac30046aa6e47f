/**
 * The rules for a new password, shared by every page that sets one (sign up, reset, change). The live front's rules
 * (service-front/src/App/src/Form/User/SetPassword.php and Form/Validator/Password.php:
 * at least 12 characters, a digit, a lower-case and a capital letter) plus NCSC and GOV.UK guidance: not one of the
 * passwords people use most. The list (common-passwords.txt) is the first 10,000 of @zxcvbn-ts/language-common's
 * frequency list (MIT, Dan Wheeler, Dropbox and @zxcvbn-ts), shipped with the code so the check needs no network.
 *
 * The API checks its own, weaker rules again (PasswordValidatorTrait: 8 characters); the front's are the ones users
 * see, as on the live service.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { FieldDeclaration } from './fields.ts';

export const PASSWORD_MIN_LENGTH = 12;
/** Longer than any password manager's default; scrypt's input stays bounded. */
export const PASSWORD_MAX_LENGTH = 1024;

/** The rules of a new password, in the order the live front checks them; each has its own message. */
export type PasswordRule = 'minLength' | 'digit' | 'lowerCase' | 'upperCase' | 'common';

let common: ReadonlySet<string> | undefined;

/** Read on first use: a worker that never sets a password never holds the list. */
function commonPasswords(): ReadonlySet<string> {
  common ??= new Set(
    readFileSync(join(import.meta.dirname, 'common-passwords.txt'), 'utf8')
      .split('\n')
      .filter((line) => line !== ''),
  );
  return common;
}

/**
 * Whether a password is, at heart, a common one: the whole of it, or what is left when the digits and symbols
 * people add to meet the rules are taken off its ends ("Password2024!" is "password"), ignoring case.
 */
export function isCommonPassword(password: string): boolean {
  const list = commonPasswords();
  const lower = password.toLowerCase();
  if (list.has(lower)) return true;
  const core = lower.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');
  return core.length >= 4 && list.has(core);
}

/** Characters as the live front's StringLength (UTF-8) counts them: code points, so an emoji is one. */
function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++, n++) if ((s.codePointAt(i) ?? 0) > 0xffff) i++;
  return n;
}

/** The first rule a new password breaks, or undefined. */
export function passwordRule(password: string): PasswordRule | undefined {
  if (codePoints(password) < PASSWORD_MIN_LENGTH) return 'minLength';
  if (!/[0-9]/.test(password)) return 'digit';
  if (!/[a-z]/.test(password)) return 'lowerCase';
  if (!/[A-Z]/.test(password)) return 'upperCase';
  if (isCommonPassword(password)) return 'common';
  return undefined;
}

/**
 * Which wording a page uses: `set` for sign-up and reset ("Your password must…"), `change` ("Choose a new password…").
 */
export type PasswordWording = 'set' | 'change';

/**
 * The new password and its confirmation as form kit fields, words from the `password` namespace. Whether the two
 * match is the page's check (`refuse` with `password.<wording>.mismatch` on the confirmation).
 */
export function newPasswordFields(wording: PasswordWording): {
  readonly password: FieldDeclaration;
  readonly password_confirm: FieldDeclaration;
} {
  const m = (key: string): string => `password:${wording}.${key}`;
  return {
    password: {
      macro: 'password',
      schema: Type.String({ maxLength: PASSWORD_MAX_LENGTH }),
      required: true,
      raw: true,
      label: m('label'),
      hint: 'password:hint',
      check: (value) => (codePoints(value) > PASSWORD_MAX_LENGTH ? 'maxLength' : passwordRule(value)),
      messages: {
        required: m('required'),
        maxLength: m('maxLength'),
        minLength: m('minLength'),
        digit: m('digit'),
        lowerCase: m('lowerCase'),
        upperCase: m('upperCase'),
        common: m('common'),
        invalid: m('required'),
      },
      params: { autocomplete: 'new-password' },
    },
    password_confirm: {
      macro: 'password',
      schema: Type.String({ maxLength: PASSWORD_MAX_LENGTH }),
      required: true,
      raw: true,
      label: m('confirmLabel'),
      messages: { required: m('confirmRequired'), maxLength: m('mismatch'), invalid: m('mismatch') },
      params: { autocomplete: 'new-password' },
    },
  };
}

/** The catalogue key for passwords that differ, shown on the confirmation field. */
export function passwordMismatchMessage(wording: PasswordWording): string {
  return `password:${wording}.mismatch`;
}
