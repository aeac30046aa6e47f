/**
 * The dashboard over real HTTP on both backends: the embedded SQLite store, and the LPA API (a fake whose every
 * request and answer is checked against docs/api/lpa-api.openapi.yaml). What the live DashboardHandler and its
 * templates show: the list, each LPA's status, dates and links, the type groups of a short list, paging, search
 * (escaped, capped), the empty state, the redirect to make a first LPA where the legacy front has that page, and the
 * messages the legacy front leaves in the shared session.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp } from '../helpers/app.ts';
import type { Started } from '../helpers/app.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import { fakeLpaApi } from '../helpers/fake-lpa-api.ts';
import type { FakeLpaApi } from '../helpers/fake-lpa-api.ts';
import { createServices } from '../../src/services.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import type { LocalAccounts, NewLpa } from '../../src/backends/local-accounts.ts';
import { MemoryStore } from '../../src/sessions/memory-store.ts';
import { LEGACY_PATHS, PATHS } from '../../src/paths.ts';
import { MEZZIO_FLASH_KEY } from '../../src/features/user/legacy-flash.ts';

const PASSWORD = 'correct horse battery staple';
const DAY = 86_400_000;
const NOW = Date.now();

interface Harness {
  readonly name: string;
  readonly built: Started;
  readonly store: MemoryStore;
  readonly fake: FakeLpaApi | undefined;
  /** An active user with these LPAs (given in the API's order: most recently updated first). */
  addUser(email: string, lpas: readonly NewLpa[], named?: boolean): Promise<string>;
  close(): Promise<void>;
}

const apiDate = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');

