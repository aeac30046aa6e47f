import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLinks, citations, commentsOf } from './check-links.ts';

const ROOTS = new Set(['src', 'docs', 'test']);

test(
  'finds Markdown links, repository paths and bare Markdown names; skips URLs, other ' + 'repositories and examples',
  () => {
    const text = [
      'See [ADR 17](adr/0017-x.md#decision), [GOV.UK](https://www.gov.uk) and [top](#top).',
      'Read `src/paths.ts` and docs/adr/0017, not service-front/config/routes.php.',
      'Notes in opg-lpa-facts.md; an example `{% include "./template.njk" %}`; ../README.md is relative.',
    ].join('\n');
    assert.deepEqual(
      citations(text, true, ROOTS).map((c) => [c.line, c.target, c.fromFile, c.bare === true]),
      [
        [1, 'adr/0017-x.md', true, false],
        [2, 'src/paths.ts', false, false],
        [2, 'docs/adr/0017', false, false],
        [3, 'opg-lpa-facts.md', false, true],
        [3, '../README.md', true, false],
      ],
    );
  },
);

test('reads only the comments of source files, keeping line numbers', () => {
  const ts = "import x from './gone.ts';\n// see src/a.ts\nconst s = 'src/b.ts'; /* and\n docs/c.md */";
  const comments = commentsOf(ts, false);
  assert.equal(comments.split('\n').length, 4);
  assert.deepEqual(
    citations(comments, false, ROOTS).map((c) => [c.line, c.target]),
    [
      [2, 'src/a.ts'],
      [4, 'docs/c.md'],
    ],
  );
  assert.deepEqual(
    citations(commentsOf('{#- see src/v.njk -#}\n<p>src/not-a-comment.njk</p>', true), false, ROOTS).map(
      (c) => c.target,
    ),
    ['src/v.njk'],
  );
});

test('every path cited in docs/, README.md and src/ comments opens', () => {
  assert.deepEqual(checkLinks(), []);
});
