/**
 * The "Your details" form (/user/about-you), with the live front's rules and messages: the AboutYou form, the
 * MakeShared data model it validates through (Common\Name, Common\Dob, Common\Address, User) and the messages
 * of templates/application/authenticated/about-you/partials/form-error-summary.twig. Field names are the live ones
 * (`name-title`, `dob-date-day`, `address-postcode` …), so the same ids and error links.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { PersonName } from '../../backends/credentials.ts';
import type { Address, DetailsUpdate } from '../../backends/accounts.ts';

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
export type AboutYouBodyType = Static<typeof AboutYouBody>;

export type AboutYouValues = Readonly<Record<FieldName, string>>;

/** An error: the catalogue key of its message and the id it links to. */
export interface KeyedError {
  readonly key: string;
  readonly field: string;
}

const chars = (s: string) => Array.from(s).length;
// eslint-disable-next-line no-control-regex -- control characters are what we refuse
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

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
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Europe/London',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(now);
}

/** Day, month and year as YYYY-MM-DD when they make a real calendar date, else null. */
export function realDate(day: string, month: string, year: string): string | null {
  if (!/^\d{1,2}$/.test(day) || !/^\d{1,2}$/.test(month) || !/^\d{4}$/.test(year)) return null;
  const d = Number(day);
  const m = Number(month);
  const y = Number(year);
  const date = new Date(Date.UTC(y, m - 1, d));
  if (y < 1 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  return `${year}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** Validates as the live form and data model do; the update to save when there is no error. */
export function checkAboutYou(
  values: AboutYouValues,
  now: Date = new Date(),
): { errors: KeyedError[]; update: DetailsUpdate | null } {
  const errors: KeyedError[] = [];
  const v = values;
  const err = (field: FieldName, key: string) => {
    if (!errors.some((e) => e.field === field)) errors.push({ key: `aboutYou:errors.${key}`, field });
  };
  for (const f of FIELDS) if (CONTROL.test(v[f])) err(f, 'control');

  // Name: NotBlank as a whole, then each part (Common\Name); "Prefer not to say" is no title.
  if (v['name-title'] === '') err('name-title', 'titleRequired');
  else if (v['name-title'] !== PREFER_NOT_TO_SAY && chars(v['name-title']) > LIMITS.title)
    err('name-title', 'titleLength');
  if (v['name-first'] === '') err('name-first', 'firstRequired');
  else if (chars(v['name-first']) > LIMITS.first) err('name-first', 'firstLength');
  if (v['name-last'] === '') err('name-last', 'lastRequired');
  else if (chars(v['name-last']) > LIMITS.last) err('name-last', 'lastLength');

  // Date of birth: optional when every part is empty; otherwise complete, real and not after today (Common\Dob).
  const parts = [v['dob-date-day'], v['dob-date-month'], v['dob-date-year']];
  let dob: string | null = null;
  if (parts.some((p) => p !== '')) {
    if (parts.some((p) => p === '')) err('dob-date-day', 'dobRequired');
    else {
      dob = realDate(v['dob-date-day'], v['dob-date-month'], v['dob-date-year']);
      if (dob === null) err('dob-date-day', 'dobInvalid');
      else if (dob > ukToday(now)) err('dob-date-day', 'dobFuture');
    }
  }

  // Address: optional when every line is empty; line 1 needed, and line 2 or the postcode (Common\Address).
  const lines = [v['address-address1'], v['address-address2'], v['address-address3'], v['address-postcode']];
  const hasAddress = lines.some((l) => l !== '');
  if (hasAddress) {
    if (v['address-address1'] === '') err('address-address1', 'address1Required');
    else if (chars(v['address-address1']) > LIMITS.line) err('address-address1', 'address1Length');
    if (chars(v['address-address2']) > LIMITS.line) err('address-address2', 'address2Length');
    if (chars(v['address-address3']) > LIMITS.line) err('address-address3', 'address3Length');
    if (chars(v['address-postcode']) > LIMITS.postcode) err('address-postcode', 'postcodeLength');
    if (v['address-address2'] === '' && v['address-postcode'] === '') {
      err('address-address2', 'address2Required');
      err('address-postcode', 'postcodeRequired');
    }
  }
  errors.sort((a, b) => FIELDS.indexOf(a.field as FieldName) - FIELDS.indexOf(b.field as FieldName));
  if (errors.length > 0) return { errors, update: null };
  const title = v['name-title'] === PREFER_NOT_TO_SAY ? undefined : v['name-title'];
  const name: PersonName =
    title === undefined
      ? { first: v['name-first'], last: v['name-last'] }
      : { title, first: v['name-first'], last: v['name-last'] };
  const address: Address | null = hasAddress
    ? {
        address1: v['address-address1'],
        address2: v['address-address2'] === '' ? null : v['address-address2'],
        address3: v['address-address3'] === '' ? null : v['address-address3'],
        postcode: v['address-postcode'],
      }
    : null;
  return { errors, update: { name, dob, address } };
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
