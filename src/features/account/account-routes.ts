/**
 * The account pages (issue 22, ADR 0049), as the live front has them (service-front ChangeEmailAddressHandler,
 * VerifyEmailAddressHandler, DeleteAccountHandler, DeleteAccountConfirmHandler, DeletedAccountHandler):
 *
 * - `GET|POST /user/change-email-address` (signed in): the current password, checked by signing in again as the live
 *   form does (the new token replaces the session's, the old one ends, ADR 0019); then the backend issues a
 * single-use token, the old address is told and the new one gets the link. The "email sent" page is the POST's answer.
 * - `GET /user/change-email-address/verify/:token` (public, as live): spends the token, then, as live, signs out and
 *   empties the session; success goes to sign-in with a message, any failure to one GOV.UK page. `no-referrer`; a
 *   HEAD (a mail scanner) spends nothing.
 * - `GET|POST /user/delete`: the warning page; its "Yes" is a CSRF-checked POST to `/user/delete/confirm`.
 * - `POST /user/delete/confirm` deletes (`GET` too when it is a link followed on this site, as the live page's link
 *   is; any other GET gets the warning page back, ADR 0049); the sign-in ends on the deny-list, the session is
 *   destroyed, then `/deleted`.
 * - `GET /deleted` (public): the live page; a session left with no one signed in is destroyed, as live clears it.
 *
 * Every event is audited with the account's keyed hash (account-audit.ts). Tokens are never logged.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountsBackend } from '../../backends/accounts.ts';
import type { CredentialBackend } from '../../backends/credentials.ts';
import { CredentialBackendError } from '../../backends/credentials.ts';
import type { MailOutbox } from '../../backends/mail-outbox.ts';
import { PATHS, TOKEN_PATHS, tokenRoute } from '../../paths.ts';
import type { SignedInUser } from '../../platform/auth-guard.ts';
import { httpError } from '../../platform/http-error.ts';
import { linkFollowed } from '../../platform/link-followed.ts';
import type { FormPage } from '../../platform/forms/index.ts';
import { checkFields, pageLanguage, refusalErrors, renderForm, setFlash } from '../../platform/forms/index.ts';
import type { Checked } from '../../platform/forms/fields.ts';
import { requireSession } from '../../platform/session.ts';
import { SESSION_KEYS } from '../../sessions/session-store.ts';
import { auditAccount } from './account-audit.ts';
import type { ChangeEmailBodyType } from './account-schema.ts';
import { CHANGE_EMAIL_FIELDS, ChangeEmailBody, MESSAGES, TOKEN_PATTERN } from './account-schema.ts';

const CHANGE_EMAIL_PAGE: FormPage = {
  template: 'account/change-email.njk',
  title: 'account:changeEmail.title',
  action: PATHS.changeEmail,
  button: 'account:changeEmail.button',
  fields: CHANGE_EMAIL_FIELDS,
  names: Object.keys(CHANGE_EMAIL_FIELDS),
};

const USER_HASH_PATTERN = /^[0-9a-f]{32}$/;

/**
 * What the account pages use of sign-in (src/features/sign-in), handed in by app.ts: a feature never imports another.
 */
export interface SignInParts {
  /** Sign-in's keyed hash of an address (audit.ts createUserHasher). */
  readonly userHash: (email: string) => string;
  /** The session key where sign-in keeps the signed-in account's hash (USER_HASH_KEY). */
  readonly userHashKey: string;
  /** The session's identity record as the PHP front writes it (identity.ts newIdentity). */
  readonly newIdentity: (userId: string, token: string, expiresAt: Date, lastLogin: Date | null) => object;
  /**
   * The one way a sign-in ends (identity.ts revokeSignIn): the deny-list (src/sessions/revocation-store.ts), then the
   * backend.
   */
  readonly endSignIn: (user: SignedInUser, traceId: string) => Promise<boolean>;
}

export interface AccountRoutesOptions {
  readonly accounts: AccountsBackend;
  readonly credentials: CredentialBackend;
  readonly mail: Pick<MailOutbox, 'send'>;
  readonly signIn: SignInParts;
  /** PUBLIC_ORIGIN's origin: the links in emails, and the Referer a same-site GET of the confirm link carries. */
  readonly publicOrigin: string;
  /**
   * What else goes with the account once it is deleted (the user's evidence files: ADR 0040). Called after the
   * deletion; a failure is logged and retention removes what is left, so the deletion itself never fails on it.
   */
  readonly onDeleted?: (userId: string) => Promise<unknown>;
}

