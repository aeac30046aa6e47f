/**
 * The dashboard's cached shell (src/platform/spliced-page.ts, ADR 0057 and 0063): the page sent as a shell rendered
 * once with the nonce, CSRF token and content spliced in must be byte for byte the page a whole render gives, over a
 * table of page states (empty, short and long lists, search with hostile text, notices, legacy messages, consent
 * banners); and over real HTTP, each signed-in user gets their own content, token and a fresh nonce from the one shell.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { build, startTestApp } from '../helpers/app.ts';
import type { Started } from '../helpers/app.ts';
import { Browser, csrfTokenFrom } from '../helpers/http.ts';
import { createServices } from '../../src/services.ts';
import { MemoryStore } from '../../src/sessions/memory-store.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import type { LocalAccounts } from '../../src/backends/local-accounts.ts';
import type { LpaSummary } from '../../src/backends/accounts.ts';
import { gapValues, renderSpliced, SplicedPages } from '../../src/platform/spliced-page.ts';
import type { SplicedPage } from '../../src/platform/spliced-page.ts';
import type { ConsentView } from '../../src/platform/consent/index.ts';
import { groupByType, lpaRow } from '../../src/features/user/dashboard.ts';
import { PATHS, USE_AN_LPA_URL } from '../../src/paths.ts';

const NOW = new Date('2026-08-21T12:00:00Z');
const TRACK_FROM = new Date('2019-04-01T00:00:00Z');
const HOSTILE = `<script>alert("x")</script>&'"`;

const lpa = (id: number, over: Partial<LpaSummary> = {}): LpaSummary => ({
  id,
  type: id % 2 === 0 ? 'property-and-financial' : 'health-and-welfare',
  donorName: `Donor ${String(id)}`,
  updatedAt: NOW,
  createdAt: null,
  completedAt: null,
  reusable: false,
  processingStatus: null,
  ...over,
});

function content(t: unknown, over: Record<string, unknown> = {}): Record<string, unknown> {
  const rows = (over.lpas as LpaSummary[] | undefined)?.map((l) => lpaRow(l, TRACK_FROM, NOW)) ?? [];
  const total = rows.length;
  const shortList = total <= 3 && over.isSearch !== true;
  return {
    lang: 'en',
    htmlLang: 'en',
    t,
    flash: undefined,
    notice: undefined,
    legacyFlash: [],
    lastLogin: null,
    total,
    isSearch: false,
    search: '',
    shortList,
    groups: shortList ? groupByType(rows) : undefined,
    rows,
    page: 1,
    pager: undefined,
    refreshIds: [],
    statusLabels: JSON.stringify({ waiting: 'Waiting' }),
    useAnLpaUrl: USE_AN_LPA_URL,
    ...over,
  };
}

const consent = (banner: ConsentView['banner'], analytics: ConsentView['analytics'] = null): ConsentView => ({
  banner,
  analytics,
  usage: analytics === null ? 'no' : 'yes',
  saved: false,
  returnTo: banner === 'none' ? PATHS.home : PATHS.dashboard,
});

test('the shell with spliced values is byte for byte the whole render, over page states and consent banners', async (t) => {
  const built = await build(t);
  const env = built.app.views;
  const tr = built.app.words.forLanguage('en');
  const states: [string, Record<string, unknown>][] = [
    ['no LPAs', {}],
    ['a short list in groups', { lpas: [lpa(1), lpa(2, { completedAt: NOW, processingStatus: 'Checking' })] }],
    ['a long list', { lpas: Array.from({ length: 12 }, (_, i) => lpa(i + 1, { reusable: i % 3 === 0 })) }],
    ['hostile donor names', { lpas: [lpa(7, { donorName: HOSTILE }), lpa(8, { donorName: 'Siân Ŵyn ’quoted’' })] }],
    ['a search with hostile text', { isSearch: true, search: HOSTILE, lpas: [lpa(3)] }],
    ['a notice', { notice: `Name updated ${HOSTILE}` }],
    ['a flash', { flash: 'Saved' }],
    ['last sign-in', { lastLogin: '21 August 2026 at 1:00pm' }],
    [
      'legacy messages',
      {
        legacyFlash: [
          { type: 'success', messages: [HOSTILE, 'two'] },
          { type: 'odd', messages: [] },
        ],
      },
    ],
    [
      'a pager',
      {
        lpas: [lpa(4)],
        pager: {
          summary: { first: 51, last: 51, total: 51 },
          previous: PATHS.dashboard,
          next: undefined,
          items: [
            { number: 1, href: PATHS.dashboard, current: false },
            { number: 2, href: `${PATHS.dashboardPage}2`, current: true },
          ],
        },
      },
    ],
  ];
  const banners: [string, ConsentView][] = [
    ['no banner', consent('none')],
    ['asked', consent('ask')],
    ['accepted, with analytics', consent('accepted', { measurementId: 'G-TEST', cookieDomain: '', pageLocation: 'x' })],
  ];
  const shells = new SplicedPages();
  const shellFor = (key: string, context: Record<string, unknown>): SplicedPage => {
    const kept = shells.get('user/dashboard.njk', key);
    if (kept !== undefined) return kept;
    const made = renderSpliced(env, 'user/dashboard.njk', (m) => ({ ...context, dashboardContent: m.html }), 0, true);
    assert.ok(made !== null, 'the shell takes its content spliced in');
    shells.keep('user/dashboard.njk', key, made);
    return made;
  };
  const res = new EventEmitter();
  let nonceCount = 0;
  for (const [bannerName, view] of banners) {
    for (const [name, over] of states) {
      const nonce = `nOnce${String(nonceCount++)}+/=`;
      const token = `tok${String(nonceCount)}_-`;
      const page = content(tr, over);
      const whole = env.render('user/dashboard.njk', {
        consent: view,
        ...page,
        cspNonce: nonce,
        csrfToken: () => token,
        currentPath: PATHS.dashboard,
        signedIn: true,
      });
      const shell = shellFor(`en\u0000${bannerName}`, {
        consent: view,
        lang: 'en',
        htmlLang: 'en',
        t: tr,
        currentPath: PATHS.dashboard,
        signedIn: true,
        refreshIds: [],
      });
      assert.equal(shells.get('user/dashboard.njk', `en\u0000${bannerName}`), shell, 'kept and reused');
      const html = env.render('user/dashboard-content.njk', page);
      const spliced = shells.body(shell, gapValues(shell, { nonce, csrf: () => token, html }), res);
      assert.equal(spliced.toString('utf8'), whole, `${bannerName}: ${name}`);
      assert.ok(whole.includes(nonce) && whole.includes(token), `${bannerName}: ${name} carries nonce and token`);
      res.emit('finish'); // the body goes back to be reused by the next state: stale bytes must not show
    }
  }
});

test('a value that would need escaping is never spliced in raw', async (t) => {
  const built = await build(t);
  const shell = renderSpliced(
    built.app.views,
    'user/dashboard.njk',
    (m) => ({ t: built.app.words.forLanguage('en'), signedIn: true, refreshIds: [], dashboardContent: m.html }),
    0,
    true,
  );
  assert.ok(shell !== null);
  assert.throws(() => gapValues(shell, { nonce: '"><script>', csrf: () => 'tok', html: '' }), /would need escaping/);
  assert.throws(() => gapValues(shell, { nonce: 'n', csrf: () => 'tok"', html: '' }), /would need escaping/);
});

describe('over HTTP: one shell, each user their own page', () => {
  const PASSWORD = 'correct horse battery staple';
  let built: Started;
  let dataDir: string;
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lpa-shell-'));
    built = await startTestApp({
      env: { DATA_DIR: dataDir, LEGACY_FRONT: 'false' },
      services: (config) =>
        createServices(config, { sessionStore: new MemoryStore(), signInPolicy: { failureDelayMs: 0 } }),
    });
  });
  after(async () => {
    await built.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function signedIn(email: string, donor: string): Promise<Browser> {
    const id = await (built.services.credentials as LocalCredentials).addUser({
      email,
      password: PASSWORD,
      name: { first: 'Ada', last: 'Lovelace' },
    });
    (built.services.accounts as LocalAccounts).addLpas(id, [
      { type: 'property-and-financial', donorName: donor, updatedAt: Date.now() },
    ]);
    const browser = new Browser(built.origin);
    const login = await browser.get(PATHS.login);
    const token = csrfTokenFrom(login.text);
    const res = await browser.post(PATHS.login, { email, password: PASSWORD, _csrf: token });
    assert.equal(res.status, 303);
    return browser;
  }

  test('donor names, tokens and nonces are per user and per response; sign-out works with the spliced token', async () => {
    const ada = await signedIn('ada@example.com', 'Donor Ada');
    const bob = await signedIn('bob@example.com', `Donor ${HOSTILE}`);
    const a1 = await ada.get(PATHS.dashboard);
    const b1 = await bob.get(PATHS.dashboard);
    const a2 = await ada.get(PATHS.dashboard);
    for (const page of [a1, b1, a2]) assert.equal(page.status, 200);
    assert.ok(a1.text.includes('Donor Ada') && !a1.text.includes('Donor &lt;script'));
    assert.ok(b1.text.includes('Donor &lt;script&gt;') && !b1.text.includes('Donor Ada'));
    assert.ok(!b1.text.includes(HOSTILE));
    const nonceOf = (body: string) => /<script[^>]* nonce="([^"]+)"/.exec(body)?.[1];
    const tokenOf = (body: string) => /id="app-sign-out"[\s\S]*?name="_csrf" value="([^"]+)"/.exec(body)?.[1];
    assert.notEqual(nonceOf(a1.text), nonceOf(a2.text));
    assert.ok((a1.headers.get('content-security-policy') ?? '').includes(`'nonce-${nonceOf(a1.text) ?? 'x'}'`));
    assert.notEqual(tokenOf(a1.text), tokenOf(b1.text));
    const out = await ada.post(PATHS.logout, { _csrf: tokenOf(a2.text) ?? '' });
    assert.ok(out.status === 302 || out.status === 303, `sign-out answered ${String(out.status)}`);
    assert.equal((await ada.get(PATHS.dashboard)).status, 302, 'signed out');
    assert.equal((await bob.get(PATHS.dashboard)).status, 200, 'the other user is still signed in');
  });

  test('200 pages at once for two users, bodies reused: each has its own donor and the nonce of its own header', async () => {
    const cat = await signedIn('cat@example.com', 'Donor Cat');
    const dan = await signedIn('dan@example.com', 'Donor Dan');
    const pages = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? cat : dan).get(PATHS.dashboard).then((p) => ({ i, p }))),
    );
    const nonces = new Set<string>();
    for (const { i, p } of pages) {
      assert.equal(p.status, 200);
      const [mine, theirs] = i % 2 === 0 ? ['Donor Cat', 'Donor Dan'] : ['Donor Dan', 'Donor Cat'];
      assert.ok(p.text.includes(mine) && !p.text.includes(theirs), `page ${String(i)} shows only its user's LPAs`);
      assert.ok(p.text.trimEnd().endsWith('</html>'), `page ${String(i)} is whole`);
      const nonce = /<script[^>]* nonce="([^"]+)"/.exec(p.text)?.[1] ?? '';
      assert.ok((p.headers.get('content-security-policy') ?? '').includes(`'nonce-${nonce}'`));
      nonces.add(nonce);
    }
    assert.equal(nonces.size, 200, 'a fresh nonce in every page');
    // HEAD: the same length as the page, no body; the body it was given goes back and the next GET is whole.
    const head = await cat.request('HEAD', PATHS.dashboard);
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
    assert.equal(Number(head.headers.get('content-length')), Buffer.byteLength(pages[0]?.p.text ?? ''));
    const again = await cat.get(PATHS.dashboard);
    assert.ok(again.text.includes('Donor Cat') && again.text.trimEnd().endsWith('</html>'));
  });
});
