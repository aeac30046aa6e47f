/**
 * What templates read beyond PATHS: the signed-in service navigation as data (GOV.UK service navigation; the live
 * front's `partials/nav.twig` has the same items) and the legacy front's pages. The header fragment renders the
 * navigation and adds "Sign out" as a POST form's button; the 404 page explains a legacy page (isLegacyPath).
 */
import { LEGACY_PATHS, PATHS } from '../paths.ts';

export interface NavigationItem {
  readonly href: string;
  /** A message catalogue key (src/i18n/locales/<lang>/chrome.json), read through `t` in the header fragment. */
  readonly text: string;
  readonly qa: string;
}

export const SIGNED_IN_NAVIGATION: readonly NavigationItem[] = [
  { href: PATHS.dashboard, text: 'chrome:nav.dashboard', qa: 'nav-your-lpas' },
  { href: PATHS.aboutYou, text: 'chrome:nav.aboutYou', qa: 'nav-your-details' },
  // The live front's Help link: its guidance pages, still on the legacy front.
  { href: `${LEGACY_PATHS.guide}#topic-how-to-make-an-lpa-online`, text: 'chrome:nav.help', qa: 'nav-help' },
];

/**
 * True for a page only the legacy front serves (a LEGACY_PATHS entry or below it). At the edge such a path never
 * reaches lpa-front; where lpa-front is the whole site (`npm start`) its 404 page says where the page lives.
 */
export function isLegacyPath(path: string): boolean {
  return Object.values(LEGACY_PATHS).some((p) => path === p || path.startsWith(`${p}/`));
}

export const VIEW_GLOBALS = {
  signedInNavigation: SIGNED_IN_NAVIGATION,
  signedInNavigationPaths: SIGNED_IN_NAVIGATION.map((item) => item.href),
  legacy: LEGACY_PATHS,
  isLegacyPath,
} as const;
