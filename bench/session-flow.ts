/**
 * The mixed scenario: one person's visit, as a browser makes it. Home page, sign in, dashboard, the "about you"
 * form sent with an error, sent again corrected, dashboard, sign out. The session cookie and each form's CSRF
 * token are taken from the responses (Set-Cookie, the `_csrf` field), never made up, so every check stays on.
 *
 * Pure: a step turns the visit so far into a request, and a response into the next state of the visit.
 * bench/mixed-client.ts drives it with autocannon (one visit per connection at a time);
 * test/bench/session-flow.test.ts checks what each step sends and what is kept from each answer.
 */
import { cookieHeader, inputValue } from './lib.ts';

/** What a visit has gathered so far: the cookie jar and the last CSRF token a page carried. */
export interface Visit {
  cookie: string;
  token: string;
}

export interface FlowOptions {
  /** Host header and Origin the app expects (its PUBLIC_ORIGIN). */
  readonly host: string;
  readonly origin: string;
  readonly email: string;
  readonly password: string;
  /**
   * X-Forwarded-For for this visit (a proxy the app trusts): people arrive from many addresses, and sign-in is
   * throttled per address.
   */
  readonly forwardedFor?: string;
}

export interface FlowRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

export interface Step {
  readonly name: string;
  readonly expect: number;
  request(visit: Visit, o: FlowOptions): FlowRequest;
}

const BROWSER = {
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'accept-language': 'en-GB,en;q=0.9',
};
/**
 * Only the home page is asked for compressed: autocannon hands bodies over as text, so a page whose token is read must
 * come uncompressed.
 */
const COMPRESSED = { 'accept-encoding': 'gzip, deflate, br, zstd' };

function headers(visit: Visit, o: FlowOptions, extra: Record<string, string> = {}): Record<string, string> {
  return {
    host: o.host,
    ...BROWSER,
    ...(visit.cookie === '' ? {} : { cookie: visit.cookie }),
    ...(o.forwardedFor === undefined ? {} : { 'x-forwarded-for': o.forwardedFor }),
    ...extra,
  };
}

const get = (name: string, path: string, extra: Record<string, string> = {}): Step => ({
  name,
  expect: 200,
  request: (visit, o) => ({ method: 'GET', path, headers: headers(visit, o, extra) }),
});

const post = (
  name: string,
  path: string,
  expect: number,
  fields: (o: FlowOptions) => Record<string, string>,
): Step => ({
  name,
  expect,
  request: (visit, o) => ({
    method: 'POST',
    path,
    headers: headers(visit, o, {
      origin: o.origin,
      'sec-fetch-site': 'same-origin',
      'sec-fetch-mode': 'navigate',
      'content-type': 'application/x-www-form-urlencoded',
    }),
    body: new URLSearchParams({ ...fields(o), _csrf: visit.token }).toString(),
  }),
});

export const SESSION_STEPS: readonly Step[] = [
  get('home', '/', COMPRESSED),
  get('sign-in page', '/login'),
  post('sign in', '/login', 303, (o) => ({ email: o.email, password: o.password })),
  get('dashboard', '/user/dashboard'),
  get('form', '/user/about-you'),
  post('form with an error', '/user/about-you', 400, () => ({ 'name-title': '', 'name-first': '', 'name-last': '' })),
  // What the live page takes (ADR 0050): a name, a date of birth and an address.
  post('form corrected', '/user/about-you', 303, () => ({
    'name-title': 'Mr',
    'name-first': 'Bench',
    'name-last': 'User',
    'dob-date-day': '1',
    'dob-date-month': '2',
    'dob-date-year': '1980',
    'address-address1': '1 Bench Street',
    'address-address2': 'Benchton',
    'address-address3': '',
    'address-postcode': 'SW1A 1AA',
  })),
  get('dashboard again', '/user/dashboard'),
  post('sign out', '/logout', 303, () => ({})),
];

export const newVisit = (): Visit => ({ cookie: '', token: '' });

/**
 * What a browser keeps from a response: its cookies, and the page's CSRF token if it has a form (`html`: the
 * page's text, undefined for anything else).
 */
export function afterResponse(visit: Visit, setCookie: readonly string[], html: string | undefined): void {
  if (setCookie.length > 0)
    visit.cookie = cookieHeader(
      { status: 0, headers: setCookie.map((v) => ['set-cookie', v] as const), body: Buffer.alloc(0) },
      visit.cookie,
    );
  if (html !== undefined) visit.token = inputValue(html, '_csrf') ?? visit.token;
}
