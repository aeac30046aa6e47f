import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEgress } from './egress.ts';
import { createApiClient } from './api-client.ts';
import type { ApiClient } from './api-client.ts';
import { API_FAILURE_CODES, createApiCredentials } from './api-credentials.ts';
import type { CredentialBackend } from './credentials.ts';
import { parseApiDate, phpIsoDate } from './credentials.ts';

const USER_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const TOKEN = 'T0kenT0kenT0kenT0kenT0kenT0kenT0kenT0kenT0k';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

/** A tiny stand-in for the LPA API on 127.0.0.1, answering as the real one does. */
function fakeApi(seen: Seen[], state: { status?: number; user: Record<string, unknown> }) {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body: unknown = text === '' ? null : JSON.parse(text);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const send = (status: number, payload: unknown, type = 'application/json') => {
        res.writeHead(status, { 'content-type': type });
        res.end(JSON.stringify(payload));
      };
      if (state.status !== undefined) {
        send(state.status, { detail: 'boom' });
        return;
      }
      const b = (body ?? {}) as Record<string, unknown>;
      if (req.url === '/v2/authenticate' && 'authToken' in b) {
        // eslint-disable-next-line security/detect-possible-timing-attacks -- a test double, not a check
        if (b.authToken === TOKEN)
          send(200, { userId: USER_ID, token: TOKEN, expiresIn: 4500, expiresAt: '2026-08-21T15:35:00+0000' });
        else
          send(
            401,
            { type: 'x', title: 'Unauthorized', status: 401, detail: 'invalid-token' },
            'application/problem+json',
          );
        return;
      }
      if (req.url === '/v2/authenticate') {
        const outcomes: Record<string, string> = {
          'locked@example.com': 'account-locked/max-login-attempts',
          'locking@example.com': 'invalid-user-credentials/account-locked',
          'inactive@example.com': 'account-not-active',
          'nobody@example.com': 'user-not-found',
          'weird@example.com': 'something-new',
        };
        const detail = typeof b.username === 'string' ? outcomes[b.username] : undefined;
        if (detail !== undefined) {
          send(401, { type: 'x', title: 'Unauthorized', status: 401, detail }, 'application/problem+json');
          return;
        }
        if (b.username === 'ada@example.com' && b.password === 'right password') {
          send(200, {
            userId: USER_ID,
            username: 'ada@example.com',
            last_login: '2026-08-20T09:00:00+0000',
            inactivityFlagsCleared: false,
            token: TOKEN,
            expiresIn: 4500,
            expiresAt: '2026-08-21T14:20:00+0000',
          });
          return;
        }
        send(
          401,
          { type: 'x', title: 'Unauthorized', status: 401, detail: 'invalid-user-credentials' },
          'application/problem+json',
        );
        return;
      }
      if (req.url === '/v2/session-set-expiry' && req.method === 'POST') {
        // The API's setSessionExpiryAction: the CheckedToken header names the token, the body the new lifetime.
        // eslint-disable-next-line security/detect-possible-timing-attacks -- a test double, not a check
        if (req.headers.checkedtoken === TOKEN) send(200, { valid: true, remainingSeconds: b.expireInSeconds });
        else send(200, { valid: false, problem: 'invalid-token' });
        return;
      }
      if (req.url === `/v2/user/${USER_ID}`) {
        // eslint-disable-next-line security/detect-possible-timing-attacks -- a test double, not a check
        if (req.headers.token !== TOKEN) {
          send(401, { detail: 'no' });
          return;
        }
        if (req.method === 'GET') {
          send(200, state.user);
          return;
        }
        if (req.method === 'PUT') {
          state.user = b;
          send(200, b);
          return;
        }
      }
      send(404, { detail: 'not found' });
    });
  });
}

