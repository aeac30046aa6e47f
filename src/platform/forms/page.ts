/**
 * What every page on the form kit shares: the request's language and translate function, the one-shot flash
 * message, and the view context the kit's layout reads (ADR 0030, ADR 0031).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Catalogue, Translate } from '../../i18n/catalogue.ts';
import { chooseLanguage } from '../../i18n/catalogue.ts';
import { readCookie } from '../session.ts';
import type { FieldTable } from './fields.ts';

/** The cookie that keeps a chosen language (as the sister services: `?lang=cy` sets it). */
export const LANG_COOKIE = 'lang';
/** Session key of the one-shot message shown on the next kit page: a catalogue key, shown in that page's language. */
export const FLASH_KEY = 'lpaFrontFlash';

export interface PageLanguage {
  readonly lang: string;
  readonly t: Translate;
}

/**
 * The request's language: `?lang=` (then remembered in the `lang` cookie for a year), else the cookie, else English.
 * Only a language the catalogue offers is ever used or written back.
 */
export function pageLanguage(request: FastifyRequest, reply: FastifyReply, catalogue: Catalogue): PageLanguage {
  const query = request.query as Record<string, unknown> | null;
  const { lang, fromQuery } = chooseLanguage(
    query?.lang,
    readCookie(request.headers.cookie, LANG_COOKIE),
    catalogue.languages,
  );
  if (fromQuery) {
    // Like every cookie of the service: Secure, HttpOnly, SameSite=Lax (browsers keep Secure cookies on loopback too).
    reply.header('set-cookie', `${LANG_COOKIE}=${lang}; Path=/; Max-Age=31536000; Secure; HttpOnly; SameSite=Lax`);
  }
  return { lang, t: catalogue.forLanguage(lang) };
}

/** Leaves a message (a catalogue key) for the next page the kit renders in this session. */
export function setFlash(request: FastifyRequest, key: string): void {
  request.session?.set(FLASH_KEY, key);
}

/** The waiting message, translated, and gone from the session; undefined when there is none. */
export function takeFlash(request: FastifyRequest, t: Translate): string | undefined {
  const session = request.session;
  if (session === null) return undefined;
  const key = session.get(FLASH_KEY);
  if (key === undefined) return undefined;
  if (request.method !== 'HEAD') session.delete(FLASH_KEY); // a HEAD (a link checker) does not use it up
  return typeof key === 'string' && key !== '' ? t(key) : undefined;
}

/** The context of a kit page: language, translate function and the waiting flash message. */
export function pageContext(request: FastifyRequest, language: PageLanguage): Record<string, unknown> {
  return { lang: language.lang, htmlLang: language.lang, t: language.t, flash: takeFlash(request, language.t) };
}

/** What a kit page shows: its template, title, form action, button and fields. */
export interface FormPage {
  readonly template: string;
  readonly title: string;
  readonly action: string;
  readonly button: string;
  readonly fields: FieldTable;
  readonly names: readonly string[];
  /** Constant view context its template reads (no words, nothing of a request): part of a slotted page's key. */
  readonly data?: Readonly<Record<string, unknown>>;
  /** A form with several buttons: each action's button name, value and catalogue key. */
  readonly actions?: readonly { readonly name: string; readonly value: string; readonly button: string }[];
}
