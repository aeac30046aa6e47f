/**
 * Slotted kit pages (ADR 0056) are byte for byte what govuk-frontend's macros give when rendered per request: the
 * same app serves each page both ways (the kit's renderFormPage, whose pages are rendered once per key and filled
 * in, and a plain reply.view of the same context), over a table of field kinds, error states, languages and hostile
 * answers (markup, quotes, template syntax, the markers themselves, unicode, line ends, very long, empty), date
 * fields in every state of their parts (each one empty or not, each combination highlighted) and the real "Your
 * details" form. The cache is shared by every case, so a page that kept one person's answer, or escaped or indented
 * one differently, fails the comparison.
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
import { pino } from 'pino';
import { fixtureLookup } from '../../backends/address-lookup.ts';
import { createLocalAccounts } from '../../backends/local-accounts.ts';
import { aboutYouForm } from '../../features/user/about-you.form.ts';
import { createCatalogue, LOCALES_DIR, readLocales } from '../../i18n/catalogue.ts';
import type { Messages } from '../../i18n/catalogue.ts';
import { FEEDBACK_FIELDS } from '../../features/feedback/feedback-schema.ts';
import type { AssetCatalogue } from '../assets.ts';
import views, { createEnvironment } from '../views.ts';
import { renderSpliced, spliceWhole } from '../spliced-page.ts';
import { DATE_PARTS, partName } from './date.ts';
import type { FieldTable, Values } from './fields.ts';
import { checkFields } from './fields.ts';
import type { FormPage } from './form.ts';
import { formPage, formViewContext, refusalErrors, renderFormPage } from './form.ts';
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

/** The example year in DATED's hint: a test moves it on (a page cached in one year must not be shown in the next). */
let exampleYear = 2008;

/** A date field (govuk-frontend's date input re-indents its parts) beside a text field. */
const DATED: FieldTable = {
  born: {
    macro: 'dateInput',
    label: 'aboutYou:dob.heading',
    hint: 'aboutYou:dob.hint',
    hintValues: () => ({ year: exampleYear }),
    messages: { incomplete: 'aboutYou:errors.dobRequired', invalid: 'aboutYou:errors.dobInvalid' },
    date: { autocomplete: 'bday' },
  },
  name: {
    macro: 'input',
    label: 'feedback:email.label',
    messages: {},
  },
};

/** The real "Your details" page (its own template, fields, rules and page data); its backends are never asked. */
const aboutYou = (isNew: boolean): FormPage =>
  formPage(
    aboutYouForm(
      {
        accounts: createLocalAccounts({
          db: () => {
            throw new Error('only the page is rendered');
          },
        }),
        addressLookup: fixtureLookup(),
        log: pino({ level: 'silent' }),
        now: () => Date.parse('2026-12-06T12:00:00Z'),
      },
      isNew,
    ),
  );

const YOUR_DETAILS = aboutYou(false);

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
  {
    template: 'kit/form.njk',
    title: 'feedback:title',
    action: '/form',
    button: 'kit:continue',
    fields: DATED,
    names: Object.keys(DATED),
  },
  YOUR_DETAILS,
  // The first sign-in's page data on the same fields and action: only its data tells the two apart.
  { ...YOUR_DETAILS, data: aboutYou(true).data },
];

/** The names a page posts: a date field's three parts, every other field's own. */
const postedNames = (form: FormPage): string[] =>
  form.names.flatMap((n) => (form.fields[n]?.macro === 'dateInput' ? DATE_PARTS.map((p) => partName(n, p)) : [n]));
const aboutYouPage = YOUR_DETAILS;
const hasDate = (form: FormPage): boolean => form.names.some((n) => form.fields[n]?.macro === 'dateInput');

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
  // Line ends and white space (the date input re-indents every \n of a part), and the markers' new shape.
  '\n',
  '1\n2',
  '\r',
  'x\ry\r',
  '\r\n\r\n',
  '\tt\t\n\t',
  ' \n \n ',
  `\n <Slot&"'\\0123v0z\nx\r\n\n\r\t>\n `,
  `\n        &lt;Slot&amp;\n        x`,
  '"><script>alert(1)</script>',
  '{{',
  '12',
];

/** A date's parts that are not wrong (a real date in the past). */
const GOOD_PARTS: Readonly<Record<string, string>> = { day: '12', month: '11', year: '1990' };

