/**
 * A stateful fake of the LPA API's account calls, behind contractFakeApi (so every request and answer is
 * checked against docs/api/lpa-api.openapi.yaml). It answers with the statuses and `detail` texts of the
 * API's controllers (cited in the contract), keeps users, tokens and LPAs in memory, and has its own clock.
 */
import { randomBytes } from 'node:crypto';
import { contractFakeApi } from './openapi-contract.ts';
import type { ContractFakeApi, FakeAnswer, FakeRequest } from './openapi-contract.ts';

interface FakeUser {
  id: string;
  email: string;
  password: string;
  active: boolean;
  activationToken: string | null;
  reset: { token: string; expires: number } | null;
  emailChange: { token: string; email: string; expires: number } | null;
  profile: Record<string, unknown>;
  lpas: Record<string, unknown>[];
}

export interface FakeLpaApi extends ContractFakeApi {
  readonly users: Map<string, FakeUser>;
  /** The fake's clock (ms); tests move it to expire tokens. */
  clock: number;
  /** Extra delay (ms) per operation id, to imitate the API's timing differences. */
  readonly delays: Map<string, number>;
  /** When set, every answer is this status (an outage). */
  outage: number | undefined;
  /**
   * When set, the delay (ms) of each answer, by request and answer (e.g. slow creates, fast refusals); else `delays`.
   */
  delayOf: ((req: FakeRequest, answer: FakeAnswer) => number | undefined) | undefined;
}

const DAY = 86_400_000;
const token = () => randomBytes(24).toString('base64url');
const apiDate = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');

function problem(status: number, detail: string): FakeAnswer {
  return { status, body: { type: 'https://tools.ietf.org/html/rfc7231', title: 'x', status, detail } };
}

/**
 * Adds an active user, as `npm run user:add` makes one for the embedded store: `name` (the profile's, as the API holds
 * it) absent means none yet (signed-in pages then send them to "about you"). Returns the user's id.
 */
export function addActiveUser(
  fake: Pick<FakeLpaApi, 'users' | 'clock'>,
  user: { email: string; password: string; name?: Record<string, unknown>; lpas?: Record<string, unknown>[] },
): string {
  const id = randomBytes(16).toString('hex');
  const at = apiDate(fake.clock);
  fake.users.set(id, {
    id,
    email: user.email,
    password: user.password,
    active: true,
    activationToken: null,
    reset: null,
    emailChange: null,
    profile: { id, createdAt: at, updatedAt: at, ...(user.name === undefined ? {} : { name: user.name }) },
    lpas: user.lpas ?? [],
  });
  return id;
}

