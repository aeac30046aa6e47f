/**
 * Whether a GET that changes something is a link the user followed on this site: the legacy pages' sign-out link
 * (ADR 0020) and the live delete-account page's confirm link (ADR 0049) act on GET, as the PHP front does. Fetch
 * metadata decides: `Sec-Fetch-Site: same-origin` (a link or form on this origin, which the edge shares with the
 * legacy front), and `none` (typed, a bookmark) only where `typed` says it may; never a prefetch or prerender. A
 * browser too old to send fetch metadata is believed only when its Referer is this origin.
 */
import type { FastifyRequest } from 'fastify';

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function linkFollowed(
  request: FastifyRequest,
  publicOrigin: string,
  options: { readonly typed: boolean },
): boolean {
  const purpose = `${header(request, 'sec-purpose') ?? ''} ${header(request, 'purpose') ?? ''}`.toLowerCase();
  if (purpose.includes('prefetch') || purpose.includes('prerender')) return false;
  const site = header(request, 'sec-fetch-site');
  if (site !== undefined) return site === 'same-origin' || (options.typed && site === 'none');
  const referer = header(request, 'referer');
  return referer !== undefined && URL.canParse(referer) && new URL(referer).origin === publicOrigin;
}
