/**
 * Credential backends: who a user is, behind one interface.
 *
 * - `api` (api-credentials.ts) when API_BASE_URL is set: the live LPA API (`POST /v2/authenticate`,
 *   `GET|PUT /v2/user/:id`), exactly as the PHP front calls it.
 * - `local` (local-credentials.ts), the embedded default: users in the SQLite store, added with
 *   `npm run user:add`.
 *
 * Both behave like the live API: an opaque bearer token that expires after TOKEN_LIFETIME_SECONDS of
 * inactivity and slides when refreshed, 5 consecutive failures lock the account for 15 minutes.
 * Results never say whether an unknown email exists (an unknown user is 'authentication-failed').
 */

/** The API's sliding token lifetime (service-api `Authentication/Service.php`: 4500 s, 75 minutes). */
export const TOKEN_LIFETIME_SECONDS = 4500;
/** The API's lockout: MAX_ALLOWED_LOGIN_ATTEMPTS and ACCOUNT_LOCK_TIME. */
export const MAX_FAILED_ATTEMPTS = 5;
export const LOCK_SECONDS = 900;

export type AuthFailureReason = 'authentication-failed' | 'locked' | 'not-activated' | 'api-error';

export type AuthenticateResult =
  | {
      readonly ok: true;
      readonly userId: string;
      readonly token: string;
      readonly expiresAt: Date;
      /** The sign-in before this one; null on the first. */
      readonly lastLogin: Date | null;
    }
  | { readonly ok: false; readonly reason: AuthFailureReason };

export type RefreshResult =
  | { readonly ok: true; readonly expiresAt: Date }
  /** 'invalid': the token has expired or is unknown (sign the user out); 'api-error': could not tell. */
  | { readonly ok: false; readonly reason: 'invalid' | 'api-error' };

export interface PersonName {
  readonly title?: string;
  readonly first: string;
  readonly last: string;
}

export interface UserDetails {
  readonly id: string;
  readonly email: string;
  readonly name: PersonName | null;
  readonly createdAt: Date | null;
  readonly updatedAt: Date | null;
}

export interface CredentialBackend {
  readonly kind: 'local' | 'api';
  /** `email` as typed (the backend lowercases and trims it); `password` exactly as typed. */
  authenticate(email: string, password: string, traceId: string): Promise<AuthenticateResult>;
  /** Slides the token's expiry (the API's `{authToken}` call). */
  refresh(token: string, traceId: string): Promise<RefreshResult>;
  /**
   * Ends the token at once (sign-out). True when the backend no longer accepts it (ended now, or already
   * expired or unknown); false when the backend could not be told (outage). Never throws.
   */
  revoke(token: string, traceId: string): Promise<boolean>;
  /** The user's details, or null when the token is no longer valid for that user. Throws on backend failure. */
  getUser(userId: string, token: string, traceId?: string): Promise<UserDetails | null>;
  /** Changes the user's name; false when the token is no longer valid. Throws on backend failure. */
  updateName(userId: string, token: string, name: PersonName, traceId?: string): Promise<boolean>;
  close(): Promise<void>;
}

/** A backend that could not be reached or answered something unexpected (5xx, malformed). */
export class CredentialBackendError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CredentialBackendError';
  }
}

/** What both backends do to an email before using it (the PHP form's StringTrim + lowercase). */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * A date as PHP's `DateTime::format('c')` writes it (`2026-08-21T14:20:00+00:00`): ISO 8601, in UTC,
 * whole seconds. The identity in the shared session uses this form, so the PHP front reads ours unchanged.
 */
export function phpIsoDate(date: Date): string {
  return `${String(date.getUTCFullYear())}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}+00:00`;
}

/**
 * Parses the API's and PHP's date strings (`Y-m-d\TH:i:sO` = `...+0000`, `c` = `...+00:00`, or ISO with Z).
 * Returns null for anything else.
 */
export function parseApiDate(value: unknown): Date | null {
  if (typeof value !== 'string' || value.length > 40) return null;
  if (!/^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d/.test(value)) return null;
  let rest = value.slice(19);
  let fraction = '';
  const frac = /^\.\d{1,6}/.exec(rest);
  if (frac !== null) {
    fraction = frac[0].slice(0, 4);
    rest = rest.slice(frac[0].length);
  }
  let offset: string;
  if (rest === 'Z') offset = 'Z';
  else if (/^[+-]\d\d:?\d\d$/.test(rest)) offset = `${rest.slice(0, 3)}:${rest.slice(-2)}`;
  else return null;
  const d = new Date(`${value.slice(0, 10)}T${value.slice(11, 19)}${fraction}${offset}`);
  return Number.isNaN(d.getTime()) ? null : d;
}
