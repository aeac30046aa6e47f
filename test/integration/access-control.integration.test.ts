/**
 * Deny by default, proven over the whole route table: every route Fastify has, for every method it has,
 * is asked for anonymously. Public ones answer; every other one sends a page request to sign-in (302
 * /login), a JSON request gets 401, and nothing else gets through. PUBLIC_ROUTES itself is pinned here, so
 * making a route public is a visible change to this file.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from '../helpers/app.ts';
import { PATHS, PUBLIC_ROUTES, isPublicRoute } from '../../src/paths.ts';
import { ALLOW_INCOMPLETE } from '../../src/features/user/profile-gate.ts';

const EXPECTED_PUBLIC: Record<string, string[]> = {
  '/': ['GET', 'HEAD'],
  '/home': ['GET', 'HEAD'],
  '/accessibility': ['GET', 'HEAD'],
  '/cookies': ['GET', 'HEAD', 'POST'], // the consent choice (ADR 0037), CSRF-checked like every form
  '/privacy-notice': ['GET', 'HEAD'],
  '/terms': ['GET', 'HEAD'],
  '/contact': ['GET', 'HEAD'],
  '/send-feedback': ['GET', 'HEAD', 'POST'],
  '/feedback-thanks': ['GET', 'HEAD'],
  '/robots.txt': ['GET', 'HEAD'],
  '/.well-known/security.txt': ['GET', 'HEAD'],
  '/ping': ['GET', 'HEAD'],
  '/ping/json': ['GET', 'HEAD'],
  '/ping/elb': ['GET', 'HEAD'],
  '/csp-report': ['POST'],
  '/login': ['GET', 'HEAD', 'POST'],
  '/login/timeout': ['GET', 'HEAD'],
  '/logout': ['GET', 'HEAD', 'POST'],
  '/forgot-password': ['GET', 'HEAD', 'POST'],
  '/forgot-password/reset/:token': ['GET', 'HEAD', 'POST'],
  '/session-state': ['GET', 'HEAD'],
  '/signup': ['GET', 'HEAD', 'POST'], // sign up: no enumeration, throttled (issue 22)
  '/signup/email-sent': ['GET', 'HEAD'],
  '/signup/confirm/:token': ['GET', 'HEAD'],
  '/signup/resend-email': ['GET', 'HEAD', 'POST'],
  '/user/change-email-address/verify/:token': ['GET', 'HEAD'], // as live: the emailed link, opened signed in or not
  '/deleted': ['GET', 'HEAD'],
  '/assets/*': ['GET', 'HEAD'],
};

/** Routes that must exist and must need a signed-in user: a guard against the walk finding nothing. */
const KNOWN_PROTECTED: [string, string][] = [
  ['GET', PATHS.dashboard],
  ['GET', PATHS.aboutYou],
  ['POST', PATHS.aboutYou],
  ['GET', PATHS.changeEmail],
  ['POST', PATHS.changeEmail],
  ['GET', PATHS.deleteAccount],
  ['POST', PATHS.deleteAccount],
  ['GET', PATHS.deleteAccountConfirm],
  ['POST', PATHS.deleteAccountConfirm],
];

export interface RouteEntry {
  readonly url: string;
  readonly methods: readonly string[];
}

/**
 * Reads Fastify's route table from `printRoutes()` (its radix tree: each line is one node, the full path is
 * the concatenation of the nodes from the root, and a node with methods is a route).
 */
export function routesFromTree(tree: string): RouteEntry[] {
  const stack: string[] = [];
  const routes: RouteEntry[] = [];
  for (const line of tree.split('\n')) {
    if (line.trim() === '') continue;
    const branch = line.search(/[├└]── /);
    if (branch < 0 || branch % 4 !== 0 || !/^[│ ]*$/.test(line.slice(0, branch)))
      throw new Error(`unexpected printRoutes line: ${line}`);
    const depth = branch / 4;
    let node = line.slice(branch + 4);
    const methods = / \(([A-Z, ]+)\)$/.exec(node);
    if (methods !== null) node = node.slice(0, methods.index);
    stack.length = depth;
    stack[depth] = node;
    if (methods !== null)
      routes.push({ url: stack.join(''), methods: (methods[1] ?? '').split(',').map((s) => s.trim()) });
  }
  return routes;
}

