import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PATHS,
  PUBLIC_ROUTES,
  TOKEN_PATHS,
  isPublicRoute,
  loggablePath,
  pathOf,
  safeLocalPath,
  tokenRoute,
} from './paths.ts';

test('every path is declared once, is absolute and unique', () => {
  const values = Object.values(PATHS);
  assert.equal(new Set(values).size, values.length);
  for (const p of values) assert.match(p, /^\/[a-z0-9/._-]*$/);
});

test('a token path is logged without its token, and only its path', () => {
  assert.equal(loggablePath('/signup/confirm/abcDEF123_-xyz0000?x=1'), '/signup/confirm/[redacted]');
  assert.equal(loggablePath('/forgot-password/reset/abc'), '/forgot-password/reset/[redacted]');
  assert.equal(loggablePath('/signup/confirm/'), '/signup/confirm/');
  assert.equal(loggablePath('/signup?email=a@b'), '/signup');
});

test('public routes are the exception, by exact path and method', () => {
  assert.equal(isPublicRoute(PATHS.accessibility, 'GET'), true);
  assert.equal(isPublicRoute(PATHS.accessibility, 'POST'), false);
  assert.equal(isPublicRoute(PATHS.dashboard, 'GET'), false);
  assert.equal(isPublicRoute(PATHS.aboutYou, 'GET'), false);
  assert.equal(isPublicRoute('/user/*', 'GET'), false);
  // The one exception is the live front's: the change-email link is opened from a mailbox, signed in or not.
  const verify = tokenRoute(TOKEN_PATHS.changeEmailVerify);
  for (const path of Object.keys(PUBLIC_ROUTES))
    assert.ok(!path.startsWith('/user/') || path === verify, `${path} must not be public`);
  assert.deepEqual(PUBLIC_ROUTES[verify], ['GET', 'HEAD']);
});

const redirects: [unknown, string][] = [
  ['/user/dashboard', '/user/dashboard'],
  ['/accessibility?x=1', '/accessibility?x=1'],
  ['https://evil.example/', '/'],
  ['//evil.example', '/'],
  ['/\\evil.example', '/'],
  ['\\\\evil.example', '/'],
  ['/%2F%2Fevil.example', '/'],
  ['/%2fevil.example', '/'],
  ['/%5Cevil.example', '/'],
  ['javascript:alert(1)', '/'],
  ['/javascript:alert(1)', '/'],
  ['http:/evil.example', '/'],
  [' /x', '/'],
  ['/x\n/y', '/'],
  ['/x\u0000', '/'],
  ['', '/'],
  [undefined, '/'],
  [['/a', '/b'], '/'],
  ['/%E0%A4%A', '/'],
  ['/' + 'a'.repeat(600), '/'],
  ['/../../etc/passwd', '/etc/passwd'],
];

/**
 * Open-redirect payloads (issue 17.1 and the usual lists): each must come back as the fallback, or as a path that a
 * browser can only read as one on this site. The first three resolved to `//evil.example` before the result was
 * checked.
 */
