/**
 * The password pages, as the live front has them (service-front Handler/ForgotPasswordHandler.php,
 * ResetPasswordHandler.php, ChangePasswordHandler.php and their templates):
 *
 * - GET|POST /forgot-password: email and its confirmation; a valid POST answers "Thank you" (200, the same URL)
 * whatever
 *   the address is, in the same time (password-service.ts). Signed in: off to the dashboard, as live.
 * - GET|POST /forgot-password/reset/:token: a new password twice; success flashes "Password successfully reset" and
 *   goes to /login. A malformed, used or expired token gets "That password link does not work". Signed in: that
 *   sign-in ends (as at sign-out) and the same link is shown signed out, as live. `Referrer-Policy: no-referrer`, so
 *   the token never leaves in a Referer; the token is never logged (it is in the path: logging.ts redacts paths).
 * - GET|POST /user/change-password (signed in, on the kit): current password, new password twice; success flashes
 *   the live message and goes to /user/about-you, with this session on the new token and every other one signed out.
 *
 * Hand-written routes for the first two (a page answered in place, a path with a token), rendered from the kit's
 * field tables (renderForm, renderFormPage, checkFields), like sign-in; the third is a kit form (addForm).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CredentialBackend } from '../../backends/credentials.ts';
import { TOKEN_LIFETIME_SECONDS, phpIsoDate } from '../../backends/credentials.ts';
import { PATHS, TOKEN_PATHS, resetPasswordPath, tokenRoute } from '../../paths.ts';
import type { FormPage } from '../../platform/forms/index.ts';
import type { Checked } from '../../platform/forms/fields.ts';
import {
  addForm,
  checkFields,
  defineForm,
  pageLanguage,
  refusalErrors,
  renderForm,
  renderFormPage,
  setFlash,
} from '../../platform/forms/index.ts';
import { passwordMismatchMessage } from '../../platform/forms/password-rules.ts';
import type { RevocationStore } from '../../sessions/revocation-store.ts';
import { SESSION_KEYS } from '../../sessions/session-store.ts';
import type { HitCounter, PasswordServiceOptions } from './password-service.ts';
import { createPasswordService } from './password-service.ts';
import { createAccountHasher } from './password-audit.ts';
import {
  CHANGE_FIELDS,
  ChangeBody,
  EMAIL_MISMATCH,
  FORGOT_FIELDS,
  ForgotBody,
  REFUSED_PASSWORD,
  RESET_FIELDS,
  ResetBody,
  WRONG_PASSWORD,
} from './password-fields.ts';

export interface PasswordRoutesOptions extends Omit<PasswordServiceOptions, 'hashAccount' | 'throttle'> {
  /** Counters of the feature's own (`password-reset:*` keys) in the shared throttle store. */
  readonly throttleStore: HitCounter;
  /** To end the sign-in of someone who opens a reset link while signed in (ADR 0019). */
  readonly credentials: CredentialBackend;
  readonly revocations: RevocationStore;
  /** Keys the audit hashes (config.sessionSecret), as sign-in's. */
  readonly auditSecret: Buffer;
}

/** Our tokens are base64url (local backend) or letters and digits (the API's make_token); nothing else is looked up. */
const TOKEN_FORMAT = /^[A-Za-z0-9_-]{16,256}$/;

const FORGOT_PAGE: FormPage = {
  template: 'password/forgot-password.njk',
  title: 'passwordPages:forgot.title',
  action: PATHS.forgotPassword,
  button: 'passwordPages:forgot.button',
  fields: FORGOT_FIELDS,
  names: Object.keys(FORGOT_FIELDS),
};

const resetPage = (token: string): FormPage => ({
  template: 'password/reset-password.njk',
  title: 'passwordPages:reset.title',
  action: resetPasswordPath(token),
  button: 'passwordPages:reset.button',
  fields: RESET_FIELDS,
  names: Object.keys(RESET_FIELDS),
});

/** The kit's errors plus one more on a field (a confirmation that does not match). */
function withError(
  checked: Pick<Checked, 'errors' | 'fieldErrors'>,
  field: string,
  message: string,
  t: (key: string) => string,
): Pick<Checked, 'errors' | 'fieldErrors'> {
  if (checked.fieldErrors[field] !== undefined) return checked;
  const extra = refusalErrors({ refuse: [{ field, message }] }, t);
  return {
    errors: [...checked.errors, ...extra.errors],
    fieldErrors: { ...checked.fieldErrors, ...extra.fieldErrors },
  };
}

function tokenOf(request: FastifyRequest): string | undefined {
  const token = (request.params as Record<string, unknown> | null)?.token;
  return typeof token === 'string' && TOKEN_FORMAT.test(token) ? token : undefined;
}

