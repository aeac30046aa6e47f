// Where egress may send a request: only to the configured origins (scheme, host and port), never with credentials in
// the URL, and never with a header egress sets itself.
import { EgressError } from './egress-types.ts';

export const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers egress sets itself; a caller's value would allow request smuggling or virtual-host confusion. */
export const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade']);

export function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * The entries of EGRESS_ALLOW_PRIVATE that name `endpoint`'s host: what one endpoint's egress may be given as
 * `allowPrivateFor` (createEgress refuses an entry that names none of its origins).
 */
export function privateHostsFor(entries: readonly string[], endpoint: URL): string[] {
  const host = stripBrackets(endpoint.hostname.toLowerCase());
  return entries.filter((entry) => stripBrackets(entry.trim().toLowerCase()) === host);
}

export function parseAllowedOrigin(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new Error(`egress: allowed origin is not a URL: ${origin}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`egress: allowed origin must be http or https: ${origin}`);
  }
  if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) {
    throw new Error(`egress: allowed origin must be scheme://host[:port] only: ${origin}`);
  }
  return url.origin;
}

/** The URL, if its origin is one of `allowed`; otherwise an ORIGIN_NOT_ALLOWED error. */
export function checkUrl(input: string | URL, allowed: ReadonlySet<string>): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new EgressError('ORIGIN_NOT_ALLOWED', 'not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EgressError('ORIGIN_NOT_ALLOWED', `scheme ${url.protocol} is not allowed`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new EgressError('ORIGIN_NOT_ALLOWED', 'credentials in the URL are not allowed');
  }
  if (!allowed.has(url.origin)) {
    throw new EgressError('ORIGIN_NOT_ALLOWED', `origin ${url.origin} is not allowed`);
  }
  return url;
}
