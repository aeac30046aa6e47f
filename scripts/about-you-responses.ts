/**
 * The "Your details" pages' answers to a table of requests (GET new/edit, each error state, the postcode search with
 * and without results, choosing an address, saving), with what changes on every run (CSRF tokens, CSP nonces,
 * session cookies, dates, request ids) replaced by placeholders. Written to prove a rewrite changes nothing (ADR 0053):
 *
 *   node scripts/about-you-responses.ts > /tmp/before.json     # on the old code
 *   node scripts/about-you-responses.ts --against /tmp/before.json   # on the new: each difference; exit 1 if any
 *
 * Runs the real app on loopback with the embedded backends (the postcode fixture knows SW1H 9AJ and B1 1TF).
 */
import { readFileSync } from 'node:fs';
import { startTestApp } from '../test/helpers/app.ts';
import { Browser, csrfTokenFrom } from '../test/helpers/http.ts';
import type { LocalCredentials } from '../src/backends/local-credentials.ts';
import { PATHS } from '../src/paths.ts';

const PASSWORD = 'correct horse battery staple';

interface Answer {
  readonly name: string;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Replaces what differs on every run by placeholders. */
function normalise(name: string, status: number, headers: Headers, body: string): Answer {
  const kept: Record<string, string> = {};
  for (const [k, v] of headers) {
    if (k === 'date' || k === 'x-request-id' || k === 'traceparent' || k === 'keep-alive') kept[k] = '<varies>';
    else if (k === 'set-cookie') kept[k] = v.replace(/=([^;]{16,})/g, '=<token>');
    else if (k === 'content-length') kept[k] = '<length>';
    else kept[k] = v.replace(/'nonce-[^']+'/g, "'nonce-<nonce>'");
  }
  const text = body
    .replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf" value="<csrf>"')
    .replace(/nonce="[^"]*"/g, 'nonce="<nonce>"');
  return { name, status, headers: kept, body: text };
}

const FULL = {
  'name-title': 'Dr',
  'name-first': 'Augusta Ada',
  'name-last': 'King',
  'dob-date-day': '10',
  'dob-date-month': '12',
  'dob-date-year': '1815',
  'address-address1': "12 St James's Square",
  'address-address2': 'London',
  'address-address3': '',
  'address-postcode': 'SW1Y 4JH',
};

/** POSTed bodies to /user/about-you (each answered, then nothing saved unless valid). */
const POSTS: readonly [string, Record<string, string>][] = [
  ['nothing', {}],
  ['title too long', { ...FULL, 'name-title': 'Professor' }],
  ['prefer not to say, names too long', { ...FULL, 'name-title': 'Prefer not to say', 'name-first': 'A'.repeat(51) }],
  ['last name missing, markup', { ...FULL, 'name-first': '"><script>alert(1)</script>', 'name-last': '' }],
  ['control character in a name', { ...FULL, 'name-first': 'A\u0001' }],
  ['dob year missing', { ...FULL, 'dob-date-year': '' }],
  ['dob day only', { ...FULL, 'dob-date-month': '', 'dob-date-year': '' }],
  ['dob 30 February', { ...FULL, 'dob-date-day': '30', 'dob-date-month': '2' }],
  ['dob two-digit year', { ...FULL, 'dob-date-year': '80' }],
  ['dob letters', { ...FULL, 'dob-date-month': 'Dec' }],
  ['dob in the future', { ...FULL, 'dob-date-year': '2999' }],
  ['dob with a control character in the month', { ...FULL, 'dob-date-month': '1\u0002' }],
  ['address line 1 missing', { ...FULL, 'address-address1': '' }],
  ['address line 2 and postcode missing', { ...FULL, 'address-address2': '', 'address-postcode': '' }],
  ['address line 3 too long', { ...FULL, 'address-address3': 'x'.repeat(51) }],
  ['postcode too long', { ...FULL, 'address-postcode': 'SW1Y 4JHXX' }],
  ['everything wrong', { 'name-first': 'x'.repeat(60), 'dob-date-day': '1', 'address-address3': 'y' }],
  ['save with a postcode typed in the search box', { ...FULL, 'name-last': '', 'postcode-lookup': 'B1 1TF' }],
  ['find: results', { ...FULL, 'postcode-lookup': ' sw1h 9aj ', action: 'find-address' }],
  ['find: none', { ...FULL, 'postcode-lookup': 'ZZ9 9ZZ', action: 'find-address' }],
  ['find: empty', { ...FULL, 'name-first': '', 'postcode-lookup': '', action: 'find-address' }],
  ['find: not a postcode', { ...FULL, 'postcode-lookup': 'B1&key=x', action: 'find-address' }],
  [
    'use an address',
    {
      ...FULL,
      'postcode-lookup': 'B1 1TF',
      'address-choice': '["1 EXAMPLE STREET","BIRMINGHAM","","B1 1TF"]',
      action: 'use-address',
    },
  ],
  ['use an address: none chosen', { ...FULL, 'postcode-lookup': 'B1 1TF', action: 'use-address' }],
  [
    'use an address: forged choice',
    { ...FULL, 'postcode-lookup': 'B1 1TF', 'address-choice': '{', action: 'use-address' },
  ],
  ['unknown action', { ...FULL, action: 'delete' }],
  ['unknown field', { ...FULL, extra: 'x' }],
  ['save', { ...FULL, action: 'save' }],
  ['save without an action', { ...FULL, 'name-first': 'Ada' }],
];

async function answers(): Promise<Answer[]> {
  const app = await startTestApp();
  const out: Answer[] = [];
  try {
    const users = app.services.credentials as LocalCredentials;
    await users.addUser({ email: 'named@example.com', password: PASSWORD, name: { first: 'Ada', last: 'King' } });
    await users.addUser({ email: 'new@example.com', password: PASSWORD, name: null });
    const signIn = async (email: string) => {
      const browser = new Browser(app.origin);
      const form = await browser.get(PATHS.login);
      await browser.post(PATHS.login, { email, password: PASSWORD, _csrf: csrfTokenFrom(form.text) });
      return browser;
    };
    const record = (name: string, res: { status: number; headers: Headers; text: string }) =>
      out.push(normalise(name, res.status, res.headers, res.text));

    const fresh = await signIn('new@example.com');
    record('GET edit, no name yet', await fresh.get(PATHS.aboutYou));
    const newPage = await fresh.get(PATHS.aboutYouNew);
    record('GET new', newPage);
    record('GET /user/about-you/other', await fresh.get(`${PATHS.aboutYou}/other`));
    const newToken = csrfTokenFrom(newPage.text);
    record('POST new: errors', await fresh.post(PATHS.aboutYouNew, { 'name-first': 'x', _csrf: newToken }));
    record(
      'POST new: find',
      await fresh.post(PATHS.aboutYouNew, { 'postcode-lookup': 'SW1H 9AJ', action: 'find-address', _csrf: newToken }),
    );
    record('POST /user/about-you/other: errors', await fresh.post(`${PATHS.aboutYou}/other`, { _csrf: newToken }));
    record('POST new: save', await fresh.post(PATHS.aboutYouNew, { ...FULL, _csrf: newToken }));

    const browser = await signIn('named@example.com');
    const page = await browser.get(PATHS.aboutYou);
    record('GET edit', page);
    record('GET edit, lang=en', await browser.get(`${PATHS.aboutYou}?lang=en`));
    record('HEAD edit', await browser.request('HEAD', PATHS.aboutYou));
    const token = csrfTokenFrom(page.text);
    record('POST without CSRF', await browser.post(PATHS.aboutYou, { ...FULL }));
    for (const [name, body] of POSTS)
      record(`POST ${name}`, await browser.post(PATHS.aboutYou, { ...body, _csrf: token }));
    record('GET edit after saving', await browser.get(PATHS.aboutYou));
    record('GET dashboard after saving', await browser.get(PATHS.dashboard));
  } finally {
    await app.close();
  }
  return out;
}

const argv = process.argv.slice(2);
const result = await answers();
if (argv[0] === '--against' && argv[1] !== undefined) {
  const before = JSON.parse(readFileSync(argv[1], 'utf8')) as Answer[];
  let differences = 0;
  for (const [i, now] of result.entries()) {
    const then = before[i];
    const same = then !== undefined && JSON.stringify(then) === JSON.stringify(now);
    if (!same) {
      differences += 1;
      process.stdout.write(`DIFFERENT: ${now.name}\n`);
    }
  }
  if (before.length !== result.length) differences += 1;
  process.stdout.write(`${String(result.length)} requests, ${String(differences)} different\n`);
  process.exitCode = differences === 0 ? 0 : 1;
} else {
  process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
}
