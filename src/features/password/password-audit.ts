/**
 * The password pages' audit trail: one structured line per account event (a reset asked for, throttled, used or
 * refused; a password changed or refused), through the request's logger so it carries the request id.
 *
 * The account is the same keyed hash as sign-in's audit lines (HMAC-SHA256 of the lowercased email under a key
 * derived from SESSION_SECRET with the same HKDF info), so one account's sign-ins and resets can be correlated.
 * Never logged: an email, a password, a token.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { normaliseEmail } from '../../backends/credentials.ts';

export type PasswordEvent =
  | 'account.password_reset.requested'
  | 'account.password_reset.throttled'
  | 'account.password_reset.completed'
  | 'account.password_reset.refused'
  | 'account.password_change.completed'
  | 'account.password_change.refused';

/** Must stay sign-in's (src/features/sign-in/audit.ts), so the two trails name an account alike. */
const HKDF_INFO = 'lpa-front audit user hash v1';
const HASH_HEX_CHARS = 32;

export type AccountHasher = (email: string) => string;

export function createAccountHasher(secret: Buffer): AccountHasher {
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), HKDF_INFO, 32));
  return (email) =>
    createHmac('sha256', key).update(normaliseEmail(email), 'utf8').digest('hex').slice(0, HASH_HEX_CHARS);
}

export function auditPassword(
  request: FastifyRequest,
  event: PasswordEvent,
  userHash: string | null,
  extra: Readonly<Record<string, string | number>> = {},
): void {
  const entry = { audit: true, event, userHash, ...extra, ip: request.ip };
  if (event.endsWith('.refused') || event.endsWith('.throttled')) request.log.warn(entry, 'account event');
  else request.log.info(entry, 'account event');
}
