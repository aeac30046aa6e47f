/**
 * Each public content page rendered alone with the app's own Nunjucks environment (createEnvironment), then
 * queried with an HTML parser: one h1, the page title, headings in order, the key facts each page must state,
 * and nothing the CSP would block (inline scripts without the nonce, inline styles, external resources).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'node-html-parser';
import type { HTMLElement } from 'node-html-parser';
import { VIEW_GLOBALS } from '../../platform/view-globals.ts';
import { createEnvironment } from '../../platform/views.ts';
import type { AssetCatalogue } from '../../platform/assets.ts';
import { loadConfig } from '../../config/config.ts';
import { formCookieName } from '../../platform/csrf.ts';
import { PATHS } from '../../paths.ts';
import { CONTENT_PAGES } from './content-routes.ts';

/** A catalogue that maps every logical asset name to a fixed URL: no build needed to render a page. */
const catalogue: AssetCatalogue = {
  urls: {},
  files: new Map(),
  url: (logical: string) => `/assets/${logical}`,
};
const env = createEnvironment(catalogue, VIEW_GLOBALS);
const NONCE = 'dGVzdC1ub25jZS0xMjM0NQ==';

function render(template: string, currentPath = '/'): HTMLElement {
  return parse(env.render(template, { cspNonce: NONCE, currentPath, csrfToken: () => 'csrf-token' }));
}

function text(el: HTMLElement | null): string {
  return (el?.textContent ?? '').replace(/\s+/g, ' ').trim();
}

const SERVICE = 'Make a lasting power of attorney';

interface Expectation {
  readonly template: string;
  readonly h1: string;
  readonly title: string;
  /** Facts the page must state, matched against its text with whitespace collapsed. */
  readonly mustSay: readonly (string | RegExp)[];
  /** Links the page must contain. */
  readonly links: readonly string[];
}

const PAGES: readonly Expectation[] = [
  {
    template: 'content/accessibility.njk',
    h1: 'Accessibility statement for Make a lasting power of attorney',
    title: `Accessibility statement - ${SERVICE} - GOV.UK`,
    mustSay: [
      'How accessible this service is',
      /partially compliant with the Web Content Accessibility Guidelines version 2\.2 AA standard/,
      'Feedback and contact information',
      'Enforcement procedure',
      'Equality and Human Rights Commission (EHRC)',
      'Equality Advisory and Support Service (EASS)',
      'Technical information about this service’s accessibility',
      'Non-accessible content',
      'How we tested this service',
      /axe-core in the Chromium browser/,
      'This statement was prepared on 28 November 2026',
      '0300 456 0300',
    ],
    links: [
      'https://www.equalityadvisoryservice.com/',
      'mailto:customerservices@publicguardian.gov.uk',
      PATHS.feedback,
      PATHS.contact,
    ],
  },
  {
    template: 'content/cookies.njk',
    h1: 'Cookies',
    title: `Cookies - ${SERVICE} - GOV.UK`,
    mustSay: [
      'Essential cookies',
      'Analytics cookies (optional)',
      /analytics cookies only if you accept them/,
      'Use cookies that measure my website use',
      'Do not use cookies that measure my website use',
    ],
    links: [],
  },
  {
    template: 'content/privacy-notice.njk',
    h1: 'Privacy notice',
    title: `Privacy notice - ${SERVICE} - GOV.UK`,
    mustSay: [
      'Office of the Public Guardian',
      /Ministry of Justice is the data controller/,
      'What personal data we collect',
      /Article 6\(1\)\(e\)/,
      /Article 9\(2\)\(g\)/,
      'How long we keep your data',
      'Your rights',
      'Information Commissioner’s Office',
      '0303 123 1113',
    ],
    links: ['mailto:dpo@justice.gov.uk', 'https://ico.org.uk/make-a-complaint/', PATHS.cookies, PATHS.contact],
  },
  {
    template: 'content/terms.njk',
    h1: 'Terms of use',
    title: `Terms of use - ${SERVICE} - GOV.UK`,
    mustSay: [
      'Office of the Public Guardian',
      /law of England and Wales/,
      'Your responsibilities',
      /last updated on 28 November 2026/,
    ],
    links: [PATHS.privacy, PATHS.cookies, PATHS.contact],
  },
  {
    template: 'content/contact.njk',
    h1: 'Contact us',
    title: `Contact us - ${SERVICE} - GOV.UK`,
    mustSay: [
      'Telephone: 0300 456 0300',
      'Textphone: 0115 934 2778',
      'Monday to Friday, 9:30am to 5pm, except Wednesday, 10am to 5pm',
      'Office of the Public Guardian PO Box 16185 Birmingham B2 2WH',
    ],
    links: ['mailto:customerservices@publicguardian.gov.uk', 'tel:+443004560300', PATHS.feedback],
  },
];

