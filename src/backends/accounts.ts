/**
 * Account backends: registration, activation, password reset and change, email change, profile, deletion and
 * the user's LPAs, behind one interface (issue 22), so the account pages are written once.
 *
 * - `api` (api-accounts.ts) when API_BASE_URL is set: the LPA API calls in docs/api/lpa-api.openapi.yaml,
 *   exactly as the PHP front makes them (service-front `Service/UserDetails.php`, `Service/Lpa/Application.php`).
 * - `local` (local-accounts.ts), the embedded default: the same users as local-credentials.ts, in the SQLite
 *   store, with single-use tokens stored only as their SHA-256.
 *
 * Tokens returned here are secrets: the caller puts them in an email link and nowhere else (never a log line).
 * Results say what happened to the caller (the page), which decides what the user may learn: pages must not
 * reveal whether an address has an account (the email tells its owner). Outages throw CredentialBackendError.
 */
import type { PersonName } from './credentials.ts';

/** Activation, reset and email-change tokens live 24 h (the API's TOKEN_TTL, Password and Email services). */
export const ACCOUNT_TOKEN_LIFETIME_SECONDS = 86_400;
/** The PHP dashboard's page size (DashboardHandler: $lpasPerPage = 50). */
export const LPAS_PER_PAGE = 50;

export type RegisterResult =
  | { readonly outcome: 'created'; readonly userId: string; readonly activationToken: string }
  /** The address already has an account: the page answers as for 'created', the email says so. */
  | { readonly outcome: 'exists' }
  | { readonly outcome: 'invalid-email' | 'invalid-password' };

export type PasswordResetRequest =
  | { readonly outcome: 'reset'; readonly token: string; readonly expiresAt: Date }
  /** The account exists but is not active yet: its activation token (the resend-activation page uses this). */
  | { readonly outcome: 'not-activated'; readonly activationToken: string }
  | { readonly outcome: 'unknown' };

export type ChangePasswordResult =
  /** Changed; every other sign-in of the user is ended, this is the new token. */
  | { readonly ok: true; readonly token: string; readonly expiresAt: Date }
  | { readonly ok: false; readonly reason: 'invalid-token' | 'wrong-password' | 'invalid-password' };

export type EmailChangeRequest =
  | { readonly ok: true; readonly token: string; readonly expiresAt: Date }
  | { readonly ok: false; readonly reason: 'invalid-token' | 'invalid-email' | 'email-taken' | 'same-email' };

export interface Address {
  readonly address1: string;
  readonly address2: string | null;
  readonly address3: string | null;
  readonly postcode: string;
}

export interface AccountDetails {
  readonly id: string;
  readonly email: string;
  readonly name: PersonName | null;
  /** YYYY-MM-DD. */
  readonly dob: string | null;
  readonly address: Address | null;
  readonly createdAt: Date | null;
  readonly updatedAt: Date | null;
}

export interface DetailsUpdate {
  readonly name: PersonName;
  readonly dob: string | null;
  readonly address: Address | null;
}

export interface LpaSummary {
  readonly id: number;
  readonly type: 'property-and-financial' | 'health-and-welfare' | null;
  readonly donorName: string | null;
  readonly updatedAt: Date | null;
  /** Set when the LPA was created (the "Created" step, before it is completed). */
  readonly createdAt: Date | null;
  readonly completedAt: Date | null;
  /** Its details can be reused for a new LPA: metadata `people-to-notify-confirmed` is set. */
  readonly reusable: boolean;
  /** What OPG's case system last said (metadata `sirius-processing-status`: Received, Checking, Processed…). */
  readonly processingStatus: string | null;
}

export interface LpaPage {
  readonly lpas: readonly LpaSummary[];
  readonly total: number;
}

export interface LpaQuery {
  /** As the API reads it: digits or `A` + digits are an LPA id, 3+ other characters a donor name, else ignored. */
  readonly search?: string;
  /** From 1. */
  readonly page: number;
  readonly perPage: number;
}

export interface AccountsBackend {
  readonly kind: 'local' | 'api';
  register(email: string, password: string, traceId?: string): Promise<RegisterResult>;
  /** Single use: a second call with the same token is 'invalid-token'. */
  activate(activationToken: string, traceId?: string): Promise<'activated' | 'invalid-token'>;
  requestPasswordReset(email: string, traceId?: string): Promise<PasswordResetRequest>;
  /** Single use; ends every sign-in of the user. */
  resetPassword(
    passwordToken: string,
    newPassword: string,
    traceId?: string,
  ): Promise<'changed' | 'invalid-token' | 'invalid-password'>;
  changePassword(
    userId: string,
    authToken: string,
    currentPassword: string,
    newPassword: string,
    traceId?: string,
  ): Promise<ChangePasswordResult>;
  requestEmailChange(
    userId: string,
    authToken: string,
    newEmail: string,
    traceId?: string,
  ): Promise<EmailChangeRequest>;
  /** Single use. */
  verifyEmailChange(emailUpdateToken: string, traceId?: string): Promise<'changed' | 'invalid-token' | 'email-taken'>;
  /** Null when the token is not valid for that user. */
  getDetails(userId: string, authToken: string, traceId?: string): Promise<AccountDetails | null>;
  /** False when the token is not valid for that user. */
  updateDetails(userId: string, authToken: string, update: DetailsUpdate, traceId?: string): Promise<boolean>;
  /** Deletes the account, its sign-ins and its LPAs. False when the token is not valid for that user. */
  deleteAccount(userId: string, authToken: string, traceId?: string): Promise<boolean>;
  /** Null when the token is not valid for that user. */
  listLpas(userId: string, authToken: string, query: LpaQuery, traceId?: string): Promise<LpaPage | null>;
}

export type SearchFilter =
  | { readonly kind: 'none' }
  | { readonly kind: 'id'; readonly id: number }
  | { readonly kind: 'name'; readonly text: string };

/** The API's reading of `search` (service-api `Applications/Service.php` `paginate`). */
export function searchFilter(search: string | undefined): SearchFilter {
  const s = (search ?? '').trim();
  if (s === '') return { kind: 'none' };
  if (/^\d+$/.test(s)) return { kind: 'id', id: Number(s) };
  if (/^a/i.test(s)) {
    const rest = s.slice(1).replace(/\s+/g, '');
    if (/^\d+$/.test(rest)) return { kind: 'id', id: Number(rest) };
  }
  return s.length >= 3 ? { kind: 'name', text: s } : { kind: 'none' };
}