describe('access control', () => {
  test('PUBLIC_ROUTES is exactly the reviewed list', () => {
    assert.deepEqual(
      Object.fromEntries(Object.entries(PUBLIC_ROUTES).map(([k, v]) => [k, [...v].sort()])),
      Object.fromEntries(Object.entries(EXPECTED_PUBLIC).map(([k, v]) => [k, [...v].sort()])),
    );
  });

  test('the route-table reader understands the tree format', () => {
    const tree = [
      '└── / (GET, HEAD)',
      '    ├── a',
      '    │   ├── ssets/',
      '    │   │   └── * (GET, HEAD)',
      '    │   └── bout (POST)',
      '    └── log',
      '        └── in (GET)',
    ].join('\n');
    assert.deepEqual(routesFromTree(tree), [
      { url: '/', methods: ['GET', 'HEAD'] },
      { url: '/assets/*', methods: ['GET', 'HEAD'] },
      { url: '/about', methods: ['POST'] },
      { url: '/login', methods: ['GET'] },
    ]);
  });

  test('every registered route and method, asked for anonymously', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lpa-access-'));
    t.after(() => {
      rmSync(dataDir, { recursive: true, force: true });
    });
    const built = await build(t, { env: { DATA_DIR: dataDir } });
    const routes = routesFromTree(built.app.printRoutes());
    // Cross-check the reader against Fastify's own lookup.
    for (const r of routes)
      for (const m of r.methods) assert.ok(built.app.hasRoute({ url: r.url, method: m }), `${m} ${r.url}`);
    const pairs = routes.flatMap((r) => r.methods.map((m) => [m, r.url] as [string, string]));
    for (const [m, url] of KNOWN_PROTECTED)
      assert.ok(
        pairs.some(([pm, pu]) => pm === m && pu === url),
        `${m} ${url} is registered`,
      );
    assert.ok(pairs.length >= 30, `found ${String(pairs.length)} route/method pairs`);

    const protectedSeen: string[] = [];
    for (const [method, pattern] of pairs) {
      const url = pattern.replace(/\*$/, 'no-such-file.css').replace(/:[^/]+/g, 'x');
      const body = method === 'GET' || method === 'HEAD' ? undefined : 'a=1';
      const headers: Record<string, string> =
        body === undefined
          ? {}
          : { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' };
      const res = await fetch(built.origin + url, { method, headers, body, redirect: 'manual' });
      await res.arrayBuffer();
      const where = `${method} ${pattern} → ${String(res.status)} ${res.headers.get('location') ?? ''}`;
      if (isPublicRoute(pattern, method)) {
        assert.ok(
          !(res.status === 302 && res.headers.get('location') === PATHS.login),
          `public route sent to sign-in: ${where}`,
        );
        assert.notEqual(res.status, 401, where);
        assert.ok(res.status < 500, where);
        continue;
      }
      protectedSeen.push(`${method} ${pattern}`);
      if (res.status === 401) {
        assert.match(res.headers.get('content-type') ?? '', /application\/json/, where);
        continue;
      }
      assert.equal(res.status, 302, where);
      assert.equal(res.headers.get('location'), PATHS.login, where);
    }
    t.diagnostic(`protected: ${protectedSeen.join(', ')}`);
    for (const [m, url] of KNOWN_PROTECTED) assert.ok(protectedSeen.includes(`${m} ${url}`));
  });

  test('a protected page redirects to sign-in even when JSON is asked for', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lpa-access-'));
    t.after(() => {
      rmSync(dataDir, { recursive: true, force: true });
    });
    const built = await build(t, { env: { DATA_DIR: dataDir } });
    const res = await fetch(`${built.origin}${PATHS.dashboard}`, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
    });
    assert.equal(res.status, 302, 'pages redirect whatever the Accept header');
    assert.equal(res.headers.get('location'), PATHS.login);
  });

  test('every route that takes a state-changing method runs the CSRF check first', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lpa-access-'));
    t.after(() => {
      rmSync(dataDir, { recursive: true, force: true });
    });
    const built = await build(t, { env: { DATA_DIR: dataDir } });
    const checked: string[] = [];
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      const tree = built.app.printRoutes({ includeHooks: true, commonPrefix: false, method });
      for (const [route, hooks] of hooksByRoute(tree)) {
        if (route === PATHS.cspReport) {
          assert.ok(
            !(hooks.preValidation ?? []).includes('csrfCheck()'),
            'the CSP report endpoint opts out (config.csrf: false)',
          );
          continue;
        }
        assert.equal(hooks.preValidation?.[0], 'csrfCheck()', `${method} ${route}: ${JSON.stringify(hooks)}`);
        checked.push(`${method} ${route}`);
      }
    }
    t.diagnostic(`checked: ${checked.join(', ')}`);
    for (const route of ['POST /send-feedback', 'POST /login', 'POST /logout', `POST ${PATHS.aboutYou}`])
      assert.ok(checked.includes(route), route);
  });

  test('every signed-in route but the exempt ones runs the profile gate (a per-route hook since session 10)', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lpa-access-'));
    t.after(() => {
      rmSync(dataDir, { recursive: true, force: true });
    });
    const built = await build(t, { env: { DATA_DIR: dataDir } });
    const gated: string[] = [];
    for (const method of ['GET', 'POST'] as const) {
      const tree = built.app.printRoutes({ includeHooks: true, commonPrefix: false, method });
      for (const [route, hooks] of hooksByFullPath(tree)) {
        const runs = (hooks.preHandler ?? []).includes('gate()');
        const where = `${method} ${route}: ${JSON.stringify(hooks)}`;
        // No guard (public for every method, no session): there is never a user to send anywhere.
        if (!(hooks.onRequest ?? []).includes('guard()')) {
          assert.equal(runs, false, where);
          continue;
        }
        if (isPublicRoute(route, method) || ALLOW_INCOMPLETE.has(route)) continue;
        assert.equal(runs, true, where);
        gated.push(`${method} ${route}`);
      }
    }
    t.diagnostic(`gated: ${gated.join(', ')}`);
    for (const route of [`GET ${PATHS.dashboard}`, `GET ${PATHS.changeEmail}`, `POST ${PATHS.deleteAccount}`])
      assert.ok(gated.includes(route), route);
    assert.ok(!gated.includes(`GET ${PATHS.aboutYou}`), 'about-you is exempt (allowIncompleteUser)');
  });
});

