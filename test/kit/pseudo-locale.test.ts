/**
 * Every word on the kit's pages comes from the catalogue: each kit page (the test-only journey's steps, with and
 * without errors, "check your answers", the example form, a flash message) is rendered in a pseudo-locale whose
 * every message has its letters accented, and no English word may be left: not in the text, the title, the
 * chrome (skip link, header, phase banner, footer) or the attributes a person hears (aria-label, alt, title). The
 * pages moved onto the kit (feedback, sign-in) are among them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'node-html-parser';
import { HTMLElement, TextNode } from 'node-html-parser';
import type { Node } from 'node-html-parser';
import { createCatalogue, LOCALES_DIR, readLocales } from '../../src/i18n/catalogue.ts';
import type { Messages } from '../../src/i18n/catalogue.ts';
import { discoverForms } from '../../src/forms.ts';
import { Browser, csrfTokenFrom } from '../helpers/http.ts';
import { callBackJourney, STEPS } from './journey/call-back.journey.ts';
import { PAPER_FORM_PATH } from './example-form/paper-form.form.ts';
import { addPublicRoutes, buildKitApp } from './kit-app.ts';
import { PATHS } from '../../src/paths.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';

const PSEUDO = 'en-XA';
const PLAIN = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ACCENTS = Array.from('áƀçďéƒĝĥíĵķĺɱñóþǫŕšţúṽŵẋýžÁƁÇĎÉƑĜĤÍĴĶĹṀÑÓÞǪŔŠŢÚṼŴẊÝŽ');
const ACCENTED = new Map(Array.from(PLAIN, (c, i) => [c, ACCENTS[i] ?? c]));

/** Accents every letter of a message, leaving i18next's {{values}} and govuk-frontend's %{count} alone. */
export function pseudo(text: string): string {
  return text
    .split(/(\{\{[^}]*\}\}|%\{[^}]*\})/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/[A-Za-z]/g, (c) => ACCENTED.get(c) ?? c)))
    .join('');
}

function pseudoMessages(messages: Messages): Messages {
  return Object.fromEntries(
    Object.entries(messages).map(([k, v]) => [k, typeof v === 'string' ? pseudo(v) : pseudoMessages(v)]),
  );
}

/** English left on a page: runs of two or more ASCII letters in what a person reads or hears. */
function englishLeft(page: string): string[] {
  const found: string[] = [];
  const check = (where: string, text: string): void => {
    for (const m of text.matchAll(/[A-Za-z]{2,}/g))
      found.push(`${where}: ${m[0]} (in ${JSON.stringify(text.trim().slice(0, 80))})`);
  };
  const walk = (node: Node): void => {
    if (node instanceof TextNode) {
      if (!node.text.trimStart().startsWith('<!DOCTYPE')) check('text', node.text);
      return;
    }
    if (!(node instanceof HTMLElement)) return;
    const el = node;
    const tag = (el.tagName as string | null)?.toLowerCase() ?? ''; // the root has no tag
    if (tag === 'script' || tag === 'style') return;
    // The GOV.UK logo: a brand name, the same on Welsh pages (govuk-frontend's header, not a word of ours).
    if (el.classList.contains('govuk-header__homepage-link')) return;
    for (const attr of ['aria-label', 'alt', 'title', 'placeholder']) {
      const value = el.getAttribute(attr);
      if (value !== undefined) check(`${tag}[${attr}]`, value);
    }
    if (tag === 'input' && ['submit', 'button'].includes(el.getAttribute('type') ?? ''))
      check('button', el.getAttribute('value') ?? '');
    for (const child of el.childNodes) walk(child);
  };
  walk(parse(page));
  return found;
}

