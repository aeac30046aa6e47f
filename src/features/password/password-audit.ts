/**
 * The password pages' audit trail: one structured line per account event (a reset asked for, throttled, used or
 * refused; a password changed or refused), through the request's logger so it carries the request id.
 *
 * The account is the same keyed hash as sign-in's audit lines (HMAC-SHA256 of the lowercased email under a key
 * derived from SESSION_SECRET with the same HKDF info), so one account's sign-ins and resets can be correlated.
 * Never logged: an email, a password, a token.
 */
import type { FastifyRequest } from 'fastify';

export type PasswordEvent =
  | 'account.password_reset.requested'
  | 'account.password_reset.throttled'
  | 'account.password_reset.completed'
  | 'account.password_reset.refused'
  | 'account.password_change.completed'
  | 'account.password_change.refused';

// The platform's one account hash, so this trail names an account as sign-in's does.
export type { AccountHasher } from '../../platform/account-hash.ts';
export { createAccountHasher } from '../../platform/account-hash.ts';

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
