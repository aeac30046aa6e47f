/**
 * A kit page as a slotted view (ADR 0056): what decides its HTML (the form, each field's error and whether it has
 * an answer, the radio chosen) is the key; the person's typed answers and carried values are the strings views.ts
 * splices in, escaped as autoescape does. Only fields whose govuk-frontend macro shows its value once as escaped
 * text and otherwise only asks whether it is empty are slotted (input, textarea, character count; radios and
 * password inputs put no typed text on the page); a page with any other field is rendered per request.
 * slots.test.ts renders every kind of page both ways over hostile answers and compares the bytes.
 */
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

/** A number per field table (declarations are module constants), so two forms on one template never share a key. */
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
  checked: Pick<Checked, 'errors' | 'fieldErrors'> | undefined,
  hidden: Values,
): FormSlots | undefined {
  const strings: string[] = [];
  // Per field: '' (empty), a number (the slot of its text) or the radio option chosen (a value from the declaration).
  const fieldStates: (string | number)[] = [];
  const state: unknown[] = [tableId(page.fields), page.action, page.title, page.button, page.names];
  for (const name of page.names) {
    const field = page.fields[name];
    if (field === undefined) return undefined;
    const value = values[name] ?? '';
    let shown: string | number;
    if (field.macro === 'radios') {
      // The macro only compares the answer with each option: any other answer shows as none chosen.
      shown = field.options?.some((o) => o.value === value) === true ? value : '';
    } else if (field.macro === 'password') {
      shown = ''; // never shown back
    } else if (TEXT_MACROS.has(field.macro)) {
      shown = value === '' ? '' : strings.push(value) - 1;
    } else {
      return undefined;
    }
    fieldStates.push(shown);
    state.push(typeof shown === 'number' ? 1 : shown, checked?.fieldErrors[name] ?? null);
  }
  const hiddenStates: [string, string | number][] = Object.entries(hidden).map(([name, value]) => [
    name,
    value === '' ? '' : strings.push(value) - 1,
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
        values: Object.fromEntries(page.names.map((name, i) => [name, out(fieldStates[i] ?? '')])),
        hidden: Object.fromEntries(hiddenStates.map(([name, shown]) => [name, out(shown)])),
      };
    },
  };
}
