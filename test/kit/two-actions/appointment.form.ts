/**
 * A test-only form with two actions on the kit (ADR 0053): "Find branch" checks only the branch code and shows the
 * page again with what it found; "Book visit" checks the name and the date and finishes. Booked visits are kept in
 * `booked` for the test to read.
 */
import { Type } from '@sinclair/typebox';
import { defineForm } from '../../../src/platform/forms/index.ts';
import type { Values } from '../../../src/platform/forms/index.ts';

export const APPOINTMENT_PATH = '/test-appointment';
export const booked: Values[] = [];

export const appointmentForm = defineForm<{ name: string; visit: string; code: string }>({
  path: APPOINTMENT_PATH,
  title: 'twoActions:title',
  template: 'appointment.njk',
  fields: {
    name: {
      macro: 'input',
      schema: Type.String({ maxLength: 100 }),
      required: true,
      label: 'twoActions:name.label',
      messages: { required: 'twoActions:name.required' },
    },
    visit: {
      macro: 'dateInput',
      required: true,
      label: 'twoActions:visit.label',
      hint: 'twoActions:visit.hint',
      hintValues: () => ({ year: 2027 }),
      messages: {
        required: 'twoActions:visit.required',
        incomplete: 'twoActions:visit.incomplete',
        invalid: 'twoActions:visit.invalid',
      },
    },
    code: {
      macro: 'input',
      schema: Type.String({ pattern: '^[A-Z]{2}[0-9]$' }),
      required: true,
      onlyFor: ['find'],
      label: 'twoActions:code.label',
      messages: { required: 'twoActions:code.required', pattern: 'twoActions:code.pattern' },
    },
  },
  actions: {
    book: {
      button: 'twoActions:book',
      run: (values) => {
        booked.push(values);
        return { redirect: '/' };
      },
    },
    find: {
      button: 'twoActions:find',
      checks: [],
      run: (values) => ({ show: { context: { found: values.code } } }),
    },
  },
});
