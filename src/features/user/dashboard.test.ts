import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LpaSummary } from '../../backends/accounts.ts';
import { Session } from '../../platform/session.ts';
import { formatLpaId, formatShortDate, groupByType, lpaProgress, lpaRow, pager, searchParam } from './dashboard.ts';
import { dashboardHref } from './dashboard-routes.ts';
import { MEZZIO_FLASH_KEY, takeLegacyFlash } from './legacy-flash.ts';

const TRACK_FROM = new Date('2019-04-01T00:00:00Z');
const NOW = new Date('2026-08-21T12:00:00Z');
const lpa = (over: Partial<LpaSummary> = {}): LpaSummary => ({
  id: 42,
  type: 'property-and-financial',
  donorName: 'Ada Lovelace',
  updatedAt: NOW,
  createdAt: null,
  completedAt: null,
  reusable: false,
  processingStatus: null,
  ...over,
});

describe('lpaProgress: as Application::fetchLpaSummaries', () => {
  const before = new Date('2019-03-31T23:59:59Z');
  const cases: [string, Partial<LpaSummary>, Date, string, boolean][] = [
    ['started', {}, TRACK_FROM, 'Started', false],
    ['created', { createdAt: NOW }, TRACK_FROM, 'Created', false],
    ['completed before tracking began', { createdAt: before, completedAt: before }, TRACK_FROM, 'Completed', false],
    ['completed since: waiting for OPG', { createdAt: NOW, completedAt: NOW }, TRACK_FROM, 'Waiting', true],
    ["the case system's status", { completedAt: NOW, processingStatus: 'Checking' }, TRACK_FROM, 'Checking', true],
    [
      'Completed from the case system: no refresh',
      { completedAt: NOW, processingStatus: 'Completed' },
      TRACK_FROM,
      'Completed',
      false,
    ],
    [
      'tracking not begun yet',
      { completedAt: NOW, processingStatus: 'Received' },
      new Date('2030-01-01T00:00:00Z'),
      'Completed',
      false,
    ],
  ];
  for (const [name, over, trackFrom, progress, refresh] of cases) {
    test(name, () => {
      const p = lpaProgress(lpa(over), trackFrom, NOW);
      assert.deepEqual(p, { progress, status: progress.toLowerCase(), refresh });
    });
  }
});

test('formatLpaId: A and 11 digits in fours (Formatter::id)', () => {
  assert.equal(formatLpaId(42), 'A000 0000 0042');
  assert.equal(formatLpaId(33718377316), 'A337 1837 7316');
});

test('formatShortDate: d/m/y in UK time', () => {
  assert.equal(formatShortDate(new Date('2026-08-21T23:30:00Z')), '22/08/26', 'after midnight in London (BST)');
  assert.equal(formatShortDate(new Date('2026-01-05T23:30:00Z')), '05/01/26');
});

describe('pager: PaginationTrait::getPaginationControlData', () => {
  const cases: [number, number, number[], number, number, number][] = [
    // requested, total, pages in range, page, first, last
    [1, 60, [1, 2], 1, 1, 50],
    [2, 60, [1, 2], 2, 51, 60],
    [9, 60, [1, 2], 2, 51, 60],
    [1, 500, [1, 2, 3, 4, 5], 1, 1, 50],
    [5, 500, [3, 4, 5, 6, 7], 5, 201, 250],
    [10, 500, [6, 7, 8, 9, 10], 10, 451, 500],
    [9, 500, [6, 7, 8, 9, 10], 9, 401, 450],
    [1, 50, [1], 1, 1, 50],
  ];
  for (const [requested, total, range, page, first, last] of cases) {
    test(`page ${String(requested)} of ${String(total)} LPAs`, () => {
      const p = pager(requested, 50, total);
      assert.deepEqual(p.pagesInRange, range);
      assert.equal(p.page, page);
      assert.equal(p.firstItemNumber, first);
      assert.equal(p.lastItemNumber, last);
      assert.equal(p.pageCount, Math.ceil(total / 50));
    });
  }
});

