/**
 * Slotted kit pages (ADR 0056) are byte for byte what govuk-frontend's macros give when rendered per request: the
 * same app serves each page both ways (the kit's renderFormPage, whose pages are rendered once per key and filled
 * in, and a plain reply.view of the same context), over a table of field kinds, error states, languages and hostile
 * answers (markup, quotes, template syntax, the markers themselves, unicode, very long, empty). The cache is shared
 * by every case, so a page that kept one person's answer, or escaped one differently, fails the comparison.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Type } from '@sinclair/typebox';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import nunjucks from 'nunjucks';
import { createCatalogue, LOCALES_DIR, readLocales } from '../../i18n/catalogue.ts';
import type { Messages } from '../../i18n/catalogue.ts';
import { FEEDBACK_FIELDS } from '../../features/feedback/feedback-schema.ts';
import type { AssetCatalogue } from '../assets.ts';
import views, { createEnvironment } from '../views.ts';
import { renderSpliced, spliceWhole } from '../spliced-page.ts';
import type { FieldTable, Values } from './fields.ts';
import { checkFields } from './fields.ts';
import type { FormPage } from './form.ts';
import { formViewContext, refusalErrors, renderFormPage } from './form.ts';
import { pageLanguage } from './page.ts';

const assets = { url: (logical: string) => `/assets/${logical}` } as unknown as AssetCatalogue;

/** A second language whose every message differs from English, so a page cached for one cannot pass for the other. */
const OTHER = 'en-XA';
const mark = (messages: Messages): Messages =>
  Object.fromEntries(Object.entries(messages).map(([k, v]) => [k, typeof v === 'string' ? `Ŵ${v}` : mark(v)]));
const resources = readLocales(LOCALES_DIR);
const words = createCatalogue({
  resources: {
    ...resources,
    [OTHER]: Object.fromEntries(Object.entries(resources.en ?? {}).map(([n, m]) => [n, mark(m)])),
  },
  languages: ['en', OTHER],
});

/** Every field kind the kit renders, on the kit's own template. */
const KINDS: FieldTable = {
  name: {
    macro: 'input',
    schema: Type.String({ maxLength: 50 }),
    required: true,
    label: 'feedback:email.label',
    messages: { required: 'feedback:email.invalid', maxLength: 'feedback:phone.invalid' },
  },
  notes: {
    macro: 'textarea',
    schema: Type.String({ maxLength: 30 }),
    label: 'feedback:details.label',
    hint: 'feedback:details.hint',
    messages: { maxLength: 'feedback:details.tooLong' },
  },
  story: {
    macro: 'characterCount',
    schema: Type.String({ maxLength: 40 }),
    required: true,
    label: 'feedback:details.label',
    messages: { required: 'feedback:details.required', maxLength: 'feedback:details.tooLong' },
  },
  mood: {
    macro: 'radios',
    schema: Type.Union(FEEDBACK_FIELDS.rating.options.map((o) => Type.Literal(o.value))),
    label: 'feedback:rating.label',
    options: FEEDBACK_FIELDS.rating.options,
    messages: { enum: 'feedback:rating.required' },
  },
  secret: {
    macro: 'password',
    schema: Type.String({ maxLength: 10 }),
    raw: true,
    label: 'feedback:phone.label',
    messages: { maxLength: 'feedback:phone.invalid' },
  },
};

const PAGES: readonly FormPage[] = [
  {
    template: 'feedback/feedback.njk',
    title: 'feedback:title',
    action: '/form',
    button: 'feedback:send',
    fields: FEEDBACK_FIELDS,
    names: Object.keys(FEEDBACK_FIELDS),
  },
  {
    template: 'kit/form.njk',
    title: 'feedback:title',
    action: '/form',
    button: 'kit:continue',
    fields: KINDS,
    names: Object.keys(KINDS),
  },
];

/** Answers a person (or an attacker) may send. */
const HOSTILE: readonly string[] = [
  '',
  'plain words',
  '<script>alert(1)</script>',
  `"double" & 'single' <b>bold</b> &amp; &#39;`,
  '{{ 7 * 7 }} {{ csrfToken() }}',
  '{% if true %}x{% endif %}{# c #}',
  '\\back\\slash\\',
  `\n <Slot&"'\\0123v0z>\n `, // a slot marker's shape
  'nonce-marker-00 csrf-marker-00 v1z',
  'Cymraeg: ŵ ŷ â 😀 \u202e\u0000 𝒳',
  `${'x'.repeat(30_000)}<"'&>`,
  'very-satisfied',
  'a\r\nb\nc',
  '  spaced  ',
];

