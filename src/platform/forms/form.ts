/**
 * A single form on the kit (ADR 0031): one declaration gives GET and POST on one path. The platform already gives
 * such a route its session, auth guard (the path's access rule is PUBLIC_ROUTES, src/paths.ts), CSRF check on POST
 * (templates call csrfToken()), body limits and security headers; the kit adds validation with GOV.UK errors,
 * a 400 re-render with the person's answers (escaped by the macros), POST-redirect-GET and the flash message.
 */
import type { TSchema } from '@sinclair/typebox';
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Catalogue, Translate } from '../../i18n/catalogue.ts';
import { isPublicRoute } from '../../paths.ts';
import type { Checked, FieldTable, FormError, Values } from './fields.ts';
import { checkFields, fieldKeys, fieldView } from './fields.ts';
import type { PageLanguage } from './page.ts';
import { FLASH_KEY, pageContext, pageLanguage, setFlash } from './page.ts';
import { formSlots } from './slots.ts';

/** What a success handler answers: where to send the person (303), and an optional flash message key. */
export interface Outcome {
  readonly redirect: string;
  readonly flash?: string;
}

/**
 * A value the page carries in a hidden input, not a question (where the person came from): taken from the request
 * on GET, from the body on POST, and only ever what `accept` makes of it (undefined: not carried).
 */
export interface HiddenField {
  readonly initial?: (request: FastifyRequest) => string | undefined;
  readonly accept: (posted: unknown) => string | undefined;
}

/**
 * A success handler may also refuse the answers (a check only the backend can make): errors shown like the kit's,
 * with status 400 unless it says otherwise (503: the backend could not answer), and extra view context if any.
 */
export interface Refusal {
  readonly refuse: readonly { readonly field: string; readonly message: string }[];
  readonly status?: number;
  readonly context?: Readonly<Record<string, unknown>>;
}

export interface FormDeclaration<V extends Values = Values> {
  /** The route, from PATHS. Public or signed-in as PUBLIC_ROUTES says. */
  readonly path: string;
  /** Catalogue key of the page title (and heading). */
  readonly title: string;
  readonly fields: FieldTable;
  /** Template: default `kit/form.njk`; a form's own extends it to add words around the fields. */
  readonly template?: string;
  /** Catalogue key of the button; default `kit:continue`. */
  readonly button?: string;
  /** Values shown on GET (e.g. what the backend holds); default all empty. */
  readonly load?: (request: FastifyRequest) => Values | Promise<Values>;
  /** Runs on valid answers only (normalised as each field says), with the hidden values accepted. */
  readonly onSuccess: (
    values: V,
    request: FastifyRequest,
    hidden: Values,
  ) => Outcome | Refusal | Promise<Outcome | Refusal>;
  /** Hidden values the page carries; see HiddenField. */
  readonly hidden?: Readonly<Record<string, HiddenField>>;
  /** Bounds on the POST body's shape (sizes, no unknown fields): a body outside them is a bare 400. */
  readonly body?: TSchema;
  /** Other GET paths (from PATHS) that show the same form, posting to `path` (sign-in's timeout page). */
  readonly alsoShownAt?: readonly string[];
  /** On GET, a page to send the person to instead (302), e.g. a signed-in person asking to sign in. */
  readonly skipTo?: (request: FastifyRequest) => string | undefined;
  /** Extra view context for every render of the page (GET and a POST's re-render); the page is then never blank. */
  readonly context?: (request: FastifyRequest) => Readonly<Record<string, unknown>>;
  /**
   * Runs on every POST once the fields are checked, valid or not, before the answer: rate limits and audit, which
   * must see each attempt. Throws to refuse the request (an HttpError, e.g. 429).
   */
  readonly beforeAnswer?: (checked: Checked, request: FastifyRequest, reply: FastifyReply) => void | Promise<void>;
  /**
   * The routes' config (ADR 0014): platform options such as `csrfTimedForm`, and how the page is rendered (`render`,
   * src/platform/views.ts): with `render: 'prerendered'` the blank page is rendered once per language and reused.
   */
  readonly config?: FastifyContextConfig;
}

const FORMS = new WeakSet<object>();

/** Declares a form; the type parameter names the fields the success handler receives. */
export function defineForm<V extends Values = Values>(declaration: FormDeclaration<V>): FormDeclaration<V> {
  FORMS.add(declaration);
  return declaration;
}

