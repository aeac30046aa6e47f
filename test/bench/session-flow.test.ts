// The mixed scenario's visit: what each step sends, and what a browser keeps from each answer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FlowOptions } from '../../bench/session-flow.ts';
import { SESSION_STEPS, afterResponse, newVisit } from '../../bench/session-flow.ts';

const o: FlowOptions = {
  host: 'lpa.example.test',
  origin: 'https://lpa.example.test',
  email: 'a@example.com',
  password: 'pw',
  forwardedFor: '10.0.0.7',
};

test('a visit: home, sign in, dashboard, the form with an error, corrected, dashboard, sign out', () => {
  assert.deepEqual(
    SESSION_STEPS.map((s) => `${s.request(newVisit(), o).method} ${s.request(newVisit(), o).path} ${String(s.expect)}`),
    [
      'GET / 200',
      'GET /login 200',
      'POST /login 303',
      'GET /user/dashboard 200',
      'GET /user/about-you 200',
      'POST /user/about-you 400',
      'POST /user/about-you 303',
      'GET /user/dashboard 200',
      'POST /logout 303',
    ],
  );
});

test('posts carry the token and cookie the visit has gathered, as a same-origin form from its own address', () => {
  const visit = { cookie: 'lpa=abc', token: 'tok123' };
  const signIn = SESSION_STEPS[2]?.request(visit, o);
  assert.equal(signIn?.body, 'email=a%40example.com&password=pw&_csrf=tok123');
  assert.equal(signIn.headers.cookie, 'lpa=abc');
  assert.equal(signIn.headers.origin, 'https://lpa.example.test');
  assert.equal(signIn.headers['sec-fetch-site'], 'same-origin');
  assert.equal(signIn.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(signIn.headers['x-forwarded-for'], '10.0.0.7');
  assert.equal(
    SESSION_STEPS[5]?.request(visit, o).body,
    'name-title=&name-first=&name-last=&_csrf=tok123',
    "every field empty (the live page's field names): an error",
  );
  const corrected = new URLSearchParams(SESSION_STEPS[6]?.request(visit, o).body);
  assert.deepEqual(
    ['name-first', 'dob-date-year', 'address-address1', 'address-postcode'].map((f) => corrected.get(f) !== ''),
    [true, true, true, true],
    'corrected: a name, a date of birth and an address, as the live page requires',
  );
  const home = SESSION_STEPS[0]?.request(newVisit(), o);
  assert.ok(home !== undefined);
  assert.equal(home.headers.cookie, undefined, 'a new visit has no cookie');
  assert.match(home.headers['accept-encoding'] ?? '', /gzip/, 'the home page is asked for compressed, as browsers do');
  assert.equal(
    SESSION_STEPS[1]?.request(visit, o).headers['accept-encoding'],
    undefined,
    'pages whose token is read come plain',
  );
});

test("a browser keeps Set-Cookie (and drops expired cookies) and the page's latest CSRF token", () => {
  const visit = newVisit();
  afterResponse(
    visit,
    ['lpa=one; Path=/; HttpOnly', 'other=x; Path=/'],
    '<form><input type="hidden" name="_csrf" value="T1"></form>',
  );
  assert.deepEqual(visit, { cookie: 'lpa=one; other=x', token: 'T1' });
  afterResponse(visit, ['lpa=two; Path=/'], '<p>no form</p>');
  assert.deepEqual(
    visit,
    { cookie: 'lpa=two; other=x', token: 'T1' },
    'a rotated session id replaces the old one; no form keeps the token',
  );
  afterResponse(visit, ['other=; Max-Age=0'], undefined);
  assert.deepEqual(visit, { cookie: 'lpa=two', token: 'T1' });
});
