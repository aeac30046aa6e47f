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
import { httpError } from '../http-error.ts';
import type { Checked, FieldTable, FieldView, FormError, Values } from './fields.ts';
import { checkFields, fieldKeys, fieldView } from './fields.ts';
import type { FormPage, PageLanguage } from './page.ts';
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

/**
 * An answer that shows the page again, no errors, with what was typed (the values a search found changed by
 * `values`): the outcome of a button that does not finish the form (find an address). Status 200 unless it says.
 */
export interface Reshow {
  readonly show: {
    readonly values?: Values;
    readonly context?: Readonly<Record<string, unknown>>;
    readonly status?: number;
  };
}

/**
 * One button of a form with several (ADR 0053): posted as `<actionField>=<its name>`. Each checks its own scope and
 * has its own outcome; CSRF, hidden values, `beforeAnswer` and the body bounds are the form's, whichever is pressed.
 */
export interface FormAction<V extends Values = Values> {
  /** Catalogue key of the button's words. */
  readonly button: string;
  /**
   * Its validation scope: the form's fields it checks, besides the fields that are its own (`onlyFor`). Default:
   * every field that is not only another action's. Fields outside the scope are kept as typed but not judged.
   */
  readonly checks?: readonly string[];
  /** Runs when its scope is valid: values normalised where checked, as typed (trimmed) elsewhere. */
  readonly run: (
    values: V,
    request: FastifyRequest,
    hidden: Values,
  ) => Outcome | Refusal | Reshow | Promise<Outcome | Refusal | Reshow>;
}

/** What `load` answers instead of values to send the person elsewhere (a redirect), made by `elsewhere()`. */
export class Elsewhere {
  readonly path: string;
  readonly status: 302 | 303;
  constructor(path: string, status: 302 | 303) {
    this.path = path;
    this.status = status;
  }
}

