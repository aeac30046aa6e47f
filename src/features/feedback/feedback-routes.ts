/**
 * The public feedback form (the live service's form: ministryofjustice/opg-lpa, service-front/src/App/src/Handler/FeedbackHandler.php): GET|POST /send-feedback and GET /feedback-thanks.
 *
 * - CSRF is checked by the platform before the handler (the live Mezzio front has none here).
 * - Bot check without hurting accessibility: the time the form was shown is kept in the session; a POST
 *   sooner than `minSeconds` after it (or with no recorded time) is answered with the form again, the
 *   person's answers kept, and a plain error message to send it again. No hidden honeypot field (screen
 *   readers and autofill fill those), no CAPTCHA. `minSeconds: 0` turns the check off.
 * - The page the user came from (`fromPage`) is the path of a same-origin Referer, never a full URL or query.
 * - The thanks page's "Continue" only ever points to a path on this site (the live `returnTarget` is an
 *   open redirect).
 *
 * Session keys are the PHP front's (Mezzio), so the two fronts agree while they share the session.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PATHS, safeLocalPath } from '../../paths.ts';
import { requireSession } from '../../platform/session.ts';
import type { FeedbackService } from './feedback-service.ts';
import { UNKNOWN_PAGE } from './feedback-service.ts';
import { sessionNumber } from '../../sessions/session-store.ts';
import type { FeedbackBodyType, FeedbackField, FeedbackValues, FormError } from './feedback-schema.ts';
import { DETAILS_MAX_CHARACTERS, FeedbackBody, MESSAGES, RATINGS, validateFeedback } from './feedback-schema.ts';

export const FEEDBACK_SESSION_KEYS = {
  /** When the form was last shown, in epoch seconds (a float). */
  shownAt: 'feedback_form_generated_time',
  /** The local path the user came from. */
  fromPage: 'feedback_from_page',
} as const;

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
const EMPTY_FORM = Object.freeze({ ratings: RATINGS, detailsMax: DETAILS_MAX_CHARACTERS, values: EMPTY_VALUES, errors: undefined, fieldErrors: Object.freeze({}) });
const NOT_A_SOURCE_PAGE: ReadonlySet<string> = new Set([PATHS.feedback, PATHS.feedbackThanks]);

interface FormContext {
  readonly values: FeedbackValues;
  readonly errors?: readonly FormError[];
  readonly fieldErrors?: Partial<Record<FeedbackField, string>>;
}

function renderForm(reply: FastifyReply, context: FormContext, status = 200): FastifyReply {
  return reply.view('feedback/feedback.njk', {
    ratings: RATINGS,
    detailsMax: DETAILS_MAX_CHARACTERS,
    values: context.values,
    errors: context.errors !== undefined && context.errors.length > 0 ? context.errors : undefined,
    fieldErrors: context.fieldErrors ?? {},
  }, status);
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
  return path === '' ? undefined : path.slice(0, 512);
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

  app.get(PATHS.feedback, async (request, reply) => {
    const session = requireSession(request);
    session.set(FEEDBACK_SESSION_KEYS.shownAt, now() / 1000);
    const from = sourcePage(request.headers.referer, originOf(request));
    if (from !== undefined) {
      if (!NOT_A_SOURCE_PAGE.has(from)) session.set(FEEDBACK_SESSION_KEYS.fromPage, from);
    } else {
      session.delete(FEEDBACK_SESSION_KEYS.fromPage);
    }
    return reply.staticView('feedback/feedback.njk', 200, EMPTY_FORM);
  });

  app.post<{ Body: FeedbackBodyType }>(PATHS.feedback, { schema: { body: FeedbackBody } }, async (request, reply) => {
    const session = requireSession(request);
    const nowSeconds = now() / 1000;
    const shownAt = sessionNumber(session.get(FEEDBACK_SESSION_KEYS.shownAt));
    const tooFast = minSeconds > 0 && (shownAt === undefined || nowSeconds - shownAt < minSeconds);
    const result = validateFeedback(request.body);

    if (tooFast || !result.ok) {
      const errors: FormError[] = [];
      if (tooFast) {
        // Start the clock again: the person checks their answers and sends the same form once more.
        session.set(FEEDBACK_SESSION_KEYS.shownAt, nowSeconds);
        errors.push({ text: MESSAGES.tooFast, href: '#feedback-form' });
        request.log.info({ feedback: 'too-fast' }, 'feedback sent sooner than a person could');
      }
      if (!result.ok) errors.push(...result.errors);
      return renderForm(reply, { values: result.values, errors, ...(result.ok ? {} : { fieldErrors: result.fieldErrors }) }, 400);
    }

    const fromPageValue = session.get(FEEDBACK_SESSION_KEYS.fromPage);
    const fromPage = typeof fromPageValue === 'string' && fromPageValue !== '' ? fromPageValue : UNKNOWN_PAGE;
    const agentHeader = request.headers['user-agent'];
    await service.submit(
      { ...result.value, agent: typeof agentHeader === 'string' ? agentHeader : '', fromPage },
      { traceId: request.id },
    );
    session.delete(FEEDBACK_SESSION_KEYS.shownAt);
    session.delete(FEEDBACK_SESSION_KEYS.fromPage);
    const target = fromPage === UNKNOWN_PAGE ? PATHS.feedbackThanks : `${PATHS.feedbackThanks}?returnTarget=${encodeURIComponent(fromPage)}`;
    return reply.redirect(target, 303);
  });

  app.get(PATHS.feedbackThanks, async (request, reply) => {
    const query = request.query as Record<string, unknown> | null;
    const returnTarget = safeLocalPath(query?.returnTarget, PATHS.home);
    return reply.view('feedback/feedback-thanks.njk', { returnTarget });
  });
}
