/**
 * The fields of the three password pages, as the live forms have them (service-front Form/User/ConfirmEmail.php,
 * SetPassword.php, ChangePassword.php), words in src/i18n/locales/en/passwordPages.json and password.json.
 * Body schemas only bound the shape (strings, sizes, no unknown fields).
 */
import { Type } from '@sinclair/typebox';
import type { FieldTable } from '../../platform/forms/index.ts';
import { PASSWORD_MAX_LENGTH, newPasswordFields } from '../../platform/forms/password-rules.ts';

const EMAIL_MAX = 320;
/** What the live EmailAddress validator accepts, roughly: something@something.tld, no spaces. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const text = (max: number) => Type.Optional(Type.String({ maxLength: max }));

export const ForgotBody = Type.Object(
  { email: text(EMAIL_MAX), email_confirm: text(EMAIL_MAX), _csrf: text(256) },
  { additionalProperties: false },
);
export const ResetBody = Type.Object(
  { password: text(PASSWORD_MAX_LENGTH * 4), password_confirm: text(PASSWORD_MAX_LENGTH * 4), _csrf: text(256) },
  { additionalProperties: false },
);
export const ChangeBody = Type.Object(
  {
    password_current: text(PASSWORD_MAX_LENGTH * 4),
    password: text(PASSWORD_MAX_LENGTH * 4),
    password_confirm: text(PASSWORD_MAX_LENGTH * 4),
    _csrf: text(256),
  },
  { additionalProperties: false },
);

export const FORGOT_FIELDS = {
  email: {
    macro: 'input',
    schema: Type.String({ maxLength: EMAIL_MAX }),
    required: true,
    label: 'passwordPages:forgot.email.label',
    check: (value) => (EMAIL.test(value) ? undefined : 'invalid'),
    normalise: (value) => value.toLowerCase(),
    messages: {
      required: 'passwordPages:forgot.email.required',
      invalid: 'passwordPages:forgot.email.invalid',
      maxLength: 'passwordPages:forgot.email.invalid',
    },
    params: { type: 'email', autocomplete: 'email', spellcheck: false },
  },
  email_confirm: {
    macro: 'input',
    schema: Type.String({ maxLength: EMAIL_MAX }),
    required: true,
    label: 'passwordPages:forgot.emailConfirm.label',
    normalise: (value) => value.toLowerCase(),
    messages: {
      required: 'passwordPages:forgot.emailConfirm.required',
      maxLength: 'passwordPages:forgot.emailConfirm.mismatch',
      invalid: 'passwordPages:forgot.emailConfirm.mismatch',
    },
    params: { type: 'email', autocomplete: 'off', spellcheck: false },
  },
} as const satisfies FieldTable;

export const EMAIL_MISMATCH = 'passwordPages:forgot.emailConfirm.mismatch';

const setFields = newPasswordFields('set');
/** The reset page's labels are the live page's ("Password", "Confirm password"); its messages the `set` wording. */
export const RESET_FIELDS = {
  password: { ...setFields.password, label: 'passwordPages:reset.passwordLabel' },
  password_confirm: { ...setFields.password_confirm, label: 'passwordPages:reset.confirmLabel' },
} as const satisfies FieldTable;

export const CHANGE_FIELDS = {
  password_current: {
    macro: 'password',
    schema: Type.String({ maxLength: PASSWORD_MAX_LENGTH * 4 }),
    required: true,
    raw: true,
    label: 'passwordPages:change.current.label',
    messages: {
      required: 'passwordPages:change.current.required',
      maxLength: 'passwordPages:change.current.incorrect',
      invalid: 'passwordPages:change.current.incorrect',
    },
    params: { autocomplete: 'current-password' },
  },
  ...newPasswordFields('change'),
} as const satisfies FieldTable;

export const WRONG_PASSWORD = 'passwordPages:change.current.incorrect';
export const REFUSED_PASSWORD = 'passwordPages:refused';
