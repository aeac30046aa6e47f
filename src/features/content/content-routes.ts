/**
 * Public content pages. Their HTML is the same for every visitor, so each is rendered once per process
 * and only the CSP nonce changes per response (reply.staticView).
 */
import type { FastifyInstance } from 'fastify';
import { PATHS } from '../../paths.ts';

export const CONTENT_PAGES: readonly { readonly path: string; readonly template: string }[] = [
  { path: PATHS.home, template: 'content/start.njk' },
  { path: PATHS.start, template: 'content/start.njk' },
  { path: PATHS.accessibility, template: 'content/accessibility.njk' },
  { path: PATHS.cookies, template: 'content/cookies.njk' },
  { path: PATHS.privacy, template: 'content/privacy-notice.njk' },
  { path: PATHS.terms, template: 'content/terms.njk' },
  { path: PATHS.contact, template: 'content/contact.njk' },
];

export default async function contentRoutes(app: FastifyInstance): Promise<void> {
  for (const page of CONTENT_PAGES) {
    app.get(page.path, { config: { session: false } }, (_request, reply) => reply.staticView(page.template)); // no promise: nothing to wait for
  }
}
