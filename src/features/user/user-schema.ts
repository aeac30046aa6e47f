/**
 * The "Your details" form (/user/about-you), with the live front's rules and messages: the AboutYou form, the
 * MakeShared data model it validates through (Common\Name, Common\Dob, Common\Address, User) and the messages
 * of templates/application/authenticated/about-you/partials/form-error-summary.twig. Field names are the live ones
 * (`name-title`, `dob-date-day`, `address-postcode` …), so the same ids and error links. The rules are form-kit
 * field declarations (`aboutYouFields`, ADR 0053); `checkAboutYou` runs them outside a request.
 */
import { Type } from '@sinclair/typebox';
import type { PersonName } from '../../backends/credentials.ts';
import type { Address, DetailsUpdate } from '../../backends/accounts.ts';
import type { DateParts, DateProblem, FieldDeclaration, FieldTable, Values } from '../../platform/forms/index.ts';
import { DATE_PARTS, checkFields } from '../../platform/forms/index.ts';
import { formatUkIsoDate } from '../../platform/uk-time.ts';

/** Name (title 1–5, first and last up to 50) and Address (lines up to 50, postcode up to 8) lengths. */
export const LIMITS = { title: 5, first: 50, last: 50, line: 50, postcode: 8 } as const;
/** AbstractActorForm::PREFER_NOT_TO_SAY_TITLE: stored as no title. */
export const PREFER_NOT_TO_SAY = 'Prefer not to say';
export const TITLES = ['Mr', 'Mrs', 'Miss', 'Ms', 'Dr', PREFER_NOT_TO_SAY] as const;

export const FIELDS = [
  'name-title',
  'name-first',
  'name-last',
  'dob-date-day',
  'dob-date-month',
  'dob-date-year',
  'address-address1',
  'address-address2',
  'address-address3',
  'address-postcode',
] as const;
export type FieldName = (typeof FIELDS)[number];

