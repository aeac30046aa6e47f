/**
 * The sign-up and resend-activation forms (the live front's Form/User/Registration.php and ConfirmEmail.php): the
 * body schemas only bound the shape; the fields are the form kit's, words in src/i18n/locales/en/signup.json. The
 * terms checkbox is not a kit field (the kit has no checkbox): signup.njk draws it and the route checks it.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FieldDeclaration, FieldTable } from '../../platform/forms/index.ts';
import { PASSWORD_MAX_LENGTH, newPasswordFields } from '../../platform/forms/password-rules.ts';

/** RFC 5321's longest address. */
export const EMAIL_MAX_LENGTH = 254;
/** Something, @, a domain with a dot inside it: what a mail system can deliver to (the API checks again). */
export function looksLikeEmail(value: string): boolean {
  const at = value.lastIndexOf('@');
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  return (
    at > 0 &&
    !/[\s@]/.test(local) &&
    !/[\s@]/.test(domain) &&
    domain.includes('.') &&
    !domain.startsWith('.') &&
    !domain.endsWith('.') &&
    !domain.includes('..')
  );
}

const str = (maxLength: number) => Type.Optional(Type.String({ maxLength }));

export const SignupBody = Type.Object(
  {
    email: str(EMAIL_MAX_LENGTH * 4),
    email_confirm: str(EMAIL_MAX_LENGTH * 4),
    password: str(PASSWORD_MAX_LENGTH * 4),
    password_confirm: str(PASSWORD_MAX_LENGTH * 4),
    terms: str(8),
    // The live form's hidden field for its "show password" script; accepted and ignored.
    skip_confirm_password: str(8),
    _csrf: str(256),
  },
  { additionalProperties: false },
);
export type SignupBodyType = Static<typeof SignupBody>;

export const ResendBody = Type.Object(
  {
    email: str(EMAIL_MAX_LENGTH * 4),
    email_confirm: str(EMAIL_MAX_LENGTH * 4),
    _csrf: str(256),
  },
  { additionalProperties: false },
);
export type ResendBodyType = Static<typeof ResendBody>;

function emailField(label: string): FieldDeclaration {
  return {
    macro: 'input',
    schema: Type.String({ maxLength: EMAIL_MAX_LENGTH }),
    required: true,
    label,
    check: (value) => (value.length > EMAIL_MAX_LENGTH ? 'maxLength' : looksLikeEmail(value) ? undefined : 'invalid'),
    normalise: (value) => value.toLowerCase(),
    messages: {
      required: 'signup:email.required',
      invalid: 'signup:email.invalid',
      maxLength: 'signup:email.maxLength',
    },
    params: { type: 'email', autocomplete: 'email', spellcheck: false },
  };
}

const EMAIL_CONFIRM: FieldDeclaration = {
  macro: 'input',
  schema: Type.String({ maxLength: EMAIL_MAX_LENGTH * 4 }),
  required: true,
  label: 'signup:emailConfirm.label',
  normalise: (value) => value.toLowerCase(),
  messages: {
    required: 'signup:emailConfirm.required',
    maxLength: 'signup:emailConfirm.mismatch',
    invalid: 'signup:emailConfirm.mismatch',
  },
  params: { type: 'email', autocomplete: 'off', spellcheck: false },
};

export const SIGNUP_FIELDS: FieldTable = {
  email: emailField('signup:email.label'),
  email_confirm: EMAIL_CONFIRM,
  ...newPasswordFields('set'),
};

export const RESEND_FIELDS: FieldTable = {
  email: emailField('signup:resend.emailLabel'),
  email_confirm: EMAIL_CONFIRM,
};

export const MESSAGES = {
  emailMismatch: 'signup:emailConfirm.mismatch',
  termsRequired: 'signup:terms.required',
  invalidEmail: 'signup:email.invalid',
  invalidPassword: 'signup:invalidPassword',
} as const;
