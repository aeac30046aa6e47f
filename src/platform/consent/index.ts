/**
 * Cookie consent on every page (docs/adr/0037): which banner a page shows and whether it loads GA4, as one of a few
 * page variants (`ViewsOptions.variant`), so pre-rendered pages stay pre-rendered: the variant picks the version.
 *
 * - banner `ask`: no choice yet (the GOV.UK cookie banner with Accept and Reject, a form POSTing to /cookies);
 * - banner `accepted` / `rejected`: the page right after a choice sent without JavaScript, once;
 * - banner `none`: a choice was made, or this page never shows the banner (/cookies itself, /ping*).
 * GA4 loads only when GA_MEASUREMENT_ID is set, the request's `cookie_policy` says usage:true, and the route has no
 * parameter (a path with a token in it is never sent to Google); only then is the CSP widened (csp.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PATHS, pathOf } from '../../paths.ts';
import type { PageVariant } from '../views.ts';
import { widenForAnalytics } from './csp.ts';
import { clearSavedCookie, consentState, parseCookies } from './policy.ts';

export interface ConsentOptions {
  readonly secure: boolean;
  /** PUBLIC_ORIGIN's origin: GA4's page_location is it and the path, never the URL the browser shows. */
  readonly publicOrigin: string;
  readonly measurementId: string | undefined;
  readonly gaCookieDomain: string;
}

export type Banner = 'ask' | 'accepted' | 'rejected' | 'none';

export interface Analytics {
  readonly measurementId: string;
  readonly cookieDomain: string;
  readonly pageLocation: string;
}

/** What the layout and the cookies page read, as `consent`. */
export interface ConsentView {
  readonly banner: Banner;
  readonly analytics: Analytics | null;
  /** The cookies page: the current choice ('yes' only when usage:true), and whether it was just saved. */
  readonly usage: 'yes' | 'no';
  readonly saved: boolean;
  /** Where the banner's form comes back to: this page if its route is fixed (a 404's URL is not echoed), else home. */
  readonly returnTo: string;
}

const NO_BANNER: ReadonlySet<string> = new Set([
  PATHS.cookies,
  PATHS.ping,
  PATHS.pingJson,
  PATHS.pingElb,
  PATHS.cspReport,
]);

/** True for a route whose URL can carry nothing of the visitor's (no parameter, no wildcard). */
function fixedRoute(request: FastifyRequest): boolean {
  const url = request.routeOptions.url;
  return url !== undefined && !url.includes(':') && !url.includes('*');
}

export function consentVariant(options: ConsentOptions): (request: FastifyRequest, reply: FastifyReply) => PageVariant {
  const cache = new Map<string, PageVariant>();
  return (request, reply) => {
    const cookies = parseCookies(request.headers.cookie);
    const state = consentState(cookies);
    const path = pathOf(request.url);
    const onCookiesPage = path === PATHS.cookies;
    let banner: Banner = 'none';
    if (!NO_BANNER.has(path)) {
      if (state.saved === 'accepted' || state.saved === 'rejected') banner = state.saved;
      else if (!state.chosen) banner = 'ask';
    }
    const saved = onCookiesPage && state.saved === 'saved';
    // The confirmation is shown once: this response clears the marker.
    if (banner === 'accepted' || banner === 'rejected' || saved)
      reply.header('set-cookie', clearSavedCookie(options.secure));
    const measurementId = state.policy?.usage === true && fixedRoute(request) ? options.measurementId : undefined;
    const analytics = measurementId !== undefined;
    if (analytics) {
      const csp = reply.getHeader('content-security-policy');
      if (typeof csp === 'string') reply.header('content-security-policy', widenForAnalytics(csp));
    }
    const usage = state.policy?.usage === true ? 'yes' : 'no';
    const returnTo = banner !== 'none' && fixedRoute(request) ? path : PATHS.home;
    const key = `${banner} ${returnTo} ${analytics ? path : '-'} ${onCookiesPage ? `${usage} ${String(saved)}` : '-'}`;
    let variant = cache.get(key);
    if (variant === undefined) {
      const consent: ConsentView = {
        banner,
        analytics:
          measurementId !== undefined
            ? { measurementId, cookieDomain: options.gaCookieDomain, pageLocation: `${options.publicOrigin}${path}` }
            : null,
        usage,
        saved,
        returnTo,
      };
      variant = { key, context: { consent } };
      // Keys are few (the analytics ones hold a route path, of which there are few): bounded all the same.
      if (cache.size < 1000) cache.set(key, variant);
    }
    return variant;
  };
}
