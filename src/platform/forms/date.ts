/**
 * The kit's date field (`macro: 'dateInput'`): govuk-frontend's date input, three parts posted as `<name>-day`,
 * `<name>-month` and `<name>-year`. One error for the whole date, as the GOV.UK pattern says: it names the parts
 * that are wrong, which are the ones highlighted, and the error summary links to the first of them.
 */
import type { Translate } from '../../i18n/catalogue.ts';

export type DatePart = 'day' | 'month' | 'year';
export const DATE_PARTS: readonly DatePart[] = ['day', 'month', 'year'];

/** The parts as typed (trimmed). */
export type DateParts = Readonly<Record<DatePart, string>>;

/** A rule the date breaks (its message is the field's `messages[rule]`) and the parts it is about. */
export interface DateProblem {
  readonly rule: string;
  readonly parts: readonly DatePart[];
}

export interface DateRules {
  /**
   * Judges a date with at least one part given. Default `checkDate` (complete, numbers, a real date); a form with
   * rules of its own (not in the future, the live service's messages) gives its own and may call `checkDate`.
   */
  readonly check?: (parts: DateParts) => DateProblem | undefined;
  /** `bday` for a date of birth: the parts get `bday-day`, `bday-month`, `bday-year`. */
  readonly autocomplete?: 'bday';
  /** Catalogue keys of the parts' labels; default govuk:dateInput.day, .month, .year. */
  readonly labels?: Readonly<Partial<Record<DatePart, string>>>;
}

/** The posted name (and id) of a part. */
export function partName(name: string, part: DatePart): string {
  return `${name}-${part}`;
}

const DIGITS: Readonly<Record<DatePart, RegExp>> = { day: /^\d{1,2}$/, month: /^\d{1,2}$/, year: /^\d{4}$/ };

/** Day, month and year as YYYY-MM-DD when they make a real calendar date (year 0001–9999), else null. */
export function realDate(day: string, month: string, year: string): string | null {
  if (!DIGITS.day.test(day) || !DIGITS.month.test(month) || !DIGITS.year.test(year)) return null;
  const d = Number(day);
  const m = Number(month);
  const y = Number(year);
  const date = new Date(0);
  date.setUTCFullYear(y, m - 1, d); // not Date.UTC, which takes years 0–99 as 1900–1999
  if (y < 1 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  return `${year}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/**
 * GOV.UK's date rules: `incomplete` names the missing parts; `invalid` the parts that cannot be right (not digits,
 * day over 31, month over 12, year not four digits), or the whole date when each part could be but together they
 * are no date (30 February).
 */
export function checkDate(parts: DateParts): DateProblem | undefined {
  const missing = DATE_PARTS.filter((p) => parts[p] === '');
  if (missing.length > 0) return { rule: 'incomplete', parts: missing };
  const range: Readonly<Record<DatePart, number>> = { day: 31, month: 12, year: 9999 };
  const wrong = DATE_PARTS.filter(
    (p) => !DIGITS[p].test(parts[p]) || Number(parts[p]) < 1 || Number(parts[p]) > range[p],
  );
  if (wrong.length > 0) return { rule: 'invalid', parts: wrong };
  return realDate(parts.day, parts.month, parts.year) === null ? { rule: 'invalid', parts: DATE_PARTS } : undefined;
}

/** The parts of a posted body (strings only, trimmed; anything else is an empty part). */
export function postedParts(form: Readonly<Record<string, unknown>>, name: string): DateParts {
  const read = (part: DatePart): string => {
    const key = partName(name, part);
    const value = Object.hasOwn(form, key) ? form[key] : undefined;
    return typeof value === 'string' ? value.trim() : '';
  };
  return { day: read('day'), month: read('month'), year: read('year') };
}

const WIDTH: Readonly<Record<DatePart, string>> = {
  day: 'govuk-input--width-2',
  month: 'govuk-input--width-2',
  year: 'govuk-input--width-4',
};

/** The `items` of govukDateInput: each part's label, value and, when it is wrong, the error class. */
export function dateItems(
  name: string,
  rules: DateRules | undefined,
  values: Readonly<Record<string, string>>,
  wrong: readonly DatePart[],
  t: Translate,
): Record<string, unknown>[] {
  return DATE_PARTS.map((part) => ({
    name: part,
    id: partName(name, part),
    label: t(rules?.labels?.[part] ?? `govuk:dateInput.${part}`),
    classes: wrong.includes(part) ? `${WIDTH[part]} govuk-input--error` : WIDTH[part],
    value: values[partName(name, part)] ?? '',
    ...(rules?.autocomplete === undefined ? {} : { autocomplete: `${rules.autocomplete}-${part}` }),
  }));
}

/** Catalogue keys of the parts' labels a date field uses. */
export function dateKeys(rules: DateRules | undefined): string[] {
  return DATE_PARTS.map((part) => rules?.labels?.[part] ?? `govuk:dateInput.${part}`);
}
