import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readAboutYou } from './user-schema.ts';

test('about-you validation, table-driven', () => {
  const cases: [Record<string, string>, string[]][] = [
    [{}, ['#firstName', '#lastName']],
    [{ title: 'Mr', firstName: 'A', lastName: 'B' }, []],
    [{ title: 'Mrs.X', firstName: 'A', lastName: 'B' }, []],
    [{ title: 'Mrs.XY', firstName: 'A', lastName: 'B' }, ['#title']],
    [{ firstName: 'é'.repeat(50), lastName: 'B' }, []],
    [{ firstName: 'é'.repeat(51), lastName: 'B' }, ['#firstName']],
    [{ firstName: 'A', lastName: 'B'.repeat(51) }, ['#lastName']],
    [{ firstName: 'A\u0000', lastName: '\u001bB' }, ['#firstName', '#lastName']],
    [{ title: 'Dr\n', firstName: '  ', lastName: 'B' }, ['#firstName']],
  ];
  for (const [body, hrefs] of cases) assert.deepEqual(readAboutYou(body).errors.map((e) => e.href), hrefs, JSON.stringify(body));
  assert.deepEqual(readAboutYou({ title: ' ', firstName: ' Ada ', lastName: 'Lovelace' }).name, { first: 'Ada', last: 'Lovelace' });
  assert.deepEqual(readAboutYou({ title: 'Dr', firstName: 'Ada', lastName: 'Lovelace' }).name, { title: 'Dr', first: 'Ada', last: 'Lovelace' });
});