function signedInUser(request: FastifyRequest): SignedInUser {
  if (request.user === undefined) throw httpError(401, 'signed-in route reached without a user');
  return request.user;
}

/** The backend no longer accepts the token: sign out and say why (as the user pages do). */
function tokenRejected(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  requireSession(request).delete(SESSION_KEYS.identity);
  return reply.redirect(PATHS.loginTimeout, 303);
}

export default async function accountRoutes(app: FastifyInstance, options: AccountRoutesOptions): Promise<void> {
  const { accounts, credentials, mail, signIn } = options;

  /** The account's hash as sign-in kept it in the session, or null. */
  function sessionUserHash(request: FastifyRequest): string | null {
    const stored = requireSession(request).get(signIn.userHashKey);
    return typeof stored === 'string' && USER_HASH_PATTERN.test(stored) ? stored : null;
  }

  function renderChangeEmail(
    request: FastifyRequest,
    reply: FastifyReply,
    currentEmail: string,
    values: Record<string, string>,
    errors?: Pick<Checked, 'errors' | 'fieldErrors'>,
    status?: number,
  ): FastifyReply {
    return renderForm(request, reply, CHANGE_EMAIL_PAGE, values, errors, {
      ...(status === undefined ? {} : { status }),
      context: { currentEmail },
    });
  }

  app.get(PATHS.changeEmail, async (request, reply) => {
    const user = signedInUser(request);
    const details = await accounts.getDetails(user.userId, user.token, request.id);
    if (details === null) return tokenRejected(request, reply);
    return renderChangeEmail(request, reply, details.email, {});
  });

  app.post<{ Body: ChangeEmailBodyType }>(
    PATHS.changeEmail,
    { schema: { body: ChangeEmailBody } },
    async (request, reply) => {
      const user = signedInUser(request);
      const details = await accounts.getDetails(user.userId, user.token, request.id);
      if (details === null) return tokenRejected(request, reply);
      const currentEmail = details.email;
      const language = pageLanguage(request, reply, request.server.words);
      const checked = checkFields(CHANGE_EMAIL_FIELDS, CHANGE_EMAIL_PAGE.names, request.body, language.t);
      const { values, normalised } = checked;
      const refuse = (field: string, message: string, status = 400) =>
        renderChangeEmail(
          request,
          reply,
          currentEmail,
          values,
          refusalErrors({ refuse: [{ field, message }] }, language.t),
          status,
        );

      // Identical, as the live form: the confirmation must match the address as typed.
      if (
        checked.fieldErrors.email_confirm === undefined &&
        checked.fieldErrors.email === undefined &&
        values.email !== values.email_confirm
      ) {
        const text = language.t(MESSAGES.mismatch);
        return renderChangeEmail(request, reply, currentEmail, values, {
          errors: [...checked.errors, { text, href: '#email_confirm' }],
          fieldErrors: { ...checked.fieldErrors, email_confirm: text },
        });
      }
      if (checked.errors.length > 0) return renderChangeEmail(request, reply, currentEmail, values, checked);

      const accountHash = signIn.userHash(currentEmail);
      const newEmail = normalised.email ?? '';
      // The current password, checked as the live form checks it: by signing in again (AuthenticationService::verify).
      const auth = await credentials.authenticate(currentEmail, normalised.password_current ?? '', request.id);
      if (!auth.ok) {
        if (auth.reason === 'api-error') throw new CredentialBackendError('sign-in check failed on change of address');
        auditAccount(request, {
          event: 'account.email_change.refused',
          userHash: accountHash,
          reason: auth.reason === 'locked' ? 'locked' : 'wrong-password',
        });
        return refuse('password_current', MESSAGES.passwordIncorrect);
      }
      // As live, the new sign-in replaces the session's (the API keeps one token per user); the old one ends (ADR
      // 0019).
      const session = requireSession(request);
      session.set(SESSION_KEYS.identity, signIn.newIdentity(auth.userId, auth.token, auth.expiresAt, auth.lastLogin));
      if (auth.token !== user.token) await signIn.endSignIn(user, request.id);
      request.user = { userId: auth.userId, token: auth.token, tokenExpiresAt: auth.expiresAt };

      const result = await accounts.requestEmailChange(auth.userId, auth.token, newEmail, request.id);
      if (!result.ok) {
        if (result.reason === 'invalid-token') return tokenRejected(request, reply);
        auditAccount(request, { event: 'account.email_change.refused', userHash: accountHash, reason: result.reason });
        return refuse(
          'email',
          result.reason === 'same-email'
            ? MESSAGES.sameEmail
            : result.reason === 'email-taken'
              ? MESSAGES.emailTaken
              : MESSAGES.invalidEmail,
        );
      }
      // The old address is told first, then the new one gets the link (UserDetails::requestEmailUpdate); both durable.
      await mail.send({ to: currentEmail, template: 'newEmailNotify', personalisation: { newEmailAddress: newEmail } });
      await mail.send({
        to: newEmail,
        template: 'newEmailVerify',
        personalisation: {
          changeEmailAddressUrl: `${options.publicOrigin}${TOKEN_PATHS.changeEmailVerify}${result.token}`,
        },
      });
      auditAccount(request, {
        event: 'account.email_change.requested',
        userHash: accountHash,
        newUserHash: signIn.userHash(newEmail),
      });
      return reply.view('account/change-email-sent.njk', { email: newEmail });
    },
  );

  app.get<{ Params: { token: string } }>(tokenRoute(TOKEN_PATHS.changeEmailVerify), async (request, reply) => {
    // The token must not leave in a Referer from this page (its links, its assets).
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cache-control', 'no-store');
    // A HEAD (a mail scanner, a link checker) spends nothing.
    if (request.method === 'HEAD') return reply.view('account/verify-failed.njk', {}, 200);
    const token = request.params.token;
    const outcome = TOKEN_PATTERN.test(token) ? await accounts.verifyEmailChange(token, request.id) : 'invalid-token';
    // As live (VerifyEmailAddressHandler): whoever was signed in here is signed out, and the session starts empty.
    const session = requireSession(request);
    const userHash = request.user === undefined ? null : sessionUserHash(request);
    if (request.user !== undefined) await signIn.endSignIn(request.user, request.id);
    session.regenerateEmpty();
    // The page is a signed-out one (no sign-out button, no timeout warning that would see the session end).
    request.user = undefined;
    if (outcome === 'changed') {
      auditAccount(request, { event: 'account.email_change.verified', userHash });
      setFlash(request, 'account:changeEmail.verified');
      return reply.redirect(PATHS.login, 303);
    }
    auditAccount(request, { event: 'account.email_change.verify_failed', userHash, reason: outcome });
    return reply.view('account/verify-failed.njk', {}, 400);
  });

  const showDelete = (_request: FastifyRequest, reply: FastifyReply) => reply.view('account/delete.njk', {});
  app.get(PATHS.deleteAccount, showDelete);
  // The live route takes POST too and shows the same page; the platform has checked its CSRF token.
  app.post(PATHS.deleteAccount, showDelete);

  async function deleteAccount(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const user = signedInUser(request);
    const userHash = sessionUserHash(request);
    let deleted: boolean;
    try {
      deleted = await accounts.deleteAccount(user.userId, user.token, request.id);
    } catch (err) {
      auditAccount(request, { event: 'account.delete.failure', userHash, reason: 'backend-error' });
      request.log.error({ err, event: 'account.delete.backend_error' }, 'the account could not be deleted');
      return reply.view('account/delete.njk', { failed: true }, 500);
    }
    if (!deleted) {
      auditAccount(request, { event: 'account.delete.failure', userHash, reason: 'invalid-token' });
      return tokenRejected(request, reply);
    }
    auditAccount(request, { event: 'account.delete.success', userHash });
    if (options.onDeleted !== undefined) {
      await options.onDeleted(user.userId).catch((err: unknown) => {
        request.log.error(
          { err, event: 'account.delete.cleanup_failed' },
          "the account's other data could not all be removed",
        );
      });
    }
    // The token goes on the deny-list at once (every instance); the backend has ended the account's sign-ins.
    await signIn.endSignIn(user, request.id);
    requireSession(request).destroy();
    request.user = undefined;
    return reply.redirect(PATHS.deleted, 303);
  }

  app.post(PATHS.deleteAccountConfirm, deleteAccount);
  app.get(PATHS.deleteAccountConfirm, (request, reply) => {
    // The live page's link followed on this site; a typed or bookmarked URL does not delete.
    if (request.method === 'GET' && linkFollowed(request, options.publicOrigin, { typed: false }))
      return deleteAccount(request, reply);
    return reply.view('account/delete.njk', {});
  });

  app.get(PATHS.deleted, (request, reply) => {
    const session = requireSession(request);
    // As live, what is left of the session goes; never a signed-in one (a GET from anywhere must not sign anyone out).
    if (request.method === 'GET' && request.user === undefined && !session.isNew) session.destroy();
    return reply.view('account/deleted.njk', {});
  });
}