/** From `load`: do not show the form, send the person to `path` (302, or 303 after a sign-out). */
export function elsewhere(path: string, status: 302 | 303 = 302): Elsewhere {
  return new Elsewhere(path, status);
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
  /**
   * Values shown on GET (e.g. what the backend holds); default all empty. May answer `elsewhere(path)` instead
   * (a signed-in page whose backend no longer knows the person).
   */
  readonly load?: (request: FastifyRequest) => Values | Elsewhere | Promise<Values | Elsewhere>;
  /**
   * Runs on valid answers only (normalised as each field says), with the hidden values accepted. A form with
   * `actions` has none: each action has its own `run`.
   */
  readonly onSuccess?: (
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
  /** Other paths that show the form and take its POST too (a live route with an optional segment). */
  readonly alsoAnsweredAt?: readonly string[];
  /**
   * Several buttons, each its own action (ADR 0053): the button's name is `actionField`, its value the action's
   * name. A body that names none is the `defaultAction` (what pressing Enter in a field sends); one that names an
   * undeclared action is a bare 400.
   */
  readonly actions?: Readonly<Record<string, FormAction<V>>>;
  /** The submit buttons' name; default `action`. */
  readonly actionField?: string;
  /** Default: the first action declared. */
  readonly defaultAction?: string;
  /** On GET, a page to send the person to instead (302), e.g. a signed-in person asking to sign in. */
  readonly skipTo?: (request: FastifyRequest) => string | undefined;
  /**
   * Constant view context for every render of the page, the same for every request (links, which variant of a page
   * this is): unlike `context`, the page is still rendered once per state and its answers spliced in (ADR 0056).
   */
  readonly data?: Readonly<Record<string, unknown>>;
  /**
   * Extra view context for every render of the page (GET and a POST's re-render), worked out per request; the page is
   * then never blank, and rendered whole on every request.
   */
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

export type { FormPage } from './page.ts';

/** Renders a kit form page: 200 with values, or 400 with the errors and the person's answers. */
export function renderFormPage(
  request: FastifyRequest,
  reply: FastifyReply,
  language: PageLanguage,
  page: FormPage,
  values: Values,
  checked?: Pick<Checked, 'errors' | 'fieldErrors' | 'wrongParts'>,
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
  checked?: Pick<Checked, 'errors' | 'fieldErrors' | 'wrongParts'>,
  hidden: Values = {},
): Record<string, unknown> {
  const { t } = language;
  const byName: Record<string, FieldView> = {};
  const views = page.names.map((name) => {
    const field = page.fields[name];
    if (field === undefined) throw new Error(`form kit: no field ${name}`);
    const error = checked?.fieldErrors[name];
    const view =
      field.macro === 'dateInput'
        ? fieldView(name, field, '', error, t, { values, wrong: checked?.wrongParts?.[name] })
        : fieldView(name, field, values[name] ?? '', error, t);
    byName[name] = view;
    return view;
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
      // By name, for a template that places each field itself (a form with fieldsets or several buttons).
      field: byName,
      actions:
        page.actions === undefined
          ? undefined
          : Object.fromEntries(page.actions.map((a) => [a.value, { name: a.name, value: a.value, text: t(a.button) }])),
      questionIsHeading,
      hidden: Object.entries(hidden).map(([name, value]) => ({ name, value })),
    },
    ...page.data,
  };
}

/** The view context of a kit page shown without a request's own parts (no flash message): tests compare with it. */
export function formViewContext(
  language: PageLanguage,
  page: FormPage,
  values: Values,
  checked?: Pick<Checked, 'errors' | 'fieldErrors' | 'wrongParts'>,
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

/** What a POST runs: its scope, the fields shown back, and its handler. */
interface Answering {
  readonly shown: readonly string[];
  readonly judge?: ReadonlySet<string>;
  readonly run: (
    values: Values,
    request: FastifyRequest,
    hidden: Values,
  ) => Outcome | Refusal | Reshow | Promise<Outcome | Refusal | Reshow>;
}

/** Each action's scope, checked against the declaration once at start-up. */
function actionsOf(form: FormDeclaration, names: readonly string[]): ReadonlyMap<string, Answering> {
  const answering = new Map<string, Answering>();
  const actions = Object.entries(form.actions ?? {});
  const declared = new Set(actions.map(([name]) => name));
  for (const name of names) {
    for (const a of form.fields[name]?.onlyFor ?? [])
      if (!declared.has(a)) throw new Error(`form ${form.path}: field ${name} is only for ${a}, which is no action`);
  }
  for (const [name, action] of actions) {
    const own = names.filter((n) => form.fields[n]?.onlyFor?.includes(name) === true);
    const common = names.filter((n) => form.fields[n]?.onlyFor === undefined);
    for (const n of action.checks ?? []) {
      if (!common.includes(n)) throw new Error(`form ${form.path}: action ${name} checks ${n}, no field of the form`);
    }
    answering.set(name, {
      shown: [...common, ...own],
      judge: new Set([...(action.checks ?? common), ...own]),
      run: action.run,
    });
  }
  return answering;
}

/** What a declaration's pages show (tests render a real form's page with it). */
export function formPage(form: FormDeclaration): FormPage {
  const actionField = form.actionField ?? 'action';
  return {
    template: form.template ?? 'kit/form.njk',
    title: form.title,
    action: form.path,
    button: form.button ?? 'kit:continue',
    fields: form.fields,
    names: Object.keys(form.fields),
    ...(form.data === undefined ? {} : { data: form.data }),
    ...(form.actions === undefined
      ? {}
      : {
          actions: Object.entries(form.actions).map(([value, a]) => ({ name: actionField, value, button: a.button })),
        }),
  };
}

export function registerForm(app: FastifyInstance, catalogue: Catalogue, form: FormDeclaration): void {
  const page = formPage(form);
  const names = page.names;
  const actionField = form.actionField ?? 'action';
  assertDeclaration(
    `form ${form.path}`,
    form.path,
    [
      form.title,
      page.button,
      ...Object.values(form.fields).flatMap(fieldKeys),
      ...(page.actions ?? []).map((a) => a.button),
    ],
    catalogue,
    ['GET', 'HEAD', 'POST'],
  );
  for (const alias of [...(form.alsoShownAt ?? []), ...(form.alsoAnsweredAt ?? [])]) {
    if (isPublicRoute(alias, 'GET') !== isPublicRoute(form.path, 'GET'))
      throw new Error(`form ${form.path}: ${alias} must be as public as the form (PUBLIC_ROUTES)`);
  }
  if ((form.onSuccess === undefined) === (form.actions === undefined))
    throw new Error(`form ${form.path}: give either onSuccess or actions`);
  const answering = actionsOf(form, names);
  const defaultAction = form.defaultAction ?? Object.keys(form.actions ?? {})[0];
  if (form.actions !== undefined && (defaultAction === undefined || !answering.has(defaultAction)))
    throw new Error(`form ${form.path}: no default action ${String(defaultAction)}`);
  const single: Answering | undefined =
    form.onSuccess === undefined ? undefined : { shown: names, run: form.onSuccess };

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
    const elsewhereTo = form.skipTo?.(request);
    if (elsewhereTo !== undefined) return reply.redirect(elsewhereTo, 302);
    // Before the language: a page that sends the person elsewhere writes no language cookie.
    const loaded = form.load === undefined ? {} : await form.load(request);
    if (loaded instanceof Elsewhere) return reply.redirect(loaded.path, loaded.status);
    const language = pageLanguage(request, reply, catalogue);
    const hidden = carried((f) => f.initial?.(request));
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
    return renderFormPage(request, reply, language, page, loaded, undefined, hidden, {
      context: form.context?.(request),
    });
  };

  /** The action a body asks for: the default when it names none, undefined when it names one not declared. */
  const chosen = (posted: Readonly<Record<string, unknown>>): Answering | undefined => {
    if (single !== undefined) return single;
    const value = Object.hasOwn(posted, actionField) ? posted[actionField] : undefined;
    const name = value === undefined ? defaultAction : value;
    return typeof name === 'string' ? answering.get(name) : undefined;
  };

  const answer = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const language = pageLanguage(request, reply, catalogue);
    const posted =
      typeof request.body === 'object' && request.body !== null ? (request.body as Record<string, unknown>) : {};
    const action = chosen(posted);
    if (action === undefined) throw httpError(400, 'form kit: the body names no action of the form');
    const hidden = carried((f, name) => f.accept(Object.hasOwn(posted, name) ? posted[name] : undefined));
    const checked = checkFields(form.fields, action.shown, request.body, language.t, action.judge);
    // no extra tick for forms without one
    if (form.beforeAnswer !== undefined) await form.beforeAnswer(checked, request, reply);
    if (checked.errors.length > 0)
      return renderFormPage(request, reply, language, page, checked.values, checked, hidden, {
        context: form.context?.(request),
      });
    const outcome = await action.run(checked.normalised, request, hidden);
    if ('show' in outcome) {
      return renderFormPage(
        request,
        reply,
        language,
        page,
        { ...checked.values, ...outcome.show.values },
        undefined,
        hidden,
        {
          status: outcome.show.status ?? 200,
          context: { ...form.context?.(request), ...outcome.show.context },
        },
      );
    }
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
  };

  const routeOptions = { config, ...(form.body === undefined ? {} : { schema: { body: form.body } }) };
  for (const path of [form.path, ...(form.alsoShownAt ?? []), ...(form.alsoAnsweredAt ?? [])])
    app.get(path, { config }, show);
  for (const path of [form.path, ...(form.alsoAnsweredAt ?? [])]) app.post(path, routeOptions, answer);
}
