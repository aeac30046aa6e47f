/**
 * The sign-in form: the body schema only bounds the shape (strings, sizes, no unknown fields); the fields are the
 * form kit's (ADR 0031), so empty fields are GOV.UK messages on the form, as the live service words them (keys into
 * src/i18n/locales/en/signIn.json).
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FieldTable } from '../../platform/forms/index.ts';

export const SignInBody = Type.Object(
  {
    email: Type.Optional(Type.String({ maxLength: 320 })),
    password: Type.Optional(Type.String({ maxLength: 1024 })),
    _csrf: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);

export type SignInBodyType = Static<typeof SignInBody>;

/** Catalogue keys of the form's own messages. */
export const MESSAGES = {
  emailMissing: 'signIn:email.required',
  passwordMissing: 'signIn:password.required',
} as const;

/** Email trimmed and shown back; password exactly as typed (`raw`: never trimmed, never shown back). */
export const SIGN_IN_FIELDS = {
  email: {
    macro: 'input',
    schema: Type.String({ maxLength: 320 }),
    required: true,
    label: 'signIn:email.label',
    messages: { required: MESSAGES.emailMissing },
    params: { type: 'email', autocomplete: 'email', spellcheck: false },
  },
  password: {
    macro: 'password',
    schema: Type.String({ maxLength: 1024 }),
    required: true,
    raw: true,
    label: 'signIn:password.label',
    messages: { required: MESSAGES.passwordMissing },
    params: { autocomplete: 'current-password' },
  },
} as const satisfies FieldTable;