export default async function passwordRoutes(app: FastifyInstance, options: PasswordRoutesOptions): Promise<void> {
  const service = createPasswordService({
    ...options,
    throttle: options.throttleStore,
    hashAccount: createAccountHasher(options.auditSecret),
  });

  app.get(PATHS.forgotPassword, async (request, reply) => {
    if (request.user !== undefined) return reply.redirect(PATHS.dashboard, 302);
    return renderForm(request, reply, FORGOT_PAGE, {});
  });

  app.post(PATHS.forgotPassword, { schema: { body: ForgotBody } }, async (request, reply) => {
    if (request.user !== undefined) return reply.redirect(PATHS.dashboard, 303);
    const language = pageLanguage(request, reply, app.words);
    let checked: Pick<Checked, 'errors' | 'fieldErrors' | 'values' | 'normalised'> = checkFields(
      FORGOT_FIELDS,
      FORGOT_PAGE.names,
      request.body,
      language.t,
    );
    const { email, email_confirm: confirm } = checked.normalised;
    if (checked.fieldErrors.email === undefined && email !== confirm)
      checked = { ...checked, ...withError(checked, 'email_confirm', EMAIL_MISMATCH, language.t) };
    if (checked.errors.length > 0 || email === undefined)
      return renderFormPage(request, reply, language, FORGOT_PAGE, checked.values, checked);
    await service.requestReset(email, request);
    // The same page for every address (the live page's wording for an account that is not activated would tell).
    return reply.view('password/email-sent.njk', {
      lang: language.lang,
      t: language.t,
      pageTitle: language.t('passwordPages:sent.title'),
      email,
    });
  });

  // Every answer on a token path, error pages included, sends no Referer onwards.
  const noReferrer = {
    onRequest: (_request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      reply.header('referrer-policy', 'no-referrer');
      done();
    },
  };

  const invalidToken = (request: FastifyRequest, reply: FastifyReply) => {
    const language = pageLanguage(request, reply, app.words);
    return reply.view('password/invalid-reset-token.njk', {
      lang: language.lang,
      t: language.t,
      pageTitle: language.t('passwordPages:invalid.title'),
    });
  };

  /**
   * Opening a reset link signed in ends that sign-in first (the live front clears the session); true when it did, and
   * the link is then opened again, signed out.
   */
  async function signedOutFirst(request: FastifyRequest): Promise<boolean> {
    const session = request.session;
    if (session?.has(SESSION_KEYS.identity) !== true) return false;
    const user = request.user;
    if (user !== undefined) {
      await options.revocations.revoke(user.token, TOKEN_LIFETIME_SECONDS);
      await options.credentials.revoke(user.token, request.id);
    }
    session.regenerateEmpty();
    return true;
  }

  app.get(tokenRoute(TOKEN_PATHS.resetPassword), noReferrer, async (request, reply) => {
    const linkKey = tokenOf(request); // (not `token`: the lint reads every comparison of one as a secret compared)
    if (linkKey === undefined) return invalidToken(request, reply);
    const token = linkKey;
    if (await signedOutFirst(request)) return reply.redirect(resetPasswordPath(token), 302);
    return renderForm(request, reply, resetPage(token), {});
  });

  app.post(
    tokenRoute(TOKEN_PATHS.resetPassword),
    { ...noReferrer, schema: { body: ResetBody } },
    async (request, reply) => {
      const linkKey = tokenOf(request); // (not `token`: the lint reads every comparison of one as a secret compared)
      if (linkKey === undefined) return invalidToken(request, reply);
      const token = linkKey;
      if (await signedOutFirst(request)) return reply.redirect(resetPasswordPath(token), 302);
      const language = pageLanguage(request, reply, app.words);
      const page = resetPage(token);
      const checked = checkFields(RESET_FIELDS, page.names, request.body, language.t);
      const { password, password_confirm: confirm } = checked.normalised;
      const shown =
        checked.fieldErrors.password === undefined && password !== confirm
          ? withError(checked, 'password_confirm', passwordMismatchMessage('set'), language.t)
          : checked;
      if (shown.errors.length > 0 || password === undefined)
        return renderFormPage(request, reply, language, page, {}, shown);
      const result = await service.reset(token, password, request);
      if (result === 'invalid-token') return invalidToken(request, reply);
      if (result === 'invalid-password')
        return renderFormPage(
          request,
          reply,
          language,
          page,
          {},
          refusalErrors({ refuse: [{ field: 'password', message: REFUSED_PASSWORD }] }, language.t),
        );
      setFlash(request, 'passwordPages:reset.done');
      return reply.redirect(PATHS.login, 303);
    },
  );

  addForm(
    app,
    defineForm<{ password_current: string; password: string; password_confirm: string }>({
      path: PATHS.changePassword,
      title: 'passwordPages:change.title',
      template: 'password/change-password.njk',
      button: 'passwordPages:change.button',
      fields: CHANGE_FIELDS,
      body: ChangeBody,
      onSuccess: async (values, request) => {
        if (values.password !== values.password_confirm)
          return { refuse: [{ field: 'password_confirm', message: passwordMismatchMessage('change') }] };
        const user = request.user;
        const session = request.session;
        if (user === undefined || session === null) return { redirect: PATHS.login };
        const { outcome, replaced } = await service.change(user, values.password_current, values.password, request);
        if (outcome === 'wrong-password') return { refuse: [{ field: 'password_current', message: WRONG_PASSWORD }] };
        if (outcome === 'invalid-password') return { refuse: [{ field: 'password', message: REFUSED_PASSWORD }] };
        if (outcome === 'signed-out' || replaced === undefined) {
          session.delete(SESSION_KEYS.identity);
          return { redirect: PATHS.loginTimeout };
        }
        // This session carries on, on the new token, under a new id (a credential changed: OWASP session management).
        const identity = session.get(SESSION_KEYS.identity);
        session.regenerate();
        session.set(SESSION_KEYS.identity, {
          ...(identity !== null && typeof identity === 'object' && !Array.isArray(identity) ? identity : {}),
          token: replaced.token,
          tokenExpiresAt: phpIsoDate(replaced.expiresAt),
        });
        return { redirect: PATHS.aboutYou, flash: 'passwordPages:change.done' };
      },
    }),
  );
}
