/**
 * The render speed-ups change nothing a visitor receives: the fast filters equal Nunjucks' own on generated
 * input, every page renders byte for byte as with a stock environment, and a cached fragment never sees the page.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import nunjucks from 'nunjucks';
import { PATHS } from '../paths.ts';
import type { AssetCatalogue } from './assets.ts';
import { compileAllTemplates, createEnvironment, fragmentRenderer } from './views.ts';
import { createCatalogue } from '../i18n/catalogue.ts';
import {
  TwoKeyCache,
  fastIndent,
  fastTrim,
  installExportCache,
  installRuntimeSpeedups,
  isMarkedSafe,
  markedSafe,
  runtimeBuiltins,
} from './view-speedups.ts';

type Filter = (value: unknown, ...args: unknown[]) => unknown;
const stockFilter = (name: string): Filter => new nunjucks.Environment().getFilter(name) as Filter;

/** Text rich in the characters that matter here: every kind of JavaScript white space, newlines, markup. */
const text = fc.string({
  unit: fc.constantFrom(
    ' ',
    '\n',
    '\r',
    '\t',
    '\v',
    '\f',
    '\u00a0',
    '\u1680',
    '\u2000',
    '\u2028',
    '\u2029',
    '\u202f',
    '\u3000',
    '\ufeff',
    '\u200b',
    'a',
    'Z',
    '<',
    '&',
    '"',
    'é',
  ),
  maxLength: 40,
});

/** What a filter gave: the string and whether it is marked safe (so escaping is unchanged too). */
function outcome(run: () => unknown): { value: string; safe: boolean } | { threw: string } {
  try {
    const value = run();
    return { value: String(value), safe: isMarkedSafe(value) };
  } catch (err) {
    return { threw: err instanceof Error ? err.constructor.name : String(err) };
  }
}

describe('fast filters', () => {
  const trim = stockFilter('trim');
  const indent = stockFilter('indent');
  const fastT = fastTrim(trim);
  const fastI = fastIndent(indent);

  test('trim equals the built-in on strings and safe strings', () => {
    fc.assert(
      fc.property(text, fc.boolean(), (s, safe) => {
        const input = safe ? markedSafe(s) : s;
        assert.deepEqual(
          outcome(() => fastT(input)),
          outcome(() => trim(input)),
        );
      }),
      { numRuns: 3000 },
    );
  });

  test('trim equals the built-in on everything else too', () => {
    for (const odd of [undefined, null, false, true, 0, 42, ['a '], { a: 1 }]) {
      assert.deepEqual(
        outcome(() => fastT(odd)),
        outcome(() => trim(odd)),
        JSON.stringify(odd),
      );
    }
  });

  test('indent equals the built-in for any width and first-line flag', () => {
    const width = fc.constantFrom(undefined, null, 0, 1, 2, 4, 6, -1, '2', 'x', true, false);
    const first = fc.constantFrom(undefined, null, true, false, 0, 1, '', 'yes');
    fc.assert(
      fc.property(text, fc.boolean(), width, first, (s, safe, w, f) => {
        const input = safe ? markedSafe(s) : s;
        assert.deepEqual(
          outcome(() => fastI(input, w, f)),
          outcome(() => indent(input, w, f)),
        );
      }),
      { numRuns: 3000 },
    );
  });

  test('indent equals the built-in on everything else too', () => {
    for (const odd of [undefined, null, false, true, 0, 42, ['a\nb'], '']) {
      assert.deepEqual(
        outcome(() => fastI(odd, 2)),
        outcome(() => indent(odd, 2)),
        String(odd),
      );
    }
  });
});

