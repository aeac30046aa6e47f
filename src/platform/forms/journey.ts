/**
 * Journeys on the form kit (ADR 0031): a table of steps, each with its fields and where it leads, as
 * hmpo-form-wizard's steps.js. The kit guards the order as the PHP front's FormFlowChecker does: a step the person
 * cannot reach yet (an earlier step on their path is not done) redirects to the furthest step they can reach.
 * "Check your answers" links each answer to its step with `?change=1`; after the change the person goes back to
 * the summary, or first to any step the change has put on their path and that is not done yet.
 *
 * State lives in the session under one key, FORMS_SESSION_KEY, as JSON (`{ journey: { answers, done } }`), so it
 * crosses the PHP session codec as a plain string.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Catalogue } from '../../i18n/catalogue.ts';
import { requireSession } from '../session.ts';
import type { FieldTable, Values } from './fields.ts';
import { answerText, checkFields, fieldKeys } from './fields.ts';
import type { FormPage, Outcome } from './form.ts';
import { assertDeclaration, renderFormPage } from './form.ts';
import { pageContext, pageLanguage, setFlash } from './page.ts';

export const FORMS_SESSION_KEY = 'lpaFrontJourneys';
const CHANGE = 'change';

/** Where a step leads: a path, or branches tried in order (the last may be a plain path, the default). */
export type Branch =
  | string
  | { readonly field: string; readonly value: string; readonly next: string }
  | { readonly when: (answers: Values) => boolean; readonly next: string };

export interface StepDeclaration {
  /** Catalogue key of the page title. */
  readonly title: string;
  /** Names from the journey's field table; none for "check your answers". */
  readonly fields?: readonly string[];
  readonly next?: string | readonly Branch[];
  /** This step is the summary: it lists the answers on the path and its POST completes the journey. */
  readonly checkAnswers?: boolean;
  readonly template?: string;
  /** Catalogue key of the button. */
  readonly button?: string;
}

export interface JourneyDeclaration {
  /** Names the journey's state in the session. */
  readonly name: string;
  /** Steps by path (each in PATHS); the first is where the journey starts. */
  readonly steps: Readonly<Record<string, StepDeclaration>>;
  readonly fields: FieldTable;
  /** Runs on the summary's POST with the answers on the person's path only; the state is then cleared. */
  readonly onComplete: (answers: Values, request: FastifyRequest) => Outcome | Promise<Outcome>;
}

const JOURNEYS = new WeakSet<object>();

export function defineJourney(declaration: JourneyDeclaration): JourneyDeclaration {
  JOURNEYS.add(declaration);
  return declaration;
}

/** Whether a value was made by defineJourney (what discovery registers). */
export function isJourneyDeclaration(value: unknown): value is JourneyDeclaration {
  return typeof value === 'object' && value !== null && JOURNEYS.has(value);
}

interface State {
  answers: Record<string, string>;
  done: string[];
}

function readAll(request: FastifyRequest): Record<string, State> {
  const raw = requireSession(request).get(FORMS_SESSION_KEY);
  if (typeof raw !== 'string') return {};
  try {
    const parsed = JSON.parse(raw) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, State>)
      : {};
  } catch {
    return {};
  }
}

function readState(request: FastifyRequest, name: string): State {
  // Read as unknown: the session may hold what an older version of the journey wrote.
  const state: unknown = readAll(request)[name];
  const answers: Record<string, string> = Object.create(null) as Record<string, string>;
  if (typeof state !== 'object' || state === null) return { answers, done: [] };
  const { answers: stored, done } = state as { answers?: unknown; done?: unknown };
  if (typeof stored === 'object' && stored !== null)
    for (const [k, v] of Object.entries(stored)) if (typeof v === 'string') answers[k] = v;
  return { answers, done: Array.isArray(done) ? done.filter((d): d is string => typeof d === 'string') : [] };
}

function writeState(request: FastifyRequest, name: string, state: State | undefined): void {
  const all = readAll(request);
  if (state === undefined) Reflect.deleteProperty(all, name);
  else all[name] = state;
  const session = requireSession(request);
  if (Object.keys(all).length === 0) session.delete(FORMS_SESSION_KEY);
  else session.set(FORMS_SESSION_KEY, JSON.stringify(all));
}

/** The step after `step` for these answers. */
export function nextStep(step: StepDeclaration, answers: Values): string | undefined {
  const next = step.next;
  if (next === undefined || typeof next === 'string') return next;
  for (const branch of next) {
    if (typeof branch === 'string') return branch;
    if ('field' in branch ? answers[branch.field] === branch.value : branch.when(answers)) return branch.next;
  }
  return undefined;
}

/**
 * The person's path through the journey: from the first step, following `next` through the steps they have done,
 * up to and including the first one not done (the furthest they may reach). `stop` is that step.
 */
export function walk(journey: JourneyDeclaration, state: State): { path: string[]; stop: string | undefined } {
  const path: string[] = [];
  const done = new Set(state.done);
  let at: string | undefined = Object.keys(journey.steps)[0];
  while (at !== undefined && !path.includes(at)) {
    const step = journey.steps[at];
    if (step === undefined) throw new Error(`journey ${journey.name}: no step ${at}`);
    path.push(at);
    if (!done.has(at)) return { path, stop: at };
    at = nextStep(step, state.answers);
  }
  return { path, stop: undefined };
}

