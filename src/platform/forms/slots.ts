/**
 * A kit page as a slotted view (ADR 0056): what decides its HTML (the form, each field's error and whether it has
 * an answer, the radio chosen) is the key; the person's typed answers and carried values are the strings views.ts
 * splices in, escaped as autoescape does. Only fields whose govuk-frontend macro shows its value once as escaped
 * text and otherwise only asks whether it is empty are slotted (input, textarea, character count, each part of a date
 * input, which re-indents it: spliced-page.ts; radios and password inputs put no typed text on the page); a page with
 * any other field is rendered per request. A hint's values worked out per render (a date example's year) and the
 * page's constant `data` are in the key too. slots.test.ts renders every kind of page both ways over hostile answers
 * and compares the bytes.
 */
import { DATE_PARTS, partName } from './date.ts';
import type { Checked, FieldMacro, Values } from './fields.ts';
import type { FormPage } from './page.ts';

/** Macros whose `value` is only ever shown as escaped text, or tested for being empty (see above). */
const TEXT_MACROS: ReadonlySet<FieldMacro> = new Set(['input', 'textarea', 'characterCount']);

export interface FormSlots {
  readonly key: string;
  /** The strings spliced in, in slot order. */
  readonly values: readonly string[];
  /** The answers and carried values to render the page with: `slot(i)` where the i-th string goes. */
  readonly shown: (slot: (i: number) => string) => { readonly values: Values; readonly hidden: Values };
}

/**
 * A number per field table or page data (declarations are module constants), so two forms on one template never share
 * a key.
 */
const tableIds = new WeakMap<object, number>();
let nextTableId = 0;
function tableId(fields: object): number {
  let id = tableIds.get(fields);
  if (id === undefined) {
    id = nextTableId++;
    tableIds.set(fields, id);
  }
  return id;
}

/** The page as a key and strings, or undefined when a field's macro is not one the kit can slot. */
export function formSlots(
  page: FormPage,
  values: Values,
  checked: Pick<Checked, 'errors' | 'fieldErrors' | 'wrongParts'> | undefined,
  hidden: Values,
): FormSlots | undefined {
  const strings: string[] = [];
  // Per value shown: '' (empty), a number (the slot of its text) or the radio option chosen (from the declaration).
  const shownStates: [string, string | number][] = [];
  const slotted = (value: string): string | number => (value === '' ? '' : strings.push(value) - 1);
  const state: unknown[] = [tableId(page.fields), page.action, page.title, page.button, page.names];
  if (page.data !== undefined) state.push(tableId(page.data));
  for (const name of page.names) {
    const field = page.fields[name];
    if (field === undefined) return undefined;
    const error = checked?.fieldErrors[name] ?? null;
    // Worked out at each render (fields.ts `fieldView`): a page cached in one year must not be shown in the next.
    if (field.hintValues !== undefined) state.push(field.hintValues());
    if (field.macro === 'dateInput') {
      // Each part: empty or a slot; the parts highlighted are the error's (all of them for an error without parts).
      const parts = DATE_PARTS.map((part) => slotted(values[partName(name, part)] ?? ''));
      DATE_PARTS.forEach((part, k) => shownStates.push([partName(name, part), parts[k] ?? '']));
      const wrong = error === null ? null : (checked?.wrongParts?.[name] ?? DATE_PARTS);
      state.push(
        parts.map((p) => (typeof p === 'number' ? 1 : p)),
        error,
        wrong,
      );
      continue;
    }
    const value = values[name] ?? '';
    let shown: string | number;
    if (field.macro === 'radios') {
      // The macro only compares the answer with each option: any other answer shows as none chosen.
      shown = field.options?.some((o) => o.value === value) === true ? value : '';
    } else if (field.macro === 'password') {
      shown = ''; // never shown back
    } else if (TEXT_MACROS.has(field.macro)) {
      shown = slotted(value);
    } else {
      return undefined;
    }
    shownStates.push([name, shown]);
    state.push(typeof shown === 'number' ? 1 : shown, error);
  }
  const hiddenStates: [string, string | number][] = Object.entries(hidden).map(([name, value]) => [
    name,
    slotted(value),
  ]);
  state.push(
    hiddenStates.map(([name, shown]) => [name, typeof shown === 'number']),
    checked !== undefined && checked.errors.length > 0 ? checked.errors.map((e) => [e.text, e.href]) : null,
  );
  return {
    key: JSON.stringify(state),
    values: strings,
    shown: (slot) => {
      const out = (shown: string | number): string => (typeof shown === 'number' ? slot(shown) : shown);
      return {
        values: Object.fromEntries(shownStates.map(([name, shown]) => [name, out(shown)])),
        hidden: Object.fromEntries(hiddenStates.map(([name, shown]) => [name, out(shown)])),
      };
    },
  };
}
