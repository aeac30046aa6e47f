/**
 * The sign-in audit trail (ADR 0008: "we will need to log all login attempts"): exactly one structured
 * event per attempt, and one per sign-out, through the request's logger, so it carries the request id like
 * every other line.
 *
 * The account is identified by a keyed hash (HMAC-SHA256 of the lowercased email, under a key derived from
 * SESSION_SECRET with HKDF), so that attempts on one account can be correlated, and an email can be checked
 * against the log by someone holding the secret, while the log itself never holds an email address.
 * Never logged: the password, any token, the raw email.
 */
import type { FastifyRequest } from 'fastify';
import type { AccountHasher } from '../../platform/account-hash.ts';
import { createAccountHasher } from '../../platform/account-hash.ts';

export type SignInEvent =
  'auth.sign_in.success' | 'auth.sign_in.failure' | 'auth.sign_in.locked' | 'auth.sign_in.throttled';

const USER_AGENT_MAX = 200;

/** HMAC-SHA256(HKDF(secret), lowercased trimmed email), hex, first 128 bits: the platform's one account hash. */
export type UserHasher = AccountHasher;
export const createUserHasher: (secret: Buffer) => UserHasher = createAccountHasher;

export interface SignInAudit {
  readonly event: SignInEvent;
  /** null when no email was given. */
  readonly userHash: string | null;
  /** Why it failed: a backend reason, `incomplete` (an empty field) or the throttle that refused it. */
  readonly reason?: string;
}

function printable(value: string | undefined, max: number): string | undefined {
  if (value === undefined) return undefined;
  // eslint-disable-next-line no-control-regex -- control characters would forge log structure in text sinks
  return value.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, max);
}

/** The fields every audit event has, in this order. */
function auditEntry(request: FastifyRequest, event: string, userHash: string | null, extra: Record<string, unknown>) {
  const ua = request.headers['user-agent'];
  return {
    audit: true,
    event,
    userHash,
    ...extra,
    ip: request.ip,
    userAgent: printable(typeof ua === 'string' ? ua : undefined, USER_AGENT_MAX),
  };
}

export function auditSignIn(request: FastifyRequest, audit: SignInAudit): void {
  const entry = auditEntry(
    request,
    audit.event,
    audit.userHash,
    audit.reason === undefined ? {} : { reason: audit.reason },
  );
  // request.log carries `reqId` (the request id, also on the access line and error pages).
  if (audit.event === 'auth.sign_in.success') request.log.info(entry, 'sign-in attempt');
  else request.log.warn(entry, 'sign-in attempt');
}

export interface SignOutAudit {
  /**
   * The hash sign-in logged for this account. The session holds no email to hash again, so sign-in keeps its
   * hash in the session (sign-in-routes.ts USER_HASH_KEY). null when no one was signed in, or the session
   * has none (signed in by the PHP front).
   */
  readonly userHash: string | null;
  /** Whether the request carried a live signed-in identity. */
  readonly signedIn: boolean;
}

export function auditSignOut(request: FastifyRequest, audit: SignOutAudit): void {
  request.log.info(auditEntry(request, 'auth.sign_out', audit.userHash, { signedIn: audit.signedIn }), 'signed out');
}
