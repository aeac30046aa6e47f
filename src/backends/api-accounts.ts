/**
 * The LPA API as the accounts backend: the calls in docs/api/lpa-api.openapi.yaml, made as the PHP front
 * makes them (service-front `Service/UserDetails.php`, `Service/Lpa/Application.php`), through api-client
 * and its egress. Statuses and `detail` codes map as the API's controllers answer them
 * (service-api `Controller/Version2/Auth/{Users,Password,Email}Controller.php`,
 * `Version2/Lpa/{User,Application}Controller.php`).
 * Nothing here logs; api-client logs method, origin, status and time only.
 */
import type { ApiClient, ApiCallOptions } from './api-client.ts';
import type { EgressResponse } from './egress.ts';
import { CredentialBackendError, TOKEN_LIFETIME_SECONDS, normaliseEmail, parseApiDate } from './credentials.ts';
import type { PersonName } from './credentials.ts';
import type { AccountDetails, AccountsBackend, Address, LpaSummary } from './accounts.ts';

const USER_ID = /^[0-9a-f]{32}$/;
const TOKEN = /^[\x21-\x7e]{16,256}$/;

type Json = Record<string, unknown>;

function record(value: unknown): Json | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : null;
}

function bodyOf(res: EgressResponse): Json | null {
  try {
    return record(res.json<unknown>());
  } catch {
    return null;
  }
}

function detailOf(res: EgressResponse): string {
  const d = bodyOf(res)?.detail;
  return typeof d === 'string' ? d : '';
}

function str(value: unknown, max = 200): string | null {
  return typeof value === 'string' && value.length <= max ? value : null;
}

function tokenFrom(value: unknown): string {
  if (typeof value !== 'string' || !TOKEN.test(value))
    throw new CredentialBackendError('the API answered a token that is not one');
  return value;
}

function expiryFrom(body: Json, now: number, fallbackSeconds: number): Date {
  return (
    parseApiDate(body.expiresAt) ??
    new Date(now + (typeof body.expiresIn === 'number' ? body.expiresIn : fallbackSeconds) * 1000)
  );
}

function nameFrom(value: unknown): PersonName | null {
  const n = record(value);
  const first = str(n?.first);
  const last = str(n?.last);
  if (n === null || first === null || last === null) return null;
  const title = str(n.title);
  return title === null || title === '' ? { first, last } : { title, first, last };
}

function addressFrom(value: unknown): Address | null {
  const a = record(value);
  const address1 = str(a?.address1);
  if (a === null || address1 === null) return null;
  // The data model needs line 2 or a postcode, not both: an address saved without a postcode (overseas) is still one.
  return { address1, address2: str(a.address2), address3: str(a.address3), postcode: str(a.postcode) ?? '' };
}

function lpaFrom(value: unknown): LpaSummary | null {
  const l = record(value);
  if (l === null || typeof l.id !== 'number' || !Number.isSafeInteger(l.id)) return null;
  const doc = record(l.document);
  const type = doc?.type === 'property-and-financial' || doc?.type === 'health-and-welfare' ? doc.type : null;
  const name = nameFrom(record(doc?.donor)?.name);
  // Metadata is a JSON object, or `[]` when empty (PHP's empty array); the keys are Lpa::PEOPLE_TO_NOTIFY_CONFIRMED
  // and Lpa::SIRIUS_PROCESSING_STATUS, read as service-front's Application::fetchLpaSummaries reads them.
  const metadata = record(l.metadata);
  return {
    id: l.id,
    type,
    donorName:
      name === null ? null : [name.title, name.first, name.last].filter((p) => p !== undefined && p !== '').join(' '),
    updatedAt: parseApiDate(l.updatedAt),
    createdAt: parseApiDate(l.createdAt),
    completedAt: parseApiDate(l.completedAt),
    reusable: metadata !== null && Object.hasOwn(metadata, 'people-to-notify-confirmed'),
    processingStatus: str(metadata?.['sirius-processing-status'], 40),
  };
}

export interface ApiAccountsOptions {
  readonly api: Pick<ApiClient, 'call'>;
  readonly now?: () => number;
}

