/**
 * The consent cookies shared with the PHP front (docs/adr/0037): `cookie_policy`, JSON
 * `{"essential":true,"usage":bool}`,
 * and `seen_cookie_message=true`, both 365 days, path /, readable by JavaScript (the PHP front's JS reads and writes
 * them).
 * Pure functions: reading never throws (a malformed value is "no choice"), writing returns Set-Cookie header values.
 */
export const POLICY_COOKIE = 'cookie_policy';
export const SEEN_COOKIE = 'seen_cookie_message';
/**
 * Ours only: which confirmation the next page shows after a choice sent without JavaScript (read once, then cleared).
 */
export const SAVED_COOKIE = 'lpa-consent-saved';

const YEAR_SECONDS = 365 * 24 * 60 * 60;
/** The PHP front's value is 31 bytes (about 60 percent-encoded); anything far longer is not one of ours. */
const MAX_POLICY_LENGTH = 256;
/** The GA4 cookies: `_ga`, and `_ga_<container id>`. Anything else is not deleted by name from the request. */
const GA_COOKIE = /^_ga(?:$|_[A-Za-z0-9]{1,40}$)/;

export interface Policy {
  readonly usage: boolean;
}

export type Saved = 'accepted' | 'rejected' | 'saved';

/**
 * The request's consent: `policy` null when there is no valid `cookie_policy`; `chosen` when the visitor has also
 * seen and answered the message (the PHP front writes a default `usage:false` policy before any choice, so the
 * policy alone does not mean a choice was made).
 */
export interface ConsentState {
  readonly policy: Policy | null;
  readonly chosen: boolean;
  readonly saved: Saved | null;
}

/**
 * `cookie_policy` as the PHP front and GOV.UK's cookie-functions.js write it, raw or percent-encoded; null otherwise.
 */
export function readPolicy(raw: string | undefined): Policy | null {
  if (raw === undefined || raw.length === 0 || raw.length > MAX_POLICY_LENGTH) return null;
  let text = raw;
  if (raw.includes('%')) {
    try {
      text = decodeURIComponent(raw);
    } catch {
      return null;
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const { essential, usage } = value as { essential?: unknown; usage?: unknown };
  // Booleans only: `"true"` or 1 is not consent.
  if (essential !== true || typeof usage !== 'boolean') return null;
  return { usage };
}

/** Every cookie in a Cookie header, first value of each name wins (as browsers send the most specific first). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (header === undefined) return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    if (!cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}

export function consentState(cookies: ReadonlyMap<string, string>): ConsentState {
  const policy = readPolicy(cookies.get(POLICY_COOKIE));
  const savedRaw = cookies.get(SAVED_COOKIE);
  const saved = savedRaw === 'accepted' || savedRaw === 'rejected' || savedRaw === 'saved' ? savedRaw : null;
  return { policy, chosen: policy !== null && cookies.get(SEEN_COOKIE) === 'true', saved };
}

export interface CookieOptions {
  /** Secure on an https origin (browsers keep Secure cookies on loopback http too, but not on other http hosts). */
  readonly secure: boolean;
  /** Where GA4 sets its cookies (config GA_COOKIE_DOMAIN); they are deleted there as well as on the host. */
  readonly gaCookieDomain?: string | undefined;
  /** GA_MEASUREMENT_ID: its `_ga_<id>` cookie is deleted even when the request did not send it. */
  readonly measurementId?: string | undefined;
}

function attributes(secure: boolean): string {
  return `Path=/; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/** The exact JSON the PHP front's JS writes (`JSON.stringify({essential:true,usage})`), unencoded as it writes it. */
export function policyValue(usage: boolean): string {
  return JSON.stringify({ essential: true, usage });
}

/**
 * Set-Cookie values that record a choice: the policy and "seen", and on withdrawal (or rejection) the expiry of every
 * GA4 cookie, on the host and on the configured cookie domain. Not HttpOnly: the PHP front's JS reads both.
 */
export function choiceCookies(usage: boolean, requestCookieNames: Iterable<string>, options: CookieOptions): string[] {
  const attrs = attributes(options.secure);
  const headers = [
    `${POLICY_COOKIE}=${policyValue(usage)}; Max-Age=${String(YEAR_SECONDS)}; ${attrs}`,
    `${SEEN_COOKIE}=true; Max-Age=${String(YEAR_SECONDS)}; ${attrs}`,
  ];
  if (!usage) headers.push(...gaDeletions(requestCookieNames, options));
  return headers;
}

/** Expired GA4 cookies: each `_ga*` name the request sent, plus `_ga` and `_ga_<id>`, host-only and on the domain. */
export function gaDeletions(requestCookieNames: Iterable<string>, options: CookieOptions): string[] {
  const names = new Set<string>(['_ga']);
  if (options.measurementId !== undefined) names.add(`_ga_${options.measurementId.replace(/^G-/, '')}`);
  for (const name of requestCookieNames) if (GA_COOKIE.test(name)) names.add(name);
  const expired = `Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; ${attributes(options.secure)}`;
  const headers: string[] = [];
  for (const name of [...names].sort()) {
    headers.push(`${name}=; ${expired}`);
    if (options.gaCookieDomain !== undefined) headers.push(`${name}=; Domain=${options.gaCookieDomain}; ${expired}`);
  }
  return headers;
}

/** The one-page "your choice was saved" marker: HttpOnly (no script needs it), gone after 5 minutes at most. */
export function savedCookie(saved: Saved, secure: boolean): string {
  return `${SAVED_COOKIE}=${saved}; Max-Age=300; HttpOnly; ${attributes(secure)}`;
}

export function clearSavedCookie(secure: boolean): string {
  return `${SAVED_COOKIE}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; ${attributes(secure)}`;
}
