/**
 * Dates and times as the UK reads them (Europe/London), without `Intl.DateTimeFormat`. Making any DateTimeFormat
 * touches ICU's locale and time-zone data inside the node binary: about 6.4 MiB of every worker's resident memory
 * (docs/adr/0032), for three formats the service shows. UK clocks follow one rule since 1996 (the EU's, kept in UK
 * law): British Summer Time, UTC+1, from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of
 * October. uk-time.test.ts compares every function with Intl's answer over 1996–2060, around each change of the
 * clocks. Dates before 1996 may be an hour out near a change (none the service shows: LPAs and sign-ins are later).
 */

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;

const HOUR_MS = 3_600_000;

/** 01:00 UTC on the last Sunday of the month (0-based) of `year`, in ms. */
function lastSundayOneAm(year: number, month: number): number {
  const lastDay = Date.UTC(year, month + 1, 0, 1);
  return lastDay - new Date(lastDay).getUTCDay() * 24 * HOUR_MS;
}

/** Whether British Summer Time is in force at `ms` (UTC). */
export function isBritishSummerTime(ms: number): boolean {
  const year = new Date(ms).getUTCFullYear();
  return ms >= lastSundayOneAm(year, 2) && ms < lastSundayOneAm(year, 9);
}

interface UkParts {
  readonly year: number;
  /** 1–12 */
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
}

/** The UK's wall clock at `date`. */
export function ukParts(date: Date): UkParts {
  const ms = date.getTime();
  const local = new Date(ms + (isBritishSummerTime(ms) ? HOUR_MS : 0));
  return {
    year: local.getUTCFullYear(),
    month: local.getUTCMonth() + 1,
    day: local.getUTCDate(),
    hour: local.getUTCHours(),
    minute: local.getUTCMinutes(),
  };
}

const two = (n: number): string => String(n).padStart(2, '0');

/** "21 August 2026 at 3:20pm" (UK time), as GOV.UK writes dates and times. */
export function formatUkDateTime(date: Date): string {
  const p = ukParts(date);
  const hour12 = p.hour % 12 === 0 ? 12 : p.hour % 12;
  return `${String(p.day)} ${MONTHS[p.month - 1] ?? ''} ${String(p.year)} at ${String(hour12)}:${two(p.minute)}${p.hour < 12 ? 'am' : 'pm'}`;
}

/** "21/08/26" (UK time), PHP's `date('d/m/y')`. */
export function formatUkShortDate(date: Date): string {
  const p = ukParts(date);
  return `${two(p.day)}/${two(p.month)}/${two(p.year % 100)}`;
}

/** The UK's date as YYYY-MM-DD (years 1000–9999). */
export function formatUkIsoDate(date: Date): string {
  const p = ukParts(date);
  return `${String(p.year)}-${two(p.month)}-${two(p.day)}`;
}
