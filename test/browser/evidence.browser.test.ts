/**
 * The evidence pages (issue 23, ADR 0040) in Chromium with a real clamd: the browser's own multipart body (the
 * `_csrf` field first, as the form orders it) is accepted, with JavaScript on and off; a refused file comes back
 * as a GOV.UK error on the field; a Ready file downloads as an attachment; no CSP violation on any page or error
 * state, and zero axe violations on the empty list, the list with files and the error state.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { PATHS } from '../../src/paths.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { EICAR, startClamd } from '../helpers/services.ts';
import type { StartedClamd } from '../helpers/services.ts';
import { makePdf, makePng } from '../helpers/upload-fixtures.ts';
import type { Problems, Suite } from './browser-helper.ts';
import { describeProblems, describeViolations, problemCount, startSuite } from './browser-helper.ts';

const EMAIL = 'caroline.herschel@example.com';
const PASSWORD = 'correct horse battery staple 45';

async function signIn(page: Page): Promise<void> {
  await page.getByLabel('Email address').fill(EMAIL);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname !== PATHS.login), page.locator('[data-qa="sign-in"]').click()]);
}

async function upload(page: Page, files: { name: string; mimeType: string; buffer: Buffer }[]): Promise<number> {
  await page.locator('#file').setInputFiles(files);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === PATHS.evidence),
    page.locator('[data-qa="upload"]').click(),
  ]);
  await page.waitForLoadState('load');
  return response.status();
}

const statuses = (page: Page): Promise<string[]> =>
  page.locator('[data-qa="file-status"]').evaluateAll((cells) => cells.map((c) => c.getAttribute('data-status') ?? ''));

describe('evidence pages in Chromium', () => {
  let suite: Suite;
  let clamd: StartedClamd;
  before(async () => {
    clamd = await startClamd();
    suite = await startSuite({ CLAMD_ADDRESS: clamd.address });
    const users = suite.app.services.credentials as LocalCredentials;
    await users.addUser({ email: EMAIL, password: PASSWORD, name: { first: 'Caroline', last: 'Herschel' } });
  });
  after(async () => {
    await suite.close();
    await clamd.stop();
  });

  const noProblems = (problems: Problems, where: string): void => {
    assert.equal(problemCount(problems), 0, `${where}:\n${describeProblems(problems)}`);
  };

  test('upload, refusal and download with JavaScript on; no CSP violation on any page', async () => {
    const { page, problems } = await suite.open(PATHS.evidence);
    await signIn(page);
    assert.equal(new URL(page.url()).pathname, PATHS.evidence, 'sign-in returns to the page asked for');
    assert.equal(await page.locator('[data-qa="no-files"]').count(), 1);

    assert.equal(
      await upload(page, [
        { name: 'benefit letter.pdf', mimeType: 'application/pdf', buffer: makePdf() },
        { name: 'photo.png', mimeType: 'image/png', buffer: makePng(40, 30) },
      ]),
      303,
    );
    assert.deepEqual(await statuses(page), ['ready', 'ready']);
    assert.match(await page.locator('.govuk-notification-banner').innerText(), /uploaded/);

    const refused = await upload(page, [
      {
        name: 'letter.pdf',
        mimeType: 'application/pdf',
        buffer: makePdf({ objects: [`<< /Length ${EICAR.length} >>\nstream\n${EICAR}\nendstream`] }),
      },
    ]);
    assert.equal(refused, 400);
    assert.match(await page.locator('[data-qa="error-summary"]').innerText(), /“letter\.pdf” contains a virus/);
    assert.match(await page.locator('#file-error').innerText(), /contains a virus/);
    // The summary's link moves focus to the field.
    await page.locator('[data-qa="error-summary"] a').first().click();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'file');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('[data-qa="download"]').first().click(),
    ]);
    assert.equal(download.suggestedFilename(), 'benefit letter.pdf');
    noProblems(problems, 'list, upload, error state and download');
    assert.deepEqual(suite.cspReportLines(), []);
    await page.close();
  });

  test('with JavaScript off the form works the same', async () => {
    const ctx = await suite.newContext({ javaScriptEnabled: false });
    const { page, problems } = await suite.open(PATHS.login, ctx);
    await signIn(page);
    await page.goto(suite.url(PATHS.evidence));
    const before = (await statuses(page)).length;
    assert.equal(await upload(page, [{ name: 'scan.png', mimeType: 'image/png', buffer: makePng(10, 10) }]), 303);
    assert.equal((await statuses(page)).length, before + 1);
    assert.equal(
      await upload(page, [{ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') }]),
      400,
    );
    assert.match(await page.locator('[data-qa="error-summary"]').innerText(), /must be a PDF, JPG, PNG or HEIC/);
    noProblems(problems, 'JavaScript off');
    await ctx.close();
  });

  test('zero axe violations: the list, and the error state', async () => {
    const prepare = async (page: Page): Promise<void> => {
      if (new URL(page.url()).pathname === PATHS.login) await signIn(page);
      await page.goto(suite.url(PATHS.evidence));
    };
    const list = await suite.axe(PATHS.login, prepare);
    assert.equal(list.length, 0, `list:\n${describeViolations(list)}`);
    const errorState = await suite.axe(PATHS.login, async (page) => {
      await prepare(page);
      await page
        .locator('#file')
        .setInputFiles([{ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') }]);
      await Promise.all([page.waitForLoadState('load'), page.locator('[data-qa="upload"]').click()]);
      await page.locator('[data-qa="error-summary"]').waitFor();
    });
    assert.equal(errorState.length, 0, `error state:\n${describeViolations(errorState)}`);
  });
});
