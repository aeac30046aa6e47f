/**
 * The sign-up audit trail: one event per request that could create, activate or mail an account, through the
 * request's logger (so it carries the request id). The address is a keyed hash computed exactly as sign-in's
 * (src/features/sign-in/audit.ts: HMAC-SHA256 under an HKDF key from SESSION_SECRET, same info string), so one
 * account's events correlate across sign up and sign in; never the raw address, a password or a token.
 * The hash itself is the platform's (src/platform/account-hash.ts).
 */
import type { FastifyRequest } from 'fastify';
import type { AccountHasher } from '../../platform/account-hash.ts';
import { createAccountHasher } from '../../platform/account-hash.ts';

export type SignupEvent =
  | 'account.signup.requested'
  | 'account.signup.throttled'
  | 'account.activation.resend_requested'
  | 'account.activation.resend_throttled'
  | 'account.activation.success'
  | 'account.activation.failure';

export type UserHasher = AccountHasher;
export const createUserHasher: (secret: Buffer) => UserHasher = createAccountHasher;

export function auditSignup(
  request: FastifyRequest,
  event: SignupEvent,
  userHash: string | null,
  extra: Record<string, string> = {},
): void {
  const entry = { audit: true, event, userHash, ...extra, ip: request.ip };
  if (event.endsWith('throttled') || event.endsWith('failure')) request.log.warn(entry, 'account event');
  else request.log.info(entry, 'account event');
}