describe('every page renders as with a stock environment', () => {
  const catalogue = { url: (logical: string) => `/assets/${logical}` } as unknown as AssetCatalogue;
  const fast = createEnvironment(catalogue);
  // Stock: Nunjucks' own loader and filters, and fragments rendered afresh every time.
  const root = join(import.meta.dirname, '..');
  const stock = new nunjucks.Environment(
    new nunjucks.FileSystemLoader([
      join(root, 'views'),
      join(root, 'features'),
      join(root, '..', 'node_modules/govuk-frontend/dist'),
    ]),
    { autoescape: true, throwOnUndefined: false, trimBlocks: true, lstripBlocks: true },
  );
  stock.addGlobal('paths', PATHS);
  stock.addGlobal('serviceName', 'Make a lasting power of attorney');
  stock.addGlobal('asset', (logical: string) => catalogue.url(logical));
  stock.addGlobal('fragment', (name: string, args: Record<string, unknown> = {}) =>
    markedSafe(stock.render(`fragments/${name}.njk`, args).trim()),
  );
  stock.addGlobal('assetIntegrity', (logical: string) => catalogue.integrity?.(logical) ?? '');
  // The catalogue's words, as createEnvironment gives them (ADR 0030, 0036).
  const words = createCatalogue();
  stock.addGlobal('t', words.forLanguage('en'));
  stock.addGlobal('translator', (lang: string) => words.forLanguage(lang));

  const templates = [
    ...readdirSync(join(root, 'features'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.njk')),
    ...readdirSync(join(root, 'views', 'errors')).map((f) =>
      relative(join(root, 'views'), join(root, 'views', 'errors', f)),
    ),
  ];
  // What every route passes the dashboard (its intro fragment takes only scalar arguments).
  const useAnLpaUrl = 'https://www.gov.uk/use-lasting-power-of-attorney';
  const contexts = [
    { cspNonce: 'n0nce', csrfToken: () => 'tok', currentPath: PATHS.home, signedIn: false, useAnLpaUrl },
    {
      cspNonce: 'n0nce',
      csrfToken: () => 'tok',
      currentPath: PATHS.dashboard,
      signedIn: true,
      useAnLpaUrl,
      fullName: 'Ann <b>Smith</b>',
      email: 'a&b@example.com',
      notice: 'Saved "x"',
    },
    {
      cspNonce: 'n0nce',
      csrfToken: () => 'tok',
      currentPath: PATHS.aboutYou,
      signedIn: true,
      useAnLpaUrl,
      errors: [{ text: 'Enter <x>', href: '#a' }],
      fieldErrors: { firstName: 'Enter <first>' },
      values: { firstName: '"><script>' },
    },
    {
      cspNonce: 'n0nce',
      csrfToken: () => 'tok',
      currentPath: PATHS.feedback,
      signedIn: false,
      useAnLpaUrl,
      errors: [{ text: 'Select a rating', href: '#rating' }],
      values: { details: '  \n<i>odd</i>\n ' },
    },
  ];

  test('the templates were found', () => {
    assert.ok(templates.length >= 12, templates.join(', '));
  });
  for (const template of templates) {
    test(template, () => {
      for (const context of contexts) {
        for (let twice = 0; twice < 2; twice++) {
          assert.equal(
            fast.render(template, context),
            stock.render(template, context),
            `${template} ${context.currentPath} (render ${String(twice + 1)})`,
          );
        }
      }
    });
  }

  /** An environment whose loader fails the test if it is asked to read a template file. */
  const noFileReads = (env: nunjucks.Environment): void => {
    const [loader] = (env as unknown as { loaders: { getSource: (name: string) => unknown }[] }).loaders;
    assert.ok(loader !== undefined);
    loader.getSource = (name: string) => {
      throw new Error(`read ${name} from disk while rendering`);
    };
  };

  test('compileAllTemplates: afterwards no render reads a template file (production start-up)', () => {
    const env = createEnvironment(catalogue);
    assert.ok(compileAllTemplates(env) >= 150);
    noFileReads(env);
    for (const template of templates) {
      for (const context of contexts)
        assert.equal(env.render(template, context), stock.render(template, context), template);
    }
  });

  test('compileAllTemplates: control, without it the first render reads files', () => {
    const env = createEnvironment(catalogue);
    noFileReads(env);
    assert.throws(() => env.render('content/start.njk', contexts[0]), /from disk while rendering/);
  });
});

describe('fragments', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lpa-fragments-'));
  mkdirSync(join(dir, 'fragments'));
  writeFileSync(join(dir, 'fragments', 'probe.njk'), '[{{ cspNonce }}][{{ who }}][{{ secret }}][{{ count() }}]');
  writeFileSync(join(dir, 'fragments', 'token.njk'), '{{ csrfToken() }}');
  let renders = 0;
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir), { autoescape: true });
  env.addGlobal('count', () => ++renders);
  env.addGlobal('fragment', fragmentRenderer(env, { maxEntries: 64, maxBytes: 1024 * 1024 }));
  const page = (tpl: string, context: object): string => env.renderString(tpl, context);

  test('see their arguments and the globals, never the page', () => {
    const out = page('{{ fragment("probe", { who: "<x>" }) }}', {
      cspNonce: 'n1',
      secret: 'visitor data',
      who: 'page',
    });
    assert.equal(out, '[][&lt;x&gt;][][1]');
  });

  test('are rendered once per distinct arguments', () => {
    renders = 0;
    const a = page('{{ fragment("probe", { who: "a", n: 1 }) }}', {});
    const b = page('{{ fragment("probe", { n: 1, who: "a" }) }}', {});
    const c = page('{{ fragment("probe", { who: "c" }) }}', {});
    assert.equal(a, b);
    assert.equal(renders, 2);
    assert.equal(c, '[][c][][2]');
  });

  test("cannot call the page's CSRF token", () => {
    assert.throws(() => page('{{ fragment("token") }}', { csrfToken: () => 'tok' }), /csrfToken/);
  });

  test('refuse bad names and non-scalar arguments', () => {
    assert.throws(() => page('{{ fragment("../probe") }}', {}), /bad name/);
    assert.throws(() => page('{{ fragment("probe", { who: ["a"] }) }}', {}), /not a string/);
    assert.throws(() => page('{{ fragment("probe", "who") }}', {}), /must be an object/);
  });

  test('stop caching past the bound but still render correctly', () => {
    for (let i = 0; i < 80; i++) page('{{ fragment("probe", { who: w }) }}', { w: `v${String(i)}` });
    renders = 0;
    assert.equal(page('{{ fragment("probe", { who: "v79" }) }}', {}), '[][v79][][1]');
    assert.equal(renders, 1, 'the 80th version was not kept');
    renders = 0;
    page('{{ fragment("probe", { who: "a", n: 1 }) }}', {});
    assert.equal(renders, 0, 'an early version still is');
  });

  test('stop caching past the byte bound', () => {
    const small = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir), { autoescape: true });
    let count = 0;
    small.addGlobal('count', () => ++count);
    // Each version is about 2 x 40 bytes with its key: 500 bytes hold a handful, never all 20.
    small.addGlobal('fragment', fragmentRenderer(small, { maxEntries: 1000, maxBytes: 500 }));
    const render = (who: string): string => small.renderString('{{ fragment("probe", { who: w }) }}', { w: who });
    for (let i = 0; i < 20; i++) render(`version-${String(i)}`);
    count = 0;
    render('version-0');
    assert.equal(count, 0, 'the first version was kept');
    render('version-19');
    assert.equal(count, 1, 'the 20th version was not kept');
  });

  test.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('imports without context run their top level once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lpa-imports-'));
  // The top level counts its runs; the macro sets a variable of its own and calls another macro from the file.
  writeFileSync(
    join(dir, 'macros.njk'),
    '{% set runs = count() %}{% macro tag(x) %}<{{ x }}>{% endmacro %}{% macro hello(name) ' +
      '%}{% set inner = name %}Hello {{ tag(inner) }}[{{ runs }}][{{ secret }}]{% endmacro %}',
  );
  writeFileSync(join(dir, 'page.njk'), '{% from "macros.njk" import hello %}{{ hello(who) }} {{ hello("again") }}');
  writeFileSync(join(dir, 'aliased.njk'), '{% import "macros.njk" as m %}{{ m.hello(who) }}');
  writeFileSync(join(dir, 'with-context.njk'), '{% from "macros.njk" import hello with context %}{{ hello(who) }}');
  writeFileSync(join(dir, 'failing.njk'), '{% set ok = mayFail() %}{% macro x() %}x{% endmacro %}');
  writeFileSync(join(dir, 'uses-failing.njk'), '{% from "failing.njk" import x %}{{ x() }}');
  const setUp = (cached: boolean): { env: nunjucks.Environment; runs: () => number; fail: (on: boolean) => void } => {
    let runs = 0;
    let failing = false;
    const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir), { autoescape: true });
    env.addGlobal('count', () => ++runs);
    env.addGlobal('mayFail', () => {
      if (failing) throw new Error('top level failed');
      return ++runs;
    });
    if (cached) installExportCache(env);
    return {
      env,
      runs: () => runs,
      fail: (on) => {
        failing = on;
      },
    };
  };

  test('same output as Nunjucks, from one run of the imported file', () => {
    const stock = setUp(false);
    const fast = setUp(true);
    for (const who of ['Ann', '<b>Bo</b>', 'Cy']) {
      const context = { who, secret: 'page data' };
      // The stock run count moves on every render, so compare with it stripped of the count.
      const strip = (html: string): string => html.replaceAll(/\[\d+\]/g, '[n]');
      assert.equal(strip(fast.env.render('page.njk', context)), strip(stock.env.render('page.njk', context)));
      assert.equal(strip(fast.env.render('aliased.njk', context)), strip(stock.env.render('aliased.njk', context)));
    }
    assert.equal(
      fast.env.render('page.njk', { who: '<i>' }),
      'Hello <&lt;i&gt;>[1][] Hello <again>[1][]',
      'escaped; the page context is not visible',
    );
    assert.equal(fast.runs(), 1, 'the top level ran once across renders, templates and import forms');
    assert.equal(stock.runs(), 6, 'control: stock Nunjucks runs it on every import');
  });

  test('imports with context still run every time and see the page', () => {
    const fast = setUp(true);
    assert.equal(fast.env.render('with-context.njk', { who: 'A', secret: 's1' }), 'Hello <A>[1][s1]');
    assert.equal(fast.env.render('with-context.njk', { who: 'B', secret: 's2' }), 'Hello <B>[2][s2]');
  });

  test('a failed top level is not kept', () => {
    const fast = setUp(true);
    fast.fail(true);
    assert.throws(() => fast.env.render('uses-failing.njk'), /top level failed/);
    fast.fail(false);
    assert.equal(fast.env.render('uses-failing.njk'), 'x');
    assert.equal(fast.env.render('uses-failing.njk'), 'x');
    assert.equal(fast.runs(), 1);
  });

  test.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
});