test('lpaRow: what the template needs; an unknown case status cannot break out of its class', () => {
  const row = lpaRow(lpa({ completedAt: NOW, processingStatus: '"><script>x' }), TRACK_FROM, NOW);
  assert.equal(row.status, 'scriptx');
  assert.equal(row.statusKnown, false);
  assert.equal(row.progress, '"><script>x', 'shown as sent (escaped by the template)');
  assert.equal(row.inProgress, false);
  const started = lpaRow(lpa({ donorName: '' }), TRACK_FROM, NOW);
  assert.equal(started.donor, null);
  assert.equal(started.inProgress, true);
  assert.equal(started.statusPage, false);
  assert.equal(lpaRow(lpa({ completedAt: NOW }), TRACK_FROM, NOW).statusPage, true);
});

test('groupByType: no type, then property and finance, then health and welfare; empty groups left out', () => {
  const rows = [lpa({ id: 1, type: 'health-and-welfare' }), lpa({ id: 2, type: null }), lpa({ id: 3 })].map((l) =>
    lpaRow(l, TRACK_FROM, NOW),
  );
  assert.deepEqual(
    groupByType(rows).map((g) => [g.type, g.rows.map((r) => r.id)]),
    [
      [null, [2]],
      ['property-and-financial', [3]],
      ['health-and-welfare', [1]],
    ],
  );
  assert.deepEqual(
    groupByType(rows.slice(0, 1)).map((g) => g.type),
    ['health-and-welfare'],
  );
});

test('searchParam: absent, empty, repeated, too long, not a string', () => {
  assert.equal(searchParam({}), undefined);
  assert.equal(searchParam(null), undefined);
  assert.equal(searchParam({ search: '' }), '');
  assert.equal(searchParam({ search: ['a', 'b'] }), 'a');
  assert.equal(searchParam({ search: 'x'.repeat(300) }), 'x'.repeat(200));
  assert.equal(searchParam({ search: { nested: 'x' } }), undefined);
});

test('dashboardHref: page 1 is the dashboard; a search is carried, encoded', () => {
  assert.equal(dashboardHref(1, undefined), '/user/dashboard');
  assert.equal(dashboardHref(3, ''), '/user/dashboard/page/3');
  assert.equal(dashboardHref(2, 'a&b <c>'), '/user/dashboard/page/2?search=a%26b+%3Cc%3E');
});

describe('takeLegacyFlash: mezzio-flash messages, shown once per hop', () => {
  const session = (value: unknown) => new Session('s'.repeat(32), new Map([[MEZZIO_FLASH_KEY, value]]), false);

  test("in the layout's order, one hop used; the key goes when none are left", () => {
    const s = session({
      flash_success: { value: ['Saved'], hops: 1 },
      flash_error: { value: 'Failed', hops: 2 },
      other: { value: 'x', hops: 1 },
    });
    assert.deepEqual(takeLegacyFlash(s, 'GET'), [
      { type: 'error', messages: ['Failed'] },
      { type: 'success', messages: ['Saved'] },
    ]);
    assert.deepEqual(
      { ...(s.get(MEZZIO_FLASH_KEY) as object) },
      { flash_error: { value: 'Failed', hops: 1 } },
      'a null-prototype object, as session values are',
    );
    assert.deepEqual(takeLegacyFlash(s, 'GET'), [{ type: 'error', messages: ['Failed'] }]);
    assert.equal(s.has(MEZZIO_FLASH_KEY), false);
    assert.deepEqual(takeLegacyFlash(s, 'GET'), []);
  });

  test('HEAD shows without using up', () => {
    const s = session({ flash_info: { value: ['Hello'], hops: 1 } });
    assert.deepEqual(takeLegacyFlash(s, 'HEAD'), [{ type: 'info', messages: ['Hello'] }]);
    assert.ok(s.has(MEZZIO_FLASH_KEY));
  });

  test('junk is ignored, long messages cut', () => {
    for (const junk of [
      null,
      'text',
      [1, 2],
      { flash_error: 'not an entry' },
      { flash_error: { value: [null, {}, ''] } },
    ]) {
      assert.deepEqual(takeLegacyFlash(session(junk), 'GET'), [], JSON.stringify(junk));
    }
    const [long] = takeLegacyFlash(session({ flash_warning: { value: ['y'.repeat(900)], hops: 1 } }), 'GET');
    assert.equal(long?.messages[0]?.length, 500);
    assert.deepEqual(takeLegacyFlash(null, 'GET'), []);
  });
});
