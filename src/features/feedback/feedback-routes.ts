/**
 * The public feedback form (feedback.form.ts, on the form kit) and GET /feedback-thanks.
 *
 * The form is registered here rather than found by discovery because its success handler needs the feedback
 * service. The thanks page's "Continue" only ever points to a path on this site (the live `returnTarget` is an
 * open redirect).
 */
import type { FastifyInstance } from 'fastify';
import { PATHS, safeLocalPath } from '../../paths.ts';
import { addForm } from '../../platform/forms/index.ts';
import type { FeedbackFormOptions } from './feedback.form.ts';
import { feedbackForm } from './feedback.form.ts';

export type FeedbackRoutesOptions = FeedbackFormOptions;

export default async function feedbackRoutes(app: FastifyInstance, options: FeedbackRoutesOptions): Promise<void> {
  const { service } = options;
  app.addHook('onReady', async () => {
    service.start();
  });
  app.addHook('onClose', async () => {
    await service.stop();
  });

  addForm(app, feedbackForm(options));

  app.get(PATHS.feedbackThanks, async (request, reply) => {
    const query = request.query as Record<string, unknown> | null;
    const returnTarget = safeLocalPath(query?.returnTarget, PATHS.home);
    return reply.view('feedback/feedback-thanks.njk', { returnTarget });
  });
}