test('TwoKeyCache keeps values by both keys, and at most its bound', () => {
  const cache = new TwoKeyCache<number>(2);
  cache.set('a', 'x', 1);
  cache.set('a', 'y', 2);
  cache.set('b', 'x', 3);
  assert.equal(cache.get('a', 'x'), 1);
  assert.equal(cache.get('a', 'y'), 2);
  assert.equal(cache.get('b', 'x'), undefined, 'past the bound nothing new is kept');
  assert.equal(cache.get('x', 'a'), undefined);
});

test('TwoKeyCache with sizeOf keeps at most maxBytes, whatever the count', () => {
  const cache = new TwoKeyCache<string>(100, { maxBytes: 10, sizeOf: (v) => v.length });
  cache.set('page', 'en', 'aaaa');
  cache.set('page', 'cy', 'bbbb');
  cache.set('page', 'cy-consent', 'ccc');
  assert.equal(cache.get('page', 'cy-consent'), undefined, '4 + 4 + 3 bytes do not fit in 10');
  assert.equal(cache.bytes, 8);
  cache.set('other', 'en', 'dd');
  assert.equal(cache.get('other', 'en'), 'dd', 'a smaller one still fits');
  cache.set('page', 'en', 'a');
  assert.equal(cache.bytes, 7, 'a replaced value gives its bytes back');
  cache.set('page', 'en', 'aaaaaaa');
  assert.equal(cache.get('page', 'en'), 'a', 'a replacement that does not fit leaves the old value');
});

