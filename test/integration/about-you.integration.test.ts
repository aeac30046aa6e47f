/**
 * "Your details" (/user/about-you, /user/about-you/new) and /address-lookup over real HTTP, on the embedded backend
 * and on the API backend against the fake LPA API (every call checked against the OpenAPI document), with the postcode
 * lookup answered by the embedded fixture or by a fake OS Places server on loopback through egress.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { build } from '../helpers/app.ts';
import type { Built } from '../helpers/app.ts';
import { addActiveUser, fakeLpaApi } from '../helpers/fake-lpa-api.ts';
import type { FakeLpaApi } from '../helpers/fake-lpa-api.ts';
import { Browser, csrfTokenFrom, html } from '../helpers/http.ts';
import type { LocalCredentials } from '../../src/backends/local-credentials.ts';
import { PATHS } from '../../src/paths.ts';

const PASSWORD = 'correct horse battery staple';
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Person {
  readonly email: string;
  readonly name: { title?: string; first: string; last: string } | null;
}

interface Setup {
  readonly built: Built;
  addUser(person: Person): Promise<void>;
  readonly api?: FakeLpaApi;
}

async function setupLocal(t: TestContext, env: Record<string, string> = {}): Promise<Setup> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lpa-about-you-'));
  dirs.push(dataDir);
  const built = await build(t, { env: { DATA_DIR: dataDir, ...env } });
  const users = built.services.credentials as LocalCredentials;
  return {
    built,
    addUser: async (p) => {
      await users.addUser({ email: p.email, password: PASSWORD, name: p.name });
    },
  };
}

async function setupApi(t: TestContext): Promise<Setup> {
  const api = await fakeLpaApi();
  t.after(() => api.close());
  const dataDir = mkdtempSync(join(tmpdir(), 'lpa-about-you-api-'));
  dirs.push(dataDir);
  const built = await build(t, {
    env: { DATA_DIR: dataDir, API_BASE_URL: api.origin, EGRESS_ALLOW_PRIVATE: '127.0.0.1' },
  });
  return {
    built,
    api,
    addUser: (p) => {
      addActiveUser(api, {
        email: p.email,
        password: PASSWORD,
        ...(p.name === null ? {} : { name: { title: p.name.title ?? null, ...p.name } }),
      });
      return Promise.resolve();
    },
  };
}

async function signIn(s: Setup, person: Person): Promise<Browser> {
  await s.addUser(person);
  const browser = new Browser(s.built.origin);
  const form = await browser.get(PATHS.login);
  const res = await browser.post(PATHS.login, {
    email: person.email,
    password: PASSWORD,
    _csrf: csrfTokenFrom(form.text),
  });
  assert.equal(res.status, 303);
  return browser;
}

const summaryOf = (text: string) =>
  [...html(text).querySelectorAll('.govuk-error-summary__list a')].map(
    (a) => `${a.getAttribute('href') ?? ''} ${a.textContent.trim()}`,
  );
const valueOf = (text: string, id: string) => html(text).querySelector(`#${id}`)?.getAttribute('value') ?? '';

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

for (const [label, setup] of [
  ['embedded backend', setupLocal],
  ['API backend (fake API, OpenAPI-checked)', setupApi],
] as const) {
  describe(`your details on the ${label}`, () => {
    test(
      'a user with no name is sent to /user/about-you/new from every signed-in page; saving it ' +
        'goes to the dashboard with no message',
      async (t) => {
        const s = await setup(t);
        const browser = await signIn(s, { email: 'new@example.com', name: null });
        for (const path of [PATHS.dashboard, PATHS.aboutYou]) {
          const res = await browser.get(path);
          assert.equal(res.status, 302, path);
          assert.equal(res.headers.get('location'), PATHS.aboutYouNew, path);
        }
        const page = await browser.get(PATHS.aboutYouNew);
        assert.equal(page.status, 200);
        assert.match(page.text, /First, please give us some information about yourself/);
        assert.equal(
          html(page.text).querySelector('[data-qa="change-password"]'),
          null,
          'no account links on the first sign-in',
        );
        assert.equal(
          html(page.text).querySelector('form[data-qa="about-you-form"]')?.getAttribute('action'),
          PATHS.aboutYouNew,
        );
        // The address lookup is allowed before the profile is complete (allowIncompleteUser, as live).
        assert.equal((await browser.get(`${PATHS.addressLookup}?postcode=SW1H9AJ`)).status, 200);

        const saved = await browser.post(PATHS.aboutYouNew, {
          ...FULL,
          action: 'save',
          _csrf: csrfTokenFrom(page.text),
        });
        assert.equal(saved.status, 303);
        assert.equal(saved.headers.get('location'), PATHS.dashboard);
        const dash = await browser.get(PATHS.dashboard);
        assert.equal(dash.status, 200);
        assert.equal(
          html(dash.text).querySelector('[data-qa="success-notice"]'),
          null,
          'no flash after the first sign-in (live)',
        );
        assert.deepEqual(s.api?.violations ?? [], []);
      },
    );

    test(
      'the page shows and saves title, names, date of birth and address; the flash shows once; ' + 'the account links',
      async (t) => {
        const s = await setup(t);
        const browser = await signIn(s, {
          email: 'ada@example.com',
          name: { title: 'Mrs', first: 'Ada', last: 'Lovelace' },
        });
        const page = await browser.get(PATHS.aboutYou);
        assert.equal(page.status, 200);
        const doc = html(page.text);
        assert.equal(valueOf(page.text, 'name-title'), 'Mrs');
        assert.equal(valueOf(page.text, 'name-first'), 'Ada');
        assert.equal(doc.querySelector('[data-qa="change-password"]')?.getAttribute('href'), PATHS.changePassword);
        assert.equal(doc.querySelector('[data-qa="change-email"]')?.getAttribute('href'), PATHS.changeEmail);
        assert.equal(doc.querySelector('[data-qa="delete-account"]')?.getAttribute('href'), PATHS.deleteAccount);
        assert.equal(doc.querySelector('[data-qa="form-cancel"]')?.getAttribute('href'), PATHS.dashboard);

        const token = csrfTokenFrom(page.text);
        const noCsrf = await browser.post(PATHS.aboutYou, { ...FULL, action: 'save' });
        assert.equal(noCsrf.status, 403, 'CSRF stays on');
        const ok = await browser.post(PATHS.aboutYou, { ...FULL, action: 'save', _csrf: token });
        assert.equal(ok.status, 303);
        assert.equal(ok.headers.get('location'), PATHS.dashboard);
        const dash = await browser.get(PATHS.dashboard);
        assert.match(
          html(dash.text).querySelector('[data-qa="success-notice"]')?.textContent ?? '',
          /Your details have been updated\./,
        );
        assert.equal(
          html((await browser.get(PATHS.dashboard)).text).querySelector('[data-qa="success-notice"]'),
          null,
          'once',
        );

        const again = await browser.get(PATHS.aboutYou);
        for (const [id, value] of Object.entries({ ...FULL, 'dob-date-day': '10', 'dob-date-month': '12' }))
          assert.equal(valueOf(again.text, id), value, id);
        if (s.api !== undefined) {
          const put = s.api.calls.filter((c) => c.request.operationId === 'putUser').at(-1)?.request;
          assert.ok(put !== undefined);
          assert.deepEqual((put.body as Record<string, unknown>).dob, { date: '1815-12-10T00:00:00+0000' });
          assert.deepEqual(s.api.violations, []);
        }

        // Clearing the date of birth and address and choosing "Prefer not to say" saves no title, dob or address.
        const cleared = await browser.post(PATHS.aboutYou, {
          'name-title': 'Prefer not to say',
          'name-first': 'Ada',
          'name-last': 'King',
          _csrf: csrfTokenFrom(again.text),
        });
        assert.equal(cleared.status, 303);
        const after = await browser.get(PATHS.aboutYou);
        assert.equal(valueOf(after.text, 'name-title'), 'Prefer not to say');
        assert.equal(valueOf(after.text, 'dob-date-year'), '');
        assert.equal(valueOf(after.text, 'address-address1'), '');
      },
    );

    test('validation: the live messages, linked to the fields, input shown back escaped', async (t) => {
      const s = await setup(t);
      const browser = await signIn(s, { email: 'v@example.com', name: { first: 'V', last: 'W' } });
      const token = csrfTokenFrom((await browser.get(PATHS.aboutYou)).text);
      const cases: [Record<string, string>, string[]][] = [
        [
          {},
          [
            '#name-title Select a title or choose ‘Prefer not to say’',
            '#name-first Enter your first names',
            '#name-last Enter your last name',
          ],
        ],
        [
          { ...FULL, 'name-title': 'Professor' },
          ['#name-title Title must be five letters or fewer - please abbreviate, if necessary'],
        ],
        [
          { ...FULL, 'name-first': 'A'.repeat(51), 'name-last': 'B'.repeat(51) },
          [
            "#name-first Enter a first name that's less than 51 characters long",
            "#name-last Enter a last name that's less than 51 characters long",
          ],
        ],
        [
          { ...FULL, 'dob-date-year': '' },
          ['#dob-date-day Enter your date of birth and include a day, month and year'],
        ],
        [{ ...FULL, 'dob-date-day': '30', 'dob-date-month': '2' }, ['#dob-date-day Enter a real date of birth']],
        [{ ...FULL, 'dob-date-year': '2999' }, ['#dob-date-day Enter a date of birth that’s in the past']],
        [{ ...FULL, 'address-address1': '' }, ['#address-address1 Enter the first line of address']],
        [
          { ...FULL, 'address-address2': '', 'address-postcode': '' },
          ['#address-address2 Enter the second line of address', '#address-postcode Enter the postcode'],
        ],
        [
          { ...FULL, 'address-address3': 'x'.repeat(51) },
          ['#address-address3 Change address line 3 so that it has fewer than 51 characters'],
        ],
        [
          { ...FULL, 'address-postcode': 'SW1Y 4JHXX' },
          [
            '#address-postcode Enter a real postcode. If you live overseas, enter the postcode in the ' +
              '‘Address line 3’ box, instead of the postcode box',
          ],
        ],
      ];
      for (const [body, expected] of cases) {
        const res = await browser.post(PATHS.aboutYou, { ...body, _csrf: token });
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.deepEqual(summaryOf(res.text), expected, JSON.stringify(body));
      }
      const xss = '"><script>alert(1)</script>';
      const bad = await browser.post(PATHS.aboutYou, { ...FULL, 'name-first': xss, 'name-last': '', _csrf: token });
      assert.equal(bad.status, 400);
      assert.equal(bad.text.includes('<script>alert(1)</script>'), false);
      assert.equal(valueOf(bad.text, 'name-first'), xss);
      assert.deepEqual(s.api?.violations ?? [], []);
    });

    test('postcode lookup without JavaScript: find, choose, save; nothing is saved by a search', async (t) => {
      const s = await setup(t);
      const browser = await signIn(s, { email: 'p@example.com', name: { title: 'Mr', first: 'P', last: 'Q' } });
      const token = csrfTokenFrom((await browser.get(PATHS.aboutYou)).text);
      const found = await browser.post(PATHS.aboutYou, {
        ...FULL,
        'address-address1': '',
        'postcode-lookup': 'sw1h 9aj',
        action: 'find-address',
        _csrf: token,
      });
      assert.equal(found.status, 200);
      assert.equal(valueOf(found.text, 'name-first'), FULL['name-first'], 'what was typed is kept');
      const options = [...html(found.text).querySelectorAll('#address-choice option')];
      assert.equal(options.length, 3);
      assert.match(options[0]?.textContent ?? '', /OFFICE OF THE PUBLIC GUARDIAN, 102 PETTY FRANCE, LONDON, SW1H 9AJ/);
      const chosen = await browser.post(PATHS.aboutYou, {
        ...FULL,
        'postcode-lookup': 'sw1h 9aj',
        'address-choice': options[0]?.getAttribute('value') ?? '',
        action: 'use-address',
        _csrf: token,
      });
      assert.equal(chosen.status, 200);
      assert.equal(valueOf(chosen.text, 'address-address1'), 'OFFICE OF THE PUBLIC GUARDIAN');
      assert.equal(valueOf(chosen.text, 'address-address2'), '102 PETTY FRANCE');
      assert.equal(valueOf(chosen.text, 'address-postcode'), 'SW1H 9AJ');
      const none = await browser.post(PATHS.aboutYou, {
        ...FULL,
        'postcode-lookup': 'ZZ9 9ZZ',
        action: 'find-address',
        _csrf: token,
      });
      assert.match(
        html(none.text).querySelector('[data-qa="lookup-notice"]')?.textContent ?? '',
        /could not find any addresses/,
      );
      const empty = await browser.post(PATHS.aboutYou, {
        ...FULL,
        'postcode-lookup': '',
        action: 'find-address',
        _csrf: token,
      });
      assert.match(html(empty.text).querySelector('[data-qa="lookup-notice"]')?.textContent ?? '', /Enter a postcode/);
      // No search saved anything.
      assert.equal(valueOf((await browser.get(PATHS.aboutYou)).text, 'name-first'), 'P');
      const noCsrf = await browser.post(PATHS.aboutYou, {
        ...FULL,
        'postcode-lookup': 'SW1H 9AJ',
        action: 'find-address',
      });
      assert.equal(noCsrf.status, 403, 'the search is a POST like any other: CSRF checked');
    });

    test(
      'the profile is read once per sign-in for the incomplete-profile rule, not on every ' + 'request',
      { skip: label.startsWith('embedded') },
      async (t) => {
        const s = await setup(t);
        const api = s.api;
        assert.ok(api !== undefined);
        const browser = await signIn(s, { email: 'once@example.com', name: { title: 'Ms', first: 'O', last: 'N' } });
        const reads = () => api.calls.filter((c) => c.request.operationId === 'getUser').length;
        const before = reads();
        for (let i = 0; i < 3; i++) assert.equal((await browser.get(PATHS.dashboard)).status, 200);
        // The dashboard lists LPAs without reading the user; the rule reads the user once for the whole sign-in.
        assert.equal(reads() - before, 1);
      },
    );

    test(
      'an address saved without a postcode (line 2 instead, as the data model allows) is shown ' + 'and kept',
      { skip: label.startsWith('embedded') },
      async (t) => {
        const s = await setup(t);
        const api = s.api;
        assert.ok(api !== undefined);
        const browser = await signIn(s, {
          email: 'abroad@example.com',
          name: { title: 'Ms', first: 'A', last: 'Broad' },
        });
        const user = [...api.users.values()].find((u) => u.email === 'abroad@example.com');
        assert.ok(user !== undefined);
        user.profile = {
          ...user.profile,
          address: { address1: '1 Rue Example', address2: 'Paris', address3: 'France', postcode: null },
        };
        const page = await browser.get(PATHS.aboutYou);
        assert.equal(valueOf(page.text, 'address-address2'), 'Paris');
        const body = Object.fromEntries(
          [...html(page.text).querySelectorAll('form[data-qa="about-you-form"] input')].map((i) => [
            i.getAttribute('name') ?? '',
            i.getAttribute('value') ?? '',
          ]),
        );
        assert.equal(
          (await browser.post(PATHS.aboutYou, { ...body, 'name-first': 'Anne', action: 'save' })).status,
          303,
        );
        assert.deepEqual(user.profile.address, {
          address1: '1 Rue Example',
          address2: 'Paris',
          address3: 'France',
          postcode: '',
        });
      },
    );

    test('/address-lookup answers as the live PostcodeHandler, signed in only', async (t) => {
      const s = await setup(t);
      const anonymous = await new Browser(s.built.origin).get(`${PATHS.addressLookup}?postcode=SW1H9AJ`);
      assert.equal(anonymous.status, 401);
      const browser = await signIn(s, { email: 'j@example.com', name: { title: 'Mr', first: 'J', last: 'K' } });
      const json = async (q: string) =>
        JSON.parse((await browser.get(`${PATHS.addressLookup}${q}`)).text) as Record<string, unknown>;
      assert.deepEqual(await json(''), { isPostcodeValid: false, success: false, addresses: [] });
      assert.deepEqual(await json('?postcode=ZZ99ZZ'), { isPostcodeValid: true, success: false, addresses: [] });
      const found = await json('?postcode=B1%201TF');
      assert.equal(found.success, true);
      assert.deepEqual((found.addresses as unknown[])[0], {
        line1: '1 EXAMPLE STREET',
        line2: 'BIRMINGHAM',
        line3: '',
        postcode: 'B1 1TF',
        description: '1 EXAMPLE STREET, BIRMINGHAM',
      });
    });
  });
}

describe('OS Places through egress', () => {
  async function fakeOsPlaces(t: TestContext, answer: (url: URL) => { status: number; body: unknown }) {
    const seen: URL[] = [];
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      seen.push(url);
      const a = answer(url);
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(
      () =>
        new Promise<void>((r) =>
          server.close(() => {
            r();
          }),
        ),
    );
    return { seen, origin: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}` };
  }

  test(
    'the key and postcode go to the configured endpoint; results are split into lines; a ' +
      'failure answers no addresses and is logged without the key',
    async (t) => {
      let status = 200;
      const os = await fakeOsPlaces(t, () => ({
        status,
        body: {
          header: { totalresults: 1 },
          results: [{ DPA: { ADDRESS: '7, LONG LANE, SOMEWHERE, AB1 2CD', POSTCODE: 'AB1 2CD' } }],
        },
      }));
      const key = 'OsKey1234567890';
      const s = await setupLocal(t, {
        OS_PLACES_API_KEY: key,
        OS_PLACES_URL: `${os.origin}/search/places/v1/postcode`,
        EGRESS_ALLOW_PRIVATE: '127.0.0.1',
      });
      const browser = await signIn(s, { email: 'os@example.com', name: { title: 'Mr', first: 'O', last: 'S' } });
      const res = JSON.parse((await browser.get(`${PATHS.addressLookup}?postcode=AB1%202CD`)).text) as Record<
        string,
        unknown
      >;
      assert.deepEqual(res, {
        isPostcodeValid: true,
        success: true,
        addresses: [
          {
            line1: '7 LONG LANE',
            line2: 'SOMEWHERE',
            line3: '',
            postcode: 'AB1 2CD',
            description: '7 LONG LANE, SOMEWHERE',
          },
        ],
      });
      const [first] = os.seen;
      assert.ok(first !== undefined);
      assert.equal(first.pathname, '/search/places/v1/postcode');
      assert.equal(first.searchParams.get('key'), key);
      assert.equal(first.searchParams.get('postcode'), 'AB1 2CD');
      assert.equal(first.searchParams.get('lr'), 'EN');

      // A postcode that could smuggle query parameters is never sent.
      await browser.get(`${PATHS.addressLookup}?postcode=${encodeURIComponent('AB1&key=x')}`);
      assert.equal(os.seen.length, 1);

      status = 500;
      const failed = JSON.parse((await browser.get(`${PATHS.addressLookup}?postcode=AB12CD`)).text) as Record<
        string,
        unknown
      >;
      assert.deepEqual(failed, { isPostcodeValid: true, success: false, addresses: [] });
      assert.ok(s.built.logs.some((l) => l.event === 'address_lookup.error'));
      assert.equal(JSON.stringify(s.built.logs).includes(key), false, 'the key is never logged');
      const page = await browser.post(PATHS.aboutYou, {
        ...FULL,
        'postcode-lookup': 'AB1 2CD',
        action: 'find-address',
        _csrf: csrfTokenFrom((await browser.get(PATHS.aboutYou)).text),
      });
      assert.match(html(page.text).querySelector('[data-qa="lookup-notice"]')?.textContent ?? '', /not working/);
    },
  );
});