function withChange(path: string, change: boolean): string {
  return change ? `${path}?${CHANGE}=1` : path;
}

export function registerJourney(app: FastifyInstance, catalogue: Catalogue, journey: JourneyDeclaration): void {
  const stepPaths = Object.keys(journey.steps);
  const summary = stepPaths.find((p) => journey.steps[p]?.checkAnswers === true);
  for (const [path, step] of Object.entries(journey.steps)) {
    const targets =
      step.next === undefined
        ? []
        : typeof step.next === 'string'
          ? [step.next]
          : step.next.map((b) => (typeof b === 'string' ? b : b.next));
    for (const target of targets)
      if (!stepPaths.includes(target))
        throw new Error(`journey ${journey.name}: ${path} leads to ${target}, not a step`);
    const keys = [
      step.title,
      step.button ?? 'kit:continue',
      ...(step.fields ?? []).flatMap((f) => {
        const field = journey.fields[f];
        if (field === undefined) throw new Error(`journey ${journey.name}: ${path} has no field ${f}`);
        return fieldKeys(field);
      }),
    ];
    assertDeclaration(`journey ${journey.name}`, path, keys, catalogue, ['GET', 'HEAD', 'POST']);
    if (step.checkAnswers === true) registerSummary(path, step);
    else registerStep(path, step);
  }

  /** Sends the person to the furthest step they may reach, when `path` is not on their path yet. */
  function guard(request: FastifyRequest, reply: FastifyReply, path: string, state: State): FastifyReply | undefined {
    const { path: reachable, stop } = walk(journey, state);
    if (reachable.includes(path)) return undefined;
    return reply.redirect(stop ?? reachable[reachable.length - 1] ?? stepPaths[0] ?? '/', 303);
  }

  function isChange(request: FastifyRequest): boolean {
    const query = request.query as Record<string, unknown> | null;
    return query?.[CHANGE] === '1' && summary !== undefined;
  }

  function registerStep(path: string, step: StepDeclaration): void {
    const names = step.fields ?? [];
    const page = (change: boolean): FormPage => ({
      template: step.template ?? 'kit/form.njk',
      title: step.title,
      action: withChange(path, change),
      button: step.button ?? 'kit:continue',
      fields: journey.fields,
      names,
    });
    app.get(path, async (request, reply) => {
      const state = readState(request, journey.name);
      const refused = guard(request, reply, path, state);
      if (refused !== undefined) return refused;
      return renderFormPage(
        request,
        reply,
        pageLanguage(request, reply, catalogue),
        page(isChange(request)),
        state.answers,
      );
    });
    app.post(path, async (request, reply) => {
      const state = readState(request, journey.name);
      const refused = guard(request, reply, path, state);
      if (refused !== undefined) return refused;
      const change = isChange(request);
      const language = pageLanguage(request, reply, catalogue);
      const checked = checkFields(journey.fields, names, request.body, language.t);
      if (checked.errors.length > 0)
        return renderFormPage(request, reply, language, page(change), checked.values, checked);
      Object.assign(state.answers, checked.normalised);
      if (!state.done.includes(path)) state.done.push(path);
      writeState(request, journey.name, state);
      if (change && summary !== undefined) {
        // Back to the summary, unless the change put a step on the path that is not done yet: that one first.
        const { stop } = walk(journey, state);
        return reply.redirect(stop === undefined || stop === summary ? summary : withChange(stop, true), 303);
      }
      return reply.redirect(nextStep(step, state.answers) ?? path, 303);
    });
  }

  function registerSummary(path: string, step: StepDeclaration): void {
    app.get(path, async (request, reply) => {
      const state = readState(request, journey.name);
      const refused = guard(request, reply, path, state);
      if (refused !== undefined) return refused;
      const language = pageLanguage(request, reply, catalogue);
      const { t } = language;
      const rows = walk(journey, state)
        .path.filter((p) => p !== path)
        .flatMap((stepPath) =>
          (journey.steps[stepPath]?.fields ?? []).map((name) => {
            const field = journey.fields[name];
            if (field === undefined) throw new Error(`journey ${journey.name}: no field ${name}`);
            const label = t(field.label);
            return {
              key: { text: label },
              value: { text: answerText(field, state.answers[name] ?? '', t) },
              actions: {
                items: [
                  {
                    href: `${withChange(stepPath, true)}#${name}`,
                    text: t('kit:checkAnswers.change'),
                    visuallyHiddenText: label,
                  },
                ],
              },
            };
          }),
        );
      return reply.view(step.template ?? 'kit/check-answers.njk', {
        ...pageContext(request, language),
        pageTitle: t(step.title),
        rows,
        form: { action: path, button: t(step.button ?? 'kit:checkAnswers.submit') },
      });
    });
    app.post(path, async (request, reply) => {
      const state = readState(request, journey.name);
      const refused = guard(request, reply, path, state);
      if (refused !== undefined) return refused;
      const onPath = walk(journey, state).path;
      const answers: Record<string, string> = {};
      for (const stepPath of onPath)
        for (const name of journey.steps[stepPath]?.fields ?? []) answers[name] = state.answers[name] ?? '';
      const outcome = await journey.onComplete(answers, request);
      writeState(request, journey.name, undefined);
      if (outcome.flash !== undefined) setFlash(request, outcome.flash);
      return reply.redirect(outcome.redirect, 303);
    });
  }
}
