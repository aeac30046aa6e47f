/**
 * The live LPA API as a credential backend, called exactly as the PHP front calls it
 * (service-front `Authentication/Adapter/LpaAuthAdapter.php`, `IdentityTokenRefreshMiddleware.php`):
 *
 * - sign-in: `POST /v2/authenticate {username, password}` (username lowercased) → 200
 *   `{userId, username, last_login, token, expiresIn, expiresAt}`; 401 problem+json whose `detail` says why;
 * - refresh: `POST /v2/authenticate {authToken}` slides the token (to now + 4500 s);
 * - details: `GET /v2/user/:id` and `PUT /v2/user/:id` with the header `Token`;
 * - sign-out: `POST /v2/session-set-expiry {expireInSeconds: 0}` with the header `CheckedToken`, which sets the
 *   token's expiry to now (the API has no DELETE for a token or session; ADR 0019). The live front calls the same
 *   endpoint (LpaAuthAdapter::setSessionExpiry) but not at sign-out.
 *
 * Failure codes map as the live front maps them: locked, not-activated, api-error (5xx, network, nonsense),
 * anything else authentication-failed. No password, token or username is ever logged here (api-client
 * logs nothing but method, origin, status and time).
 */
import type { ApiClient } from './api-client.ts';
import type { EgressResponse } from './egress.ts';
import type {
  AuthFailureReason,
  AuthenticateResult,
  CredentialBackend,
  PersonName,
  RefreshResult,
  UserDetails,
} from './credentials.ts';
import { CredentialBackendError, TOKEN_LIFETIME_SECONDS, normaliseEmail, parseApiDate } from './credentials.ts';

/** The API's 401 `detail` codes and what the front tells the user. */
export const API_FAILURE_CODES: Readonly<Record<string, AuthFailureReason>> = {
  'missing-credentials': 'authentication-failed',
  'user-not-found': 'authentication-failed',
  'invalid-user-credentials': 'authentication-failed',
  'account-not-active': 'not-activated',
  'account-locked/max-login-attempts': 'locked',
  'invalid-user-credentials/account-locked': 'locked',
};

const USER_ID = /^[0-9a-f]{32}$/;

