/**
 * The recipe's example (docs/recipes/add-a-form.md): a public form with three fields, declared once. It exists only
 * in the tests; a real form lives in src/features/<name>/ and its path in src/paths.ts.
 */
import { Type } from '@sinclair/typebox';
import { defineForm } from '../../../src/platform/forms/index.ts';

export const PAPER_FORM_PATH = '/test-request-a-paper-form';

/** What the success handler received, for the test to read. */
export const requests: { fullName: string; email: string; reason: string }[] = [];

export const paperForm = defineForm<{ fullName: string; email: string; reason: string }>({
  path: PAPER_FORM_PATH,
  title: 'paperForm:title',
  template: 'paper-form.njk',
  button: 'paperForm:send',
  fields: {
    fullName: {
      macro: 'input',
      schema: Type.String({ maxLength: 100 }),
      required: true,
      label: 'paperForm:fullName.label',
      messages: { required: 'paperForm:fullName.required', maxLength: 'paperForm:fullName.tooLong' },
      params: { autocomplete: 'name', spellcheck: false },
    },
    email: {
      macro: 'input',
      schema: Type.String({ maxLength: 256, pattern: '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$' }),
      required: true,
      label: 'paperForm:email.label',
      hint: 'paperForm:email.hint',
      messages: {
        required: 'paperForm:email.required',
        pattern: 'paperForm:email.invalid',
        maxLength: 'paperForm:email.invalid',
      },
      params: { type: 'email', autocomplete: 'email', spellcheck: false },
    },
    reason: {
      macro: 'characterCount',
      schema: Type.String({ maxLength: 500 }),
      label: 'paperForm:reason.label',
      messages: { maxLength: 'paperForm:reason.tooLong' },
    },
  },
  onSuccess: (values) => {
    requests.push(values);
    return { redirect: PAPER_FORM_PATH, flash: 'paperForm:sent' };
  },
});
