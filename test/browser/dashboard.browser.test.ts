/**
 * The dashboard in Chromium, as behind the edge (LEGACY_FRONT=true): a user with 60 LPAs at every stage, the pages,
 * a search (with markup), a short list, an empty search; zero axe violations and no CSP violation on each, with
 * JavaScript on and off. The status script asks the legacy front's /user/dashboard/statuses/:ids, which the browser
 * answers here as the legacy front would (StatusesHandler's JSON), and the page shows the new status.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { LEGACY_PATHS, PATHS } from '../../src/paths.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import type { LocalAccounts } from '../../src/backends/local-accounts.ts';
import type { Suite } from './browser-helper.ts';
import { describeProblems, describeViolations, problemCount, startSuite } from './browser-helper.ts';
import { seedLpaList } from '../../scripts/lpa-seed.ts';

const PASSWORD = 'correct horse battery staple 44';
const MANY = 'many.lpas@example.com';
const FEW = 'few.lpas@example.com';

async function signIn(page: Page, email: string): Promise<void> {
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await Promise.all([
    page.waitForURL((u) => u.pathname === PATHS.dashboard),
    page.locator('[data-qa="sign-in"]').click(),
  ]);
}

/** The legacy front's StatusesHandler, as the browser sees it: every asked id is Received. */
async function legacyStatuses(ctx: BrowserContext): Promise<string[]> {
  const asked: string[] = [];
  await ctx.route(`**${LEGACY_PATHS.dashboardStatuses}/*`, async (route) => {
    const ids = new URL(route.request().url()).pathname.split('/').pop() ?? '';
    asked.push(ids);
    assert.equal(
      route.request().headers()['x-sessionreadonly'],
      'true',
      'asks without extending the session, as the live script',
    );
    await route.fulfill({
      json: Object.fromEntries(ids.split(',').map((id) => [id, { found: true, status: 'Received' }])),
    });
  });
  return asked;
}

