/**
 * The English words of catalogue keys (ADR 0030), for tests that check what a person reads: a feature exports its
 * message keys, a test compares the page with their English.
 */
import { createCatalogue } from '../../src/i18n/catalogue.ts';

export const en = createCatalogue().forLanguage('en');

/** The same table with every key replaced by its English message. */
export function english<T extends Readonly<Record<string, string>>>(keys: T): { readonly [K in keyof T]: string } {
  return Object.fromEntries(Object.entries(keys).map(([name, key]) => [name, en(key)])) as {
    readonly [K in keyof T]: string;
  };
}
