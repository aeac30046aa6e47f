/**
 * Pages on the form kit in Chromium: no CSP violation or script error, zero axe violations (blank, with errors,
 * "check your answers"), and the error summary's links focus the field they name (govuk-frontend's own script),
 * for a text input and for radios. Test-only forms: the recipe's example and the three-step journey (test/kit/).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { createCatalogue } from '../../src/i18n/catalogue.ts';
import type { Messages } from '../../src/i18n/catalogue.ts';
import { discoverForms } from '../../src/forms.ts';
import {
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  describeProblems,
  describeViolations,
  problemCount,
  runAxe,
  watch,
} from './browser-helper.ts';
import { addPublicRoutes, buildKitApp } from '../kit/kit-app.ts';
import { PAPER_FORM_PATH } from '../kit/example-form/paper-form.form.ts';
import { callBackJourney, STEPS } from '../kit/journey/call-back.journey.ts';

const KIT = join(import.meta.dirname, '..', 'kit');
const SUMMARY = '.govuk-error-summary';
const SUBMIT = '[data-qa="kit-submit"]';

describe('form kit pages in Chromium', () => {
  let origin: string;
  let context: BrowserContext;
  let axeContext: BrowserContext;
  let profile: string;
  const closers: (() => unknown)[] = [];

  before(async () => {
    const catalogue = createCatalogue();
    catalogue.addNamespace(
      'en',
      'paperForm',
      JSON.parse(readFileSync(join(KIT, 'example-form/en.json'), 'utf8')) as Messages,
    );
    catalogue.addNamespace(
      'en',
      'callBack',
      JSON.parse(readFileSync(join(KIT, 'journey/en.json'), 'utf8')) as Messages,
    );
    const { forms } = await discoverForms(join(KIT, 'example-form'));
    addPublicRoutes([PAPER_FORM_PATH, ...Object.values(STEPS)]);
    ({ origin } = await buildKitApp(
      { after: (fn: () => unknown) => closers.push(fn) },
      { catalogue, forms, journeys: [callBackJourney], templateDirs: [join(KIT, 'example-form')] },
      true,
    ));
    profile = mkdtempSync(join(tmpdir(), 'lpa-chromium-kit-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS],
      locale: 'en-GB',
    });
    const browser = context.browser() ?? assert.fail('no browser');
    axeContext = await browser.newContext({ bypassCSP: true, locale: 'en-GB' });
  });
  after(async () => {
    await axeContext.close();
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    for (const close of closers.reverse()) await close();
  });

  async function open(path: string): Promise<{ page: Page; problems: Awaited<ReturnType<typeof watch>> }> {
    const page = await context.newPage();
    const problems = await watch(context, page);
    await page.goto(origin + path, { waitUntil: 'load' });
    return { page, problems };
  }

  async function sendAndWaitForErrors(page: Page): Promise<void> {
    await Promise.all([page.waitForEvent('load'), page.locator(SUBMIT).click()]);
    await page.locator(SUMMARY).waitFor();
  }

  test('the example form: clean page; errors summarised, focused, and each link focuses its field', async () => {
    const { page, problems } = await open(PAPER_FORM_PATH);
    await page.locator('#email').fill('not-an-email');
    await sendAndWaitForErrors(page);
    // govuk-frontend moves focus to the summary on load, so a screen reader announces it.
    await page.waitForFunction(() => document.activeElement?.classList.contains('govuk-error-summary') === true);
    await page.getByRole('link', { name: 'Enter your full name' }).click();
    await page.waitForFunction(() => document.activeElement?.id === 'fullName');
    await page.getByRole('link', { name: /Enter an email address in the correct format/ }).click();
    await page.waitForFunction(() => document.activeElement?.id === 'email');
    assert.equal(await page.locator('#email').inputValue(), 'not-an-email', 'the answer is kept');
    assert.equal(problemCount(problems), 0, describeProblems(problems));
    await page.close();
  });

  test('radios: the summary link focuses the first option', async () => {
    const { page, problems } = await open(STEPS.name);
    await page.locator('#fullName').fill('Ada Lovelace');
    await Promise.all([page.waitForURL(origin + STEPS.contact), page.locator(SUBMIT).click()]);
    await sendAndWaitForErrors(page);
    await page.getByRole('link', { name: 'Select how we should contact you' }).click();
    await page.waitForFunction(() => document.activeElement?.id === 'contactBy');
    assert.equal(problemCount(problems), 0, describeProblems(problems));
    await page.close();
  });

  test('zero axe violations: blank form, form with errors, a journey step, check your answers', async () => {
    const checks: [string, string, (page: Page) => Promise<void>][] = [
      ['blank form', PAPER_FORM_PATH, async () => undefined],
      ['form with errors', PAPER_FORM_PATH, sendAndWaitForErrors],
      ['journey step with errors', STEPS.name, sendAndWaitForErrors],
      [
        'check your answers',
        STEPS.name,
        async (page) => {
          await page.locator('#fullName').fill('Ada Lovelace');
          await Promise.all([page.waitForURL(origin + STEPS.contact), page.locator(SUBMIT).click()]);
          await page.getByRole('radio', { name: 'By email' }).check();
          await Promise.all([page.waitForURL(origin + STEPS.check), page.locator(SUBMIT).click()]);
        },
      ],
    ];
    for (const [name, path, prepare] of checks) {
      const page = await axeContext.newPage();
      await page.goto(origin + path, { waitUntil: 'load' });
      await prepare(page);
      const violations = await runAxe(page);
      assert.equal(violations.length, 0, `axe on ${name}:\n${describeViolations(violations)}`);
      await page.close();
    }
  });
});
