/**
 * The message catalogue (ADR 0030): every word of the form kit's pages, keyed by language, through i18next.
 *
 * Words live in `locales/<lang>/<namespace>.json`, one namespace per file (`kit`, `govuk`, `chrome`, and one per
 * form), read once at start-up. A key is `namespace:path.to.key`. Welsh is a `cy/` folder with the same files.
 * Interpolation does not escape: Nunjucks escapes every value on output, so escaping here would double it.
 * A key missing in the language falls back to English; a key missing in English is a bug and throws, so a test
 * that renders the page finds it.
 *
 * This module imports nothing of the app (layers: ADR 0029).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import i18next from 'i18next';
import type { i18n as I18n, TFunction } from 'i18next';

export const DEFAULT_LANGUAGE = 'en';
/** The languages users may choose today. Welsh joins this list when `locales/cy/` is translated. */
export const LANGUAGES: readonly string[] = ['en'];
export const LOCALES_DIR = join(import.meta.dirname, 'locales');

/** A namespace's messages: nested objects of strings. */
export interface Messages {
  readonly [key: string]: string | Messages;
}
/** Per language, per namespace. */
export type Resources = Record<string, Record<string, Messages>>;

/** Translates `key` with optional values; the catalogue's one function for templates and handlers. */
export type Translate = (key: string, values?: Readonly<Record<string, string | number>>) => string;

export interface Catalogue {
  readonly languages: readonly string[];
  /** The translate function for one language (cached per language). */
  forLanguage(lang: string): Translate;
  /** Whether English (the source language) has `key`. */
  has(key: string): boolean;
  /** Adds a namespace (a form's words kept beside it, or a test's) to a language. */
  addNamespace(lang: string, namespace: string, messages: Messages): void;
}

/** Every `<lang>/<namespace>.json` under `dir`. */
export function readLocales(dir: string): Resources {
  const resources: Resources = {};
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the app's own locales folder, read at start-up
  for (const lang of readdirSync(dir)) {
    const namespaces: Record<string, Messages> = {};
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- as above
    for (const file of readdirSync(join(dir, lang))) {
      if (!file.endsWith('.json')) continue;
      // eslint-disable-next-line security/detect-non-literal-fs-filename -- as above
      namespaces[file.slice(0, -'.json'.length)] = JSON.parse(readFileSync(join(dir, lang, file), 'utf8')) as Messages;
    }
    resources[lang] = namespaces;
  }
  return resources;
}

export interface CatalogueOptions {
  /** Default: the app's own locales folder. */
  readonly resources?: Resources;
  /** Languages users may choose; default LANGUAGES. Tests add a pseudo-locale here. */
  readonly languages?: readonly string[];
}

export function createCatalogue(options: CatalogueOptions = {}): Catalogue {
  const resources = options.resources ?? readLocales(LOCALES_DIR);
  const languages = options.languages ?? LANGUAGES;
  const instance: I18n = i18next.createInstance();
  void instance.init({
    initAsync: false,
    resources,
    lng: DEFAULT_LANGUAGE,
    fallbackLng: DEFAULT_LANGUAGE,
    supportedLngs: [...new Set([DEFAULT_LANGUAGE, ...languages, ...Object.keys(resources)])],
    ns: [...new Set(Object.values(resources).flatMap((r) => Object.keys(r)))],
    defaultNS: false,
    nsSeparator: ':',
    keySeparator: '.',
    interpolation: { escapeValue: false },
    returnNull: false,
    returnEmptyString: false,
  });
  const cache = new Map<string, Translate>();
  // Keys English has (only found ones: a key comes from code or a template, never a request, so at most the
  // catalogue's size). A render asks for the same words every time: one i18next lookup per key, not per call.
  const known = new Set<string>();
  // Per language, each message without values once made (until addNamespace, which starts afresh for every
  // translate function already handed out).
  const plainByLang = new Map<string, Map<string, string>>();

  function has(key: string): boolean {
    if (known.has(key)) return true;
    const found = instance.exists(key, { lng: DEFAULT_LANGUAGE, fallbackLng: false });
    if (found) known.add(key);
    return found;
  }

  return {
    languages,
    has,
    forLanguage(lang: string): Translate {
      let translate = cache.get(lang);
      if (translate !== undefined) return translate;
      const t: TFunction = instance.getFixedT(lang);
      translate = (key, values) => {
        let plain = plainByLang.get(lang);
        if (plain === undefined) {
          plain = new Map<string, string>();
          plainByLang.set(lang, plain);
        }
        if (values === undefined) {
          const hit = plain.get(key);
          if (hit !== undefined) return hit;
        }
        if (!has(key)) throw new Error(`i18n: no English message for ${key}`);
        const text = values === undefined ? t(key) : t(key, values);
        if (typeof text !== 'string') throw new Error(`i18n: ${key} is not a message`);
        if (values === undefined) plain.set(key, text);
        return text;
      };
      cache.set(lang, translate);
      return translate;
    },
    addNamespace(lang, namespace, messages) {
      instance.addResourceBundle(lang, namespace, messages, true, true);
      cache.clear();
      known.clear();
      plainByLang.clear();
    },
  };
}

/**
 * The language of a request: `?lang=` when it names a supported language, else the `lang` cookie, else English.
 * Only a supported code is ever returned, so the value is safe in a cookie, a header or `<html lang>`.
 */
export function chooseLanguage(
  queryLang: unknown,
  cookieLang: string | undefined,
  languages: readonly string[],
): { lang: string; fromQuery: boolean } {
  if (typeof queryLang === 'string' && languages.includes(queryLang)) return { lang: queryLang, fromQuery: true };
  if (cookieLang !== undefined && languages.includes(cookieLang)) return { lang: cookieLang, fromQuery: false };
  return { lang: DEFAULT_LANGUAGE, fromQuery: false };
}
