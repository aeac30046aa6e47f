/**
 * The API calls lpa-front already makes (sign-in, refresh, sign-out, user details, feedback, ping) conform to
 * docs/api/lpa-api.openapi.yaml, against a fake API whose answers are checked against the same document.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEgress } from '../../src/backends/egress.ts';
import { createApiClient } from '../../src/backends/api-client.ts';
import type { ApiClient } from '../../src/backends/api-client.ts';
import { createApiCredentials } from '../../src/backends/api-credentials.ts';
import { openStore } from '../../src/backends/sqlite-store.ts';
import { createFeedbackService } from '../../src/features/feedback/feedback-service.ts';
import { contractFakeApi, loadContract } from '../helpers/openapi-contract.ts';
import type { ContractFakeApi, FakeAnswer, FakeRequest } from '../helpers/openapi-contract.ts';

const USER_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const TOKEN = 'T0kenT0kenT0kenT0kenT0kenT0kenT0kenT0kenT0k';
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function problem(status: number, detail: string): FakeAnswer {
  return { status, body: { type: 'https://tools.ietf.org/html/rfc7231', title: 'x', status, detail } };
}

/** Answers as service-api does (controllers cited in the contract). */
function liveLike(req: FakeRequest): FakeAnswer {
  const b = (req.body ?? {}) as Record<string, unknown>;
  switch (req.operationId) {
    case 'ping':
      return { status: 200, body: { ok: true } };
    case 'postFeedback':
      return { status: 204 };
    case 'authenticate':
      if (b.authToken === TOKEN || b.password === 'right password') {
        return {
          status: 200,
          body: {
            userId: USER_ID,
            username: 'ada@example.com',
            last_login: '2026-08-20T09:00:00+0000',
            inactivityFlagsCleared: false,
            token: TOKEN,
            expiresIn: 4500,
            expiresAt: '2026-08-21T14:20:00+0000',
          },
        };
      }
      return problem(401, 'authToken' in b ? 'invalid-token' : 'invalid-user-credentials');
    case 'setSessionExpiry':
      return {
        status: 200,
        body:
          req.headers.checkedtoken === TOKEN
            ? { valid: true, remainingSeconds: 0 }
            : { valid: false, problem: 'invalid-token' },
      };
    case 'getUser':
    case 'putUser':
      // eslint-disable-next-line security/detect-possible-timing-attacks -- a test double, not a check
      if (req.headers.token !== TOKEN) return problem(401, 'Access Denied');
      return {
        status: 200,
        body:
          req.operationId === 'putUser'
            ? req.body
            : {
                id: USER_ID,
                createdAt: '2020-01-01T00:00:00+0000',
                updatedAt: '2026-01-01T00:00:00+0000',
                name: { title: 'Ms', first: 'Ada', last: 'Lovelace' },
                email: { address: 'ada@example.com' },
                dob: null,
                address: null,
              },
      };
    default:
      return problem(404, 'not found');
  }
}

describe('the calls lpa-front makes today conform to the LPA API contract', () => {
  let fake: ContractFakeApi;
  let api: ApiClient;
  let dir: string;

  before(async () => {
    fake = await contractFakeApi(liveLike);
    const egress = createEgress({
      allowedOrigins: [fake.origin],
      allowPrivateFor: ['127.0.0.1'],
      timeoutMs: 2000,
      maxResponseBytes: 65536,
      logger: { debug: () => undefined },
    });
    api = createApiClient({ baseUrl: fake.origin, egress });
    dir = mkdtempSync(join(tmpdir(), 'lpa-contract-'));
  });
  after(async () => {
    api.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('sign-in, refresh, sign-out, details, name change', async () => {
    const backend = createApiCredentials({ api });
    assert.ok((await backend.authenticate('Ada@Example.com', 'right password', 'TRACE1')).ok);
    assert.deepEqual(await backend.authenticate('ada@example.com', 'wrong', 'TRACE1'), {
      ok: false,
      reason: 'authentication-failed',
    });
    assert.ok((await backend.refresh(TOKEN, 't')).ok);
    assert.equal((await backend.getUser(USER_ID, TOKEN, 't'))?.email, 'ada@example.com');
    assert.equal(await backend.updateName(USER_ID, TOKEN, { first: 'Augusta Ada', last: 'King' }, 't'), true);
    assert.equal(await backend.revoke(TOKEN, 't'), true);
    assert.equal(await backend.revoke('unknown-token-unknown-token', 't'), true);
    assert.deepEqual(fake.violations, []);
    for (const id of ['authenticate', 'getUser', 'putUser', 'setSessionExpiry'])
      assert.ok(fake.contract.seen.has(id), id);
  });

  test('feedback delivery through the outbox, and ping', async () => {
    const store = openStore(dir);
    const feedback = createFeedbackService({ store, api, logger: silent });
    const result = await feedback.submit({
      rating: 'satisfied',
      details: 'Good',
      email: '',
      phone: '',
      agent: 'UA',
      fromPage: '/home',
    });
    assert.deepEqual(result, { stored: 'outbox', id: 1, delivered: true });
    await api.ping();
    await feedback.stop();
    store.close();
    assert.deepEqual(fake.violations, []);
    assert.ok(fake.contract.seen.has('postFeedback'));
  });

  test('the checker itself fails a call or an answer that breaks the contract', async () => {
    const before = fake.violations.length;
    const res = await api.call('POST', '/v2/users', { json: { username: 'ada@example.com' } });
    assert.equal(res.status, 400);
    assert.match(fake.violations.slice(before).join('\n'), /password/);
    const contract = await loadContract();
    assert.notDeepEqual(
      contract.checkResponse(
        { method: 'POST', url: '/v2/authenticate' },
        { status: 200, contentType: 'application/json', body: { userId: 'not-hex', token: TOKEN } },
      ),
      [],
    );
    assert.notDeepEqual(
      contract.checkRequest({ method: 'GET', url: '/v2/user/../../admin', headers: {}, body: undefined }).errors,
      [],
    );
    fake.violations.length = before;
  });
});
