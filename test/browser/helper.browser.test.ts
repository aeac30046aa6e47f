/**
 * The browser helper's own rule for failed requests (browser-helper.ts `watch`): a request the browser cancels
 * because its page is being left is excused; a request cancelled while the page stays is counted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Route } from 'playwright-core';
import { PATHS } from '../../src/paths.ts';
import type { Suite } from './browser-helper.ts';
import { describeProblems, startSuite } from './browser-helper.ts';

describe('browser helper: failed requests', () => {
  let suite: Suite;
  before(async () => {
    suite = await startSuite();
  });
  after(async () => {
    await suite.close();
  });

  test('a fetch cancelled by leaving the page is excused; one cancelled while the page stays is counted', async () => {
    const { page, problems } = await suite.open(PATHS.home);
    const held: Route[] = [];
    await page.route('**/held-by-test', (route) => {
      held.push(route);
    });
    await page.route('**/aborted-by-test', (route) => route.abort('aborted'));
    // Starts a fetch in the page and returns at once (the page may be left while it is pending).
    const fetchFromPage = (path: string) =>
      page.evaluate((p) => {
        void fetch(p).catch(() => undefined);
      }, path);

    await fetchFromPage('/held-by-test');
    while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await page.goto(suite.url(PATHS.accessibility), { waitUntil: 'load' });
    assert.deepEqual(problems.failedRequests, [], describeProblems(problems));

    // Wait for the failure itself, not a fixed time (a busy machine can take longer): the helper's listener was
    // registered first, so it has recorded the failure by the time this one hears of it.
    const failed = page.waitForEvent('requestfailed', (request) => request.url().endsWith('/aborted-by-test'));
    await fetchFromPage('/aborted-by-test');
    await failed;
    assert.equal(problems.failedRequests.length, 1, describeProblems(problems));
    assert.match(problems.failedRequests.join('\n'), /aborted-by-test: net::ERR_ABORTED/);
    await page.close();
  });
});
