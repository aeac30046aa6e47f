/**
 * The sign-in form. The body schema only bounds the shape (strings, sizes, no unknown fields); empty
 * fields are not schema errors but GOV.UK-style messages on the form, as the live service words them.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

export const SignInBody = Type.Object({
  email: Type.Optional(Type.String({ maxLength: 320 })),
  password: Type.Optional(Type.String({ maxLength: 1024 })),
  _csrf: Type.Optional(Type.String({ maxLength: 256 })),
}, { additionalProperties: false });

export type SignInBodyType = Static<typeof SignInBody>;

export interface FieldError {
  readonly text: string;
  readonly href: string;
}

export const MESSAGES = {
  emailMissing: 'Enter your email address',
  passwordMissing: 'Enter your password',
} as const;

export interface SignInInput {
  /** Trimmed, as typed otherwise (shown back on the form). */
  readonly email: string;
  /** Exactly as typed: never trimmed, never shown back. */
  readonly password: string;
}

export function readSignIn(body: SignInBodyType): { input: SignInInput; errors: FieldError[] } {
  const email = (body.email ?? '').trim();
  const password = body.password ?? '';
  const errors: FieldError[] = [];
  if (email === '') errors.push({ text: MESSAGES.emailMissing, href: '#email' });
  if (password.length === 0) errors.push({ text: MESSAGES.passwordMissing, href: '#password' });
  return { input: { email, password }, errors };
}
