/**
 * The form kit's part of the route table: every form and journey declared under src/features, found at start-up
 * by file name (`<name>.form.ts`, `<name>.journey.ts`; `.js` in the compiled build), so adding a form registers
 * nothing by hand (ADR 0031). Only values made by defineForm/defineJourney are taken. Top layer, beside app.ts: it
 * may load features.
 *
 *   await app.register(formKit, await discoverForms());
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FormKitOptions } from './platform/forms/index.ts';
import { isFormDeclaration, isJourneyDeclaration } from './platform/forms/index.ts';

export const FEATURES_DIR = join(import.meta.dirname, 'features');
/** `.ts` run from source, `.js` in the compiled build (dist/server, ADR 0058). */
const EXTENSION = import.meta.url.endsWith('.js') ? '.js' : '.ts';

export async function discoverForms(
  dir: string = FEATURES_DIR,
): Promise<Required<Pick<FormKitOptions, 'forms' | 'journeys'>>> {
  const forms: NonNullable<FormKitOptions['forms']>[number][] = [];
  const journeys: NonNullable<FormKitOptions['journeys']>[number][] = [];
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the app's own features folder, read at start-up
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(`.form${EXTENSION}`) || f.endsWith(`.journey${EXTENSION}`))
    .sort();
  for (const file of files) {
    const module = (await import(pathToFileURL(join(dir, file)).href)) as Record<string, unknown>;
    for (const value of Object.values(module)) {
      if (isFormDeclaration(value)) forms.push(value);
      else if (isJourneyDeclaration(value)) journeys.push(value);
    }
  }
  return { forms, journeys };
}
