/**
 * The feedback form on the form kit (ADR 0031): the live service's form (ministryofjustice/opg-lpa,
 * service-front/src/App/src/Form/General/FeedbackForm.php) at GET|POST /send-feedback.
 *
 * - Showing the blank form stores nothing on the server (ADR 0022) and is pre-rendered once per language (its
 *   route's `render: 'prerendered'`); a form carrying where the person came from is rendered per request.
 * - CSRF is checked by the platform before the handler (the live Mezzio front has none here). The route asks for
 *   form tokens (`csrfTimedForm`), whose signed issue time is when the form was first shown.
 * - Bot check without hurting accessibility: an otherwise valid form sent sooner than `minSeconds` after it was
 *   first shown is answered with the form again, the person's answers kept, and guidance to send it again. A form
 *   with mistakes is only ever told about the mistakes (the kit checks the fields before `onSuccess`). No hidden
 *   honeypot field (screen readers and autofill fill those), no CAPTCHA. `minSeconds: 0` turns the check off.
 * - The page the person came from (`fromPage`) is the path of a same-origin Referer, never a full URL or query,
 *   carried in a hidden field and re-checked on the way back in: it is only ever a local path.
 */
import type { FastifyRequest } from 'fastify';
import { PATHS, safeLocalPath } from '../../paths.ts';
import { formShownAt } from '../../platform/csrf.ts';
import { defineForm } from '../../platform/forms/index.ts';
import type { FeedbackService } from './feedback-service.ts';
import { UNKNOWN_PAGE } from './feedback-service.ts';
import type { Rating } from './feedback-schema.ts';
import { FEEDBACK_FIELDS, FeedbackBody, MESSAGES, TOO_FAST_TARGET } from './feedback-schema.ts';

export interface FeedbackFormOptions {
  readonly service: FeedbackService;
  /** A submission sooner than this after the form was shown is treated as automated; 0 turns it off. */
  readonly minSeconds: number;
  /** PUBLIC_ORIGIN, to tell a same-origin Referer; defaults to the request's own origin. */
  readonly publicOrigin?: string;
  /** Epoch ms; for tests. */
  readonly now?: () => number;
}

const NOT_A_SOURCE_PAGE: ReadonlySet<string> = new Set([PATHS.feedback, PATHS.feedbackThanks]);
const MAX_SOURCE_PATH = 512;

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

export function feedbackForm(options: FeedbackFormOptions) {
  const { service, minSeconds } = options;
  const now = options.now ?? Date.now;
  const originOf = (request: FastifyRequest): string => options.publicOrigin ?? `${request.protocol}://${request.host}`;

  return defineForm<{ rating: string; details: string; email: string; phone: string }>({
    path: PATHS.feedback,
    title: 'feedback:title',
    template: 'feedback/feedback.njk',
    button: 'feedback:send',
    fields: FEEDBACK_FIELDS,
    body: FeedbackBody,
    // Form tokens on both: the token's signed issue time is when the form was shown (the bot check below).
    config: { csrfTimedForm: true, render: 'prerendered' },
    hidden: {
      fromPage: {
        initial: (request) => sourcePath(sourcePage(request.headers.referer, originOf(request))),
        accept: sourcePath,
      },
    },
    onSuccess: async (values, request, hidden) => {
      // The re-shown form keeps its token, so the clock runs from when the form was first shown.
      const shownAt = formShownAt(request);
      if (minSeconds > 0 && (shownAt === undefined || now() - shownAt < minSeconds * 1000)) {
        request.log.info({ feedback: 'too-fast' }, 'feedback sent sooner than a person could');
        return { refuse: [{ field: TOO_FAST_TARGET, message: MESSAGES.tooFast }] };
      }
      const fromPage = hidden.fromPage;
      const agentHeader = request.headers['user-agent'];
      await service.submit(
        {
          rating: values.rating as Rating,
          details: values.details,
          email: values.email,
          phone: values.phone,
          agent: typeof agentHeader === 'string' ? agentHeader : '',
          fromPage: fromPage ?? UNKNOWN_PAGE,
        },
        { traceId: request.id },
      );
      return {
        redirect:
          fromPage === undefined
            ? PATHS.feedbackThanks
            : `${PATHS.feedbackThanks}?returnTarget=${encodeURIComponent(fromPage)}`,
      };
    },
  });
}