interface Case {
  readonly page: number;
  readonly lang: string;
  readonly body: Record<string, string>;
  readonly hidden: Values;
  /** 'post': the kit's checks; 'get': answers without errors; 'refuse': a success handler's refusal. */
  readonly as: 'post' | 'get' | 'refuse';
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const [page, form] of PAGES.entries()) {
    for (let i = 0; i < HOSTILE.length; i++) {
      const body = Object.fromEntries(form.names.map((name, k) => [name, HOSTILE[(i + k) % HOSTILE.length] ?? '']));
      const hidden: Values = page === 0 ? { fromPage: HOSTILE[(i + 3) % HOSTILE.length] ?? '' } : {};
      const as = (['post', 'get', 'refuse'] as const)[i % 3] ?? 'post';
      for (const lang of ['en', OTHER]) out.push({ page, lang, body, hidden, as });
    }
    // Nothing typed (what most pages with errors are): only the nonce and token go in, into reused bodies.
    const empty = Object.fromEntries(form.names.map((name) => [name, '']));
    for (const as of ['post', 'get', 'refuse'] as const)
      for (let i = 0; i < 3; i++) out.push({ page, lang: 'en', body: empty, hidden: {}, as });
  }
  return out;
}

async function buildApp(): Promise<FastifyInstance> {
  const app = Fastify();
  // What the platform's plugins give every request: its own nonce and token (from headers, so a pair shares them).
  app.decorateRequest('cspNonce', '');
  app.decorateRequest('session', null); // no session: no flash message
  app.decorateRequest('csrfToken', function csrfToken(this: { headers: Record<string, unknown> }) {
    return String(this.headers['x-token']);
  });
  app.addHook('onRequest', async (request) => {
    request.cspNonce = String(request.headers['x-nonce']);
  });
  await app.register(views, { catalogue: assets, words });
  app.post('/form', async (request, reply) => {
    const c = request.body as Case;
    const page = PAGES[c.page];
    if (page === undefined) throw new Error('no page');
    const language = pageLanguage(request, reply, words);
    const checked =
      c.as === 'post'
        ? checkFields(page.fields, page.names, c.body, language.t)
        : c.as === 'refuse'
          ? refusalErrors({ refuse: [{ field: 'send', message: 'feedback:tooFast' }] }, language.t)
          : undefined;
    const values =
      checked === undefined || c.as === 'refuse'
        ? c.body
        : checkFields(page.fields, page.names, c.body, language.t).values;
    if (request.headers['x-way'] === 'plain')
      return reply.view(
        page.template,
        formViewContext(language, page, values, checked, c.hidden),
        checked !== undefined && checked.errors.length > 0 ? 400 : 200,
      );
    return renderFormPage(request, reply, language, page, values, checked, c.hidden);
  });
  return app;
}

describe('slotted kit pages', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await buildApp();
  });
  after(async () => {
    await app.close();
  });

  test('every case: the same bytes rendered once and filled in as rendered per request', async () => {
    let n = 0;
    for (const c of cases()) {
      for (const repeat of [0, 1]) {
        // Each pair its own nonce and token: none may be kept in a cached page.
        const headers = {
          'x-nonce': `nonce${String(n)}AB+/=`,
          'x-token': `token${String(n++)}`,
          'content-type': 'application/json',
        };
        const url = `/form?lang=${c.lang}`;
        const slotted = await app.inject({ method: 'POST', url, headers, payload: c });
        const plain = await app.inject({ method: 'POST', url, headers: { ...headers, 'x-way': 'plain' }, payload: c });
        assert.equal(plain.statusCode === 200 || plain.statusCode === 400, true, plain.body.slice(0, 500));
        assert.equal(slotted.statusCode, plain.statusCode);
        const label = `page ${String(c.page)} ${c.lang} ${c.as} ${JSON.stringify(c.body).slice(0, 120)} (${String(repeat)})`;
        if (slotted.body !== plain.body) {
          let at = 0;
          while (slotted.body.charCodeAt(at) === plain.body.charCodeAt(at)) at++;
          assert.fail(
            `${label}: differs at ${String(at)}: ${JSON.stringify(slotted.body.slice(at - 80, at + 80))} vs ${JSON.stringify(plain.body.slice(at - 80, at + 80))}`,
          );
        }
        assert.ok(slotted.body.includes(headers['x-nonce']), label);
      }
    }
  });

  test('a page with errors is rendered once: later answers in the same state are only filled in', async () => {
    // Counts the environment's renders (the real environment, only observed).
    const env = app.views;
    const render = env.render.bind(env);
    let renders = 0;
    env.render = (name: string, context?: object) => {
      renders++;
      return render(name, context);
    };
    try {
      const page = 1;
      const post = async (name: string) => {
        const body = { name, notes: '', story: '', mood: '', secret: '' };
        const c: Case = { page, lang: 'en', body, hidden: {}, as: 'post' };
        const headers = { 'x-nonce': 'n0', 'x-token': 't0', 'content-type': 'application/json' };
        return app.inject({ method: 'POST', url: '/form?state=count', headers, payload: c });
      };
      const first = await post('firstANSWER <x>');
      const before = renders;
      const second = await post('secondANSWER & y');
      assert.equal(renders, before, 'the second answer was spliced in, not rendered');
      assert.ok(first.body.includes('firstANSWER &lt;x&gt;') && !first.body.includes('secondANSWER'));
      assert.ok(second.body.includes('secondANSWER &amp; y') && !second.body.includes('firstANSWER'));
    } finally {
      env.render = render;
    }
  });

  test('the kit pages are slotted (not silently rendered per request)', () => {
    const env = createEnvironment(assets, {}, words);
    const t = words.forLanguage('en');
    for (const page of PAGES) {
      const context = (slot: (i: number) => string) => ({
        ...formViewContext(
          { lang: 'en', t },
          page,
          Object.fromEntries(page.names.map((n) => [n, slot(0)])),
          undefined,
          { fromPage: slot(1) },
        ),
      });
      const made = renderSpliced(env, page.template, (m) => context(m.text), 2);
      assert.ok(made !== null, page.template);
      assert.ok(made.slots.includes(0) && made.slots.includes(1) && made.slots.includes('csrf'));
    }
  });
});

