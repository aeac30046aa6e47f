/**
 * The account audit trail (issue 22): one structured line per account event, through the request's logger (so it
 * carries the request id), in the same shape as sign-in's (src/features/sign-in/audit.ts): `audit: true`, the event,
 * the account as a keyed hash (never an email), then the source address and user agent. The hash function is
 * sign-in's own, handed in by app.ts, so a change of address and a sign-in of the same account correlate.
 * Never logged: a password, a token, an email address.
 */
import type { FastifyRequest } from 'fastify';

export type AccountEvent =
  | 'account.email_change.requested'
  | 'account.email_change.refused'
  | 'account.email_change.verified'
  | 'account.email_change.verify_failed'
  | 'account.delete.success'
  | 'account.delete.failure';

const USER_AGENT_MAX = 200;

function printable(value: string | undefined, max: number): string | undefined {
  if (value === undefined) return undefined;
  // eslint-disable-next-line no-control-regex -- control characters would forge log structure in text sinks
  return value.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, max);
}

export interface AccountAudit {
  readonly event: AccountEvent;
  /** The account's keyed hash; null when the page cannot know whose account it is (a link opened signed out). */
  readonly userHash: string | null;
  /** A change of address: the new address's keyed hash. */
  readonly newUserHash?: string;
  readonly reason?: string;
}

export function auditAccount(request: FastifyRequest, audit: AccountAudit): void {
  const ua = request.headers['user-agent'];
  const entry = {
    audit: true,
    event: audit.event,
    userHash: audit.userHash,
    ...(audit.newUserHash === undefined ? {} : { newUserHash: audit.newUserHash }),
    ...(audit.reason === undefined ? {} : { reason: audit.reason }),
    ip: request.ip,
    userAgent: printable(typeof ua === 'string' ? ua : undefined, USER_AGENT_MAX),
  };
  if (audit.event.endsWith('failure') || audit.event.endsWith('failed') || audit.event.endsWith('refused'))
    request.log.warn(entry, 'account event');
  else request.log.info(entry, 'account event');
}
