import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PATHS, PUBLIC_ROUTES, isPublicRoute, pathOf, safeLocalPath } from './paths.ts';

test('every path is declared once, is absolute and unique', () => {
  const values = Object.values(PATHS);
  assert.equal(new Set(values).size, values.length);
  for (const p of values) assert.match(p, /^\/[a-z0-9/._-]*$/);
});

test('public routes are the exception, by exact path and method', () => {
  assert.equal(isPublicRoute(PATHS.accessibility, 'GET'), true);
  assert.equal(isPublicRoute(PATHS.accessibility, 'POST'), false);
  assert.equal(isPublicRoute(PATHS.dashboard, 'GET'), false);
  assert.equal(isPublicRoute(PATHS.aboutYou, 'GET'), false);
  assert.equal(isPublicRoute('/user/*', 'GET'), false);
  for (const path of Object.keys(PUBLIC_ROUTES)) assert.ok(!path.startsWith('/user/'), `${path} must not be public`);
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
