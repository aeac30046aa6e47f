/**
 * Browser tests in Debian's Chromium through playwright-core (Playwright cannot download browsers here).
 *
 * `startSuite()` starts the real app on a loopback port and launches one Chromium for the test file:
 * a persistent context (CSP enforced, JavaScript on) plus any extra contexts a test asks for (JavaScript off,
 * or CSP bypassed for axe). `suite.open(path)` records, for that page:
 *   - CSP violations, from three independent sources: Chromium's console messages about the policy or Trusted
 *     Types, requests the browser blocked (`net::ERR_BLOCKED_BY_CSP`), and the browser's own Reporting API queue
 *     (CDP `Network.reportingApiReportAdded`); plus `suite.cspReportLines()`, what reached the app's /csp-report.
 *     No init script is used: it would itself be script the page did not ask for.
 *   - console errors, uncaught page errors, failed or >= 400 subresource requests.
 * `suite.axe(path)` then runs axe-core in a separate context created with `bypassCSP: true`, because injecting
 * axe into a page under our CSP is itself a violation. So: check CSP first, then axe, never the other way round.
 *
 * The app listens on the port its PUBLIC_ORIGIN names, so the Origin header Chromium sends on a form POST is
 * the one the CSRF check expects (test/helpers/app.ts `build` listens on port 0 with a fixed PUBLIC_ORIGIN,
 * which suits HTTP clients that set Origin themselves, not a real browser).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, BrowserContextOptions, Page, Request, Response } from 'playwright-core';
import type { AxeResults, RunOptions } from 'axe-core';
import { startTestApp } from '../helpers/app.ts';
import type { Started } from '../helpers/app.ts';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Every name but loopback fails at once, without a DNS query: a page that links or redirects off-site (sign-out
  // lands on GOV.UK) can never send traffic off this machine.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
];

/** WCAG 2.0, 2.1 and 2.2, levels A and AA. */
export const AXE_TAGS: readonly string[] = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** The app a browser suite drives (see test/helpers/app.ts). */
export type RunningApp = Started;

/** The real app on 127.0.0.1, on the port PUBLIC_ORIGIN names; logs captured in memory; DATA_DIR in a temp folder. */
export async function startApp(env: Record<string, string> = {}): Promise<RunningApp> {
  return startTestApp({ env, port: 'public', logLevel: 'info' });
}

export interface Problems {
  readonly csp: string[];
  readonly consoleErrors: string[];
  readonly pageErrors: string[];
  readonly failedRequests: string[];
}

export interface OpenedPage {
  readonly page: Page;
  readonly response: Response | null;
  readonly problems: Problems;
}

const CSP_MESSAGE = /Content Security Policy|Trusted ?Type|TrustedHTML|TrustedScript|require-trusted-types-for/i;

interface ReportingApiReport {
  readonly report: { readonly type: string; readonly initiatorUrl: string; readonly body: Record<string, unknown> };
}

/** Starts recording problems on a page; call before navigating. */
export async function watch(context: BrowserContext, page: Page): Promise<Problems> {
  const problems: Problems = { csp: [], consoleErrors: [], pageErrors: [], failedRequests: [] };
  // Documents answered with 4xx on purpose (a form re-shown with errors is a 400): Chromium logs each one as
  // "Failed to load resource"; the tests assert those statuses themselves. Subresources are never excused.
  const documentsWithErrorStatus = new Set<string>();
  page.on('console', (message) => {
    const text = message.text();
    if (CSP_MESSAGE.test(text)) problems.csp.push(`console: ${text}`);
    else if (message.type() === 'error') {
      const isDocumentStatus =
        /^Failed to load resource: the server responded with a status of 4\d\d/.test(text) &&
        documentsWithErrorStatus.has(message.location().url);
      if (!isDocumentStatus) problems.consoleErrors.push(text);
    }
  });
  page.on('pageerror', (error) => problems.pageErrors.push(`${error.name}: ${error.message}`));
  // Each request with the number of main-frame navigations begun before it: a request the browser cancels because
  // the page it belongs to is being left (a click on a form's button while the page's script is still fetching)
  // is not a failure of the page.
  let navigations = 0;
  const navigationsBefore = new WeakMap<Request, number>();
  page.on('request', (request) => {
    navigationsBefore.set(request, navigations);
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) navigations++;
  });
  page.on('requestfailed', (request) => {
    const why = request.failure()?.errorText ?? 'failed';
    // Chromium fetches the favicon and the web app manifest itself, late and outside the page's requests, and drops
    // them when the tab navigates; a broken one still shows as an HTTP error status below.
    const browserFavicon =
      request.resourceType() === 'manifest' ||
      (request.resourceType() === 'other' && /\/favicon[^/]*$/.test(new URL(request.url()).pathname));
    const pageLeft =
      why === 'net::ERR_ABORTED' &&
      (request.isNavigationRequest() ||
        browserFavicon ||
        navigations > (navigationsBefore.get(request) ?? navigations));
    if (/csp/i.test(why)) problems.csp.push(`blocked: ${request.url()} (${why})`);
    // A navigation replaced by another (e.g. a form POST answered with a redirect), or a request of a page being left.
    else if (!pageLeft) problems.failedRequests.push(`${request.url()}: ${why}`);
  });
  page.on('response', (response) => {
    if (response.status() < 400) return;
    if (response.request().isNavigationRequest()) documentsWithErrorStatus.add(response.url());
    else problems.failedRequests.push(`${response.url()}: HTTP ${String(response.status())}`);
  });
  // The browser's own Reporting API queue: every CSP report Chromium would deliver, as soon as it is made.
  const cdp = await context.newCDPSession(page);
  cdp.on('Network.reportingApiReportAdded', (event: ReportingApiReport) => {
    if (event.report.type === 'csp-violation') {
      const b = event.report.body;
      problems.csp.push(
        `report: ${String(b.effectiveDirective)} blocked ${String(b.blockedURL)} ` + `on ${event.report.initiatorUrl}`,
      );
    }
  });
  await cdp.send('Network.enable');
  await cdp.send('Network.enableReportingApi', { enable: true });
  return problems;
}

