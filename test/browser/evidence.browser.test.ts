/**
 * The evidence pages (issue 23, ADR 0040) in Chromium with a real clamd: the browser's own multipart body (the
 * `_csrf` field first, as the form orders it) is accepted, with JavaScript on and off; a refused file comes back
 * as a GOV.UK error on the field; a Ready file downloads as an attachment; no CSP violation on any page or error
 * state, and zero axe violations on the empty list, the list with files and the error state. With JavaScript, each
 * file's progress is shown while it uploads (assets/js/evidence-upload.mjs, docs/adr/0040), the upload throttled by
 * Chromium's own network emulation so the bars have time to move.
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
  // With JavaScript the answer replaces <main>, progress and all: wait for that (without, there is no progress).
  await page.locator('[data-qa="upload-progress"]').waitFor({ state: 'detached' });
  return response.status();
}

/** Uploads leave Chromium at `bytesPerSecond` (DevTools network emulation), so progress has time to show. */
async function throttleUploads(page: Page, bytesPerSecond: number): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond,
  });
}

/** A valid PDF of about `kib` KiB. */
const bigPdf = (kib: number): Buffer => makePdf({ text: 'Evidence of benefits '.repeat(Math.ceil((kib * 1024) / 21)) });

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
    // With JavaScript the refused upload's 400 page is the answer to the script's request, not a document: Chromium
    // logs it as a failed resource. Exactly that one is expected; anything else still counts.
    const refusedAnswer = `${suite.url(PATHS.evidence)}: HTTP 400`;
    assert.deepEqual(
      problems.failedRequests.filter((r) => r === refusedAnswer),
      [refusedAnswer],
    );
    problems.failedRequests.splice(problems.failedRequests.indexOf(refusedAnswer), 1);
    const logged = problems.consoleErrors.indexOf(
      'Failed to load resource: the server responded with a status of 400 (Bad Request)',
    );
    if (logged >= 0) problems.consoleErrors.splice(logged, 1);
    noProblems(problems, 'list, upload, error state and download');
    assert.deepEqual(suite.cspReportLines(), []);
    await page.close();
  });

  test('with JavaScript, each file shows its own progress while it uploads; no CSP violation', async () => {
    const { page, problems } = await suite.open(PATHS.evidence);
    if (new URL(page.url()).pathname === PATHS.login) await signIn(page);
    await page
      .locator('[data-qa="delete"]')
      .first()
      .waitFor({ state: 'attached', timeout: 1000 })
      .catch(() => undefined);
    // Room for two more files: delete what the first test left.
    while ((await page.locator('[data-qa="delete"]').count()) > 0) {
      await Promise.all([
        page.waitForURL(suite.url(PATHS.evidence)),
        page.locator('[data-qa="delete"]').first().click(),
      ]);
    }
    // Every value each bar takes, by its label, seen from the page itself as the script sets them.
    await page.evaluate(() => {
      const seen: Record<string, number[]> = {};
      const snapshots: number[][] = [];
      const announced: string[] = [];
      (window as unknown as { seen: unknown }).seen = { bars: seen, snapshots, announced };
      const record = (): void => {
        const now = [...document.querySelectorAll<HTMLProgressElement>('[data-qa="file-progress"] progress')];
        for (const bar of now) {
          const name = document.querySelector(`label[for="${bar.id}"]`)?.textContent ?? '';
          const values = (seen[name] ??= []);
          if (values.at(-1) !== bar.value) values.push(bar.value);
        }
        const values = now.map((bar) => bar.value);
        if (values.length > 0 && values.join() !== snapshots.at(-1)?.join()) snapshots.push(values);
        const status = document.querySelector('[data-qa="upload-status"]')?.textContent ?? '';
        if (status !== '' && announced.at(-1) !== status) announced.push(status);
      };
      new MutationObserver(record).observe(document.body, {
        subtree: true,
        childList: true,
        attributes: true,
        characterData: true,
      });
      setInterval(record, 20);
    });
    await throttleUploads(page, 400 * 1024);
    const files = [
      { name: 'first letter.pdf', mimeType: 'application/pdf', buffer: bigPdf(300) },
      { name: 'second letter.pdf', mimeType: 'application/pdf', buffer: bigPdf(300) },
    ];
    await page.locator('#file').setInputFiles(files);
    await page.locator('[data-qa="upload"]').click();
    const bars = page.locator('[data-qa="file-progress"]');
    await bars.first().waitFor();
    assert.deepEqual(await bars.locator('label').allInnerTexts(), ['first letter.pdf', 'second letter.pdf']);
    assert.equal(await page.getByRole('progressbar', { name: 'second letter.pdf' }).count(), 1, 'each bar is labelled');
    await page.locator('[data-qa="upload-progress"]').waitFor({ state: 'detached', timeout: 30_000 });
    assert.match(await page.locator('.govuk-notification-banner').innerText(), /uploaded/);
    assert.deepEqual(await statuses(page), ['ready', 'ready']);

    const seen = (await page.evaluate(() => (window as unknown as { seen: unknown }).seen)) as {
      bars: Record<string, number[]>;
      snapshots: number[][];
      announced: string[];
    };
    for (const f of files) {
      const values = seen.bars[f.name] ?? [];
      assert.equal(values.at(-1), 100, `${f.name}: ${values.join(' ')}`);
      assert.ok(
        values.some((v) => v > 0 && v < 100),
        `${f.name} moved through partial progress: ${values.join(' ')}`,
      );
    }
    // Per file, not one bar for all: the first part-way while the second waits, then the second part-way once the
    // first is done.
    const shown = seen.snapshots.map((v) => v.join(' ')).join(', ');
    assert.ok(
      seen.snapshots.some(([a = 0, b = 0]) => a > 0 && a < 100 && b === 0),
      shown,
    );
    assert.ok(
      seen.snapshots.some(([a = 0, b = 0]) => a === 100 && b > 0 && b < 100),
      shown,
    );
    assert.deepEqual(seen.announced, [
      'Your files are uploading',
      '“first letter.pdf” sent',
      '“second letter.pdf” sent',
      'All files sent. We are checking them for viruses',
    ]);
    noProblems(problems, 'upload with progress');
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
    const uploading = await suite.axe(PATHS.login, async (page) => {
      await prepare(page);
      await throttleUploads(page, 20 * 1024);
      await page
        .locator('#file')
        .setInputFiles([{ name: 'slow letter.pdf', mimeType: 'application/pdf', buffer: bigPdf(200) }]);
      await page.locator('[data-qa="upload"]').click();
      await page.locator('[data-qa="file-progress"]').waitFor();
    });
    assert.equal(uploading.length, 0, `progress shown:\n${describeViolations(uploading)}`);
  });
});