export async function fakeLpaApi(): Promise<FakeLpaApi> {
  const users = new Map<string, FakeUser>();
  const sessions = new Map<string, { userId: string; expires: number }>();
  const byEmail = (email: string) => [...users.values()].find((u) => u.email === email);
  const state = {
    clock: Date.now(),
    outage: undefined as number | undefined,
    delays: new Map<string, number>(),
    delayOf: undefined as FakeLpaApi['delayOf'],
  };

  function signIn(user: FakeUser): FakeAnswer {
    const t = token();
    sessions.set(t, { userId: user.id, expires: state.clock + 4_500_000 });
    return {
      status: 200,
      body: {
        userId: user.id,
        username: user.email,
        token: t,
        expiresIn: 4500,
        expiresAt: apiDate(state.clock + 4_500_000),
      },
    };
  }

  function endSignIns(userId: string): void {
    for (const [t, s] of sessions) if (s.userId === userId) sessions.delete(t);
  }

  function authed(req: FakeRequest, userId: string): FakeUser | undefined {
    const t = req.headers.token;
    const s = typeof t === 'string' ? sessions.get(t) : undefined;
    return s?.userId === userId && s.expires > state.clock ? users.get(userId) : undefined;
  }

  function handle(req: FakeRequest): FakeAnswer {
    if (state.outage !== undefined) return problem(state.outage, 'outage');
    const b = (req.body ?? {}) as Record<string, string>;
    const userId = /^\/v2\/users?\/([0-9a-f]{32})/.exec(req.path)?.[1] ?? '';
    switch (req.operationId) {
      case 'authenticate': {
        if (b.authToken !== undefined) {
          // Authentication\Service::withToken: an unexpired token slides to now + the TTL (4500 s).
          const s = sessions.get(b.authToken);
          if (s === undefined) return problem(401, 'invalid-token');
          if (s.expires <= state.clock) return problem(401, 'token-has-expired');
          const u = users.get(s.userId);
          if (u === undefined) return problem(401, 'invalid-token');
          s.expires = state.clock + 4_500_000;
          return {
            status: 200,
            body: {
              userId: u.id,
              username: u.email,
              token: b.authToken,
              expiresIn: 4500,
              expiresAt: apiDate(s.expires),
            },
          };
        }
        const u = byEmail(b.username ?? '');
        if (u === undefined || u.password !== b.password) return problem(401, 'invalid-user-credentials');
        if (!u.active) return problem(401, 'account-not-active');
        return signIn(u);
      }
      case 'createOrActivateUser': {
        if (b.activationToken !== undefined) {
          const u = [...users.values()].find(
            (x) => x.activationToken !== null && x.activationToken === b.activationToken,
          );
          if (u === undefined) return problem(400, 'account-not-found');
          u.active = true;
          u.activationToken = null;
          return { status: 204 };
        }
        if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(b.username ?? '')) return problem(400, 'invalid-username');
        if (byEmail(b.username ?? '') !== undefined) return problem(400, 'username-already-exists');
        if ((b.password ?? '').length < 8) return problem(400, 'invalid-password');
        const id = randomBytes(16).toString('hex');
        const activationToken = token();
        users.set(id, {
          id,
          email: b.username ?? '',
          password: b.password ?? '',
          active: false,
          activationToken,
          reset: null,
          emailChange: null,
          profile: { id, createdAt: apiDate(state.clock), updatedAt: apiDate(state.clock) },
          lpas: [],
        });
        return { status: 200, body: { userId: id, activation_token: activationToken } };
      }
      case 'requestPasswordReset': {
        const u = byEmail(b.username ?? '');
        if (u === undefined) return problem(404, 'User not found');
        if (!u.active && u.activationToken !== null)
          return { status: 200, body: { activation_token: u.activationToken } };
        u.reset = { token: token(), expires: state.clock + DAY };
        return { status: 200, body: { token: u.reset.token, expiresIn: 86400, expiresAt: apiDate(u.reset.expires) } };
      }
      case 'resetPasswordWithToken': {
        const u = [...users.values()].find(
          (x) => x.reset !== null && x.reset.token === b.passwordToken && x.reset.expires > state.clock,
        );
        if (u === undefined) return problem(400, 'Invalid passwordToken');
        if ((b.newPassword ?? '').length < 8) return problem(400, 'Invalid password');
        u.password = b.newPassword ?? '';
        u.reset = null;
        endSignIns(u.id); // UserData::updatePasswordUsingToken sets auth_token to null
        return { status: 204 };
      }
      case 'changePassword': {
        const u = authed(req, userId);
        if (u === undefined) return problem(401, 'invalid-token');
        if (u.password !== b.currentPassword) return problem(401, 'invalid-user-credentials');
        if ((b.newPassword ?? '').length < 8) return problem(401, 'invalid-new-password');
        u.password = b.newPassword ?? '';
        endSignIns(u.id); // one token per user: the new sign-in replaces it (Authentication\Service::issueAuthToken)
        return signIn(u);
      }
      case 'requestEmailChange': {
        const u = authed(req, userId);
        if (u === undefined) return problem(401, 'invalid-token');
        if (u.email === b.newEmail) return problem(400, 'User already has this email');
        if (byEmail(b.newEmail ?? '') !== undefined) return problem(400, 'Email already exists for another user');
        u.emailChange = { token: token(), email: b.newEmail ?? '', expires: state.clock + DAY };
        return {
          status: 200,
          body: { token: u.emailChange.token, expiresIn: 86400, expiresAt: apiDate(u.emailChange.expires) },
        };
      }
      case 'verifyEmailChange': {
        const u = [...users.values()].find(
          (x) =>
            x.emailChange !== null && x.emailChange.token === b.emailUpdateToken && x.emailChange.expires > state.clock,
        );
        if (u?.emailChange == null) return problem(404, 'Invalid token');
        if (byEmail(u.emailChange.email) !== undefined) return problem(400, 'Email already exists for another user');
        u.email = u.emailChange.email;
        u.emailChange = null;
        return { status: 204 };
      }
      case 'setSessionExpiry': {
        // AuthenticateController::setSessionExpiryAction: the CheckedToken's expiry set to now + expireInSeconds.
        const t = req.headers.checkedtoken;
        const s = typeof t === 'string' ? sessions.get(t) : undefined;
        if (s === undefined || s.expires <= state.clock)
          return { status: 200, body: { valid: false, problem: 'token-has-expired' } };
        const seconds = Number((req.body as Record<string, unknown> | undefined)?.expireInSeconds ?? 0);
        s.expires = state.clock + seconds * 1000;
        return seconds > 0
          ? { status: 200, body: { valid: true, remainingSeconds: seconds } }
          : { status: 200, body: { valid: false, problem: 'token-has-expired' } };
      }
      case 'getUser': {
        const u = authed(req, userId);
        return u === undefined
          ? problem(401, 'Access Denied')
          : { status: 200, body: { ...u.profile, email: { address: u.email } } };
      }
      case 'putUser': {
        const u = authed(req, userId);
        if (u === undefined) return problem(401, 'Access Denied');
        u.profile = { ...(req.body as Record<string, unknown>), id: u.id, updatedAt: apiDate(state.clock) };
        return { status: 200, body: u.profile };
      }
      case 'deleteUser': {
        if (authed(req, userId) === undefined) return problem(401, 'Access Denied');
        users.delete(userId);
        for (const [t, s] of sessions) if (s.userId === userId) sessions.delete(t);
        return { status: 204 };
      }
      case 'listApplications': {
        const u = authed(req, userId);
        if (u === undefined) return problem(401, 'Access Denied');
        const search = (req.query.get('search') ?? '').trim();
        const page = Math.max(1, Number(req.query.get('page') ?? '1') || 1);
        const perPage = Number(req.query.get('perPage') ?? '10') || 10;
        // Applications/Service.php paginate: digits, or A then digits once whitespace is removed, are an id.
        const idMatch = /^(\d+)$/.exec(search) ?? /^a(\d+)$/i.exec(search.replace(/\s+/g, ''));
        const donor = (l: Record<string, unknown>) =>
          JSON.stringify(((l.document as Record<string, unknown>).donor as Record<string, unknown>).name).toLowerCase();
        const all = u.lpas.filter((l) =>
          idMatch !== null
            ? l.id === Number(idMatch[1])
            : search.length >= 3
              ? donor(l).includes(search.toLowerCase())
              : true,
        );
        if (all.length === 0) return { status: 204 };
        return {
          status: 200,
          body: { applications: all.slice((page - 1) * perPage, page * perPage), total: all.length },
        };
      }
      default:
        return problem(404, 'Page not found');
    }
  }

  const fake = await contractFakeApi(async (req) => {
    const answer = handle(req);
    const delay = state.delayOf?.(req, answer) ?? state.delays.get(req.operationId ?? '');
    if (delay !== undefined) await new Promise((r) => setTimeout(r, delay));
    return answer;
  });
  // Accessors, not copied values, so a test's `fake.clock = …` reaches the handler.
  return {
    origin: fake.origin,
    contract: fake.contract,
    calls: fake.calls,
    violations: fake.violations,
    get connections() {
      return fake.connections;
    },
    close: () => fake.close(),
    users,
    delays: state.delays,
    get clock() {
      return state.clock;
    },
    set clock(v: number) {
      state.clock = v;
    },
    get outage() {
      return state.outage;
    },
    set outage(v: number | undefined) {
      state.outage = v;
    },
    get delayOf() {
      return state.delayOf;
    },
    set delayOf(v: FakeLpaApi['delayOf']) {
      state.delayOf = v;
    },
  };
}