/** Whether a value was made by defineForm (what discovery registers). */
export function isFormDeclaration(value: unknown): value is FormDeclaration {
  return typeof value === 'object' && value !== null && FORMS.has(value);
}

/** Fails start-up on a declaration the catalogue or the route table cannot serve. */
export function assertDeclaration(
  what: string,
  path: string,
  keys: readonly string[],
  catalogue: Catalogue,
  methods: readonly string[],
): void {
  const missing = keys.filter((k) => !catalogue.has(k));
  if (missing.length > 0) throw new Error(`${what}: no English message for ${missing.join(', ')}`);
  const access = methods.map((m) => isPublicRoute(path, m));
  if (access.some((a) => a !== access[0])) {
    throw new Error(`${what}: ${methods.join(', ')} of ${path} must be all public or all signed in (PUBLIC_ROUTES)`);
  }
}

export interface FormPage {
  readonly template: string;
  readonly title: string;
  readonly action: string;
  readonly button: string;
  readonly fields: FieldTable;
  readonly names: readonly string[];
}

/** Renders a kit form page: 200 with values, or 400 with the errors and the person's answers. */
export function renderFormPage(
  request: FastifyRequest,
  reply: FastifyReply,
  language: PageLanguage,
  page: FormPage,
  values: Values,
  checked?: Pick<Checked, 'errors' | 'fieldErrors'>,
  hidden: Values = {},
  extra?: { readonly status?: number; readonly context?: Readonly<Record<string, unknown>> },
): FastifyReply {
  const status = extra?.status ?? (checked !== undefined && checked.errors.length > 0 ? 400 : 200);
  // Without context of its own or a message waiting, the page is its key and the answers (ADR 0056, slots.ts).
  const slots =
    extra?.context === undefined && request.session?.get(FLASH_KEY) === undefined
      ? formSlots(page, values, checked, hidden)
      : undefined;
  if (slots !== undefined) {
    return reply.slotView(
      page.template,
      {
        lang: language.lang,
        key: slots.key,
        values: slots.values,
        context: (slot) => {
          const shown = slots.shown(slot);
          return formViewContext(language, page, shown.values, checked, shown.hidden);
        },
      },
      status,
    );
  }
  return reply.view(
    page.template,
    { ...formContext(request, language, page, values, checked, hidden), ...extra?.context },
    status,
  );
}

/** The view context of a kit form page. */
function formContext(
  request: FastifyRequest | undefined,
  language: PageLanguage,
  page: FormPage,
  values: Values,
  checked?: Pick<Checked, 'errors' | 'fieldErrors'>,
  hidden: Values = {},
): Record<string, unknown> {
  const { t } = language;
  const views = page.names.map((name) => {
    const field = page.fields[name];
    if (field === undefined) throw new Error(`form kit: no field ${name}`);
    return fieldView(name, field, values[name] ?? '', checked?.fieldErrors[name], t);
  });
  const questionIsHeading = page.names.length === 1 && page.fields[page.names[0] ?? '']?.isPageHeading === true;
  const errors = checked !== undefined && checked.errors.length > 0 ? checked.errors : undefined;
  return {
    // No request: the blank page shared by everyone, so no flash message (that takes a session).
    ...(request === undefined
      ? { lang: language.lang, htmlLang: language.lang, t, flash: undefined }
      : pageContext(request, language)),
    pageTitle: t(page.title),
    errors,
    form: {
      action: page.action,
      button: t(page.button),
      fields: views,
      questionIsHeading,
      hidden: Object.entries(hidden).map(([name, value]) => ({ name, value })),
    },
  };
}

/** The view context of a kit page shown without a request's own parts (no flash message): tests compare with it. */
export function formViewContext(
  language: PageLanguage,
  page: FormPage,
  values: Values,
  checked?: Pick<Checked, 'errors' | 'fieldErrors'>,
  hidden: Values = {},
): Record<string, unknown> {
  return formContext(undefined, language, page, values, checked, hidden);
}

/**
 * The blank page's context, one frozen object per language: what a `render: 'prerendered'` route's view is
 * rendered once from (views.ts reuses a page only for the same context object).
 */
