/**
 * Fields of the form kit: what a field is (its govuk-frontend macro, its TypeBox schema, its words), how a posted
 * value is checked, and the parameters handed to the macro. Words are catalogue keys, never text (ADR 0031): a
 * field's label, hint and one message per rule live beside it as keys into the form's namespace.
 */
import type { TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import type { Translate } from '../../i18n/catalogue.ts';
import type { DatePart, DateRules } from './date.ts';
import { DATE_PARTS, checkDate, dateItems, dateKeys, partName, postedParts, realDate } from './date.ts';

/** The govuk-frontend macros the kit renders fields with. */
export type FieldMacro = 'input' | 'textarea' | 'characterCount' | 'radios' | 'password' | 'dateInput';

/** The rules a message can be given for; the kit maps TypeBox's error to one of these. */
export type Rule = 'required' | 'maxLength' | 'minLength' | 'pattern' | 'enum' | 'invalid';

export interface FieldOption {
  readonly value: string;
  /** Catalogue key of the option's text. */
  readonly text: string;
}

export interface FieldDeclaration {
  readonly macro: FieldMacro;
  /**
   * Checks a non-empty value (a string). Use Type.String({ maxLength, pattern }) or a union of literals. Not for a
   * date (its `date` rules judge it) or a field with its own `check`.
   */
  readonly schema?: TSchema;
  /** An empty answer fails with the `required` message; without it an empty answer is accepted as ''. */
  readonly required?: boolean;
  /**
   * Required only when this says so, given every field's value as posted (trimmed): an address line needed once any
   * line of the address is given.
   */
  readonly requiredIf?: (values: Values) => boolean;
  /** Catalogue keys. `label` is the legend for radios. */
  readonly label: string;
  readonly hint?: string;
  /** Values for the hint's placeholders, worked out at each render (a date example from this year). */
  readonly hintValues?: () => Readonly<Record<string, string | number>>;
  /**
   * Catalogue key per rule; `required` is needed when the field is, and one of the others for the schema. A field
   * with its own `check` may name rules of its own (a password's `digit`, `common`) and give each a message.
   */
  readonly messages: Readonly<Partial<Record<Rule, string>>> & Readonly<Record<string, string | undefined>>;
  readonly options?: readonly FieldOption[];
  /** Extra macro parameters that are not words: autocomplete, type, spellcheck, classes, maxlength, rows. */
  readonly params?: Readonly<Record<string, unknown>>;
  /** Classes for the label or legend (e.g. govuk-label--l when the field is the page's question). */
  readonly labelClasses?: string;
  /** Makes the label the page heading (one question per page). */
  readonly isPageHeading?: boolean;
  /**
   * A rule the schema cannot say (an email address as the live service accepts it, characters as a person counts
   * them): checks the non-empty value instead of the schema, answering the rule broken (one of `Rule` or a rule
   * of the field's own, with its message in `messages`) or undefined.
   */
  readonly check?: (value: string) => string | undefined;
  /**
   * Taken exactly as typed: not trimmed, empty only when it has no characters at all, and never shown back
   * (a password).
   */
  readonly raw?: boolean;
  /** What the success handler receives for a valid trimmed value (lowercased email, \n line endings). */
  readonly normalise?: (value: string) => string;
  /**
   * A date (`macro: 'dateInput'`, src/platform/forms/date.ts): its parts are posted and shown back as `<name>-day`,
   * `-month`, `-year`; the success handler receives `<name>` as YYYY-MM-DD ('' when no part is given).
   */
  readonly date?: DateRules;
  /**
   * The actions (buttons) of a form with several that this field is an input of, a search box for its button:
   * checked only when one of them is pressed, and shown back only on their answer (empty on the others').
   */
  readonly onlyFor?: readonly string[];
}

export type FieldTable = Readonly<Record<string, FieldDeclaration>>;
export type Values = Readonly<Record<string, string>>;

/** GOV.UK error summary entry: the message and the field it links to (the link focuses the field). */
export interface FormError {
  readonly text: string;
  readonly href: string;
}

/** The id the error summary links to: the input itself, or the first radio (govuk-frontend ids it `idPrefix`). */
export function fieldId(name: string): string {
  return name;
}

function ruleOf(schema: TSchema | undefined, value: string): Rule | undefined {
  if (schema === undefined) return undefined;
  const error = Value.Errors(schema, value).First();
  if (error === undefined) return undefined;
  switch (error.type) {
    case ValueErrorType.StringMaxLength:
      return 'maxLength';
    case ValueErrorType.StringMinLength:
      return 'minLength';
    case ValueErrorType.StringPattern:
      return 'pattern';
    case ValueErrorType.Union:
    case ValueErrorType.Literal:
      return 'enum';
    default:
      return 'invalid';
  }
}

/** The key of the message for a value, or undefined when it is valid. `required`: what `requiredIf` answered. */
export function checkField(field: FieldDeclaration, value: string, required = field.required): string | undefined {
  if (field.raw === true ? value.length === 0 : value.trim() === '')
    return required === true ? (field.messages.required ?? field.messages.invalid) : undefined;
  const rule = field.check === undefined ? ruleOf(field.schema, value) : field.check(value);
  if (rule === undefined) return undefined;
  return field.messages[rule] ?? field.messages.invalid;
}

export interface Checked {
  /** Every declared field, as posted (trimmed), '' when absent: what the page shows again. */
  readonly values: Values;
  /** The same, normalised as each field says: what the success handler receives. */
  readonly normalised: Values;
  readonly errors: readonly FormError[];
  /** Per field, the message shown inline. */
  readonly fieldErrors: Readonly<Record<string, string>>;
  /** Per date field with an error, the parts it is about (highlighted). */
  readonly wrongParts?: Readonly<Record<string, readonly DatePart[]>>;
}

/** A date field's message key and wrong parts, or undefined when it is valid (or empty and optional). */
function checkDateField(field: FieldDeclaration, parts: Readonly<Record<DatePart, string>>) {
  if (DATE_PARTS.every((p) => parts[p] === '')) {
    if (field.required !== true) return undefined;
    return { key: field.messages.required ?? field.messages.invalid, parts: DATE_PARTS };
  }
  const problem = (field.date?.check ?? checkDate)(parts);
  if (problem === undefined) return undefined;
  return { key: field.messages[problem.rule] ?? field.messages.invalid, parts: problem.parts };
}

/**
 * Checks the declared fields of a posted body; other fields of the body are ignored. `judge`: the names checked
 * (a form action's scope); the others are read and shown back but not judged. Default all.
 */
export function checkFields(
  fields: FieldTable,
  names: readonly string[],
  body: unknown,
  t: Translate,
  judge?: ReadonlySet<string>,
): Checked {
  const form = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const values: Record<string, string> = {};
  const normalised: Record<string, string> = {};
  const errors: FormError[] = [];
  const fieldErrors: Record<string, string> = {};
  const wrongParts: Record<string, readonly DatePart[]> = {};
  let posted: Values | undefined; // every value, for a field required only with others: read once, when one asks
  const postedValues = (): Values => {
    posted ??= Object.fromEntries(
      Object.keys(fields).map((n) => [n, Object.hasOwn(form, n) && typeof form[n] === 'string' ? form[n].trim() : '']),
    );
    return posted;
  };
  for (const name of names) {
    const field = fields[name];
    if (field === undefined) throw new Error(`form kit: no field ${name}`);
    if (field.macro === 'dateInput') {
      const parts = postedParts(form, name);
      for (const p of DATE_PARTS) values[partName(name, p)] = parts[p];
      const problem = judge !== undefined && !judge.has(name) ? undefined : checkDateField(field, parts);
      const iso = realDate(parts.day, parts.month, parts.year);
      normalised[name] = problem === undefined && iso !== null ? iso : '';
      if (problem?.key !== undefined) {
        const text = t(problem.key);
        errors.push({ text, href: `#${partName(name, problem.parts[0] ?? 'day')}` });
        fieldErrors[name] = text;
        wrongParts[name] = problem.parts;
      }
      continue;
    }
    const raw = Object.hasOwn(form, name) ? form[name] : undefined;
    const posted = typeof raw === 'string' ? raw : '';
    const value = field.raw === true ? posted : posted.trim();
    values[name] = field.raw === true ? '' : value;
    normalised[name] = field.normalise === undefined ? value : field.normalise(value);
    const required = field.requiredIf === undefined ? field.required : field.requiredIf(postedValues());
    const key = judge !== undefined && !judge.has(name) ? undefined : checkField(field, value, required);
    if (key !== undefined) {
      const text = t(key);
      errors.push({ text, href: `#${fieldId(name)}` });
      fieldErrors[name] = text;
    }
  }
  return { values, normalised, errors, fieldErrors, wrongParts };
}

/** What the kit's `kitField` macro needs: the macro's name and its parameters, words already translated. */
export interface FieldView {
  readonly macro: FieldMacro;
  readonly params: Readonly<Record<string, unknown>>;
}

/** Parameters for govuk-frontend's macro; every string a person reads comes through `t`. */
export function fieldView(
  name: string,
  field: FieldDeclaration,
  value: string,
  error: string | undefined,
  t: Translate,
  /** A date's parts come from all the values; the parts its error is about are highlighted. */
  date?: { readonly values: Values; readonly wrong?: readonly DatePart[] },
): FieldView {
  const label = { text: t(field.label), classes: field.labelClasses, isPageHeading: field.isPageHeading === true };
  const common: Record<string, unknown> = {
    name,
    hint: field.hint === undefined ? undefined : { text: t(field.hint, field.hintValues?.()) },
    errorMessage: error === undefined ? false : { text: error, visuallyHiddenText: t('govuk:errorPrefix') },
    ...field.params,
  };
  if (field.macro === 'radios') {
    return {
      macro: 'radios',
      params: {
        ...common,
        idPrefix: fieldId(name),
        fieldset: { legend: label },
        items: (field.options ?? []).map((o) => ({ value: o.value, text: t(o.text), checked: o.value === value })),
      },
    };
  }
  if (field.macro === 'dateInput') {
    // govuk-frontend's date input; `name` is not one of its parameters (namePrefix is).
    const params: Record<string, unknown> = { ...common };
    delete params.name;
    return {
      macro: 'dateInput',
      params: {
        ...params,
        id: name,
        namePrefix: name,
        fieldset: { legend: label },
        items: dateItems(
          name,
          field.date,
          date?.values ?? {},
          error === undefined ? [] : (date?.wrong ?? DATE_PARTS),
          t,
        ),
      },
    };
  }
  if (field.macro === 'password') {
    // govuk-frontend's password input: its show/hide button's words too; never a value (raw fields are not shown back).
    return {
      macro: 'password',
      params: {
        ...common,
        id: fieldId(name),
        label,
        showPasswordText: t('govuk:password.show'),
        hidePasswordText: t('govuk:password.hide'),
        showPasswordAriaLabelText: t('govuk:password.showAriaLabel'),
        hidePasswordAriaLabelText: t('govuk:password.hideAriaLabel'),
        passwordShownAnnouncementText: t('govuk:password.shown'),
        passwordHiddenAnnouncementText: t('govuk:password.hidden'),
      },
    };
  }
  const params: Record<string, unknown> = { ...common, id: fieldId(name), label, value };
  if (field.macro === 'characterCount') {
    // The limit the person is told is the schema's, unless the declaration says otherwise.
    const { maxLength } = (field.schema ?? {}) as { maxLength?: unknown };
    if (params.maxlength === undefined && typeof maxLength === 'number') params.maxlength = maxLength;
    Object.assign(params, {
      charactersUnderLimitText: {
        one: t('govuk:characterCount.underOne'),
        other: t('govuk:characterCount.underOther'),
      },
      charactersOverLimitText: { one: t('govuk:characterCount.overOne'), other: t('govuk:characterCount.overOther') },
      charactersAtLimitText: t('govuk:characterCount.atLimit'),
      textareaDescriptionText: t('govuk:characterCount.descriptionOther'),
    });
  }
  return { macro: field.macro, params };
}

/** The text of an answer as "check your answers" shows it: the option's words for radios. */
export function answerText(field: FieldDeclaration, value: string, t: Translate): string {
  if (value === '') return t('kit:checkAnswers.notGiven');
  const option = field.options?.find((o) => o.value === value);
  return option === undefined ? value : t(option.text);
}

/** Every catalogue key a field uses, to check at start-up that English has them all. */
export function fieldKeys(field: FieldDeclaration): string[] {
  const messages = Object.values(field.messages).filter((key): key is string => key !== undefined);
  return [
    field.label,
    ...(field.hint === undefined ? [] : [field.hint]),
    ...messages,
    ...(field.options ?? []).map((o) => o.text),
    ...(field.macro === 'dateInput' ? dateKeys(field.date) : []),
  ];
}
