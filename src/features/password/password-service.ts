/**
 * What the password pages do besides the page (issue 22): ask for a reset and send the email that says what
 * happened, set a new password from a reset link, change it when signed in; and, on a reset or a change, sign out
 * every other session of the account through the one revocation mechanism (ADR 0019, ADR 0047).
 *
 * - No enumeration: `requestReset` takes the same time whatever it found (evenTime, ACCOUNT_ANSWER_FLOOR_MS) and
 *   answers nothing; the email tells the owner: a reset link, an activation link (account not activated yet), or
 *   "no account" with the sign-up link, as the live front's UserDetails::requestPasswordResetEmail sends them.
 * - Throttles with counters of their own (`password-reset:*` keys, never sign-in's): a flood of resets for an
 *   address cannot lock its owner's sign-in. A throttled request is answered like any other, and sends nothing.
 * - Audit: one line per event, keyed hash of the email (password-audit.ts).
 */
import type { FastifyRequest } from 'fastify';
import type { AccountsBackend } from '../../backends/accounts.ts';
import { ACCOUNT_TOKEN_LIFETIME_SECONDS } from '../../backends/accounts.ts';
import { TOKEN_LIFETIME_SECONDS } from '../../backends/credentials.ts';
import type { MailOutbox } from '../../backends/mail-outbox.ts';
import { PATHS, TOKEN_PATHS, resetPasswordPath } from '../../paths.ts';
import { evenTime } from '../../platform/even-time.ts';
import type { SignedInUser } from '../../platform/auth-guard.ts';
import type { RevocationStore } from '../../sessions/revocation-store.ts';
import { ACCOUNT_INDEX_SECONDS } from '../../sessions/revocation-store.ts';
import type { AccountHasher } from './password-audit.ts';
import { auditPassword } from './password-audit.ts';

/** The part of the throttle store contract this feature uses (src/sessions/redis-throttle-store.ts keeps it). */
export interface HitCounter {
  hit(key: string, windowSeconds: number): Promise<number>;
}

export interface ResetLimits {
  /** Reset requests per recipient (the keyed hash of the address) in the window. */
  readonly perRecipient: number;
  /** Reset requests per source address in the window. */
  readonly perSource: number;
  readonly windowSeconds: number;
}

export const DEFAULT_RESET_LIMITS: ResetLimits = { perRecipient: 5, perSource: 30, windowSeconds: 3600 };

export interface PasswordServiceOptions {
  readonly accounts: AccountsBackend;
  readonly mail: Pick<MailOutbox, 'send'>;
  readonly revocations: RevocationStore;
  readonly throttle: HitCounter;
  readonly hashAccount: AccountHasher;
  /** PUBLIC_ORIGIN: email links are absolute. */
  readonly publicOrigin: string;
  readonly answerFloorMs: number;
  readonly limits?: Partial<ResetLimits>;
}

/** The live front's activation link (register/confirm); the sign-up pages declare it in PATHS when they land. */
const ACTIVATION_PATH = TOKEN_PATHS.signupConfirm;

export type ChangeOutcome = 'changed' | 'wrong-password' | 'invalid-password' | 'signed-out';

export interface PasswordService {
  /** Resolves after the floor whatever happened; the caller answers the same page every time. */
  requestReset(email: string, request: FastifyRequest): Promise<void>;
  reset(
    token: string,
    newPassword: string,
    request: FastifyRequest,
  ): Promise<'changed' | 'invalid-token' | 'invalid-password'>;
  /** On 'changed', `user`'s session must take the new token (`replaced`). */
  change(
    user: SignedInUser,
    currentPassword: string,
    newPassword: string,
    request: FastifyRequest,
  ): Promise<{ outcome: ChangeOutcome; replaced?: { token: string; expiresAt: Date } }>;
}

export function createPasswordService(options: PasswordServiceOptions): PasswordService {
  const { accounts, mail, revocations, throttle, hashAccount } = options;
  const limits: ResetLimits = { ...DEFAULT_RESET_LIMITS, ...options.limits };
  const link = (path: string) => new URL(path, options.publicOrigin).href;

  return {
    requestReset(email, request) {
      return evenTime(options.answerFloorMs, async () => {
        const userHash = hashAccount(email);
        const bySource = await throttle.hit(`password-reset:source:${request.ip}`, limits.windowSeconds);
        const byRecipient =
          bySource > limits.perSource
            ? 0
            : await throttle.hit(`password-reset:recipient:${userHash}`, limits.windowSeconds);
        if (bySource > limits.perSource || byRecipient > limits.perRecipient) {
          auditPassword(request, 'account.password_reset.throttled', userHash, {
            by: bySource > limits.perSource ? 'source' : 'recipient',
          });
          return;
        }
        const found = await accounts.requestPasswordReset(email, request.id);
        if (found.outcome === 'reset') {
          // Indexed under the account, so the reset can find (and sign out) the account's sessions (ADR 0047).
          await revocations.remember(userHash, found.token, ACCOUNT_TOKEN_LIFETIME_SECONDS);
          await mail.send({
            to: email,
            template: 'passwordReset',
            personalisation: { forgotPasswordUrl: link(resetPasswordPath(found.token)) },
          });
        } else if (found.outcome === 'not-activated') {
          await mail.send({
            to: email,
            template: 'accountActivate',
            personalisation: { activateAccountUrl: link(ACTIVATION_PATH + found.activationToken) },
          });
        } else {
          await mail.send({
            to: email,
            template: 'passwordResetNoAccount',
            personalisation: { signUpUrl: link(PATHS.signup) },
          });
        }
        auditPassword(request, 'account.password_reset.requested', userHash, { outcome: found.outcome });
      });
    },

    async reset(token, newPassword, request) {
      // Read before the reset: the account whose sessions end with it (the token was indexed when it was emailed).
      const account = await revocations.accountOf(token);
      const result = await accounts.resetPassword(token, newPassword, request.id);
      if (result !== 'changed') {
        auditPassword(request, 'account.password_reset.refused', account, { reason: result });
        return result;
      }
      const signedOut = account === null ? 0 : await revocations.revokeAccount(account, null, TOKEN_LIFETIME_SECONDS);
      auditPassword(request, 'account.password_reset.completed', account, { tokensRevoked: signedOut });
      return result;
    },

    async change(user, currentPassword, newPassword, request) {
      const details = await accounts.getDetails(user.userId, user.token, request.id);
      if (details === null) return { outcome: 'signed-out' };
      const userHash = hashAccount(details.email);
      const result = await accounts.changePassword(user.userId, user.token, currentPassword, newPassword, request.id);
      if (!result.ok) {
        auditPassword(request, 'account.password_change.refused', userHash, { reason: result.reason });
        return { outcome: result.reason === 'invalid-token' ? 'signed-out' : result.reason };
      }
      // This session's old token ended with the change (the backend replaced it): refused here at once too; the new
      // one is indexed, and every other token of the account is refused (ADR 0047).
      await revocations.revoke(user.token, TOKEN_LIFETIME_SECONDS);
      await revocations.remember(userHash, result.token, ACCOUNT_INDEX_SECONDS);
      const signedOut = await revocations.revokeAccount(userHash, result.token, TOKEN_LIFETIME_SECONDS);
      await mail.send({ to: details.email, template: 'passwordChanged', personalisation: { email: details.email } });
      auditPassword(request, 'account.password_change.completed', userHash, { tokensRevoked: signedOut });
      return { outcome: 'changed', replaced: { token: result.token, expiresAt: result.expiresAt } };
    },
  };
}
