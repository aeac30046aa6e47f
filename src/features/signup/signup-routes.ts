/**
 * Sign up (issue 22), as the live front has it (service-front RegisterHandler, ConfirmRegistrationHandler,
 * ResendActivationEmailHandler, Form/User/Registration.php and ConfirmEmail.php):
 * `GET|POST /signup`, `GET /signup/email-sent`, `GET /signup/confirm/:token`, `GET|POST /signup/resend-email`.
 *
 * - Pages on the form kit's page (renderForm, checkFields); the routes are hand-written because of the terms
 *   checkbox, the throttles and the even answer time.
 * - No enumeration: a valid sign-up or resend is answered with the same 303 to /signup/email-sent whether the address
 *   is unknown, inactive or active, no sooner than ACCOUNT_ANSWER_FLOOR_MS after it arrived (evenTime); the email
 *   tells the owner (signup-service.ts).
 * - Throttles with counters of their own (never sign-in's): per source address and per recipient; over either, 429.
 *   The mail layer also caps emails to one address per hour (backends/mail-cap.ts).
 * - The activation page: a HEAD activates nothing (link scanners, as live); `Referrer-Policy: no-referrer`; the
 *   session is emptied under a new id (as live); an invalid, used or expired token gets the live problem page.
 * - Signed-in users are sent to the dashboard from /signup and /signup/resend-email; a Referer from www.gov.uk is sent
 *   to the start page with its `_ga` (as live).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PATHS, TOKEN_PATHS, TOKEN_SEGMENT, tokenRoute } from '../../paths.ts';
import { evenTime } from '../../platform/even-time.ts';
import type { FormPage } from '../../platform/forms/index.ts';
import { checkFields, pageLanguage, refusalErrors, renderForm } from '../../platform/forms/index.ts';
import type { Checked, FormError } from '../../platform/forms/fields.ts';
import { passwordMismatchMessage } from '../../platform/forms/password-rules.ts';
import { httpError } from '../../platform/http-error.ts';
import { requireSession } from '../../platform/session.ts';
import type { HitCounter } from '../../backends/mail-cap.ts';
import { auditSignup, createUserHasher } from './audit.ts';
import type { ResendBodyType, SignupBodyType } from './signup-schema.ts';
import { MESSAGES, RESEND_FIELDS, ResendBody, SIGNUP_FIELDS, SignupBody } from './signup-schema.ts';
import type { SignupService } from './signup-service.ts';

/** Session key of the address the email-sent page names (the live page shows it). */
export const SIGNUP_EMAIL_KEY = 'lpaFrontSignupEmail';
/** Where the live page points people who already have a registered LPA. */
export const USE_AN_LPA_URL = 'https://use-lasting-power-of-attorney.service.gov.uk/home';
// eslint-disable-next-line security/detect-non-literal-regexp -- a constant of paths.ts
const TOKEN = new RegExp(`^${TOKEN_SEGMENT}$`);

export interface SignupThrottle {
  /** Sign-up and resend requests per source address per window. */
  readonly perAddress: number;
  /** Sign-up and resend requests naming one email address per window. */
  readonly perRecipient: number;
  readonly windowSeconds: number;
}
export const DEFAULT_SIGNUP_THROTTLE: SignupThrottle = { perAddress: 20, perRecipient: 5, windowSeconds: 3600 };

export interface SignupRoutesOptions {
  readonly service: SignupService;
  readonly throttleStore: HitCounter;
  readonly auditSecret: Buffer;
  readonly answerFloorMs: number;
  readonly throttle?: Partial<SignupThrottle>;
}

const page = (
  template: string,
  title: string,
  action: string,
  button: string,
  fields: typeof SIGNUP_FIELDS,
): FormPage => ({ template, title, action, button, fields, names: Object.keys(fields) });
const SIGNUP_PAGE = page('signup/signup.njk', 'signup:title', PATHS.signup, 'signup:button', SIGNUP_FIELDS);
const RESEND_PAGE = page(
  'signup/resend-email.njk',
  'signup:resend.title',
  PATHS.signupResend,
  'signup:resend.button',
  RESEND_FIELDS,
);