const text = Type.Optional(Type.String({ maxLength: 1000 }));
export const AboutYouBody = Type.Object(
  {
    'name-title': text,
    'name-first': text,
    'name-last': text,
    'dob-date-day': text,
    'dob-date-month': text,
    'dob-date-year': text,
    'address-address1': text,
    'address-address2': text,
    'address-address3': text,
    'address-postcode': text,
    /** The no-JavaScript postcode search: the postcode typed, and which button was pressed. */
    'postcode-lookup': text,
    'address-choice': Type.Optional(Type.String({ maxLength: 2000 })),
    action: Type.Optional(
      Type.Union([Type.Literal('save'), Type.Literal('find-address'), Type.Literal('use-address')]),
    ),
    _csrf: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);

export type AboutYouValues = Readonly<Record<FieldName, string>>;

/** An error: the catalogue key of its message and the id it links to. */
export interface KeyedError {
  readonly key: string;
  readonly field: string;
}

const chars = (s: string) => Array.from(s).length;
// eslint-disable-next-line no-control-regex -- control characters are what we refuse
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const message = (key: string) => `aboutYou:errors.${key}`;

/** The posted values, trimmed (what the page shows back). */
export function valuesOf(body: Partial<Record<FieldName, string | undefined>>): AboutYouValues {
  return Object.fromEntries(FIELDS.map((f) => [f, (body[f] ?? '').trim()])) as AboutYouValues;
}

/** The stored details as the form's values (a GET). */
export function valuesFromDetails(details: {
  name: PersonName | null;
  dob: string | null;
  address: Address | null;
}): AboutYouValues {
  const [year = '', month = '', day = ''] = details.dob?.split('-') ?? [];
  const name = details.name;
  return {
    // No title stored for a named user: they chose "Prefer not to say" (AbstractActorForm::bind).
    'name-title': name === null ? '' : (name.title ?? PREFER_NOT_TO_SAY),
    'name-first': name?.first ?? '',
    'name-last': name?.last ?? '',
    'dob-date-day': day,
    'dob-date-month': month,
    'dob-date-year': year,
    'address-address1': details.address?.address1 ?? '',
    'address-address2': details.address?.address2 ?? '',
    'address-address3': details.address?.address3 ?? '',
    'address-postcode': details.address?.postcode ?? '',
  };
}

/** Today in the UK as YYYY-MM-DD (the API's `new DateTime('today')` runs on UK time). */
export function ukToday(now: Date): string {
  return formatUkIsoDate(now);
}

/**
 * Day, month and year as YYYY-MM-DD when they make a real calendar date, else null: as this page always has, so
 * years 0001–0099 are refused too (Date.UTC reads them as 1900–1999); the live Common\Dob refuses every year before
 * 1000. The kit's own `realDate` takes 0001–9999.
 */
export function realDate(day: string, month: string, year: string): string | null {
  if (!/^\d{1,2}$/.test(day) || !/^\d{1,2}$/.test(month) || !/^\d{4}$/.test(year)) return null;
  const d = Number(day);
  const m = Number(month);
  const y = Number(year);
  const date = new Date(Date.UTC(y, m - 1, d));
  if (y < 1 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  return `${year}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/**
 * The live date of birth rules (Common\Dob): complete, a real date, not after today (UK). Its messages are about the
 * whole date, so every part is highlighted and the summary links to the day; a part with a control character is
 * the one named.
 */
export function checkDob(now: () => Date): (parts: DateParts) => DateProblem | undefined {
  return (parts) => {
    const controlled = DATE_PARTS.filter((p) => CONTROL.test(parts[p]));
    if (controlled.length > 0) return { rule: 'control', parts: controlled };
    if (DATE_PARTS.some((p) => parts[p] === '')) return { rule: 'incomplete', parts: DATE_PARTS };
    const dob = realDate(parts.day, parts.month, parts.year);
    if (dob === null) return { rule: 'invalid', parts: DATE_PARTS };
    return dob > ukToday(now()) ? { rule: 'future', parts: DATE_PARTS } : undefined;
  };
}

/** A text field's own rule: no control characters, then at most `limit` characters (as a person counts them). */
function textRule(limit: number, exempt?: string): (value: string) => string | undefined {
  return (value) => {
    if (CONTROL.test(value)) return 'control';
    return value !== exempt && chars(value) > limit ? 'maxLength' : undefined;
  };
}

const ADDRESS_LINES = ['address-address1', 'address-address2', 'address-address3', 'address-postcode'] as const;
/** The address is optional as a whole: its rules apply once any line is given (Common\Address). */
const hasAddress = (v: Values) => ADDRESS_LINES.some((l) => (v[l] ?? '') !== '');

const input = (
  label: string,
  rules: { required?: string; requiredIf?: (v: Values) => boolean; maxLength: string },
  limit: number,
  params: Readonly<Record<string, unknown>>,
  extra: Partial<FieldDeclaration> = {},
): FieldDeclaration => ({
  macro: 'input',
  label: `aboutYou:${label}`,
  // A message for `required` with `requiredIf`: required only when that says so.
  ...(rules.required === undefined || rules.requiredIf !== undefined ? {} : { required: true }),
  ...(rules.requiredIf === undefined ? {} : { requiredIf: rules.requiredIf }),
  messages: {
    ...(rules.required === undefined ? {} : { required: message(rules.required) }),
    maxLength: message(rules.maxLength),
    control: message('control'),
  },
  check: textRule(limit),
  params,
  ...extra,
});

/**
 * The page's fields on the form kit, in the order of the page and of its errors, with the live rules and messages.
 * `now`: the clock for the date of birth (not in the future, and the hint's example year).
 */
export function aboutYouFields(now: () => Date = () => new Date()): FieldTable {
  return {
    'name-title': input(
      'name.title',
      { required: 'titleRequired', maxLength: 'titleLength' },
      LIMITS.title,
      { classes: 'govuk-input--width-10', autocomplete: 'honorific-prefix', spellcheck: false },
      { hint: 'aboutYou:name.titleHint', check: textRule(LIMITS.title, PREFER_NOT_TO_SAY) },
    ),
    'name-first': input('name.first', { required: 'firstRequired', maxLength: 'firstLength' }, LIMITS.first, {
      autocomplete: 'given-name',
      spellcheck: false,
    }),
    'name-last': input('name.last', { required: 'lastRequired', maxLength: 'lastLength' }, LIMITS.last, {
      autocomplete: 'family-name',
      spellcheck: false,
    }),
    'dob-date': {
      macro: 'dateInput',
      label: 'aboutYou:dob.heading',
      labelClasses: 'govuk-fieldset__legend--m',
      hint: 'aboutYou:dob.hint',
      // "For example, 08 04 <eighteen years ago>", as the live page.
      hintValues: () => ({ year: now().getUTCFullYear() - 18 }),
      messages: {
        incomplete: message('dobRequired'),
        invalid: message('dobInvalid'),
        future: message('dobFuture'),
        control: message('control'),
      },
      date: {
        check: checkDob(now),
        autocomplete: 'bday',
        labels: { day: 'aboutYou:dob.day', month: 'aboutYou:dob.month', year: 'aboutYou:dob.year' },
      },
    },
    'address-address1': input(
      'address.line1',
      { required: 'address1Required', requiredIf: hasAddress, maxLength: 'address1Length' },
      LIMITS.line,
      { autocomplete: 'address-line1' },
    ),
    'address-address2': input(
      'address.line2',
      {
        required: 'address2Required',
        requiredIf: (v) => hasAddress(v) && v['address-postcode'] === '',
        maxLength: 'address2Length',
      },
      LIMITS.line,
      { autocomplete: 'address-line2' },
    ),
    'address-address3': input('address.line3', { maxLength: 'address3Length' }, LIMITS.line, {
      autocomplete: 'address-line3',
    }),
    'address-postcode': input(
      'address.postcode',
      {
        required: 'postcodeRequired',
        requiredIf: (v) => hasAddress(v) && v['address-address2'] === '',
        maxLength: 'postcodeLength',
      },
      LIMITS.postcode,
      { classes: 'govuk-input--width-10', autocomplete: 'postal-code', spellcheck: false },
    ),
    // The no-JavaScript postcode search: an input of its two buttons only (ADR 0053), shown back on their answers.
    // An implausible postcode is a notice beside the results, as before, not a form error.
    'postcode-lookup': {
      macro: 'input',
      label: 'aboutYou:address.lookupLabel',
      hint: 'aboutYou:address.lookupHint',
      messages: {},
      onlyFor: ['find-address', 'use-address'],
      params: {
        classes: 'govuk-input--width-10',
        autocomplete: 'off',
        spellcheck: false,
        formGroup: { classes: 'govuk-!-margin-bottom-3' },
      },
    },
  };
}

/** The fields Save checks: all but the search box. */
export const SAVED_FIELDS = [
  'name-title',
  'name-first',
  'name-last',
  'dob-date',
  'address-address1',
  'address-address2',
  'address-address3',
  'address-postcode',
] as const;

/** The update to save from valid answers (the kit's normalised values: `dob-date` is YYYY-MM-DD or ''). */
export function detailsUpdate(v: Values): DetailsUpdate {
  const get = (name: string) => v[name] ?? '';
  const title = get('name-title') === PREFER_NOT_TO_SAY ? undefined : get('name-title');
  const name: PersonName =
    title === undefined
      ? { first: get('name-first'), last: get('name-last') }
      : { title, first: get('name-first'), last: get('name-last') };
  const address: Address | null = hasAddress(v)
    ? {
        address1: get('address-address1'),
        address2: get('address-address2') === '' ? null : get('address-address2'),
        address3: get('address-address3') === '' ? null : get('address-address3'),
        postcode: get('address-postcode'),
      }
    : null;
  return { name, dob: get('dob-date') === '' ? null : get('dob-date'), address };
}

/** Validates as the live form and data model do (the kit's checks of the fields); the update when there is no error. */
export function checkAboutYou(
  values: AboutYouValues,
  now: Date = new Date(),
): { errors: KeyedError[]; update: DetailsUpdate | null } {
  const checked = checkFields(
    aboutYouFields(() => now),
    SAVED_FIELDS,
    values,
    (key) => key,
  );
  const errors = checked.errors.map((e) => ({ key: e.text, field: e.href.slice(1) }));
  return { errors, update: errors.length > 0 ? null : detailsUpdate(checked.normalised) };
}

/** A chosen address from the no-JavaScript list (the option's value: the four lines as JSON), or null. */
export function chosenAddress(
  raw: string | undefined,
): { line1: string; line2: string; line3: string; postcode: string } | null {
  if (raw === undefined || raw === '') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || parsed.length !== 4 || !parsed.every((p) => typeof p === 'string' && p.length <= 100))
    return null;
  const [line1, line2, line3, postcode] = parsed as [string, string, string, string];
  return { line1, line2, line3, postcode };
}