function blankContexts(page: FormPage): (language: PageLanguage) => Readonly<Record<string, unknown>> {
  const byLanguage = new Map<string, Readonly<Record<string, unknown>>>();
  return (language) => {
    let context = byLanguage.get(language.lang);
    if (context === undefined) {
      context = Object.freeze(formContext(undefined, language, page, {}));
      byLanguage.set(language.lang, context);
    }
    return context;
  };
}

/** Refusal entries as GOV.UK errors. */
export function refusalErrors(refusal: Refusal, t: Translate): Pick<Checked, 'errors' | 'fieldErrors'> {
  const errors: FormError[] = [];
  const fieldErrors: Record<string, string> = {};
  for (const r of refusal.refuse) {
    const text = t(r.message);
    errors.push({ text, href: `#${r.field}` });
    fieldErrors[r.field] = text;
  }
  return { errors, fieldErrors };
}

export function registerForm(app: FastifyInstance, catalogue: Catalogue, form: FormDeclaration): void {
  const names = Object.keys(form.fields);
  const page: FormPage = {
    template: form.template ?? 'kit/form.njk',
    title: form.title,
    action: form.path,
    button: form.button ?? 'kit:continue',
    fields: form.fields,
    names,
  };
  assertDeclaration(
    `form ${form.path}`,
    form.path,
    [form.title, page.button, ...Object.values(form.fields).flatMap(fieldKeys)],
    catalogue,
    ['GET', 'HEAD', 'POST'],
  );
  for (const alias of form.alsoShownAt ?? []) {
    if (isPublicRoute(alias, 'GET') !== isPublicRoute(form.path, 'GET'))
      throw new Error(`form ${form.path}: ${alias} must be as public as the form (PUBLIC_ROUTES)`);
  }

  const hiddenFields = Object.entries(form.hidden ?? {});
  const carried = (pick: (field: HiddenField, name: string) => string | undefined): Values => {
    const values: Record<string, string> = {};
    for (const [name, field] of hiddenFields) {
      const value = pick(field, name);
      if (value !== undefined) values[name] = value;
    }
    return values;
  };
  const config = form.config ?? {};
  let blank: ((language: PageLanguage) => Readonly<Record<string, unknown>>) | undefined;

  const show = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const elsewhere = form.skipTo?.(request);
    if (elsewhere !== undefined) return reply.redirect(elsewhere, 302);
    const language = pageLanguage(request, reply, catalogue);
    const hidden = carried((f) => f.initial?.(request));
    const values = form.load === undefined ? {} : await form.load(request);
    // The same page for everyone (no values, nothing carried, no message waiting): one context object per language,
    // so a route declared `render: 'prerendered'` is served from its pre-rendered copy (views.ts decides).
    if (
      form.load === undefined &&
      form.context === undefined &&
      Object.keys(hidden).length === 0 &&
      request.session?.get(FLASH_KEY) === undefined
    ) {
      blank ??= blankContexts(page);
      return reply.view(page.template, blank(language));
    }
    return renderFormPage(request, reply, language, page, values, undefined, hidden, {
      context: form.context?.(request),
    });
  };
  for (const path of [form.path, ...(form.alsoShownAt ?? [])]) app.get(path, { config }, show);

  app.post(
    form.path,
    { config, ...(form.body === undefined ? {} : { schema: { body: form.body } }) },
    async (request, reply) => {
      const language = pageLanguage(request, reply, catalogue);
      const posted =
        typeof request.body === 'object' && request.body !== null ? (request.body as Record<string, unknown>) : {};
      const hidden = carried((f, name) => f.accept(Object.hasOwn(posted, name) ? posted[name] : undefined));
      const checked = checkFields(form.fields, names, request.body, language.t);
      // no extra tick for forms without one
      if (form.beforeAnswer !== undefined) await form.beforeAnswer(checked, request, reply);
      if (checked.errors.length > 0)
        return renderFormPage(request, reply, language, page, checked.values, checked, hidden, {
          context: form.context?.(request),
        });
      const outcome = await form.onSuccess(checked.normalised, request, hidden);
      if ('refuse' in outcome) {
        return renderFormPage(
          request,
          reply,
          language,
          page,
          checked.values,
          refusalErrors(outcome, language.t),
          hidden,
          {
            ...(outcome.status === undefined ? {} : { status: outcome.status }),
            context: { ...form.context?.(request), ...outcome.context },
          },
        );
      }
      if (outcome.flash !== undefined) setFlash(request, outcome.flash);
      return reply.redirect(outcome.redirect, 303);
    },
  );
}
