/**
 * The kit's tables without HTTP: how a journey's path is walked (branches, conditions, loops), how a posted value
 * maps to a rule's message, and the start-up checks that refuse a declaration the catalogue or route table cannot
 * serve.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { Type } from '@sinclair/typebox';
import { createCatalogue } from '../../src/i18n/catalogue.ts';
import { checkField } from '../../src/platform/forms/fields.ts';
import type { FieldDeclaration } from '../../src/platform/forms/fields.ts';
import { registerForm } from '../../src/platform/forms/form.ts';
import { defineJourney, nextStep, registerJourney, walk } from '../../src/platform/forms/journey.ts';
import { PATHS } from '../../src/paths.ts';

const field: FieldDeclaration = {
  macro: 'input',
  schema: Type.String({ maxLength: 5, pattern: '^[a-z]*$' }),
  required: true,
  label: 'kit:continue',
  messages: { required: 'm:required', maxLength: 'm:long', pattern: 'm:pattern' },
};

test('checkField: empty → required, then the first rule the schema breaks; optional empty is fine', () => {
  assert.equal(checkField(field, ''), 'm:required');
  assert.equal(checkField(field, '   '), 'm:required');
  assert.equal(checkField(field, 'abcdefg'), 'm:long');
  assert.equal(checkField(field, 'AB'), 'm:pattern');
  assert.equal(checkField(field, 'abc'), undefined);
  assert.equal(checkField({ ...field, required: false }, ''), undefined);
  const radios: FieldDeclaration = {
    ...field,
    schema: Type.Union([Type.Literal('a'), Type.Literal('b')]),
    messages: { required: 'm:required', invalid: 'm:invalid' },
  };
  assert.equal(checkField(radios, 'c'), 'm:invalid', 'no enum message: the invalid fallback');
});

const journey = defineJourney({
  name: 'walk',
  steps: {
    '/a': {
      title: 'kit:continue',
      fields: ['x'],
      next: [{ field: 'x', value: 'skip', next: '/c' }, { when: (v) => v.x === 'loop', next: '/a' }, '/b'],
    },
    '/b': { title: 'kit:continue', fields: ['y'], next: '/c' },
    '/c': { title: 'kit:checkAnswers.title', checkAnswers: true },
  },
  fields: { x: field, y: field },
  onComplete: () => ({ redirect: '/' }),
});

test('walk: the path runs through the steps done up to the first one not done', () => {
  assert.deepEqual(walk(journey, { answers: {}, done: [] }), { path: ['/a'], stop: '/a' });
  assert.deepEqual(walk(journey, { answers: { x: 'go' }, done: ['/a'] }), { path: ['/a', '/b'], stop: '/b' });
  assert.deepEqual(walk(journey, { answers: { x: 'skip' }, done: ['/a'] }), { path: ['/a', '/c'], stop: '/c' });
  assert.deepEqual(walk(journey, { answers: { x: 'go', y: 'b' }, done: ['/a', '/b'] }), {
    path: ['/a', '/b', '/c'],
    stop: '/c',
  });
  // A step done on another branch is not on the path.
  assert.deepEqual(walk(journey, { answers: { x: 'skip', y: 'b' }, done: ['/a', '/b'] }).path, ['/a', '/c']);
  // A loop ends the walk instead of spinning.
  assert.deepEqual(walk(journey, { answers: { x: 'loop' }, done: ['/a'] }), { path: ['/a'], stop: undefined });
  assert.equal(nextStep(journey.steps['/a'] ?? assert.fail(), { x: 'loop' }), '/a');
});

test('start-up checks: unknown next step, unknown field, missing English, GET public but POST not', () => {
  const catalogue = createCatalogue();
  const app = Fastify();
  const steps = { '/a': { title: 'kit:continue', fields: ['x'], next: '/nowhere' } };
  assert.throws(() => {
    registerJourney(app, catalogue, { ...journey, steps });
  }, /leads to \/nowhere, not a step/);
  assert.throws(() => {
    registerJourney(app, catalogue, { ...journey, steps: { '/a': { title: 'kit:continue', fields: ['nope'] } } });
  }, /has no field nope/);
  assert.throws(() => {
    registerJourney(app, catalogue, { ...journey, steps: { '/a': { title: 'walk:missing', fields: ['x'] } } });
  }, /no English message for walk:missing/);
  // /login is public for GET, HEAD and POST; /feedback-thanks only for GET and HEAD.
  const form = { title: 'kit:continue', fields: {}, onSuccess: () => ({ redirect: '/' }) };
  assert.throws(() => {
    registerForm(app, catalogue, { ...form, path: PATHS.feedbackThanks });
  }, /must be all public or all signed in/);
  assert.throws(() => {
    registerForm(app, catalogue, {
      ...form,
      path: '/x',
      fields: { f: { ...field, messages: { required: 'kit:nope' } } },
    });
  }, /no English message for kit:nope/);
});