test('every kit page in a pseudo-locale has no English left', async (t) => {
  const here = import.meta.dirname;
  const en = readLocales(LOCALES_DIR).en ?? assert.fail('no English catalogue');
  en.callBack = JSON.parse(readFileSync(join(here, 'journey/en.json'), 'utf8')) as Messages;
  en.paperForm = JSON.parse(readFileSync(join(here, 'example-form/en.json'), 'utf8')) as Messages;
  const catalogue = createCatalogue({
    resources: { en, [PSEUDO]: Object.fromEntries(Object.entries(en).map(([ns, m]) => [ns, pseudoMessages(m)])) },
    languages: ['en', PSEUDO],
  });
  const exampleDir = join(here, 'example-form');
  const { forms } = await discoverForms(exampleDir);
  addPublicRoutes([...Object.values(STEPS), PAPER_FORM_PATH]);
  const { origin, services } = await buildKitApp(t, {
    catalogue,
    forms,
    journeys: [callBackJourney],
    templateDirs: [exampleDir],
  });
  const browser = new Browser(origin);

  const pages: [string, string][] = [];
  const visit = async (label: string, path: string): Promise<string> => {
    const page = await browser.get(path);
    assert.equal(page.status, 200, `${label}: GET ${path}`);
    pages.push([label, page.text]);
    return page.text;
  };
  const post = async (label: string, path: string, fields: Record<string, string>, status: number): Promise<void> => {
    const token = csrfTokenFrom(await visit(`${label} (form)`, path));
    const page = await browser.post(path, { ...fields, _csrf: token });
    assert.equal(page.status, status, `${label}: POST ${path}`);
    if (status === 400) pages.push([label, page.text]);
  };

  // English first: the cached fragments and the pre-rendered feedback form exist in English before any pseudo-locale
  // page is asked for, so a cache not keyed by language would serve them English (ADR 0012, 0036).
  const englishFirst = new Browser(origin);
  for (const path of [PATHS.feedback, STEPS.name, PATHS.login])
    assert.ok(englishLeft((await englishFirst.get(path)).text).length > 10, path);

  // The language is chosen by ?lang= and kept in the `lang` cookie.
  const first = await visit('journey step 1', `${STEPS.name}?lang=${PSEUDO}`);
  assert.match(first, new RegExp(`<html lang="${PSEUDO}"`));
  assert.equal(browser.cookies.get('lang'), PSEUDO);
  const cookie = (await new Browser(origin).get(`${STEPS.name}?lang=${PSEUDO}`)).headers
    .getSetCookie()
    .find((c) => c.startsWith('lang='));
  assert.equal(cookie, `lang=${PSEUDO}; Path=/; Max-Age=31536000; Secure; HttpOnly; SameSite=Lax`);
  await post('step 1 with an error', STEPS.name, { fullName: '' }, 400);
  await post('step 1', STEPS.name, { fullName: 'Ádá' }, 303);
  await post('step 2 with an error', STEPS.contact, {}, 400);
  await post('step 2', STEPS.contact, { contactBy: 'phone' }, 303);
  await post('step 3 with an error', STEPS.phone, { phone: 'ñó' }, 400);
  await post('step 3', STEPS.phone, { phone: '01632 960 001' }, 303);
  await visit('check your answers', STEPS.check);
  await visit('a step changed from the summary', `${STEPS.contact}?change=1`);
  await post('the summary', STEPS.check, {}, 303);
  await visit('flash message', STEPS.name);
  await post('example form with errors', PAPER_FORM_PATH, { fullName: '', email: '1', reason: '' }, 400);
  await post('example form', PAPER_FORM_PATH, { fullName: 'Ádá', email: '1@2.3', reason: '' }, 303);
  await visit('example form with its flash', PAPER_FORM_PATH);

  // The pages migrated onto the kit and the catalogue (issue 19): feedback and its thanks page.
  await visit('feedback form (pre-rendered)', PATHS.feedback);
  await post('feedback with every error', PATHS.feedback, { rating: 'x', details: '', email: 'x', phone: 'x' }, 400);
  await post('feedback', PATHS.feedback, { rating: 'satisfied', details: 'Ñó', email: '', phone: '' }, 303);
  await visit('feedback thanks', PATHS.feedbackThanks);

  // Sign-in: blank, after a timeout, incomplete, and refused (the live failure message and its help).
  await visit('sign-in', PATHS.login);
  await visit('sign-in after a timeout', PATHS.loginTimeout);
  await post('sign-in incomplete', PATHS.login, { email: '', password: '' }, 400);
  await post('sign-in refused', PATHS.login, { email: 'nobody@example.com', password: 'wrong' }, 400);

  // "Your details" (ADR 0053), signed in: the first-sign-in page, its errors, a search that finds nothing.
  await (services.credentials as LocalCredentials).addUser({
    email: 'ps@example.com',
    password: 'ps-Pass-1234!x',
    name: null,
  });
  const login = await browser.get(PATHS.login);
  const signedIn = await browser.post(PATHS.login, {
    email: 'ps@example.com',
    password: 'ps-Pass-1234!x',
    _csrf: csrfTokenFrom(login.text),
  });
  assert.equal(signedIn.status, 303);
  await post('your details with errors', PATHS.aboutYouNew, { 'name-first': 'Ádá', 'dob-date-day': '31' }, 400);
  const token = csrfTokenFrom(await visit('your details', PATHS.aboutYouNew));
  const none = await browser.post(PATHS.aboutYouNew, {
    'postcode-lookup': 'ZZ9 9ZZ',
    action: 'find-address',
    _csrf: token,
  });
  assert.equal(none.status, 200);
  pages.push(['your details, no address found', none.text]);

  assert.ok(pages.length >= 24);
  for (const [label, page] of pages) assert.deepEqual(englishLeft(page), [], `${label}: English left`);

  // The same pages in English do have words: the check above is not vacuous.
  const english = (await new Browser(origin).get(STEPS.name)).text;
  assert.ok(englishLeft(english).length > 10);
});