async function localHarness(env: Record<string, string>): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lpa-dashboard-'));
  const store = new MemoryStore();
  const built = await startTestApp({
    env: { DATA_DIR: dataDir, ...env },
    services: (config) => createServices(config, { sessionStore: store, signInPolicy: { failureDelayMs: 0 } }),
  });
  return {
    name: 'local (SQLite)',
    built,
    store,
    fake: undefined,
    async addUser(email, lpas, named = true) {
      const id = await (built.services.credentials as LocalCredentials).addUser({
        email,
        password: PASSWORD,
        name: named ? { first: 'Ada', last: 'Lovelace' } : null,
      });
      (built.services.accounts as LocalAccounts).addLpas(id, lpas);
      return id;
    },
    async close() {
      await built.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function apiHarness(env: Record<string, string>): Promise<Harness> {
  const fake = await fakeLpaApi();
  const store = new MemoryStore();
  const built = await startTestApp({
    env: { API_BASE_URL: fake.origin, EGRESS_ALLOW_PRIVATE: '127.0.0.1', ...env },
    services: (config) => createServices(config, { sessionStore: store, signInPolicy: { failureDelayMs: 0 } }),
  });
  let nextId = 10_000_000;
  return {
    name: 'api (fake LPA API, contract-checked)',
    built,
    store,
    fake,
    async addUser(email, lpas, named = true) {
      const created = await built.services.accounts.register(email, PASSWORD);
      assert.ok(created.outcome === 'created');
      assert.equal(await built.services.accounts.activate(created.activationToken), 'activated');
      const user = fake.users.get(created.userId);
      assert.ok(user);
      // A user with no name is sent to /user/about-you/new from every signed-in page (profile-gate.ts).
      if (named) user.profile = { ...user.profile, name: { title: '', first: 'Ada', last: 'Lovelace' } };
      user.lpas.push(
        ...lpas.map((l) => {
          const [first, ...rest] = (l.donorName ?? '').split(' ');
          return {
            id: nextId++,
            startedAt: apiDate(l.updatedAt),
            updatedAt: apiDate(l.updatedAt),
            createdAt: l.createdAt === undefined ? null : apiDate(l.createdAt),
            completedAt: l.completedAt === undefined ? null : apiDate(l.completedAt),
            document: {
              type: l.type,
              donor: l.donorName === null ? null : { name: { title: '', first, last: rest.join(' ') } },
            },
            metadata: {
              ...(l.reusable === true ? { 'people-to-notify-confirmed': true } : {}),
              ...(l.processingStatus === undefined ? {} : { 'sirius-processing-status': l.processingStatus }),
            },
          };
        }),
      );
      return created.userId;
    },
    async close() {
      await built.close();
      await fake.close();
    },
  };
}

async function signIn(h: Harness, email: string): Promise<Browser> {
  const browser = new Browser(h.built.origin);
  const form = await browser.get(PATHS.login);
  const res = await browser.post(PATHS.login, { email, password: PASSWORD, _csrf: csrfTokenFrom(form.text) });
  assert.equal(res.status, 303, `${email} signs in`);
  return browser;
}

/** `count` LPAs, each a day older than the one before, donors from a fixed list. */
function many(
  count: number,
  donor: (i: number) => string = (i) => `Donor${String(i)} ${i % 3 === 0 ? 'Smith' : 'Jones'}`,
): NewLpa[] {
  return Array.from({ length: count }, (_, i) => ({
    type: 'health-and-welfare' as const,
    donorName: donor(i),
    updatedAt: NOW - i * DAY,
  }));
}

const ids = (text: string) =>
  [...html(text).querySelectorAll('li[data-qa^="lpa-"]')].flatMap((li) => {
    const m = /^lpa-(\d+)$/.exec(li.getAttribute('data-qa') ?? '');
    return m === null ? [] : [Number(m[1])];
  });
const text = (doc: ReturnType<typeof html>, qa: string) =>
  doc.querySelector(`[data-qa="${qa}"]`)?.textContent.replace(/\s+/g, ' ').trim() ?? '';

for (const make of [localHarness, apiHarness]) {
  describe(`dashboard: ${make === localHarness ? 'local (SQLite)' : 'api (fake LPA API, contract-checked)'}`, () => {
    let h: Harness;
    before(async () => {
      h = await make({});
    });
    after(async () => {
      assert.deepEqual(h.fake?.violations ?? [], [], 'every request and answer met the contract');
      await h.close();
    });

    test('no LPAs: "You have no LPAs", no search box, the button to make one', async () => {
      await h.addUser('empty@example.com', []);
      const browser = await signIn(h, 'empty@example.com');
      const res = await browser.get(PATHS.dashboard);
      assert.equal(res.status, 200);
      const doc = html(res.text);
      assert.equal(text(doc, 'empty-state'), 'You have no LPAs');
      assert.equal(doc.querySelector('[data-qa="search-form"]'), null);
      assert.equal(doc.querySelector('[data-qa="make-a-new-lpa"]')?.getAttribute('href'), LEGACY_PATHS.createLpa);
      assert.equal(doc.querySelector('[data-qa="pager"]'), null);
    });

    test('a short list: grouped by type, each LPA with its status, date and links', async () => {
      const completed = NOW - 3 * DAY;
      await h.addUser('short@example.com', [
        { type: null, donorName: null, updatedAt: NOW },
        {
          type: 'property-and-financial',
          donorName: 'Grace Hopper',
          updatedAt: NOW - DAY,
          createdAt: NOW - DAY,
          reusable: true,
        },
        {
          type: 'health-and-welfare',
          donorName: 'Alan Turing',
          updatedAt: completed,
          createdAt: completed,
          completedAt: completed,
          reusable: true,
        },
        {
          type: 'property-and-financial',
          donorName: 'Mary Somerville',
          updatedAt: NOW - 4 * DAY,
          createdAt: completed,
          completedAt: completed,
          reusable: true,
          processingStatus: 'Processed',
        },
      ]);
      const browser = await signIn(h, 'short@example.com');
      const res = await browser.get(PATHS.dashboard);
      assert.equal(res.status, 200);
      const doc = html(res.text);
      assert.deepEqual(
        [...doc.querySelectorAll('h2[data-qa^="group-"]')].map((e) => e.textContent.trim()),
        ['No type selected', 'Property and finance LPAs', 'Health and welfare LPAs'],
      );
      assert.equal(doc.querySelector('[data-qa="search-form"]'), null, 'six or fewer: no search');
      const items = [...doc.querySelectorAll('li[data-qa^="lpa-"]')];
      assert.equal(items.length, 4);
      const byDonor = new Map(items.map((li) => [li.querySelector('[data-qa="donor"]')?.textContent.trim(), li]));
      const none = byDonor.get('No donor added');
      const started = byDonor.get('Grace Hopper');
      const waiting = byDonor.get('Alan Turing');
      const processed = byDonor.get('Mary Somerville');
      assert.ok(none && started && waiting && processed);
      const id = (li: typeof none) => Number(/\d+$/.exec(li.getAttribute('data-qa') ?? '')?.[0]);
      const reference = (n: number) => `A${String(n).padStart(11, '0')}`.replace(/(.{4})(?=.)/g, '$1 ');

      assert.equal(none.querySelector('[data-qa="status"]')?.textContent.trim(), 'Started');
      assert.equal(none.querySelector('[data-qa="lpa-type"]')?.textContent.trim(), 'Not selected');
      assert.equal(none.querySelector('[data-qa="lpa-number"]')?.textContent.trim(), reference(id(none)));
      assert.equal(
        none.querySelector('[data-qa="last-saved"]')?.textContent.trim(),
        new Intl.DateTimeFormat('en-GB', {
          timeZone: 'Europe/London',
          day: '2-digit',
          month: '2-digit',
          year: '2-digit',
        }).format(NOW),
      );
      assert.match(none.querySelector('[data-qa="open-lpa"]')?.textContent ?? '', /^Continue LPA A\d{3} /);
      assert.equal(none.querySelector('[data-qa="open-lpa"]')?.getAttribute('href'), `/lpa/${String(id(none))}`);
      assert.equal(none.querySelector('[data-qa="reuse-lpa-details"]'), null, 'not reusable yet');
      assert.equal(
        none.querySelector('[data-qa="delete-lpa"]')?.getAttribute('href'),
        `${LEGACY_PATHS.confirmDeleteLpa}/${String(id(none))}`,
      );

      assert.equal(started.querySelector('[data-qa="status"]')?.textContent.trim(), 'Created');
      assert.equal(started.querySelector('[data-qa="lpa-type"]')?.textContent.trim(), 'Property and financial');
      assert.equal(
        started.querySelector('[data-qa="reuse-lpa-details"]')?.getAttribute('href'),
        `${LEGACY_PATHS.createLpa}/${String(id(started))}`,
      );
      assert.equal(
        started.querySelector('[data-qa="check-signing-dates"]')?.getAttribute('href'),
        `/lpa/${String(id(started))}/date-check`,
      );
      assert.equal(started.querySelector('[data-qa="status-message"]'), null);

      assert.equal(
        waiting.querySelector('[data-qa="status"]')?.textContent.trim(),
        'Waiting',
        'completed since tracking began: waiting for OPG',
      );
      assert.match(waiting.querySelector('[data-qa="open-lpa"]')?.textContent ?? '', /^View LPA A\d{3} /);
      assert.equal(
        waiting.querySelector('[data-qa="status-message"]')?.getAttribute('href'),
        `/lpa/${String(id(waiting))}/status`,
      );
      assert.equal(waiting.querySelector('[data-qa="status-message"]')?.textContent.trim(), 'View waiting message');

      assert.equal(processed.querySelector('[data-qa="status"]')?.textContent.trim(), 'Processed');
      assert.deepEqual(
        [none, started, waiting, processed].map(
          (li) => /govuk-tag--(\w+)/.exec(li.querySelector('[data-qa="status"]')?.getAttribute('class') ?? '')?.[1],
        ),
        ['grey', 'grey', 'yellow', 'green'],
        'each status its colour',
      );
      assert.equal(
        doc.querySelector('[data-refresh-id]'),
        null,
        'no legacy front to ask for newer statuses (LEGACY_FRONT=false)',
      );
      assert.equal(doc.querySelector('script[data-app-dashboard-statuses]'), null);
    });

    test('60 LPAs: 50 a page, the pager, a page past the end goes to the last one', async () => {
      await h.addUser('many@example.com', many(60));
      const browser = await signIn(h, 'many@example.com');
      const first = await browser.get(PATHS.dashboard);
      assert.equal(first.status, 200);
      let doc = html(first.text);
      assert.equal(doc.querySelector('[data-qa="list-heading"] h2')?.textContent.trim(), 'All 60 LPAs');
      assert.equal(ids(first.text).length, 50);
      assert.equal(text(doc, 'pager-summary'), 'Showing 1 - 50 of 60 LPAs');
      assert.equal(doc.querySelector('.govuk-pagination__next a')?.getAttribute('href'), `${PATHS.dashboardPage}2`);
      assert.equal(doc.querySelector('.govuk-pagination__prev'), null);
      assert.ok(doc.querySelector('[data-qa="search-form"]'), 'more than six: the search box');

      const second = await browser.get(`${PATHS.dashboardPage}2`);
      assert.equal(second.status, 200);
      doc = html(second.text);
      assert.equal(ids(second.text).length, 10);
      assert.deepEqual(new Set([...ids(first.text), ...ids(second.text)]).size, 60, 'each LPA on one page');
      assert.equal(text(doc, 'pager-summary'), 'Showing 51 - 60 of 60 LPAs');
      assert.equal(doc.querySelector('.govuk-pagination__prev a')?.getAttribute('href'), PATHS.dashboard);
      assert.match(
        doc.querySelector('[data-qa="delete-lpa"]')?.getAttribute('href') ?? '',
        /\?page=2$/,
        'delete comes back to this page',
      );
      assert.equal(doc.querySelector('.govuk-pagination__item--current')?.textContent.trim(), '2');

      for (const [path, status, location] of [
        [`${PATHS.dashboardPage}3`, 302, `${PATHS.dashboardPage}2`],
        [`${PATHS.dashboardPage}999999999`, 302, `${PATHS.dashboardPage}2`],
        [`${PATHS.dashboardPage}0`, 302, PATHS.dashboard],
        [`${PATHS.dashboardPage}1`, 200, null],
        [`${PATHS.dashboardPage}abc`, 404, null],
        [`${PATHS.dashboardPage}-1`, 404, null],
        [`${PATHS.dashboardPage}1234567890`, 404, null],
        [PATHS.dashboardPage, 404, null],
      ] as const) {
        const res = await browser.get(path);
        assert.equal(res.status, status, path);
        assert.equal(res.headers.get('location'), location, path);
      }
    });

    test('search: by donor or reference, escaped, capped, carried through the pages', async () => {
      await h.addUser(
        'search@example.com',
        many(120, (i) =>
          i === 7 ? '<script>alert(1)</script> Ada' : `Donor${String(i)} ${i % 2 === 0 ? 'Smith' : 'Jones'}`,
        ),
      );
      const browser = await signIn(h, 'search@example.com');
      const smith = await browser.get(`${PATHS.dashboard}?search=smith`);
      assert.equal(smith.status, 200);
      let doc = html(smith.text);
      assert.equal(text(doc, 'search-heading'), 'Search: smith');
      assert.equal(text(doc, 'search-count'), 'Your search has found 60 results. Clear search results');
      assert.equal(doc.querySelector('[data-qa="clear-search"]')?.getAttribute('href'), PATHS.dashboard);
      assert.equal(ids(smith.text).length, 50);
      assert.equal(
        doc.querySelector('.govuk-pagination__next a')?.getAttribute('href'),
        `${PATHS.dashboardPage}2?search=smith`,
        'the search goes with the pages',
      );
      const page2 = await browser.get(`${PATHS.dashboardPage}2?search=smith`);
      assert.equal(ids(page2.text).length, 10);

      const all = ids((await browser.get(PATHS.dashboard)).text);
      const someId = all[3] ?? 0;
      const reference = `A${String(someId).padStart(11, '0')}`.replace(/(.{4})(?=.)/g, '$1 ');
      for (const q of [String(someId), reference]) {
        const found = await browser.get(`${PATHS.dashboard}?search=${encodeURIComponent(q)}`);
        assert.deepEqual(ids(found.text), [someId], `search ${q}`);
      }

      const markup = '<script>alert(1)</script>';
      const escaped = await browser.get(`${PATHS.dashboard}?search=${encodeURIComponent(markup)}`);
      assert.equal(escaped.status, 200);
      assert.equal(
        escaped.text.split('<script>alert(1)</script>').length - 1,
        0,
        'no markup from the search or a donor name reaches the page',
      );
      doc = html(escaped.text);
      assert.equal(text(doc, 'search-heading'), `Search: ${markup}`);
      assert.equal(doc.querySelector('#search')?.getAttribute('value'), markup);
      assert.equal(text(doc, 'search-count'), 'Your search has found 1 results. Clear search results');
      assert.equal(doc.querySelector('[data-qa="donor"]')?.textContent.trim(), '<script>alert(1)</script> Ada');

      const none = html((await browser.get(`${PATHS.dashboard}?search=nobody+at+all`)).text);
      assert.equal(text(none, 'search-count'), 'Your search has found no results. Clear search results');
      assert.equal(none.querySelector('[data-qa="lpa-list"]'), null);

      const long = 'x'.repeat(5000);
      const capped = await browser.get(`${PATHS.dashboard}?search=${long}`);
      assert.equal(capped.status, 200);
      assert.equal(
        html(capped.text).querySelector('#search')?.getAttribute('value'),
        'x'.repeat(200),
        'cut to 200 characters',
      );
      const repeated = await browser.get(`${PATHS.dashboard}?search=smith&search=jones`);
      assert.equal(text(html(repeated.text), 'search-heading'), 'Search: smith', 'the first of a repeated parameter');
      if (h.fake !== undefined) {
        const sent = h.fake.calls
          .filter((c) => c.request.operationId === 'listApplications')
          .map((c) => c.request.query.get('search') ?? '');
        assert.ok(
          sent.every((s) => s.length <= 200),
          'never more than 200 characters to the API',
        );
      }
    });

    test('messages the legacy front left in the shared session show once', async () => {
      await h.addUser('flash@example.com', many(2));
      const browser = await signIn(h, 'flash@example.com');
      const sessionId = browser.cookies.get(h.built.config.sessionCookieName)?.slice(0, 32) ?? '';
      // As mezzio-flash stores DeleteLpaHandler's message (FlashMessenger::ERROR), with one hop.
      const flash = {
        flash_error: { value: ['LPA could not be deleted'], hops: 1 },
        flash_success: { value: ['<b>Done</b>'], hops: 2 },
      };
      assert.ok(await h.store.commit(sessionId, new Map([[MEZZIO_FLASH_KEY, flash]]), 3600));
      let doc = html((await browser.get(PATHS.dashboard)).text);
      assert.match(text(doc, 'legacy-flash-error'), /There is a problem LPA could not be deleted/);
      assert.match(text(doc, 'legacy-flash-success'), /Success <b>Done<\/b>/, 'shown as text, never as markup');
      doc = html((await browser.get(PATHS.dashboard)).text);
      assert.equal(doc.querySelector('[data-qa="legacy-flash-error"]'), null, 'one hop: gone');
      assert.ok(doc.querySelector('[data-qa="legacy-flash-success"]'), 'two hops: shown on the next page too');
      doc = html((await browser.get(PATHS.dashboard)).text);
      assert.equal(doc.querySelector('[data-qa="legacy-flash-success"]'), null);
      assert.equal(
        (await h.store.load(sessionId))?.has(MEZZIO_FLASH_KEY),
        false,
        'used up, the key is removed as mezzio-flash does',
      );
    });

    if (make === apiHarness) {
      test('one API call a view; a token the API refuses signs out', async () => {
        const fake = h.fake;
        assert.ok(fake);
        await h.addUser('calls@example.com', many(3));
        const browser = await signIn(h, 'calls@example.com');
        let before = fake.calls.length;
        assert.equal((await browser.get(PATHS.dashboard)).status, 200);
        // The first signed-in page of a sign-in also asks whether the profile is complete (profile-gate.ts), once.
        assert.deepEqual(
          fake.calls.slice(before).map((c) => c.request.operationId),
          ['getUser', 'listApplications'],
        );
        before = fake.calls.length;
        assert.equal((await browser.get(PATHS.dashboard)).status, 200);
        assert.deepEqual(
          fake.calls.slice(before).map((c) => c.request.operationId),
          ['listApplications'],
        );
        fake.outage = 401;
        const refused = await browser.get(PATHS.dashboard);
        fake.outage = undefined;
        assert.equal(refused.status, 303);
        assert.equal(refused.headers.get('location'), PATHS.loginTimeout);
        assert.equal(
          (await browser.get(PATHS.dashboard)).headers.get('location')?.startsWith(PATHS.login),
          true,
          'signed out',
        );
      });
    }
  });
}

describe('dashboard behind the edge on the API (LEGACY_FRONT=true)', () => {
  let h: Harness;
  before(async () => {
    h = await apiHarness({ LEGACY_FRONT: 'true' });
  });
  after(async () => {
    assert.deepEqual(h.fake?.violations ?? [], [], 'every request and answer met the contract');
    await h.close();
  });

  test(
    'the name is checked until there is one (UserDetailsMiddleware, profile-gate.ts), then ' + 'one API call a view',
    async () => {
      const fake = h.fake;
      assert.ok(fake);
      const id = await h.addUser('calls@example.com', many(3), false);
      const browser = await signIn(h, 'calls@example.com');
      let before = fake.calls.length;
      assert.equal((await browser.get(PATHS.dashboard)).status, 302, 'no name yet');
      assert.equal(
        (await browser.get(PATHS.dashboard)).headers.get('location'),
        PATHS.aboutYouNew,
        'still none: sent again',
      );
      const user = fake.users.get(id);
      assert.ok(user);
      user.profile = { ...user.profile, name: { title: '', first: 'Ada', last: 'Lovelace' } };
      before = fake.calls.length;
      assert.equal((await browser.get(PATHS.dashboard)).status, 200);
      assert.deepEqual(
        fake.calls.slice(before).map((c) => c.request.operationId),
        ['getUser', 'listApplications'],
      );
      before = fake.calls.length;
      assert.equal((await browser.get(`${PATHS.dashboard}?search=smith`)).status, 200);
      assert.deepEqual(
        fake.calls.slice(before).map((c) => c.request.operationId),
        ['listApplications'],
        'checked: the list only',
      );
    },
  );
});

describe('dashboard where the legacy front serves the rest (LEGACY_FRONT=true)', () => {
  let h: Harness;
  before(async () => {
    h = await localHarness({ LEGACY_FRONT: 'true' });
  });
  after(async () => {
    await h.close();
  });

  test('no LPAs and no search: on to make the first one, as the live page; a search still answers here', async () => {
    await h.addUser('first@example.com', []);
    const browser = await signIn(h, 'first@example.com');
    const res = await browser.get(PATHS.dashboard);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), LEGACY_PATHS.createLpa);
    const emptySearch = await browser.get(`${PATHS.dashboard}?search=`);
    assert.equal(emptySearch.status, 200, 'an empty search is still a search to the live handler (not null)');
    assert.equal(text(html(emptySearch.text), 'empty-state'), 'You have no LPAs');
    const search = await browser.get(`${PATHS.dashboard}?search=abc`);
    assert.equal(text(html(search.text), 'search-count'), 'Your search has found no results. Clear search results');
  });

  test('a user with no name yet goes to "your details" first, as the live front', async () => {
    await h.addUser('noname@example.com', many(2), false);
    const browser = await signIn(h, 'noname@example.com');
    const res = await browser.get(PATHS.dashboard);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), PATHS.aboutYouNew);
    assert.equal(
      (await browser.get(`${PATHS.dashboardPage}2`)).headers.get('location'),
      PATHS.aboutYouNew,
      'every page of it',
    );
  });

  test('last signed in before the terms changed (2015): the new terms first, once a session', async () => {
    await h.addUser('old@example.com', many(1));
    const browser = await signIn(h, 'old@example.com');
    const sessionId = browser.cookies.get(h.built.config.sessionCookieName)?.slice(0, 32) ?? '';
    const identity = (await h.store.load(sessionId))?.get('identity') as Record<string, unknown>;
    assert.ok(
      await h.store.commit(
        sessionId,
        new Map([['identity', { ...identity, lastLogin: '2015-02-17T13:59:00+00:00' }]]),
        3600,
      ),
    );
    const first = await browser.get(PATHS.dashboard);
    assert.equal(first.status, 302);
    assert.equal(first.headers.get('location'), LEGACY_PATHS.termsChanged);
    assert.equal((await browser.get(PATHS.dashboard)).status, 200, 'seen: not again this session');

    const recent = await signIn(h, 'old@example.com');
    const recentId = recent.cookies.get(h.built.config.sessionCookieName)?.slice(0, 32) ?? '';
    const fresh = (await h.store.load(recentId))?.get('identity') as Record<string, unknown>;
    assert.ok(
      await h.store.commit(
        recentId,
        new Map([['identity', { ...fresh, lastLogin: '2015-02-17T14:00:00+00:00' }]]),
        3600,
      ),
    );
    assert.equal(
      (await recent.get(PATHS.dashboard)).status,
      200,
      'signed in since the change: straight to the dashboard',
    );
  });

  test(
    'with LPAs, the list as anywhere else; those OPG may have news of are refreshed by the ' + 'status script',
    async () => {
      const completed = NOW - DAY;
      await h.addUser('some@example.com', [
        ...many(2),
        {
          type: 'health-and-welfare',
          donorName: 'Alan Turing',
          updatedAt: completed,
          createdAt: completed,
          completedAt: completed,
        },
      ]);
      const browser = await signIn(h, 'some@example.com');
      const res = await browser.get(PATHS.dashboard);
      assert.equal(res.status, 200);
      assert.equal(ids(res.text).length, 3);
      const doc = html(res.text);
      const refreshed = [...doc.querySelectorAll('li[data-refresh-id]')];
      assert.deepEqual(
        refreshed.map((li) => li.querySelector('[data-qa="donor"]')?.textContent.trim()),
        ['Alan Turing'],
        'only the waiting one',
      );
      const script = doc.querySelector('script[data-app-dashboard-statuses]');
      assert.ok(script);
      assert.equal(script.getAttribute('data-statuses-url'), `${LEGACY_PATHS.dashboardStatuses}/`);
      assert.equal(
        (JSON.parse(script.getAttribute('data-labels') ?? '{}') as Record<string, string>).received,
        'Received',
      );
      assert.match(script.getAttribute('nonce') ?? '', /^[A-Za-z0-9+/]{22}==$/, 'the CSP nonce');
    },
  );
});
