import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatUkDateTime, formatUkIsoDate, formatUkShortDate, isBritishSummerTime } from './uk-time.ts';

// Intl is the reference here (tests may load ICU; the app does not: uk-time.ts says why).
const LONG = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  hour: 'numeric',
  minute: '2-digit',
  hour12: true,
});
const SHORT = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  day: '2-digit',
  month: '2-digit',
  year: '2-digit',
});
const ISO = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Europe/London',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});
const OFFSET = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', timeZoneName: 'short' });

function intlLong(date: Date): string {
  const parts = Object.fromEntries(LONG.formatToParts(date).map((p) => [p.type, p.value]));
  return (
    `${parts.day ?? ''} ${parts.month ?? ''} ${parts.year ?? ''} ` +
    `at ${parts.hour ?? ''}:${parts.minute ?? ''}${(parts.dayPeriod ?? '').toLowerCase()}`
  );
}

function agree(ms: number): void {
  const date = new Date(ms);
  const at = date.toISOString();
  assert.equal(isBritishSummerTime(ms), OFFSET.format(date).endsWith('BST'), `${at} summer time`);
  assert.equal(formatUkDateTime(date), intlLong(date), at);
  assert.equal(formatUkShortDate(date), SHORT.format(date), at);
  assert.equal(formatUkIsoDate(date), ISO.format(date), at);
}

test('every change of the clocks, 1996–2060, agrees with Intl: the minute before, of and after, and two hours either side', () => {
  for (let year = 1996; year <= 2060; year++) {
    for (const month of [2, 9]) {
      // The change is on the last Sunday at 01:00 UTC: check two hours either side of 01:00 on each of the last 7 days.
      for (let day = 25; day <= 31; day++) {
        const oneAm = Date.UTC(year, month, day, 1);
        for (const m of [-120, -61, -60, -59, -30, -1, 0, 1, 30, 59, 60, 61, 120]) agree(oneAm + m * 60_000);
      }
    }
  }
});

test('midnight, noon and every hour of sample days agree with Intl (12am, 12pm, the year boundary)', () => {
  for (const day of ['2026-01-01', '2026-06-21', '2026-12-31', '2024-02-29', '2099-07-04']) {
    for (let h = 0; h < 24; h++)
      for (const m of [0, 1, 59]) agree(Date.parse(`${day}T00:00:00Z`) + h * 3_600_000 + m * 60_000);
  }
});

test('a spread of times over 1996–2060 agrees with Intl', () => {
  const start = Date.UTC(1996, 0, 1);
  const end = Date.UTC(2060, 11, 31);
  // A fixed stride not a multiple of an hour or a day, so minutes, hours and days all vary.
  for (let ms = start; ms < end; ms += 7 * 3_600_000 + 13 * 60_000 + 17_000) agree(ms);
});

test('the formats as the pages show them', () => {
  assert.equal(formatUkDateTime(new Date('2026-08-21T14:20:00Z')), '21 August 2026 at 3:20pm');
  assert.equal(formatUkDateTime(new Date('2026-12-06T00:05:00Z')), '6 December 2026 at 12:05am');
  assert.equal(formatUkShortDate(new Date('2026-08-21T23:30:00Z')), '22/08/26');
  assert.equal(formatUkIsoDate(new Date('2026-12-06T23:30:00Z')), '2026-12-06');
});