/** Adds errors the field rules cannot see (two fields that must match, the terms) to the kit's check. */
function withErrors(
  checked: Checked,
  extra: readonly { field: string; message: string }[],
  t: (key: string) => string,
): Pick<Checked, 'errors' | 'fieldErrors'> {
  const more = refusalErrors({ refuse: extra.filter((e) => checked.fieldErrors[e.field] === undefined) }, t);
  return {
    errors: [...checked.errors, ...more.errors] as FormError[],
    fieldErrors: { ...checked.fieldErrors, ...more.fieldErrors },
  };
}

function fromGovUk(request: FastifyRequest): boolean {
  const referer = request.headers.referer;
  return typeof referer === 'string' && referer.toLowerCase().includes('www.gov.uk');
}

export default async function signupRoutes(app: FastifyInstance, options: SignupRoutesOptions): Promise<void> {
  const { service, throttleStore, answerFloorMs } = options;
  const throttle: SignupThrottle = { ...DEFAULT_SIGNUP_THROTTLE, ...options.throttle };
  const userHash = createUserHasher(options.auditSecret);

  /** Counts one request against the source address and the recipient; true when either is over its limit. */
  async function throttled(request: FastifyRequest, hash: string): Promise<'address' | 'recipient' | undefined> {
    if ((await throttleStore.hit(`signup:address:${request.ip}`, throttle.windowSeconds)) > throttle.perAddress)
      return 'address';
    if ((await throttleStore.hit(`signup:recipient:${hash}`, throttle.windowSeconds)) > throttle.perRecipient)
      return 'recipient';
    return undefined;
  }

  const refuseThrottled = (reply: FastifyReply) => {
    reply.header('retry-after', String(throttle.windowSeconds));
    return httpError(429, 'sign-up throttled');
  };

  function renderSignup(
    request: FastifyRequest,
    reply: FastifyReply,
    values: Record<string, string>,
    errors?: Pick<Checked, 'errors' | 'fieldErrors'>,
    terms = false,
  ): FastifyReply {
    return renderForm(request, reply, SIGNUP_PAGE, values, errors, {
      context: { termsChecked: terms, termsError: errors?.fieldErrors.terms, useAnLpaUrl: USE_AN_LPA_URL },
    });
  }

  app.get(PATHS.signup, async (request, reply) => {
    if (fromGovUk(request)) {
      const ga = (request.query as Record<string, unknown> | null)?._ga;
      return reply.redirect(
        typeof ga === 'string' && ga !== '' ? `${PATHS.home}?_ga=${encodeURIComponent(ga)}` : PATHS.home,
        302,
      );
    }
    if (request.user !== undefined) return reply.redirect(PATHS.dashboard, 302);
    return renderSignup(request, reply, {});
  });

  app.post<{ Body: SignupBodyType }>(PATHS.signup, { schema: { body: SignupBody } }, async (request, reply) => {
    if (request.user !== undefined) return reply.redirect(PATHS.dashboard, 303);
    const { t } = pageLanguage(request, reply, request.server.words);
    const checked = checkFields(SIGNUP_FIELDS, SIGNUP_PAGE.names, request.body, t);
    const body = request.body;
    const terms = body.terms === '1';
    const extra: { field: string; message: string }[] = [];
    if (
      (checked.normalised.email_confirm ?? '') !== '' &&
      checked.normalised.email !== checked.normalised.email_confirm
    )
      extra.push({ field: 'email_confirm', message: MESSAGES.emailMismatch });
    if ((body.password_confirm ?? '') !== '' && body.password !== body.password_confirm)
      extra.push({ field: 'password_confirm', message: passwordMismatchMessage('set') });
    if (!terms) extra.push({ field: 'terms', message: MESSAGES.termsRequired });
    if (checked.errors.length > 0 || extra.length > 0)
      return renderSignup(request, reply, checked.values, withErrors(checked, extra, t), terms);

    const email = checked.normalised.email ?? '';
    const hash = userHash(email);
    const limited = await throttled(request, hash);
    if (limited !== undefined) {
      auditSignup(request, 'account.signup.throttled', hash, { by: limited });
      throw refuseThrottled(reply);
    }
    const outcome = await evenTime(answerFloorMs, () => service.register(email, body.password ?? '', request.id));
    auditSignup(request, 'account.signup.requested', hash, { outcome });
    if (outcome === 'invalid-email' || outcome === 'invalid-password') {
      const refusal =
        outcome === 'invalid-email'
          ? { field: 'email', message: MESSAGES.invalidEmail }
          : { field: 'password', message: MESSAGES.invalidPassword };
      return renderSignup(request, reply, checked.values, refusalErrors({ refuse: [refusal] }, t), terms);
    }
    requireSession(request).set(SIGNUP_EMAIL_KEY, email);
    return reply.redirect(PATHS.signupEmailSent, 303);
  });

  app.get(PATHS.signupEmailSent, async (request, reply) => {
    const email = request.session?.get(SIGNUP_EMAIL_KEY);
    return reply.view('signup/email-sent.njk', { email: typeof email === 'string' ? email : undefined });
  });

  app.get(PATHS.signupResend, async (request, reply) => {
    if (request.user !== undefined) return reply.redirect(PATHS.dashboard, 302);
    return renderForm(request, reply, RESEND_PAGE, {});
  });

  app.post<{ Body: ResendBodyType }>(PATHS.signupResend, { schema: { body: ResendBody } }, async (request, reply) => {
    if (request.user !== undefined) return reply.redirect(PATHS.dashboard, 303);
    const { t } = pageLanguage(request, reply, request.server.words);
    const checked = checkFields(RESEND_FIELDS, RESEND_PAGE.names, request.body, t);
    const mismatch =
      (checked.normalised.email_confirm ?? '') !== '' && checked.normalised.email !== checked.normalised.email_confirm;
    if (checked.errors.length > 0 || mismatch)
      return renderForm(
        request,
        reply,
        RESEND_PAGE,
        checked.values,
        withErrors(checked, mismatch ? [{ field: 'email_confirm', message: MESSAGES.emailMismatch }] : [], t),
      );

    const email = checked.normalised.email ?? '';
    const hash = userHash(email);
    const limited = await throttled(request, hash);
    if (limited !== undefined) {
      auditSignup(request, 'account.activation.resend_throttled', hash, { by: limited });
      throw refuseThrottled(reply);
    }
    const outcome = await evenTime(answerFloorMs, () => service.resendActivation(email, request.id));
    auditSignup(request, 'account.activation.resend_requested', hash, { outcome });
    requireSession(request).set(SIGNUP_EMAIL_KEY, email);
    return reply.redirect(PATHS.signupEmailSent, 303);
  });

  app.get<{ Params: { token: string } }>(tokenRoute(TOKEN_PATHS.signupConfirm), async (request, reply) => {
    // The token must not leave in a Referer, from this page's links or its assets.
    reply.header('referrer-policy', 'no-referrer');
    // Mail scanners that follow links with HEAD activate nothing (as live).
    if (request.method === 'HEAD') return reply.code(200).send();
    const token = request.params.token;
    const result = TOKEN.test(token) ? await service.activate(token, request.id) : 'invalid-token';
    auditSignup(request, result === 'activated' ? 'account.activation.success' : 'account.activation.failure', null);
    // As live: whoever was using this browser's session, the person activating starts from an empty one.
    const session = requireSession(request);
    if (session.id !== null) session.regenerateEmpty();
    return reply.view('signup/confirm.njk', { activated: result === 'activated' });
  });
}