interface Case {
  readonly page: number;
  readonly lang: string;
  readonly body: Record<string, string>;
  readonly hidden: Values;
  /** 'post': the kit's checks; 'get': answers without errors; 'refuse': a success handler's refusal. */
  readonly as: 'post' | 'get' | 'refuse';
}

const ALL_WAYS = ['post', 'get', 'refuse'] as const;

function cases(): Case[] {
  const out: Case[] = [];
  for (const [page, form] of PAGES.entries()) {
    for (let i = 0; i < HOSTILE.length; i++) {
      const body = Object.fromEntries(
        postedNames(form).map((name, k) => [name, HOSTILE[(i + k) % HOSTILE.length] ?? '']),
      );
      const hidden: Values = page === 0 ? { fromPage: HOSTILE[(i + 3) % HOSTILE.length] ?? '' } : {};
      const as = (['post', 'get', 'refuse'] as const)[i % 3] ?? 'post';
      for (const lang of ['en', OTHER]) out.push({ page, lang, body, hidden, as });
    }
    // Nothing typed (what most pages with errors are): only the nonce and token go in, into reused bodies.
    const empty = Object.fromEntries(postedNames(form).map((name) => [name, '']));
    for (const as of ALL_WAYS) for (let i = 0; i < 3; i++) out.push({ page, lang: 'en', body: empty, hidden: {}, as });
    if (hasDate(form)) out.push(...dateCases(page, form));
  }
  return out;
}

/**
 * Each date field's parts in every combination: the parts of `mask` bad (empty, not digits, with line ends and tabs:
 * each combination of wrong parts), the others a real date; every way, both languages.
 */