describe('runtime speedups give what the built-ins give', () => {
  installRuntimeSpeedups();
  const { set: builtinSet, escape: builtinEscape } = runtimeBuiltins;
  const lib = nunjucks.lib as unknown as { escape: (s: string) => string };
  interface Frame {
    variables: Record<string, unknown>;
    set: (name: string, value: unknown, resolveUp?: boolean) => void;
    push: (isolate?: boolean) => Frame;
  }
  const FrameClass = (nunjucks.runtime as unknown as { Frame: new (parent?: Frame, isolateWrites?: boolean) => Frame })
    .Frame;

  test('escape, on any text (and text full of the characters it escapes)', () => {
    assert.ok(builtinEscape !== undefined && lib.escape !== builtinEscape, 'installed');
    const risky = fc.string({ unit: fc.constantFrom('&', '"', "'", '<', '>', '\\', 'a', ' ', 'é', '\u2019', '\n') });
    fc.assert(
      fc.property(fc.oneof(text, risky), (s) => {
        assert.equal(lib.escape(s), builtinEscape(s));
      }),
      { numRuns: 3000 },
    );
  });

  test('Frame.set: the same variables in every frame, for plain and dotted names, with and without resolveUp', () => {
    assert.ok(builtinSet !== undefined);
    const names = fc.constantFrom('a', 'b', 'loop', 'a.b', 'a.b.c', 'x.y', '__proto__x');
    const op = fc.record({
      depth: fc.integer({ min: 0, max: 2 }),
      name: names,
      value: fc.integer(),
      resolveUp: fc.boolean(),
    });
    const build = (): Frame[] => {
      const top = new FrameClass();
      const mid = top.push(false);
      return [top, mid, mid.push(true)];
    };
    const snapshot = (frames: Frame[]): string => JSON.stringify(frames.map((f) => f.variables));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
        const fast = build();
        const stock = build();
        const attempt = (run: () => void): string => {
          try {
            run();
            return 'ok';
          } catch (err) {
            return err instanceof Error ? err.constructor.name : 'thrown';
          }
        };
        for (const o of ops) {
          const a = attempt(() => {
            fast[o.depth]?.set(o.name, o.value, o.resolveUp);
          });
          const b = attempt(() => {
            const target = stock[o.depth];
            if (target !== undefined) builtinSet.call(target as never, o.name, o.value, o.resolveUp);
          });
          assert.equal(a, b);
        }
        assert.equal(snapshot(fast), snapshot(stock));
      }),
      { numRuns: 3000 },
    );
  });
});