describe('renderSpliced refuses a template that does anything but escape a string once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lpa-slots-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir), { autoescape: true });
  let files = 0;
  const slotted = (source: string) => {
    const name = `t${String(files++)}.njk`; // a new name each time: the loader keeps what it compiled
    writeFileSync(join(dir, name), source);
    return renderSpliced(env, name, (m) => ({ v: m.text(0) }), 1);
  };
  for (const source of [
    '<p>{{ v | trim }}</p>',
    '<p>{{ v | safe }}</p>',
    '<p>{{ v | upper }}</p>',
    '<p>{{ v | lower }}</p>',
    '<p>{{ v | indent(2) }}</p>',
    '<p>{{ v | urlencode }} {{ v }}</p>',
    '<p>{{ v | replace("S", "s") }}</p>',
    '<p>{{ v | truncate(5) }}</p>',
    '<p>{{ v | striptags }}</p>',
    '<p>{{ v | nl2br }}</p>',
    '<p>{{ v | length }}</p>',
    '<p>{{ v | dump }}</p>',
    '<p>{{ v | capitalize }}</p>',
    '<p>{{ v | title }}</p>',
    '<p>{{ v | replace("&", "+") }}</p>',
    '<p>{{ v }}{{ "x" if v == "" }}</p>{{ v | e | safe }}{{ v | string | safe }}',
  ]) {
    test(source, () => {
      assert.equal(slotted(source), null);
    });
  }
  const withHtml = (source: string) => {
    const name = `t${String(files++)}.njk`;
    writeFileSync(join(dir, name), source);
    return renderSpliced(env, name, (m) => ({ v: m.text(0), h: m.html }), 1, true);
  };
  test('the HTML gap must appear exactly once, untransformed', () => {
    for (const source of [
      '<p>{{ v }}</p>',
      '<p>{{ v }}</p>{{ h }}{{ h }}',
      '<p>{{ v }}</p>{{ h | lower }}',
      '<p>{{ v }}</p>{{ h | upper }}',
    ])
      assert.equal(withHtml(source), null, source);
  });
  test('HTML is put in whole, texts escaped, the nonce and token only if they need no escaping', () => {
    const made = withHtml('<main nonce="{{ cspNonce }}">{{ h }}<p>{{ v }}</p>{{ csrfToken() }}</main>');
    assert.ok(made !== null);
    const fill = { nonce: 'n0+/=', csrf: () => 't-_1', texts: ['<b>&</b>'], html: '<em>ok</em>' };
    assert.equal(
      spliceWhole(made, fill).toString(),
      '<main nonce="n0+/="><em>ok</em><p>&lt;b&gt;&amp;&lt;/b&gt;</p>t-_1</main>',
    );
    assert.throws(() => spliceWhole(made, { ...fill, nonce: 'n"' }), /would need escaping/);
    assert.throws(() => spliceWhole(made, { ...fill, csrf: () => '<t>' }), /would need escaping/);
  });
  test('a value escaped once, shown twice, is slotted and filled in escaped', () => {
    const made = slotted('<p title="{{ v }}">{{ v }}</p>');
    assert.ok(made !== null);
    assert.equal(
      spliceWhole(made, { nonce: 'n', csrf: () => 't', texts: [`<a href="x">'&'</a>`] }).toString(),
      '<p title="&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;">&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;</p>',
    );
  });
});