function record(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function bodyOf(res: Pick<EgressResponse, 'json'>): Record<string, unknown> | null {
  try {
    return record(res.json<unknown>());
  } catch {
    return null;
  }
}

function expiryFrom(body: Record<string, unknown>, now: number): Date {
  const at = parseApiDate(body.expiresAt);
  if (at !== null) return at;
  const seconds =
    typeof body.expiresIn === 'number' && body.expiresIn > 0 && body.expiresIn <= 86_400
      ? body.expiresIn
      : TOKEN_LIFETIME_SECONDS;
  return new Date(now + seconds * 1000);
}

function str(value: unknown, max = 200): string | undefined {
  return typeof value === 'string' && value.length <= max ? value : undefined;
}

function nameFrom(value: unknown): PersonName | null {
  const n = record(value);
  if (n === null) return null;
  const first = str(n.first);
  const last = str(n.last);
  if (first === undefined || last === undefined) return null;
  const title = str(n.title);
  return title === undefined || title === '' ? { first, last } : { title, first, last };
}

export interface ApiCredentialsOptions {
  readonly api: Pick<ApiClient, 'call'>;
  readonly now?: () => number;
}

export function createApiCredentials(options: ApiCredentialsOptions): CredentialBackend {
  const { api } = options;
  const now = options.now ?? Date.now;

  async function userResource(
    userId: string,
    token: string,
    traceId: string | undefined,
  ): Promise<Record<string, unknown> | null> {
    if (!USER_ID.test(userId)) return null;
    let res;
    try {
      res = await api.call('GET', `/v2/user/${userId}`, { token, ...(traceId === undefined ? {} : { traceId }) });
    } catch (err) {
      throw new CredentialBackendError('GET /v2/user failed', { cause: err });
    }
    if (res.status === 401 || res.status === 403 || res.status === 404) return null;
    if (res.status !== 200) throw new CredentialBackendError(`GET /v2/user answered ${String(res.status)}`);
    const body = bodyOf(res);
    if (body === null) throw new CredentialBackendError('GET /v2/user answered something that is not a JSON object');
    return body;
  }

  return {
    kind: 'api',

    async authenticate(email: string, password: string, traceId: string): Promise<AuthenticateResult> {
      let res;
      try {
        res = await api.call('POST', '/v2/authenticate', {
          json: { username: normaliseEmail(email), password },
          traceId,
        });
      } catch {
        return { ok: false, reason: 'api-error' };
      }
      const body = bodyOf(res);
      if (res.status === 200 && body !== null) {
        const userId = body.userId;
        const token = body.token;
        if (
          typeof userId !== 'string' ||
          !USER_ID.test(userId) ||
          typeof token !== 'string' ||
          token.length < 16 ||
          token.length > 256
        ) {
          return { ok: false, reason: 'api-error' };
        }
        return {
          ok: true,
          userId,
          token,
          expiresAt: expiryFrom(body, now()),
          lastLogin: parseApiDate(body.last_login),
        };
      }
      if (res.status >= 500 || res.status === 200) return { ok: false, reason: 'api-error' };
      const detail = typeof body?.detail === 'string' ? body.detail : '';
      return { ok: false, reason: API_FAILURE_CODES[detail] ?? 'authentication-failed' };
    },

    async refresh(token: string, traceId: string): Promise<RefreshResult> {
      let res;
      try {
        res = await api.call('POST', '/v2/authenticate', { json: { authToken: token }, traceId });
      } catch {
        return { ok: false, reason: 'api-error' };
      }
      if (res.status >= 500) return { ok: false, reason: 'api-error' };
      const body = bodyOf(res);
      if (res.status !== 200 || body === null) return { ok: false, reason: 'invalid' };
      return { ok: true, expiresAt: expiryFrom(body, now()) };
    },

    async revoke(token: string, traceId: string): Promise<boolean> {
      let res;
      try {
        res = await api.call('POST', '/v2/session-set-expiry', {
          json: { expireInSeconds: 0 },
          checkedToken: token,
          traceId,
        });
      } catch {
        return false;
      }
      if (res.status !== 200) return false;
      // `{valid: true, remainingSeconds: 0}` (1 when the API's clock ticked a second between its two reads): ended
      // now; `{valid: false, problem}`: already expired or unknown.
      const body = bodyOf(res);
      if (body === null) return false;
      return (
        body.valid === false ||
        (body.valid === true && typeof body.remainingSeconds === 'number' && body.remainingSeconds <= 1)
      );
    },

    async getUser(userId: string, token: string, traceId?: string): Promise<UserDetails | null> {
      const body = await userResource(userId, token, traceId);
      if (body === null) return null;
      // The API's email is `{address}` (MakeShared EmailAddress); accept a plain string too.
      const email = typeof body.email === 'string' ? body.email : (str(record(body.email)?.address, 320) ?? '');
      return {
        id: userId,
        email,
        name: nameFrom(body.name),
        createdAt: parseApiDate(body.createdAt),
        updatedAt: parseApiDate(body.updatedAt),
      };
    },

    async updateName(userId: string, token: string, name: PersonName, traceId?: string): Promise<boolean> {
      // The live front PUTs the whole user resource back with its changes.
      const current = await userResource(userId, token, traceId);
      if (current === null) return false;
      const updated = { ...current, name: { title: name.title ?? null, first: name.first, last: name.last } };
      let res;
      try {
        res = await api.call('PUT', `/v2/user/${userId}`, {
          json: updated,
          token,
          ...(traceId === undefined ? {} : { traceId }),
        });
      } catch (err) {
        throw new CredentialBackendError('PUT /v2/user failed', { cause: err });
      }
      if (res.status === 401 || res.status === 403 || res.status === 404) return false;
      if (res.status < 200 || res.status > 299)
        throw new CredentialBackendError(`PUT /v2/user answered ${String(res.status)}`);
      return true;
    },

    close: () => Promise.resolve(),
  };
}
