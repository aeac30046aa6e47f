/**
 * The "about you" form: the user's name, with the lengths the LPA data model allows
 * (MakeShared\DataModel\Common\Name: title 1-5, first and last names up to 50 characters).
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { PersonName } from '../../backends/credentials.ts';

export const NAME_LIMITS = { title: 5, first: 50, last: 50 } as const;

export const AboutYouBody = Type.Object({
  title: Type.Optional(Type.String({ maxLength: 1000 })),
  firstName: Type.Optional(Type.String({ maxLength: 1000 })),
  lastName: Type.Optional(Type.String({ maxLength: 1000 })),
  _csrf: Type.Optional(Type.String({ maxLength: 256 })),
}, { additionalProperties: false });

export type AboutYouBodyType = Static<typeof AboutYouBody>;

export interface FieldError {
  readonly text: string;
  readonly href: string;
}

export interface AboutYouValues {
  readonly title: string;
  readonly firstName: string;
  readonly lastName: string;
}

const length = (s: string) => Array.from(s).length;
// eslint-disable-next-line no-control-regex -- control characters are what we refuse
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Validates the form: the trimmed values (shown back as typed apart from spaces), the errors, and the name when valid. */
export function readAboutYou(body: AboutYouBodyType): { values: AboutYouValues; errors: FieldError[]; name: PersonName | null } {
  const values = { title: (body.title ?? '').trim(), firstName: (body.firstName ?? '').trim(), lastName: (body.lastName ?? '').trim() };
  const errors: FieldError[] = [];
  if (length(values.title) > NAME_LIMITS.title) errors.push({ text: `Title must be ${String(NAME_LIMITS.title)} characters or fewer`, href: '#title' });
  if (values.firstName === '') errors.push({ text: 'Enter your first names', href: '#firstName' });
  else if (length(values.firstName) > NAME_LIMITS.first) errors.push({ text: `First names must be ${String(NAME_LIMITS.first)} characters or fewer`, href: '#firstName' });
  if (values.lastName === '') errors.push({ text: 'Enter your last name', href: '#lastName' });
  else if (length(values.lastName) > NAME_LIMITS.last) errors.push({ text: `Last name must be ${String(NAME_LIMITS.last)} characters or fewer`, href: '#lastName' });
  for (const [field, label] of [['title', 'title'], ['firstName', 'first names'], ['lastName', 'last name']] as const) {
    if (CONTROL.test(values[field]) && !errors.some((e) => e.href === `#${field}`)) errors.push({ text: `Remove the special characters from your ${label}`, href: `#${field}` });
  }
  const order = ['#title', '#firstName', '#lastName'];
  errors.sort((a, b) => order.indexOf(a.href) - order.indexOf(b.href));
  if (errors.length > 0) return { values, errors, name: null };
  const name: PersonName = values.title === '' ? { first: values.firstName, last: values.lastName } : { title: values.title, first: values.firstName, last: values.lastName };
  return { values, errors, name };
}