describe('content pages', () => {
  test('every template served as a content page is covered here or is the start page', () => {
    const covered = new Set([...PAGES.map((p) => p.template), 'content/start.njk']);
    for (const page of CONTENT_PAGES) assert.ok(covered.has(page.template), `${page.template} has no content test`);
  });

  for (const page of PAGES) {
    describe(page.template, () => {
      const doc = render(page.template);
      const main = doc.querySelector('main');

      test('has exactly one h1, with the page heading', () => {
        const h1s = doc.querySelectorAll('h1');
        assert.equal(h1s.length, 1);
        assert.equal(text(h1s[0] ?? null), page.h1);
      });

      test('has the title "<page> - <service> - GOV.UK"', () => {
        assert.equal(text(doc.querySelector('title')), page.title);
      });

      test('headings go down one level at a time, starting with the h1', () => {
        assert.ok(main !== null, 'no <main>');
        const levels = main.querySelectorAll('h1, h2, h3, h4, h5, h6').map((h) => Number(h.tagName.slice(1)));
        assert.equal(levels[0], 1);
        levels.forEach((level, i) => {
          const previous = levels[i - 1];
          if (previous !== undefined) assert.ok(level <= previous + 1, `h${level} follows h${previous}`);
        });
      });

      test('states its key content', () => {
        const body = text(main);
        assert.doesNotMatch(body, /DRAFT|being written|lorem ipsum/i);
        for (const fact of page.mustSay) {
          if (typeof fact === 'string') assert.ok(body.includes(fact), `missing: ${fact}`);
          else assert.match(body, fact);
        }
        const hrefs = new Set(main?.querySelectorAll('a').map((a) => a.getAttribute('href')));
        for (const link of page.links) assert.ok(hrefs.has(link), `missing link to ${link}`);
      });

      test('every link in the content has text and a safe scheme', () => {
        for (const a of main?.querySelectorAll('a') ?? []) {
          const href = a.getAttribute('href') ?? '';
          assert.notEqual(text(a), '', `empty link to ${href}`);
          assert.match(href, /^(\/|#|https:\/\/|mailto:|tel:)/, `link ${href}`);
        }
      });

      test('nothing the CSP would block: no inline style, no un-nonced script, no external resource', () => {
        assert.equal(doc.querySelectorAll('style').length, 0);
        assert.equal(doc.querySelectorAll('[style]').length, 0);
        const scripts = doc.querySelectorAll('script');
        assert.ok(scripts.length > 0);
        for (const s of scripts) assert.equal(s.getAttribute('nonce'), NONCE);
        for (const el of doc.querySelectorAll('script[src], link[href], img[src], iframe, object, embed')) {
          const url = el.getAttribute('src') ?? el.getAttribute('href') ?? '';
          assert.match(url, /^\/(?!\/)/, `external or missing resource: <${el.tagName.toLowerCase()}> ${url}`);
        }
        for (const el of doc.querySelectorAll('*')) {
          for (const name of Object.keys(el.attributes)) assert.doesNotMatch(name, /^on/i, `inline handler ${name}`);
        }
      });

      test('its source uses no escaping opt-out and no inline script or style', () => {
        const source = readFileSync(join(import.meta.dirname, page.template.replace('content/', '')), 'utf8');
        assert.doesNotMatch(source, /\|\s*safe\b|autoescape\s+false|<script|<style|\sstyle=/i);
      });
    });
  }

  describe('the cookies page matches the cookie the app sets', () => {
    const doc = render('content/cookies.njk');
    const table = doc.querySelector('[data-qa="cookie-table"]');

    test(
      'lpa3 / lpa-session and lpa-form first, then the two consent cookies shared with the PHP ' +
        'front, then the confirmation marker',
      () => {
        assert.ok(table !== null, 'no cookie table');
        const rows = table
          .querySelectorAll('tbody tr')
          .map((row) => row.querySelectorAll('th, td').map((c) => text(c)));
        assert.deepEqual(rows.slice(0, 2), [
          [
            'lpa3 / lpa-session',
            'Keeps your session and protects forms against forgery',
            'When you close your browser, or after 3 hours of inactivity',
          ],
          [
            'lpa-form',
            'Checks that a form you send came from this service, before you sign in',
            'When you close your browser',
          ],
        ]);
        assert.deepEqual(
          rows.slice(2).map((r) => [r[0], r[2]]),
          [
            ['cookie_policy', '1 year'],
            ['seen_cookie_message', '1 year'],
            ['lpa-consent-saved', '5 minutes'],
          ],
        );
        const analytics = doc.querySelector('[data-qa="analytics-cookie-table"]');
        assert.deepEqual(
          analytics?.querySelectorAll('tbody tr').map((row) => text(row.querySelectorAll('th')[0] ?? row)),
          ['_ga', '_ga_<ID>'],
        );
        assert.deepEqual(
          table.querySelectorAll('thead th').map((c) => text(c)),
          ['Name', 'Purpose', 'Expires'],
        );
      },
    );

    test('every cookie name the config can choose is named on the page', () => {
      const secret = 'a-real-looking-secret-for-this-test-7f3k9q2x';
      const names = new Set([
        loadConfig({ NODE_ENV: 'development' }).sessionCookieName,
        loadConfig({
          NODE_ENV: 'production',
          SESSION_SECRET: secret,
          PUBLIC_ORIGIN: 'https://lpa.example.gov.uk',
          MAIL_TRANSPORT: 'file',
        }).sessionCookieName,
        loadConfig({
          NODE_ENV: 'production',
          SESSION_SECRET: secret,
          PUBLIC_ORIGIN: 'https://lpa.example.gov.uk',
          REDIS_URL: 'redis://127.0.0.1:6379',
          MAIL_TRANSPORT: 'file',
        }).sessionCookieName,
      ]);
      assert.deepEqual([...names].sort(), ['__Host-lpa-session', 'lpa-session', 'lpa3']);
      const body = text(doc.querySelector('main'));
      for (const name of [...names, formCookieName(false), formCookieName(true)])
        assert.ok(body.includes(name), `the page does not name ${name}`);
    });

    test('"3 hours" is the configured idle session lifetime', () => {
      assert.equal(loadConfig({ NODE_ENV: 'development' }).sessionTtlSeconds, 3 * 3600);
    });
  });

  test('the accessibility statement names every page the browser tests check', () => {
    const list = render('content/accessibility.njk').querySelector('[data-qa="tested-pages"]');
    const items = list?.querySelectorAll('li').map((li) => text(li)) ?? [];
    for (const page of [
      'the start page',
      'this accessibility statement',
      'cookies',
      'privacy notice',
      'terms of use',
      'contact us',
    ]) {
      assert.ok(items.includes(page), `not listed: ${page}`);
    }
    assert.ok(items.some((i) => i.startsWith('send us feedback')));
  });
});
