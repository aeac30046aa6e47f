/**
 * The change-email form (the live ChangeEmailAddress form, service-front/src/App/src/Form/User/ChangeEmailAddress.php):
 * the current password, the new address and its confirmation, with the live service's messages (words in
 * src/i18n/locales/en/account.json). The body schema only bounds the shape; the fields are the form kit's.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FieldTable } from '../../platform/forms/index.ts';

export const ChangeEmailBody = Type.Object(
  {
    password_current: Type.Optional(Type.String({ maxLength: 1024 })),
    email: Type.Optional(Type.String({ maxLength: 320 })),
    email_confirm: Type.Optional(Type.String({ maxLength: 320 })),
    _csrf: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);

export type ChangeEmailBodyType = Static<typeof ChangeEmailBody>;

/** Catalogue keys of the messages the page gives besides the fields' own. */
export const MESSAGES = {
  passwordIncorrect: 'account:changeEmail.password.incorrect',
  mismatch: 'account:changeEmail.confirm.mismatch',
  sameEmail: 'account:changeEmail.email.same',
  emailTaken: 'account:changeEmail.email.taken',
  invalidEmail: 'account:changeEmail.email.invalid',
} as const;

/** An address as the live EmailAddressValidator accepts it, near enough: something@domain.tld, no spaces. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const CHANGE_EMAIL_FIELDS = {
  password_current: {
    macro: 'password',
    schema: Type.String({ maxLength: 1024 }),
    required: true,
    raw: true,
    label: 'account:changeEmail.password.label',
    messages: { required: 'account:changeEmail.password.required', maxLength: MESSAGES.passwordIncorrect },
    params: { autocomplete: 'current-password' },
  },
  email: {
    macro: 'input',
    schema: Type.String({ maxLength: 320 }),
    required: true,
    label: 'account:changeEmail.email.label',
    messages: {
      required: 'account:changeEmail.email.required',
      maxLength: MESSAGES.invalidEmail,
      invalid: MESSAGES.invalidEmail,
    },
    check: (value) => (value.length > 320 ? 'maxLength' : EMAIL.test(value) ? undefined : 'invalid'),
    normalise: (value) => value.toLowerCase(),
    params: { type: 'email', autocomplete: 'email', spellcheck: false },
  },
  email_confirm: {
    macro: 'input',
    schema: Type.String({ maxLength: 320 }),
    required: true,
    label: 'account:changeEmail.confirm.label',
    messages: { required: 'account:changeEmail.confirm.required', maxLength: MESSAGES.mismatch },
    normalise: (value) => value.toLowerCase(),
    params: { type: 'email', autocomplete: 'off', spellcheck: false },
  },
} as const satisfies FieldTable;

/** A token as this front and the API make them (base64url or alphanumeric, 16 to 256 characters). */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,256}$/;
