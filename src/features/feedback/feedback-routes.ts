/**
 * The public feedback form (the live service's form: ministryofjustice/opg-lpa, service-front/src/App/src/Handler/FeedbackHandler.php): GET|POST /send-feedback and GET /feedback-thanks.
 *
 * - Showing the form stores nothing on the server (ADR 0022): no session is made for an anonymous visitor.
 * - CSRF is checked by the platform before the handler (the live Mezzio front has none here). The route asks for
 *   form tokens (`csrfTimedForm`), whose signed issue time is when the form was first shown.
 * - Bot check without hurting accessibility: an otherwise valid form sent sooner than `minSeconds` after it was
 *   first shown is answered with the form again, the person's answers kept, and guidance to send it again. A form
 *   with mistakes is only ever told about the mistakes. No hidden honeypot field (screen readers and autofill fill
 *   those), no CAPTCHA. `minSeconds: 0` turns the check off.
 * - The page the user came from (`fromPage`) is the path of a same-origin Referer, never a full URL or query,
 *   carried in a hidden field (re-checked on the way back in: it is only ever a local path).
 * - The thanks page's "Continue" only ever points to a path on this site (the live `returnTarget` is an
 *   open redirect).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PATHS, safeLocalPath } from '../../paths.ts';
import { formShownAt } from '../../platform/csrf.ts';
import type { FeedbackService } from './feedback-service.ts';
import { UNKNOWN_PAGE } from './feedback-service.ts';
import type { FeedbackBodyType, FeedbackField, FeedbackValues, FormError } from './feedback-schema.ts';
import { DETAILS_MAX_CHARACTERS, FeedbackBody, MESSAGES, RATINGS, TOO_FAST_TARGET, validateFeedback } from './feedback-schema.ts';

export interface FeedbackRoutesOptions {
  readonly service: FeedbackService;
  /** A submission sooner than this after the form was shown is treated as automated; 0 turns it off. */
  readonly minSeconds: number;
  /** PUBLIC_ORIGIN, to tell a same-origin Referer; defaults to the request's own origin. */
  readonly publicOrigin?: string;
  /** Epoch ms; for tests. */
  readonly now?: () => number;
}

const EMPTY_VALUES: FeedbackValues = Object.freeze({ rating: '', details: '', email: '', phone: '' });
/** The blank form is the same for everyone but its nonce and CSRF token: rendered once, spliced per response. */
const EMPTY_FORM = Object.freeze({ ratings: RATINGS, detailsMax: DETAILS_MAX_CHARACTERS, values: EMPTY_VALUES, errors: undefined, fieldErrors: Object.freeze({}), fromPage: undefined });
const NOT_A_SOURCE_PAGE: ReadonlySet<string> = new Set([PATHS.feedback, PATHS.feedbackThanks]);
const MAX_SOURCE_PATH = 512;

interface FormContext {
  readonly values: FeedbackValues;
  readonly fromPage: string | undefined;
  readonly errors?: readonly FormError[];
  readonly fieldErrors?: Partial<Record<FeedbackField, string>>;
}

function renderForm(reply: FastifyReply, context: FormContext, status = 200): FastifyReply {
  return reply.view('feedback/feedback.njk', {
    ratings: RATINGS,
    detailsMax: DETAILS_MAX_CHARACTERS,
    values: context.values,
    fromPage: context.fromPage,
    errors: context.errors !== undefined && context.errors.length > 0 ? context.errors : undefined,
    fieldErrors: context.fieldErrors ?? {},
  }, status);
}

/** A local path worth recording as where the user came from, or undefined. */
export function sourcePath(value: unknown): string | undefined {
  const path = safeLocalPath(value, '');
  return path === '' || path.length > MAX_SOURCE_PATH || NOT_A_SOURCE_PAGE.has(path) ? undefined : path;
}

/** The path of a same-origin Referer, or undefined. */
export function sourcePage(referer: string | undefined, origin: string): string | undefined {
  if (referer === undefined || referer.length > 2048) return undefined;
  let url: URL;
  try {
    url = new URL(referer);
  } catch {
    return undefined;
  }
  if (url.origin !== origin) return undefined;
  const path = safeLocalPath(url.pathname, '');
  return path === '' ? undefined : path.slice(0, MAX_SOURCE_PATH);
}

export default async function feedbackRoutes(app: FastifyInstance, options: FeedbackRoutesOptions): Promise<void> {
  const { service, minSeconds } = options;
  const now = options.now ?? Date.now;
  const originOf = (request: FastifyRequest): string => options.publicOrigin ?? `${request.protocol}://${request.host}`;

  app.addHook('onReady', async () => {
    service.start();
  });
  app.addHook('onClose', async () => {
    await service.stop();
  });

  // Form tokens on both: the token's signed issue time is when the form was shown (the bot check below).
  app.get(PATHS.feedback, { config: { csrfTimedForm: true } }, async (request, reply) => {
    const from = sourcePath(sourcePage(request.headers.referer, originOf(request)));
    if (from === undefined) return reply.staticView('feedback/feedback.njk', 200, EMPTY_FORM);
    return renderForm(reply, { values: EMPTY_VALUES, fromPage: from });
  });

  app.post<{ Body: FeedbackBodyType }>(PATHS.feedback, { schema: { body: FeedbackBody }, config: { csrfTimedForm: true } }, async (request, reply) => {
    const fromPage = sourcePath(request.body.fromPage);
    const result = validateFeedback(request.body);
    // Mistakes first, and only them: the person corrects them, then sends (the re-shown form keeps its token,
    // so the clock still runs from when the form was first shown).
    if (!result.ok) return renderForm(reply, { values: result.values, fromPage, errors: result.errors, fieldErrors: result.fieldErrors }, 400);

    const shownAt = formShownAt(request);
    if (minSeconds > 0 && (shownAt === undefined || now() - shownAt < minSeconds * 1000)) {
      request.log.info({ feedback: 'too-fast' }, 'feedback sent sooner than a person could');
      return renderForm(reply, { values: result.values, fromPage, errors: [{ text: MESSAGES.tooFast, href: `#${TOO_FAST_TARGET}` }] }, 400);
    }

    const agentHeader = request.headers['user-agent'];
    await service.submit(
      { ...result.value, agent: typeof agentHeader === 'string' ? agentHeader : '', fromPage: fromPage ?? UNKNOWN_PAGE },
      { traceId: request.id },
    );
    const target = fromPage === undefined ? PATHS.feedbackThanks : `${PATHS.feedbackThanks}?returnTarget=${encodeURIComponent(fromPage)}`;
    return reply.redirect(target, 303);
  });

  app.get(PATHS.feedbackThanks, async (request, reply) => {
    const query = request.query as Record<string, unknown> | null;
    const returnTarget = safeLocalPath(query?.returnTarget, PATHS.home);
    return reply.view('feedback/feedback-thanks.njk', { returnTarget });
  });
}
