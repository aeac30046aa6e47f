/**
 * The takeover rule, proven against the live front's own route table (docs/adr/0028): a path goes to lpa-front at
 * the edge only if every method and every optional sub-path the live front serves with the same route pattern is
 * served here too. `test/fixtures/opg-lpa/routes.php` is the live table (its README records the commit and licence);
 * lpa-front's table is read from the real app, as the access-control test does; what the edge sends to lpa-front is
 * the nginx generator's own list (`declaredPaths()`, PATHS less EDGE_HELD_BACK).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from '../helpers/app.ts';
import { routesFromTree } from './access-control.integration.test.ts';
import { declaredPaths, declaredPrefixes } from '../../deploy/nginx/generate.ts';
import { EDGE_HELD_BACK, TOKEN_PATHS } from '../../src/paths.ts';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'opg-lpa');
const FIXTURE_COMMIT = '8139e773df6b8d32cb2dada3c5589225fb494f73';

/**
 * Held back for what their page shows (ADR 0017's review, each with its reason in EDGE_HELD_BACK), not only for the
 * route table. Every other held-back path must still lack a method or sub-path of its live route: once lpa-front
 * serves them all (GET /logout, /login's states), the test says the path leaves the list.
 */
const HELD_FOR_CONTENT = ['/', '/home', '/cookies', '/user/evidence', '/forgot-password/reset/'];

/** Feature groups that production leaves off (evidence in test/fixtures/opg-lpa/README.md). */
const OFF_IN_PRODUCTION = ['OneLogin', 'SharedSpace', 'CypressFixtures'];

export interface LiveRoute {
  readonly pattern: string;
  readonly methods: readonly string[];
  /** The `App\Feature` case the route is registered under, if any. */
  readonly flag: string | undefined;
}