describe('dashboard in Chromium', () => {
  let suite: Suite;
  before(async () => {
    suite = await startSuite({ LEGACY_FRONT: 'true' });
    const users = suite.app.services.credentials as LocalCredentials;
    const many = await users.addUser({ email: MANY, password: PASSWORD, name: { first: 'Mary', last: 'Somerville' } });
    const few = await users.addUser({ email: FEW, password: PASSWORD, name: { first: 'Grace', last: 'Hopper' } });
    const accounts = suite.app.services.accounts as LocalAccounts;
    // The seed script's LPAs: every stage the dashboard shows, some with no type or donor yet.
    accounts.addLpas(many, seedLpaList(60));
    accounts.addLpas(few, [
      {
        type: 'property-and-financial',
        donorName: 'Ada Lovelace',
        updatedAt: Date.now(),
        createdAt: Date.now(),
        reusable: true,
      },
      {
        type: 'health-and-welfare',
        donorName: 'Alan Turing',
        updatedAt: Date.now(),
        createdAt: Date.now(),
        completedAt: Date.now(),
        reusable: true,
      },
    ]);
  });
  after(async () => {
    await suite.close();
  });

  test('every state of the page: no CSP violation, no failed request, zero axe violations', async () => {
    const ctx = await suite.newContext();
    const asked = await legacyStatuses(ctx);
    const { page, problems } = await suite.open(PATHS.login, ctx);
    await signIn(page, MANY);
    const states = [
      PATHS.dashboard,
      `${PATHS.dashboardPage}2`,
      `${PATHS.dashboard}?search=${encodeURIComponent('<b>Lovelace</b>')}`,
      `${PATHS.dashboard}?search=Lovelace`,
      `${PATHS.dashboard}?search=nobody+at+all`,
    ];
    for (const path of states) {
      await page.goto(suite.url(path));
      assert.equal(await page.locator('h1').textContent(), 'Your LPAs', path);
    }
    assert.ok(asked.length > 0, 'the status script asked the legacy front');
    assert.equal(problemCount(problems), 0, describeProblems(problems));
    for (const path of states) {
      const violations = await suite.axe(path, async (axePage) => {
        await axePage.goto(suite.url(PATHS.login));
        if (axePage.url().endsWith(PATHS.login)) await signIn(axePage, MANY);
        await axePage.goto(suite.url(path));
      });
      assert.deepEqual(violations, [], `${path}\n${describeViolations(violations)}`);
    }
    await ctx.close();
  });

  test('paging and searching with JavaScript off; the search is shown as typed, never as markup', async () => {
    const ctx = await suite.newContext({ javaScriptEnabled: false });
    const { page, problems } = await suite.open(PATHS.login, ctx);
    await signIn(page, MANY);
    assert.equal((await page.locator('[data-qa="list-heading"] h2').textContent())?.trim(), 'All 60 LPAs');
    assert.equal(await page.locator('li[data-qa^="lpa-"]').count(), 50);
    await Promise.all([
      page.waitForURL((u) => u.pathname === `${PATHS.dashboardPage}2`),
      page.locator('.govuk-pagination__next a').click(),
    ]);
    assert.equal(await page.locator('li[data-qa^="lpa-"]').count(), 10);
    assert.equal((await page.locator('[data-qa="pager-summary"]').textContent())?.trim(), 'Showing 51 - 60 of 60 LPAs');

    await page.getByLabel('Search for an LPA or donor').fill('<i>Lovelace</i>');
    await Promise.all([
      page.waitForURL((u) => u.pathname === PATHS.dashboard),
      page.locator('[data-qa="search-button"]').click(),
    ]);
    assert.equal((await page.locator('[data-qa="search-heading"]').textContent())?.trim(), 'Search: <i>Lovelace</i>');
    assert.equal(await page.locator('main i').count(), 0, 'no element made from the search');
    assert.equal(await page.getByLabel('Search for an LPA or donor').inputValue(), '<i>Lovelace</i>');

    await page.getByLabel('Search for an LPA or donor').fill('Lovelace');
    await Promise.all([
      page.waitForURL((u) => u.search === '?search=Lovelace'),
      page.locator('[data-qa="search-button"]').click(),
    ]);
    const found = await page.locator('li[data-qa^="lpa-"] [data-qa="donor"]').allTextContents();
    assert.ok(found.length > 0 && found.every((d) => d.includes('Lovelace')), found.join(', '));
    await Promise.all([
      page.waitForURL((u) => u.pathname === PATHS.dashboard && u.search === ''),
      page.locator('[data-qa="clear-search"]').click(),
    ]);
    assert.equal(problemCount(problems), 0, describeProblems(problems));
    await ctx.close();
  });

  test("a short list is grouped by type, and the status script shows OPG's newer status", async () => {
    const ctx = await suite.newContext();
    const asked = await legacyStatuses(ctx);
    const { page, problems } = await suite.open(PATHS.login, ctx);
    await signIn(page, FEW);
    assert.deepEqual(await page.locator('h2[data-qa^="group-"]').allTextContents(), [
      'Property and finance LPAs',
      'Health and welfare LPAs',
    ]);
    assert.equal(await page.locator('[data-qa="search-form"]').count(), 0);
    const turing = page.locator('li[data-refresh-id]');
    await page.locator('li[data-refreshed="true"]').waitFor();
    assert.equal(
      (await turing.locator('[data-qa="status"]').textContent())?.trim(),
      'Received',
      'was Waiting; the legacy front says Received',
    );
    assert.match((await turing.locator('[data-qa="status"]').getAttribute('class')) ?? '', /govuk-tag--turquoise/);
    assert.equal((await turing.locator('[data-qa="status-message"]').textContent())?.trim(), 'View received message');
    assert.equal(asked.length, 1);
    assert.equal(problemCount(problems), 0, describeProblems(problems));
    const violations = await suite.axe(PATHS.dashboard, async (axePage) => {
      await axePage.context().clearCookies();
      await axePage.goto(suite.url(PATHS.login));
      await signIn(axePage, FEW);
    });
    assert.deepEqual(violations, [], describeViolations(violations));
    await ctx.close();
  });
});
