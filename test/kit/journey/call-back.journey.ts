/**
 * A three-step journey that exists only in the tests: name, how to contact you, and (only for "phone") the phone
 * number, then "check your answers". It proves the kit's order guard and the change-and-return loop.
 */
import { Type } from '@sinclair/typebox';
import { defineJourney } from '../../../src/platform/forms/index.ts';
import type { Values } from '../../../src/platform/forms/index.ts';

export const STEPS = {
  name: '/test-call-back/name',
  contact: '/test-call-back/contact',
  phone: '/test-call-back/phone',
  check: '/test-call-back/check',
} as const;

export const completed: Values[] = [];

export const callBackJourney = defineJourney({
  name: 'callBack',
  steps: {
    [STEPS.name]: { title: 'callBack:name.title', fields: ['fullName'], next: STEPS.contact },
    [STEPS.contact]: {
      title: 'callBack:contact.title',
      fields: ['contactBy'],
      next: [{ field: 'contactBy', value: 'phone', next: STEPS.phone }, STEPS.check],
    },
    [STEPS.phone]: { title: 'callBack:phone.title', fields: ['phone'], next: STEPS.check },
    [STEPS.check]: { title: 'kit:checkAnswers.title', checkAnswers: true },
  },
  fields: {
    fullName: {
      macro: 'input',
      schema: Type.String({ maxLength: 50 }),
      required: true,
      label: 'callBack:name.label',
      hint: 'callBack:name.hint',
      messages: { required: 'callBack:name.required', maxLength: 'callBack:name.tooLong' },
      params: { autocomplete: 'name', spellcheck: false },
    },
    contactBy: {
      macro: 'radios',
      schema: Type.Union([Type.Literal('email'), Type.Literal('phone')]),
      required: true,
      label: 'callBack:contact.label',
      messages: { required: 'callBack:contact.required', enum: 'callBack:contact.required' },
      options: [
        { value: 'email', text: 'callBack:contact.email' },
        { value: 'phone', text: 'callBack:contact.phone' },
      ],
      labelClasses: 'govuk-fieldset__legend--m',
    },
    phone: {
      macro: 'input',
      schema: Type.String({ pattern: '^[0-9 +()-]{6,20}$' }),
      required: true,
      label: 'callBack:phone.label',
      messages: { required: 'callBack:phone.required', pattern: 'callBack:phone.invalid' },
      params: { type: 'tel', autocomplete: 'tel', classes: 'govuk-input--width-20' },
    },
  },
  onComplete: (answers) => {
    completed.push(answers);
    return { redirect: STEPS.name, flash: 'callBack:sent' };
  },
});
