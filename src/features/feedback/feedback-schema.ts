/**
 * The feedback form: the body schema (shape only: strings, bounded, nothing unknown) and the live service's
 * rules (the live service's form: ministryofjustice/opg-lpa, service-front/src/App/src/Form/General/FeedbackForm.php),
 * with messages in the GOV.UK Design System's words (its radios, character count, email and telephone patterns).
 * The schema lets empty and invalid values through on purpose, so that the rules below can answer them with
 * GOV.UK messages instead of a bare 400 page.
 *
 * Input is trimmed (as the live StringTrim) and nothing else: no tag stripping, no entity encoding.
 * Templates escape on output.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

export const RATINGS = [
  { value: 'very-satisfied', text: 'Very satisfied' },
  { value: 'satisfied', text: 'Satisfied' },
  { value: 'neither-satisfied-or-dissatisfied', text: 'Neither satisfied or dissatisfied' },
  { value: 'dissatisfied', text: 'Dissatisfied' },
  { value: 'very-dissatisfied', text: 'Very dissatisfied' },
] as const;

export type Rating = (typeof RATINGS)[number]['value'];

export const DETAILS_MAX_CHARACTERS = 2000;

export const MESSAGES = {
  rating: 'Select how you feel about this service',
  detailsRequired: 'Enter your feedback',
  detailsTooLong: 'Your feedback must be 2,000 characters or fewer',
  email: 'Enter an email address in the correct format, like name@example.com',
  phone: 'Enter a phone number, like 01632 960 001, 07700 900 982 or +44 808 157 0192',
  // An otherwise valid form sent sooner than a person could (the bot check): nothing is wrong with the answers.
  tooFast: 'Check your answers, then select Send feedback again',
} as const;

/** The id the "sent too quickly" error links to: the Send feedback button, the one thing to do next. */
export const TOO_FAST_TARGET = 'send';

/**
 * Upper bounds well above the rules' limits, so a person who pastes too much sees the 2000-character
 * message; only machine-sized input gets the generic 400 page. The body limit (BODY_LIMIT_BYTES) caps all.
 */
export const FeedbackBody = Type.Object(
  {
    _csrf: Type.Optional(Type.String({ maxLength: 256 })),
    rating: Type.Optional(Type.String({ maxLength: 100 })),
    details: Type.Optional(Type.String({ maxLength: 12_000 })),
    email: Type.Optional(Type.String({ maxLength: 1000 })),
    phone: Type.Optional(Type.String({ maxLength: 1000 })),
    send: Type.Optional(Type.String({ maxLength: 100 })),
    /** The local path the user came from (a same-origin Referer when the form was shown). */
    fromPage: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

export type FeedbackBodyType = Static<typeof FeedbackBody>;

export const FIELD_ORDER = ['rating', 'details', 'email', 'phone'] as const;
export type FeedbackField = (typeof FIELD_ORDER)[number];

/** The ids errors link to: govukRadios gives its first radio the idPrefix itself. */
export const FIELD_IDS: Readonly<Record<FeedbackField, string>> = {
  rating: 'rating',
  details: 'details',
  email: 'email',
  phone: 'phone',
};

export interface FormError {
  readonly text: string;
  readonly href: string;
}

export interface Feedback {
  readonly rating: Rating;
  /** Trimmed, line endings as \n. */
  readonly details: string;
  /** Lowercased; '' when not given. */
  readonly email: string;
  /** Trimmed; '' when not given. */
  readonly phone: string;
}

export type FeedbackValues = Readonly<Record<FeedbackField, string>>;

export type FeedbackValidation =
  | { readonly ok: true; readonly value: Feedback; readonly values: FeedbackValues }
  | { readonly ok: false; readonly errors: readonly FormError[]; readonly fieldErrors: Partial<Record<FeedbackField, string>>; readonly values: FeedbackValues };

const RATING_VALUES: ReadonlySet<string> = new Set(RATINGS.map((r) => r.value));

/** Characters as a person counts them: code points, with a CRLF (what browsers send for a new line) as one. */
export function characterCount(text: string): number {
  const normalised = text.replace(/\r\n/g, '\n');
  const pairs = normalised.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g);
  return normalised.length - (pairs === null ? 0 : pairs.length);
}

const LOCAL_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;
const DOMAIN_LABEL = /^[\p{L}\p{N}-]{1,63}$/u;
const TLD = /^(?:\p{L}{2,63}|xn--[a-z0-9-]{1,59})$/iu;

/**
 * An email address as Laminas EmailAddress accepts it by default, in practice: a dot-atom local part of at
 * most 64 characters, `@`, a host name of at least two labels with an alphabetic (or punycode) top-level
 * label, 254 characters in all. No quoted local parts, IP literals or comments: nobody gives those in a
 * feedback form, and refusing them only asks the person to check. Written without backtracking regexes.
 */
export function isValidEmail(email: string): boolean {
  if (email.length > 254) return false;
  const at = email.lastIndexOf('@');
  if (at < 1 || at !== email.indexOf('@')) return false;
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.length > 64 || !local.split('.').every((atom) => LOCAL_ATOM.test(atom))) return false;
  if (domain.length > 253) return false;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  const tld = labels[labels.length - 1] ?? '';
  return labels.every((l) => DOMAIN_LABEL.test(l) && !l.startsWith('-') && !l.endsWith('-')) && TLD.test(tld);
}

const PHONE = /^(\+)?(\d|\(|\)| |-){6,20}$/;

/** The live rule: spaces removed, then an optional + and 6 to 20 digits, brackets or hyphens. */
export function isValidPhone(phone: string): boolean {
  return PHONE.test(phone.replace(/ /g, ''));
}

function field(body: Readonly<Record<string, unknown>>, name: string): string {
  const v = Object.hasOwn(body, name) ? body[name] : undefined;
  return typeof v === 'string' ? v : '';
}

export function validateFeedback(body: Readonly<Record<string, unknown>>): FeedbackValidation {
  const values: FeedbackValues = {
    rating: field(body, 'rating'),
    details: field(body, 'details'),
    email: field(body, 'email'),
    phone: field(body, 'phone'),
  };
  const rating = values.rating.trim();
  const details = values.details.trim().replace(/\r\n/g, '\n');
  const email = values.email.trim().toLowerCase();
  const phone = values.phone.trim();

  const fieldErrors: Partial<Record<FeedbackField, string>> = {};
  if (!RATING_VALUES.has(rating)) fieldErrors.rating = MESSAGES.rating;
  if (details === '') fieldErrors.details = MESSAGES.detailsRequired;
  else if (characterCount(details) > DETAILS_MAX_CHARACTERS) fieldErrors.details = MESSAGES.detailsTooLong;
  if (email !== '' && !isValidEmail(email)) fieldErrors.email = MESSAGES.email;
  if (phone !== '' && !isValidPhone(phone)) fieldErrors.phone = MESSAGES.phone;

  const errors: FormError[] = [];
  for (const name of FIELD_ORDER) {
    const text = fieldErrors[name];
    if (text !== undefined) errors.push({ text, href: `#${FIELD_IDS[name]}` });
  }
  if (errors.length > 0) return { ok: false, errors, fieldErrors, values };
  return { ok: true, value: { rating: rating as Rating, details, email, phone }, values };
}
