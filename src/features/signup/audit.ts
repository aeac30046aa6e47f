/**
 * The sign-up audit trail: one event per request that could create, activate or mail an account, through the
 * request's logger (so it carries the request id). The address is a keyed hash computed exactly as sign-in's
 * (src/features/sign-in/audit.ts: HMAC-SHA256 under an HKDF key from SESSION_SECRET, same info string), so one
 * account's events correlate across sign up and sign in; never the raw address, a password or a token.
 * (Features may not import each other, ADR 0029: the dozen lines are repeated here rather than moved now.)
 */
import { createHmac, hkdfSync } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { normaliseEmail } from '../../backends/credentials.ts';

export type SignupEvent =
  | 'account.signup.requested'
  | 'account.signup.throttled'
  | 'account.activation.resend_requested'
  | 'account.activation.resend_throttled'
  | 'account.activation.success'
  | 'account.activation.failure';

const HKDF_INFO = 'lpa-front audit user hash v1';

export type UserHasher = (email: string) => string;

export function createUserHasher(secret: Buffer): UserHasher {
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), HKDF_INFO, 32));
  return (email: string) => createHmac('sha256', key).update(normaliseEmail(email), 'utf8').digest('hex').slice(0, 32);
}

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