export function createApiAccounts(options: ApiAccountsOptions): AccountsBackend {
  const lpaApi = options.api; // (not `api`: the security lint reads that name as a credential)
  const now = options.now ?? Date.now;

  async function call(method: string, path: string, callOptions: ApiCallOptions): Promise<EgressResponse> {
    let res;
    try {
      res = await lpaApi.call(method, path, callOptions);
    } catch (err) {
      throw new CredentialBackendError(`${method} ${path.replace(/[0-9a-f]{32}/, ':id').split('?')[0] ?? ''} failed`, {
        cause: err,
      });
    }
    if (res.status >= 500) throw new CredentialBackendError(`${method} answered ${String(res.status)}`);
    return res;
  }

  const trace = (traceId: string | undefined) => (traceId === undefined ? {} : { traceId });
  const unexpected = (what: string, res: EgressResponse) =>
    new CredentialBackendError(`${what} answered ${String(res.status)}`);

  async function userResource(userId: string, authToken: string, traceId?: string): Promise<Json | null> {
    if (!USER_ID.test(userId)) return null;
    const res = await call('GET', `/v2/user/${userId}`, { token: authToken, ...trace(traceId) });
    if (res.status === 401 || res.status === 403 || res.status === 404) return null;
    const body = bodyOf(res);
    if (res.status !== 200 || body === null) throw unexpected('GET /v2/user', res);
    return body;
  }

  return {
    kind: 'api',

    async register(email, password, traceId) {
      const res = await call('POST', '/v2/users', {
        json: { username: normaliseEmail(email), password },
        ...trace(traceId),
      });
      const body = bodyOf(res);
      if (res.status === 200 && body !== null && typeof body.userId === 'string' && USER_ID.test(body.userId)) {
        return { outcome: 'created', userId: body.userId, activationToken: tokenFrom(body.activation_token) };
      }
      const detail = detailOf(res);
      if (res.status === 400 && detail === 'username-already-exists') return { outcome: 'exists' };
      if (res.status === 400 && detail === 'invalid-username') return { outcome: 'invalid-email' };
      if (res.status === 400 && detail === 'invalid-password') return { outcome: 'invalid-password' };
      throw unexpected('POST /v2/users', res);
    },

    async activate(activationToken, traceId) {
      if (!TOKEN.test(activationToken)) return 'invalid-token';
      const res = await call('POST', '/v2/users', { json: { activationToken }, ...trace(traceId) });
      if (res.status === 204 || res.status === 200) return 'activated';
      if (res.status === 400 || res.status === 404) return 'invalid-token';
      throw unexpected('POST /v2/users', res);
    },

    async requestPasswordReset(email, traceId) {
      const res = await call('POST', '/v2/users/password-reset', {
        json: { username: normaliseEmail(email) },
        ...trace(traceId),
      });
      if (res.status === 404) return { outcome: 'unknown' };
      const body = bodyOf(res);
      if (res.status !== 200 || body === null) throw unexpected('POST /v2/users/password-reset', res);
      if (body.token !== undefined)
        return { outcome: 'reset', token: tokenFrom(body.token), expiresAt: expiryFrom(body, now(), 86_400) };
      return { outcome: 'not-activated', activationToken: tokenFrom(body.activation_token) };
    },

    async resetPassword(passwordToken, newPassword, traceId) {
      if (!TOKEN.test(passwordToken)) return 'invalid-token';
      const res = await call('POST', '/v2/users/password', { json: { passwordToken, newPassword }, ...trace(traceId) });
      if (res.status === 204 || res.status === 200) return 'changed';
      if (res.status === 400) return detailOf(res) === 'Invalid password' ? 'invalid-password' : 'invalid-token';
      throw unexpected('POST /v2/users/password', res);
    },

    async changePassword(userId, authToken, currentPassword, newPassword, traceId) {
      if (!USER_ID.test(userId)) return { ok: false, reason: 'invalid-token' };
      const res = await call('POST', `/v2/users/${userId}/password`, {
        json: { currentPassword, newPassword },
        token: authToken,
        ...trace(traceId),
      });
      const body = bodyOf(res);
      if (res.status === 200 && body !== null)
        return { ok: true, token: tokenFrom(body.token), expiresAt: expiryFrom(body, now(), TOKEN_LIFETIME_SECONDS) };
      const detail = detailOf(res);
      if (res.status === 401 && detail === 'invalid-user-credentials') return { ok: false, reason: 'wrong-password' };
      if ((res.status === 401 || res.status === 400) && detail === 'invalid-new-password')
        return { ok: false, reason: 'invalid-password' };
      if (res.status === 401 || res.status === 403 || res.status === 404) return { ok: false, reason: 'invalid-token' };
      throw unexpected('POST /v2/users/:id/password', res);
    },

    async requestEmailChange(userId, authToken, newEmail, traceId) {
      if (!USER_ID.test(userId)) return { ok: false, reason: 'invalid-token' };
      const res = await call('POST', `/v2/users/${userId}/email`, {
        json: { newEmail: normaliseEmail(newEmail) },
        token: authToken,
        ...trace(traceId),
      });
      const body = bodyOf(res);
      if (res.status === 200 && body !== null)
        return { ok: true, token: tokenFrom(body.token), expiresAt: expiryFrom(body, now(), 86_400) };
      const detail = detailOf(res);
      if (res.status === 400 && detail === 'Email already exists for another user')
        return { ok: false, reason: 'email-taken' };
      if (res.status === 400 && detail === 'User already has this email') return { ok: false, reason: 'same-email' };
      if (res.status === 400) return { ok: false, reason: 'invalid-email' };
      if (res.status === 401 || res.status === 403 || res.status === 404) return { ok: false, reason: 'invalid-token' };
      throw unexpected('POST /v2/users/:id/email', res);
    },

    async verifyEmailChange(emailUpdateToken, traceId) {
      if (!TOKEN.test(emailUpdateToken)) return 'invalid-token';
      const res = await call('POST', '/v2/users/email', { json: { emailUpdateToken }, ...trace(traceId) });
      if (res.status === 204 || res.status === 200) return 'changed';
      if (res.status === 404) return 'invalid-token';
      if (res.status === 400) return 'email-taken';
      throw unexpected('POST /v2/users/email', res);
    },

    async getDetails(userId, authToken, traceId): Promise<AccountDetails | null> {
      const body = await userResource(userId, authToken, traceId);
      if (body === null) return null;
      const dob = str(record(body.dob)?.date, 40);
      return {
        id: userId,
        email: str(body.email, 320) ?? str(record(body.email)?.address, 320) ?? '',
        name: nameFrom(body.name),
        dob: dob === null ? null : dob.slice(0, 10),
        address: addressFrom(body.address),
        createdAt: parseApiDate(body.createdAt),
        updatedAt: parseApiDate(body.updatedAt),
      };
    },

    async updateDetails(userId, authToken, update, traceId) {
      // The live front PUTs the whole user resource back with its changes (UserDetails::updateAllDetails).
      const current = await userResource(userId, authToken, traceId);
      if (current === null) return false;
      const updated = {
        ...current,
        name: { title: update.name.title ?? null, first: update.name.first, last: update.name.last },
        dob: update.dob === null ? null : { date: `${update.dob}T00:00:00+0000` },
        address: update.address,
      };
      const res = await call('PUT', `/v2/user/${userId}`, { json: updated, token: authToken, ...trace(traceId) });
      if (res.status === 401 || res.status === 403 || res.status === 404) return false;
      if (res.status < 200 || res.status > 299) throw unexpected('PUT /v2/user', res);
      return true;
    },

    async deleteAccount(userId, authToken, traceId) {
      if (!USER_ID.test(userId)) return false;
      const res = await call('DELETE', `/v2/user/${userId}`, { token: authToken, ...trace(traceId) });
      if (res.status === 204 || res.status === 200) return true;
      if (res.status === 401 || res.status === 403 || res.status === 404) return false;
      throw unexpected('DELETE /v2/user', res);
    },

    async listLpas(userId, authToken, query, traceId) {
      if (!USER_ID.test(userId)) return null;
      // As Application::fetchLpaSummaries: search always, page and perPage when both are positive.
      const params = new URLSearchParams();
      if (query.search !== undefined && query.search.trim() !== '')
        params.set('search', query.search.trim().slice(0, 200));
      if (query.page > 0 && query.perPage > 0) {
        params.set('page', String(Math.floor(query.page)));
        params.set('perPage', String(Math.floor(query.perPage)));
      }
      const qs = params.toString();
      const res = await call('GET', `/v2/user/${userId}/applications${qs === '' ? '' : `?${qs}`}`, {
        token: authToken,
        ...trace(traceId),
      });
      if (res.status === 204) return { lpas: [], total: 0 };
      if (res.status === 401 || res.status === 403 || res.status === 404) return null;
      const body = bodyOf(res);
      if (res.status !== 200 || body === null || !Array.isArray(body.applications) || typeof body.total !== 'number')
        throw unexpected('GET /v2/user/:id/applications', res);
      const lpas = body.applications.map(lpaFrom).filter((l): l is LpaSummary => l !== null);
      return { lpas, total: body.total };
    },
  };
}