const openRedirects: [string, string][] = [
  ['/.//evil.example', '/'],
  ['/a/..//evil.example', '/'],
  ['/%2e//evil.example', '/'],
  ['/%2E//evil.example', '/'],
  ['/./\u002f/evil.example', '/'],
  ['/a/b/../..//evil.example', '/'],
  ['/%2e%2e//evil.example', '/'],
  ['/a/%2e%2e//evil.example', '/'],
  ['/././/evil.example', '/'],
  ['/.//evil.example/path?x=1', '/'],
  ['/..//evil.example', '/'],
  ['/.%2f/evil.example', '/.%2f/evil.example'],
  ['/%2e%2f/evil.example', '/%2e%2f/evil.example'],
  ['/\\evil.example', '/'],
  ['/\\/evil.example', '/'],
  ['/.\\/evil.example', '/'],
  ['/%5cevil.example', '/'],
  ['/%5C%5Cevil.example', '/'],
  ['/%09/evil.example', '/'],
  ['/\t/evil.example', '/'],
  ['/\r\n/evil.example', '/'],
  ['/%0d%0a/evil.example', '/'],
  ['/%0D%0ALocation:%20https://evil.example', '/'],
  ['/%00//evil.example', '/'],
  ['/\u0000/evil.example', '/'],
  ['\t//evil.example', '/'],
  ['/ //evil.example', '/%20//evil.example'],
  ['javascript:alert(1)', '/'],
  ['JaVaScRiPt:alert(1)', '/'],
  ['/javascript:alert(1)', '/'],
  ['/%6aavascript:alert(1)', '/'],
  ['data:text/html,<script>alert(1)</script>', '/'],
  ['https:evil.example', '/'],
  ['https:/evil.example', '/'],
  ['/https://evil.example', '/'],
  ['/%2F%2Fevil.example', '/'],
  ['/%2f%2fevil.example', '/'],
  ['/%252F%252Fevil.example', '/%252F%252Fevil.example'],
  ['/%252e//evil.example', '/%252e//evil.example'],
  ['/%25%32%65//evil.example', '/%25%32%65//evil.example'],
  ['/\uff0fevil.example', '/%EF%BC%8Fevil.example'],
  ['/\u2215evil.example', '/%E2%88%95evil.example'],
  ['/\u2044evil.example', '/%E2%81%84evil.example'],
  ['/\uff3cevil.example', '/%EF%BC%BCevil.example'],
  ['/%E3%80%82evil.example', '/%E3%80%82evil.example'],
  ['/@evil.example', '/@evil.example'],
  ['/user:pass@evil.example', '/'],
  ['/?//evil.example', '/?//evil.example'],
  ['/#//evil.example', '/'],
  ['/a/..', '/'],
  ['/.', '/'],
  ['/%2e', '/'],
];

for (const [input, expected] of openRedirects) {
  test(`open redirect: safeLocalPath(${JSON.stringify(input)}) → ${expected}`, () => {
    const result = safeLocalPath(input);
    assert.equal(result, expected);
    assert.ok(result === '/' || /^\/[^/\\]/.test(result), 'one leading slash, then neither / nor \\');
    // What a browser does with the href: resolve it against this site.
    assert.equal(new URL(result, 'https://lpa.example').host, 'lpa.example');
  });
}

test('safeLocalPath: any string of slashes, dots, backslashes and their encodings stays on this site', () => {
  const parts = [
    '/',
    '.',
    '..',
    '\\',
    '%2e',
    '%2E',
    '%2f',
    '%5c',
    '%09',
    '%252f',
    'evil.example',
    '@',
    ':',
    '?',
    '#',
    '\t',
  ];
  let seed = 7;
  for (let i = 0; i < 20_000; i++) {
    let s = '/';
    const n = 1 + (i % 7);
    for (let j = 0; j < n; j++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      s += parts[seed % parts.length] ?? '';
    }
    const result = safeLocalPath(s);
    assert.ok(result === '/' || /^\/[^/\\]/.test(result), `${JSON.stringify(s)} → ${result}`);
    assert.equal(new URL(result, 'https://lpa.example').host, 'lpa.example', JSON.stringify(s));
  }
});

for (const [input, expected] of redirects) {
  test(`safeLocalPath(${JSON.stringify(input)}) → ${expected}`, () => {
    assert.equal(safeLocalPath(input), expected);
  });
}

test('pathOf drops the query string and nothing else', () => {
  assert.equal(pathOf('/send-feedback'), '/send-feedback');
  assert.equal(pathOf('/feedback-thanks?returnTarget=%2F'), '/feedback-thanks');
  assert.equal(pathOf('/a?b?c'), '/a');
  assert.equal(pathOf('?x'), '');
  assert.equal(pathOf(''), '');
});
