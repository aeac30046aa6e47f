/**
 * POST /cookies: the consent choice (docs/adr/0037), from the cookie banner on any page or from the cookies page's
 * form, CSRF-checked like every form (a visitor with no session gets a form token: no server state). Saved in the
 * cookies the PHP front shares (cookie_policy, seen_cookie_message); rejecting or withdrawing expires GA4's cookies.
 * Without JavaScript the answer is a redirect back to the page the choice was made on (a local path only), which
 * shows the confirmation once; the banner's script sends `js=1` and gets 204, and shows the confirmation itself.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PATHS, safeLocalPath } from '../../paths.ts';
import type { CookieOptions } from '../../platform/consent/policy.ts';
import { choiceCookies, parseCookies, savedCookie } from '../../platform/consent/policy.ts';

type Fields = Readonly<Record<string, string | undefined>>;

function saveChoice(request: FastifyRequest, reply: FastifyReply, usage: boolean, options: CookieOptions): void {
  for (const line of choiceCookies(usage, parseCookies(request.headers.cookie).keys(), options))
    reply.header('set-cookie', line);
}

export default async function cookiesRoutes(app: FastifyInstance, options: CookieOptions): Promise<void> {
  app.post(PATHS.cookies, (request, reply) => {
    const body = (request.body ?? {}) as Fields;
    const fromBanner = body.analytics === 'accept' || body.analytics === 'reject';
    if (fromBanner) {
      const usage = body.analytics === 'accept';
      saveChoice(request, reply, usage, options);
      if (body.js === '1') return reply.code(204).send();
      reply.header('set-cookie', savedCookie(usage ? 'accepted' : 'rejected', options.secure));
      return reply.redirect(safeLocalPath(body.returnTo, PATHS.home), 303);
    }
    if (body.usage === 'yes' || body.usage === 'no') {
      saveChoice(request, reply, body.usage === 'yes', options);
      reply.header('set-cookie', savedCookie('saved', options.secure));
    }
    // Anything else (a hand-made request) saves nothing: the page shows the choice in force.
    return reply.redirect(PATHS.cookies, 303);
  });
}