export function problemCount(p: Problems): number {
  return p.csp.length + p.consoleErrors.length + p.pageErrors.length + p.failedRequests.length;
}

export function describeProblems(p: Problems): string {
  const parts: string[] = [];
  for (const [name, list] of Object.entries(p) as [string, string[]][]) {
    if (list.length > 0) parts.push(`${name}:\n${list.map((l) => `  - ${l}`).join('\n')}`);
  }
  return parts.join('\n');
}

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null | undefined;
  readonly help: string;
  readonly helpUrl: string;
  readonly nodes: readonly { readonly target: string; readonly summary: string }[];
}

/** Violations, one block each: impact, rule, help, then every failing element with axe's own summary. */
export function describeViolations(violations: readonly AxeViolation[]): string {
  return violations
    .map((v) =>
      [
        `[${v.impact ?? 'unknown'}] ${v.id}: ${v.help}`,
        `  ${v.helpUrl}`,
        ...v.nodes.map((n) => `  - ${n.target}\n      ${n.summary.replace(/\n/g, '\n      ')}`),
      ].join('\n'),
    )
    .join('\n\n');
}

/** Runs axe-core on the page as it is now (the page's context must bypass CSP). */
export async function runAxe(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ content: AXE_SOURCE });
  const options: RunOptions = { runOnly: { type: 'tag', values: [...AXE_TAGS] }, resultTypes: ['violations'] };
  return page.evaluate(async (runOptions) => {
    const axe = (globalThis as unknown as { axe: { run(context: Document, options: RunOptions): Promise<AxeResults> } })
      .axe;
    const results = await axe.run(document, runOptions);
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.map(String).join(' '), summary: n.failureSummary ?? '' })),
    }));
  }, options);
}

export interface Suite {
  readonly app: RunningApp;
  /** The persistent context: CSP enforced, JavaScript on. */
  readonly context: BrowserContext;
  readonly browser: Browser;
  url(path: string): string;
  /** Opens path in a new page of `context` (default: the persistent one) and records its problems. */
  open(path: string, context?: BrowserContext): Promise<OpenedPage>;
  /** A new context in the same browser (closed with the suite), e.g. `{ javaScriptEnabled: false }`. */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  /**
   * Runs axe on path in a context that bypasses CSP; `prepare` may bring the page into a state first
   * (fill and send a form). Returns the violations.
   */
  axe(path: string, prepare?: (page: Page) => Promise<void>): Promise<AxeViolation[]>;
  /** The CSP reports that reached the app's /csp-report endpoint, from its log. */
  cspReportLines(): Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startSuite(env: Record<string, string> = {}): Promise<Suite> {
  const app = await startApp(env);
  const profile = mkdtempSync(join(tmpdir(), 'lpa-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS],
      locale: 'en-GB',
      viewport: { width: 1280, height: 900 },
    });
  } catch (err) {
    await app.close();
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const browser = context.browser();
  if (browser === null) throw new Error('no browser behind the persistent context');
  const extra: BrowserContext[] = [];
  let axeContext: BrowserContext | undefined;

  const suite: Suite = {
    app,
    context,
    browser,
    url: (path) => app.origin + path,
    async open(path, ctx = context) {
      const page = await ctx.newPage();
      const problems = await watch(ctx, page);
      const response = await page.goto(app.origin + path, { waitUntil: 'load' });
      return { page, response, problems };
    },
    async newContext(options = {}) {
      const ctx = await browser.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 900 }, ...options });
      extra.push(ctx);
      return ctx;
    },
    async axe(path, prepare) {
      axeContext ??= await suite.newContext({ bypassCSP: true });
      const page = await axeContext.newPage();
      try {
        await page.goto(app.origin + path, { waitUntil: 'load' });
        if (prepare) await prepare(page);
        return await runAxe(page);
      } finally {
        await page.close();
      }
    },
    cspReportLines: () => app.logs.filter((l) => l.msg === 'csp violation reported'),
    async close() {
      for (const ctx of extra) await ctx.close().catch(() => undefined);
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      await app.close();
    },
  };
  return suite;
}