/** The `$app->get/post/route(...)` calls of a Mezzio routes.php, each with its methods and feature flag. */
export function parseRoutesPhp(source: string): LiveRoute[] {
  const blocks: { from: number; to: number; flag: string }[] = [];
  for (const m of source.matchAll(/if \(App\\Feature::(\w+)->isEnabled\(\)\) \{/g)) {
    let depth = 0;
    let i = m.index + m[0].length - 1;
    for (; i < source.length; i++) {
      if (source[i] === '{') depth++;
      else if (source[i] === '}' && --depth === 0) break;
    }
    blocks.push({ from: m.index, to: i, flag: m[1] ?? '' });
  }
  const routes: LiveRoute[] = [];
  for (const m of source.matchAll(/\$app->(get|post|route)\(\s*'([^']+)'/g)) {
    let methods: string[];
    if (m[1] === 'route') {
      const rest = source.slice(m.index + m[0].length);
      const end = rest.indexOf('$app->');
      const list = /\[([\s',A-Z]+)\]/.exec(end < 0 ? rest : rest.slice(0, end));
      if (list === null) throw new Error(`no method list for ${m[2] ?? ''}`);
      methods = (list[1] ?? '')
        .split(',')
        .map((s) => s.trim().replace(/^'|'$/g, ''))
        .filter((s) => s !== '');
    } else {
      methods = [(m[1] ?? '').toUpperCase()];
    }
    const block = blocks.find((b) => m.index > b.from && m.index < b.to);
    routes.push({ pattern: m[2] ?? '', methods, flag: block?.flag });
  }
  return routes;
}

/**
 * Every concrete path a FastRoute pattern matches: `[...]` optional parts both with and without, a parameter whose
 * regex is a list of literals (`{state:(?:timeout|member-suspended)}`) as each literal, any other parameter as
 * `:param`.
 */
export function expandPattern(pattern: string): string[] {
  let results = [''];
  const stack: string[][] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '{') {
      let depth = 1;
      let j = i + 1;
      for (; j < pattern.length && depth > 0; j++) {
        if (pattern[j] === '{') depth++;
        else if (pattern[j] === '}') depth--;
      }
      const body = pattern.slice(i + 1, j - 1);
      const regex = body.includes(':') ? body.slice(body.indexOf(':') + 1) : '';
      const bare = regex.startsWith('(?:') && regex.endsWith(')') ? regex.slice(3, -1) : regex;
      const options = /^[A-Za-z0-9|-]+$/.test(bare) ? bare.split('|') : [':param'];
      results = results.flatMap((r) => options.map((o) => r + o));
      i = j - 1;
    } else if (c === '[') {
      stack.push(results);
    } else if (c === ']') {
      const before = stack.pop();
      if (before === undefined) throw new Error(`unbalanced ] in ${pattern}`);
      results = [...before, ...results];
    } else {
      results = results.map((r) => r + c);
    }
  }
  if (stack.length > 0) throw new Error(`unbalanced [ in ${pattern}`);
  return results;
}

/** A Fastify route URL with its parameters spelt as expandPattern spells them. */
const normalise = (url: string): string => url.replace(/:[^/]+/g, ':param');

describe('the edge takes over a path only when lpa-front serves all the live route does', () => {
  const source = readFileSync(join(FIXTURE, 'routes.php'), 'utf8');
  const live = parseRoutesPhp(source);

  test('the fixture is the recorded commit of the live routes.php, with its licence', () => {
    const readme = readFileSync(join(FIXTURE, 'README.md'), 'utf8');
    assert.ok(readme.includes(`\`${FIXTURE_COMMIT}\``), 'the README records the commit this test pins');
    assert.match(
      readFileSync(join(FIXTURE, 'LICENSE'), 'utf8'),
      /^The MIT License \(MIT\)\n\nCopyright \(c\) 2019-2021 Crown copyright \(Ministry of Justice\)/,
    );
    assert.ok(live.length >= 100, `parsed ${String(live.length)} routes`);
    // Every `$app->` registration was understood (none skipped by the reader).
    assert.equal(live.length, source.match(/\$app->(?:get|post|route)\(/g)?.length);
  });

  test('the readers understand the route syntax', () => {
    const cases: [string, string[]][] = [
      ['/home', ['/home']],
      ['/user/about-you[/{new}]', ['/user/about-you', '/user/about-you/:param']],
      [
        '/login[/{state:(?:timeout|internal-system-error|member-suspended)}]',
        ['/login', '/login/timeout', '/login/internal-system-error', '/login/member-suspended'],
      ],
      ['/guide[/{section}]', ['/guide', '/guide/:param']],
      ['/user/dashboard/create[/{lpa-id:\\d+}]', ['/user/dashboard/create', '/user/dashboard/create/:param']],
      ['/signup/confirm/{token:[a-zA-Z0-9]+}', ['/signup/confirm/:param']],
      [
        '/lpa/{lpa-id:\\d+}/download/{pdf-type:lp1|lp3|lpa120}',
        ['/lpa/:param/download/lp1', '/lpa/:param/download/lp3', '/lpa/:param/download/lpa120'],
      ],
    ];
    for (const [pattern, expected] of cases) assert.deepEqual(expandPattern(pattern), expected, pattern);
    const php =
      "if (App\\Feature::X->isEnabled()) {\n  $app->get('/a', A::class, " +
      "'a');\n}\n$app->route(\n  '/b[/{c}]',\n  $factory->pipeline(M::class, B::class),\n  " +
      "['GET', 'POST'],\n  'b',\n);\n$app->post('/d', D::class, 'd');";
    assert.deepEqual(parseRoutesPhp(php), [
      { pattern: '/a', methods: ['GET'], flag: 'X' },
      { pattern: '/b[/{c}]', methods: ['GET', 'POST'], flag: undefined },
      { pattern: '/d', methods: ['POST'], flag: undefined },
    ]);
  });

  test('feature groups off in production are the only routes out of scope', (t) => {
    const flags = [...new Set(live.flatMap((r) => (r.flag === undefined ? [] : [r.flag])))].sort();
    assert.deepEqual(flags, [...OFF_IN_PRODUCTION].sort());
    t.diagnostic(
      `out of scope: ${live
        .filter((r) => r.flag !== undefined)
        .map((r) => `${r.flag ?? ''} ${r.pattern}`)
        .join(', ')}`,
    );
  });

  test('every live route and method, replayed against the app and EDGE_HELD_BACK', async (t) => {
    const built = await build(t);
    const served = new Map<string, Set<string>>();
    for (const r of routesFromTree(built.app.printRoutes())) served.set(normalise(r.url), new Set(r.methods));
    // Exact paths; a declared prefix (PATHS.dashboardPage) with a number after it; the token pages (TOKEN_PATHS).
    const edge = new Set([
      ...declaredPaths(),
      ...declaredPrefixes().map((p) => `${p}:param`),
      ...Object.values(TOKEN_PATHS).map((prefix) => `${prefix}:param`),
    ]);

    const violations: string[] = [];
    const takenOver: string[] = [];
    for (const route of live.filter((r) => r.flag === undefined)) {
      const paths = expandPattern(route.pattern);
      const taken = paths.filter((p) => edge.has(p));
      if (taken.length === 0) continue;
      takenOver.push(route.pattern);
      for (const p of paths) {
        const missing = route.methods.filter((m) => served.get(p)?.has(m) !== true);
        if (missing.length > 0)
          violations.push(
            `${route.pattern}: the edge sends ${taken.join(', ')} to lpa-front, which does not ` +
              `serve ${missing.join(', ')} ${p}`,
          );
      }
    }
    t.diagnostic(`taken over: ${takenOver.join(', ')}; held back: ${Object.keys(EDGE_HELD_BACK).join(', ')}`);
    assert.deepEqual(violations, []);
    assert.ok(takenOver.length >= 5, 'the check saw the pages the edge does send to lpa-front');

    // The other direction: a path held back only for the route table leaves the list once lpa-front serves it all.
    const fullyServed = (route: LiveRoute): boolean =>
      expandPattern(route.pattern).every((p) => route.methods.every((m) => served.get(p)?.has(m) === true));
    const stale = Object.keys(EDGE_HELD_BACK)
      .filter((p) => !HELD_FOR_CONTENT.includes(p))
      .filter((p) =>
        live.filter((r) => r.flag === undefined && expandPattern(r.pattern).includes(p)).every(fullyServed),
      );
    assert.deepEqual(
      stale,
      [],
      'lpa-front now serves every method and sub-path of these live routes: take them out of ' + 'EDGE_HELD_BACK',
    );
  });
});