function dateCases(page: number, form: FormPage): Case[] {
  const out: Case[] = [];
  const bad = ['', '1\n2', '"><script>', 'a\r\nb\tc\rd\n', '13'];
  let n = 0;
  for (let mask = 0; mask < 8; mask++) {
    for (const value of bad) {
      const body: Record<string, string> = {};
      for (const name of postedNames(form)) body[name] = 'plain words';
      for (const name of form.names.filter((f) => form.fields[f]?.macro === 'dateInput'))
        DATE_PARTS.forEach((part, k) => {
          body[partName(name, part)] = (mask & (1 << k)) !== 0 ? value : (GOOD_PARTS[part] ?? '');
        });
      const as = ALL_WAYS[n % 3] ?? 'post';
      out.push({ page, lang: n++ % 2 === 0 ? 'en' : OTHER, body, hidden: {}, as });
    }
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
          ? refusalErrors(
              {
                refuse: [
                  { field: 'send', message: 'feedback:tooFast' },
                  // A date refused as a whole: every part highlighted.
                  ...page.names
                    .filter((f) => page.fields[f]?.macro === 'dateInput')
                    .map((field) => ({ field, message: 'feedback:tooFast' })),
                ],
              },
              language.t,
            )
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

  let n = 0;
  /** One case served both ways, each pair its own nonce and token (none may be kept in a cached page). */
  const sameBothWays = async (c: Case, repeat: number) => {
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
    const label = `page ${String(c.page)} ${c.lang} ${c.as} ${JSON.stringify(c.body).slice(0, 160)} (${String(repeat)})`;
    if (slotted.body !== plain.body) {
      let at = 0;
      while (slotted.body.charCodeAt(at) === plain.body.charCodeAt(at)) at++;
      assert.fail(
        `${label}: differs at ${String(at)}: ${JSON.stringify(slotted.body.slice(at - 80, at + 80))} vs ${JSON.stringify(plain.body.slice(at - 80, at + 80))}`,
      );
    }
    assert.ok(slotted.body.includes(headers['x-nonce']), label);
  };

  test('every case: the same bytes rendered once and filled in as rendered per request', async () => {
    for (const c of cases()) for (const repeat of [0, 1]) await sameBothWays(c, repeat);
  });

  test("a date hint's year is in the key: a page cached in one year is not shown in the next", async () => {
    const body = { 'born-day': '1\n2', 'born-month': '', 'born-year': '1990', name: 'x' };
    try {
      for (const year of [2008, 2009, 2008]) {
        exampleYear = year;
        for (const repeat of [0, 1]) await sameBothWays({ page: 2, lang: 'en', body, hidden: {}, as: 'post' }, repeat);
      }
    } finally {
      exampleYear = 2008;
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
      // "Your details" with a date of birth whose day has a line end (highlighted alone): only filled in, re-indented.
      const dob = async (day: string) => {
        const body = { ...Object.fromEntries(postedNames(aboutYouPage).map((k) => [k, ''])), 'dob-date-day': day };
        const c: Case = { page: PAGES.indexOf(aboutYouPage), lang: 'en', body, hidden: {}, as: 'post' };
        const headers = { 'x-nonce': 'n0', 'x-token': 't0', 'content-type': 'application/json' };
        return app.inject({ method: 'POST', url: '/form?state=dob', headers, payload: c });
      };
      const firstDob = await dob('firstDAY\n<x>');
      const rendered = renders;
      const secondDob = await dob('secondDAY\r\n&y');
      assert.equal(renders, rendered, 'the second date of birth was spliced in, not rendered');
      assert.match(firstDob.body, /value="firstDAY\n {8}&lt;x&gt;"/);
      assert.match(secondDob.body, /value="secondDAY\r\n {8}&amp;y"/);
      assert.ok(!secondDob.body.includes('firstDAY'));
    } finally {
      env.render = render;
    }
  });

  test('the kit pages are slotted (not silently rendered per request)', () => {
    const env = createEnvironment(assets, {}, words);
    const t = words.forLanguage('en');
    for (const page of PAGES) {
      const carries = page.template !== 'user/about-you.njk'; // "Your details" carries no hidden values
      const context = (slot: (i: number) => string) => ({
        ...formViewContext(
          { lang: 'en', t },
          page,
          Object.fromEntries(postedNames(page).map((n) => [n, slot(0)])),
          undefined,
          carries ? { fromPage: slot(1) } : {},
        ),
      });
      const made = renderSpliced(env, page.template, (m) => context(m.text), carries ? 2 : 1);
      assert.ok(made !== null, page.template);
      assert.ok((!carries || made.slots.includes(1)) && made.slots.includes('csrf'));
      // A date's parts come back indented (the date input's `indent`), every other text as it is.
      if (hasDate(page)) assert.ok(made.slots.some((g) => typeof g === 'object' && g.text === 0 && g.indent > 0));
      if (page.names.some((f) => page.fields[f]?.macro === 'input')) assert.ok(made.slots.includes(0));
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
    // Only `indent(n)` may touch the line ends: spaces after each \n, nothing else.
    '<p>{{ v | replace("\\n ", "\\n  ") }}</p>',
    '<p>{{ v | replace("\\n", "\\n  ") | replace("\\n  x", "\\nx") }}</p>',
    '<p>{{ v | replace("\\n\\n", "\\n") }}</p>',
    '<p>{{ v | replace("\\r", "") }}</p>',
    '<p>{{ v | replace("\\r\\n", "\\n") }}</p>',
    '<p>{{ v | replace("\\t", " ") }}</p>',
    '<p>{{ v | replace(" ", "") }}</p>',
    '<p>{{ v | indent(2) }}{{ v | replace("\\n", "\\n\\t") }}</p>',
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
  test('a value indented by `indent(n)` is slotted, and filled in as a render per value gives it', () => {
    const values = [...HOSTILE, '\n', '\n\n', 'a\n', '\r\n', ' ', 'x'];
    for (const source of [
      '<p>{{ v | indent(2) }}</p>',
      // As govuk-frontend's date input: a captured block (not marked safe), trimmed and indented, inside another.
      '<p>{{ v }}</p>{% set x %}<i>\n{{ v }}\n</i>{% endset %}<div>\n{{ x | safe | trim | indent(6) }}</div>',
      '{% set x %}<b>{{ v }}</b>{% endset %}{{ x | safe | indent(2) | indent(3) }}{{ ("!" + v) | indent(1, true) }}',
    ]) {
      const made = slotted(source);
      assert.ok(made !== null, source);
      assert.ok(
        made.slots.some((g) => typeof g === 'object'),
        source,
      );
      for (const v of values)
        assert.equal(
          spliceWhole(made, { nonce: 'n', csrf: () => 't', texts: [v] }).toString(),
          env.renderString(source, { v }),
          `${source} ${JSON.stringify(v).slice(0, 80)}`,
        );
    }
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
