/**
 * Public content pages. Their HTML is the same for every anonymous visitor, so their routes say
 * `render: 'prerendered'` (the one render seam, views.ts, ADR 0036): each is rendered once per process, language and
 * consent variant, and only the CSP nonce changes per response. They load the session like every other page:
 * a signed-in user gets the same navigation, sign-out form and session-timeout script as on the pages behind
 * sign-in, and the visit keeps the session alive (views.ts renders those per request). A request without a session
 * cookie reads nothing from the store.
 */
import type { FastifyInstance } from 'fastify';
import { PATHS } from '../../paths.ts';
import type { CookieOptions } from '../../platform/consent/policy.ts';
import cookiesRoutes from './cookies-routes.ts';

export const CONTENT_PAGES: readonly { readonly path: string; readonly template: string }[] = [
  { path: PATHS.home, template: 'content/start.njk' },
  { path: PATHS.start, template: 'content/start.njk' },
  { path: PATHS.accessibility, template: 'content/accessibility.njk' },
  { path: PATHS.cookies, template: 'content/cookies.njk' },
  { path: PATHS.privacy, template: 'content/privacy-notice.njk' },
  { path: PATHS.terms, template: 'content/terms.njk' },
  { path: PATHS.contact, template: 'content/contact.njk' },
];

/** The pages' one context: a frozen constant, which is what lets views.ts serve the pre-rendered copy. */
const NO_CONTEXT: Readonly<Record<string, unknown>> = Object.freeze({});

export interface ContentOptions {
  /** The consent cookies' attributes (POST /cookies, docs/adr/0037). */
  readonly consent: CookieOptions;
}

export default async function contentRoutes(app: FastifyInstance, options: ContentOptions): Promise<void> {
  for (const page of CONTENT_PAGES) {
    // The cookie banner's state is one of the page's pre-rendered variants (views.ts, platform/consent).
    // no promise: nothing to wait for
    app.get(page.path, { config: { render: 'prerendered' } }, (_request, reply) =>
      reply.view(page.template, NO_CONTEXT),
    );
  }
  await cookiesRoutes(app, options.consent);
}