describe('API credential backend', () => {
  const seen: Seen[] = [];
  const state: { status?: number; user: Record<string, unknown> } = {
    user: {
      id: USER_ID,
      createdAt: '2020-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      name: { title: 'Ms', first: 'Ada', last: 'Lovelace' },
      email: { address: 'ada@example.com' },
      dob: null,
      address: { address1: '1 Road' },
    },
  };
  let server: http.Server;
  let api: ApiClient;
  let backend: CredentialBackend;

  before(async () => {
    server = fakeApi(seen, state);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
    const egress = createEgress({
      allowedOrigins: [origin],
      allowPrivateFor: ['127.0.0.1'],
      timeoutMs: 2000,
      maxResponseBytes: 65536,
      logger: { debug: () => undefined },
    });
    api = createApiClient({ baseUrl: origin, egress });
    backend = createApiCredentials({ api });
  });
  after(async () => {
    api.close();
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  });

  test('sign-in: POST /v2/authenticate with the lowercased username, result mapped', async () => {
    const result = await backend.authenticate('  Ada@Example.com ', 'right password', 'TRACE1');
    assert.ok(result.ok);
    assert.equal(result.userId, USER_ID);
    assert.equal(result.token, TOKEN);
    assert.equal(result.expiresAt.toISOString(), '2026-08-21T14:20:00.000Z');
    assert.equal(result.lastLogin?.toISOString(), '2026-08-20T09:00:00.000Z');
    const call: Seen | undefined = seen.at(-1);
    assert.ok(call);
    assert.equal(call.method, 'POST');
    assert.deepEqual(call.body, { username: 'ada@example.com', password: 'right password' });
    assert.equal(call.headers['x-trace-id'], 'TRACE1');
    assert.equal(call.headers['user-agent'], 'LPA-FRONT');
  });

  test('failure codes map like the live front', async () => {
    const table: [string, string][] = [
      ['ada@example.com', 'authentication-failed'],
      ['nobody@example.com', 'authentication-failed'],
      ['weird@example.com', 'authentication-failed'],
      ['locked@example.com', 'locked'],
      ['locking@example.com', 'locked'],
      ['inactive@example.com', 'not-activated'],
    ];
    for (const [email, reason] of table)
      assert.deepEqual(await backend.authenticate(email, 'wrong', 't'), { ok: false, reason }, email);
    assert.equal(Object.keys(API_FAILURE_CODES).length, 6);
    state.status = 500;
    assert.deepEqual(await backend.authenticate('ada@example.com', 'right password', 't'), {
      ok: false,
      reason: 'api-error',
    });
    assert.deepEqual(await backend.refresh(TOKEN, 't'), { ok: false, reason: 'api-error' });
    await assert.rejects(backend.getUser(USER_ID, TOKEN));
    delete state.status;
  });

  test('an unreachable API is an api-error, not a crash', async () => {
    const egress = createEgress({
      allowedOrigins: ['http://127.0.0.1:9'],
      allowPrivateFor: ['127.0.0.1'],
      timeoutMs: 500,
      maxResponseBytes: 1024,
      logger: { debug: () => undefined },
    });
    const down = createApiCredentials({ api: createApiClient({ baseUrl: 'http://127.0.0.1:9', egress }) });
    assert.deepEqual(await down.authenticate('ada@example.com', 'x', 't'), { ok: false, reason: 'api-error' });
    assert.deepEqual(await down.refresh(TOKEN, 't'), { ok: false, reason: 'api-error' });
    egress.close();
  });

  test('refresh: {authToken}', async () => {
    const ok = await backend.refresh(TOKEN, 't');
    assert.deepEqual(ok, { ok: true, expiresAt: new Date('2026-08-21T15:35:00Z') });
    assert.deepEqual(seen.at(-1)?.body, { authToken: TOKEN });
    assert.deepEqual(await backend.refresh('expired-token-expired-token', 't'), { ok: false, reason: 'invalid' });
  });

  test('sign-out: POST /v2/session-set-expiry {expireInSeconds: 0} with CheckedToken ends the token', async () => {
    assert.equal(await backend.revoke(TOKEN, 'TRACE2'), true);
    const call: Seen | undefined = seen.at(-1);
    assert.ok(call);
    assert.equal(call.method, 'POST');
    assert.equal(call.url, '/v2/session-set-expiry');
    assert.deepEqual(call.body, { expireInSeconds: 0 });
    assert.equal(call.headers.checkedtoken, TOKEN);
    assert.equal(call.headers.token, undefined, 'the token is the subject of the call, not its credential');
    assert.equal(call.headers['x-trace-id'], 'TRACE2');
    assert.equal(await backend.revoke('expired-token-expired-token', 't'), true, 'an already dead token needs no more');
    state.status = 500;
    assert.equal(await backend.revoke(TOKEN, 't'), false, 'an outage is reported, not thrown');
    delete state.status;
    assert.equal(
      await backend.revoke('bad\r\nheader', 't'),
      false,
      'a token no header can carry is refused before sending',
    );
  });

  test('details and name change through GET/PUT /v2/user/:id with the Token header', async () => {
    const user = await backend.getUser(USER_ID, TOKEN, 't');
    assert.ok(user);
    assert.deepEqual(user.name, { title: 'Ms', first: 'Ada', last: 'Lovelace' });
    assert.equal(user.email, 'ada@example.com');
    assert.equal(seen.at(-1)?.headers.token, TOKEN);
    assert.equal(await backend.getUser(USER_ID, 'wrong-token-wrong-token'), null);
    assert.equal(await backend.getUser('../../admin', TOKEN), null, 'ids are checked before use in a path');

    assert.equal(await backend.updateName(USER_ID, TOKEN, { first: 'Augusta Ada', last: 'King' }), true);
    const put: Seen | undefined = seen.at(-1);
    assert.ok(put);
    assert.equal(put.method, 'PUT');
    const sent = put.body as Record<string, unknown>;
    assert.deepEqual(sent.name, { title: null, first: 'Augusta Ada', last: 'King' });
    assert.deepEqual(sent.address, { address1: '1 Road' }, 'the rest of the user is sent back unchanged');
    assert.equal(await backend.updateName(USER_ID, 'wrong-token-wrong-token', { first: 'A', last: 'B' }), false);
  });
});

describe('dates', () => {
  test('API and PHP formats', () => {
    assert.equal(parseApiDate('2026-08-21T14:20:00+0000')?.toISOString(), '2026-08-21T14:20:00.000Z');
    assert.equal(parseApiDate('2026-08-21T15:20:00+01:00')?.toISOString(), '2026-08-21T14:20:00.000Z');
    assert.equal(parseApiDate('2026-08-21T14:20:00.123456Z')?.toISOString(), '2026-08-21T14:20:00.123Z');
    for (const bad of ['', 'yesterday', '2026-08-21', 42, null]) assert.equal(parseApiDate(bad), null);
    assert.equal(phpIsoDate(new Date('2026-08-21T14:20:00.999Z')), '2026-08-21T14:20:00+00:00');
  });
});