/**
 * Each route's hooks from `printRoutes({ includeHooks: true, commonPrefix: false })`: route line, then `• (hook)
 * [names]` lines.
 */
function hooksByRoute(tree: string): Map<string, Record<string, string[]>> {
  const routes = new Map<string, Record<string, string[]>>();
  let current: Record<string, string[]> | undefined;
  for (const line of tree.split('\n')) {
    const route = /(\/\S*) \([A-Z, ]+\)$/.exec(line);
    if (route !== null) {
      current = {};
      routes.set(route[1] ?? '', current);
      continue;
    }
    const hook = /• \((\w+)\) (\[.*\])$/.exec(line);
    if (hook !== null && current !== undefined) current[hook[1] ?? ''] = JSON.parse(hook[2] ?? '[]') as string[];
  }
  return routes;
}

/** As hooksByRoute, keyed by each route's full path (the tree's nodes joined from the root, as routesFromTree). */
function hooksByFullPath(tree: string): Map<string, Record<string, string[]>> {
  const routes = new Map<string, Record<string, string[]>>();
  const stack: string[] = [];
  let current: Record<string, string[]> | undefined;
  for (const line of tree.split('\n')) {
    const hook = /• \((\w+)\) (\[.*\])$/.exec(line);
    if (hook !== null) {
      if (current !== undefined) current[hook[1] ?? ''] = JSON.parse(hook[2] ?? '[]') as string[];
      continue;
    }
    const branch = line.search(/[├└]── /);
    if (branch < 0) continue;
    let node = line.slice(branch + 4);
    const methods = / \([A-Z, ]+\)$/.exec(node);
    if (methods !== null) node = node.slice(0, methods.index);
    stack.length = branch / 4;
    stack[branch / 4] = node;
    current = methods === null ? undefined : {};
    if (current !== undefined) routes.set(stack.join(''), current);
  }
  return routes;
}
