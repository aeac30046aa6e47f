/**
 * The form kit (ADR 0031) as a Fastify plugin: registers the routes of the forms and journeys it is given.
 * Register it after the platform plugins (session, views, auth guard, CSRF), like any feature:
 *
 *   await app.register(formKit, await discoverForms());   // src/forms.ts: every *.form.ts and *.journey.ts
 *
 * docs/recipes/add-a-form.md says how to add a form; src/features/README.md what a feature folder holds.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import nunjucks from 'nunjucks';
import type { Catalogue } from '../../i18n/catalogue.ts';
import { createCatalogue } from '../../i18n/catalogue.ts';
import type { Checked, Values } from './fields.ts';
import type { FormDeclaration, FormPage } from './form.ts';
import { registerForm, renderFormPage } from './form.ts';
import { pageLanguage } from './page.ts';
import type { JourneyDeclaration } from './journey.ts';
import { registerJourney } from './journey.ts';

export type { FieldDeclaration, FieldTable, FormError, Values } from './fields.ts';
export type { FormAction, FormDeclaration, FormPage, HiddenField, Outcome, Refusal, Reshow } from './form.ts';
export { elsewhere, refusalErrors, renderFormPage } from './form.ts';
export type { DatePart, DateParts, DateProblem, DateRules } from './date.ts';
export { DATE_PARTS, checkDate, realDate } from './date.ts';
export { checkFields } from './fields.ts';
export { defineForm, isFormDeclaration } from './form.ts';
export type { Branch, JourneyDeclaration, StepDeclaration } from './journey.ts';
export { defineJourney, FORMS_SESSION_KEY, isJourneyDeclaration } from './journey.ts';
export { FLASH_KEY, LANG_COOKIE, pageContext, pageLanguage, setFlash, takeFlash } from './page.ts';
export type { PageLanguage } from './page.ts';

/**
 * Registers one form from inside a feature's own plugin: for a form whose success handler needs the feature's
 * dependencies (a service, a backend), which a discovered `*.form.ts` constant cannot be given. Same routes as
 * discovery gives, with the app's catalogue.
 */
export function addForm<V extends Values>(app: FastifyInstance, form: FormDeclaration<V>): void {
  registerForm(app, app.words, form as unknown as FormDeclaration);
}

/**
 * Renders a kit form page from a feature's hand-written route (sign-up, account, password pages): in the request's
 * language, with the app's catalogue; `extra` sets another status or adds to the view context.
 */
export function renderForm(
  request: FastifyRequest,
  reply: FastifyReply,
  page: FormPage,
  values: Values,
  checked?: Pick<Checked, 'errors' | 'fieldErrors'>,
  extra?: { readonly status?: number; readonly context?: Readonly<Record<string, unknown>> },
): FastifyReply {
  const language = pageLanguage(request, reply, request.server.words);
  return renderFormPage(request, reply, language, page, values, checked, {}, extra);
}

export interface FormKitOptions {
  /** Default: the app's catalogue (src/i18n/locales). */
  readonly catalogue?: Catalogue;
  // Declarations of any field types; each is checked against its own fields at registration.
  readonly forms?: readonly FormDeclaration<never>[];
  readonly journeys?: readonly JourneyDeclaration[];
  /**
   * Folders to look templates up in besides the app's own (src/views, src/features): for forms that live outside
   * src/, which only tests have.
   */
  readonly templateDirs?: readonly string[];
}

export default async function formKit(app: FastifyInstance, options: FormKitOptions): Promise<void> {
  if (options.templateDirs !== undefined && options.templateDirs.length > 0) {
    const loader = (app.views as unknown as { loaders: unknown[] }).loaders[0];
    if (!(loader instanceof nunjucks.FileSystemLoader))
      throw new Error('form kit: the views have no file system loader');
    (loader as unknown as { searchPaths: string[] }).searchPaths.push(...options.templateDirs);
  }
  // The views' catalogue (one for the whole app) unless a test gives the kit its own.
  const catalogue = options.catalogue ?? (app.hasDecorator('words') ? app.words : createCatalogue());
  for (const form of options.forms ?? []) registerForm(app, catalogue, form as unknown as FormDeclaration);
  for (const journey of options.journeys ?? []) registerJourney(app, catalogue, journey);
}
