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
import type { FieldTable } from '../../platform/forms/index.ts';

export const RATINGS = [
  { value: 'very-satisfied', text: 'feedback:rating.verySatisfied' },
  { value: 'satisfied', text: 'feedback:rating.satisfied' },
  { value: 'neither-satisfied-or-dissatisfied', text: 'feedback:rating.neither' },
  { value: 'dissatisfied', text: 'feedback:rating.dissatisfied' },
  { value: 'very-dissatisfied', text: 'feedback:rating.veryDissatisfied' },
] as const;

export type Rating = (typeof RATINGS)[number]['value'];

export const DETAILS_MAX_CHARACTERS = 2000;

/** Catalogue keys of the messages (words: src/i18n/locales/en/feedback.json). */
export const MESSAGES = {
  rating: 'feedback:rating.required',
  detailsRequired: 'feedback:details.required',
  detailsTooLong: 'feedback:details.tooLong',
  email: 'feedback:email.invalid',
  phone: 'feedback:phone.invalid',
  // An otherwise valid form sent sooner than a person could (the bot check): nothing is wrong with the answers.
  tooFast: 'feedback:tooFast',
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

export interface Feedback {
  readonly rating: Rating;
  /** Trimmed, line endings as \n. */
  readonly details: string;
  /** Lowercased; '' when not given. */
  readonly email: string;
  /** Trimmed; '' when not given. */
  readonly phone: string;
}

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

/**
 * The form's fields for the kit (ADR 0031), in the order the errors are listed: the live service's rules, each
 * message a catalogue key. Values arrive trimmed; email lowercased and details with \n line endings.
 */
export const FEEDBACK_FIELDS = {
  rating: {
    macro: 'radios',
    schema: Type.Union(RATINGS.map((r) => Type.Literal(r.value))),
    required: true,
    label: 'feedback:rating.label',
    labelClasses: 'govuk-fieldset__legend--m',
    messages: { required: MESSAGES.rating, enum: MESSAGES.rating },
    options: RATINGS,
  },
  details: {
    macro: 'characterCount',
    schema: Type.String({ maxLength: DETAILS_MAX_CHARACTERS }),
    required: true,
    label: 'feedback:details.label',
    labelClasses: 'govuk-label--m',
    hint: 'feedback:details.hint',
    messages: { required: MESSAGES.detailsRequired, maxLength: MESSAGES.detailsTooLong },
    check: (value) => (characterCount(value) > DETAILS_MAX_CHARACTERS ? 'maxLength' : undefined),
    normalise: (value) => value.replace(/\r\n/g, '\n'),
  },
  email: {
    macro: 'input',
    schema: Type.String({ maxLength: 254 }),
    label: 'feedback:email.label',
    messages: { invalid: MESSAGES.email },
    params: { type: 'email', autocomplete: 'email', spellcheck: false },
    check: (value) => (isValidEmail(value.toLowerCase()) ? undefined : 'invalid'),
    normalise: (value) => value.toLowerCase(),
  },
  phone: {
    macro: 'input',
    schema: Type.String({ maxLength: 20 }),
    label: 'feedback:phone.label',
    messages: { invalid: MESSAGES.phone },
    params: { type: 'tel', autocomplete: 'tel', classes: 'govuk-input--width-20' },
    check: (value) => (isValidPhone(value) ? undefined : 'invalid'),
  },
} as const satisfies FieldTable;
