/**
 * Every URL path lpa-front serves, declared once.
 *
 * Routes, redirects, templates (via the `paths` view global), the nginx generator (deploy/nginx) and the
 * tests all read these constants. A path that is not here is not served by lpa-front: nginx sends it to
 * the legacy PHP front, and the auth guard treats any route missing from PUBLIC_ROUTES as signed-in only.
 *
 * This module imports nothing, so the lowest layers (config, sessions) may use it.
 */
export const PATHS = {
  home: '/',
  start: '/home',
  accessibility: '/accessibility',
  cookies: '/cookies',
  privacy: '/privacy-notice',
  terms: '/terms',
  contact: '/contact',
  feedback: '/send-feedback',
  feedbackThanks: '/feedback-thanks',
  robots: '/robots.txt',
  securityTxt: '/.well-known/security.txt',
  ping: '/ping',
  pingJson: '/ping/json',
  pingElb: '/ping/elb',
  cspReport: '/csp-report',
  login: '/login',
  loginTimeout: '/login/timeout',
  logout: '/logout',
  sessionState: '/session-state',
  dashboard: '/user/dashboard',
  /** Followed by the page number, as the live route `/user/dashboard/page/{page:\d+}`. */
  dashboardPage: '/user/dashboard/page/',
  aboutYou: '/user/about-you',
  evidence: '/user/evidence',
  aboutYouNew: '/user/about-you/new',
  addressLookup: '/address-lookup',
  forgotPassword: '/forgot-password',
  changePassword: '/user/change-password',
  signup: '/signup',
  signupEmailSent: '/signup/email-sent',
  signupResend: '/signup/resend-email',
  // Account (issue 22, src/features/account); its emailed link is in TOKEN_PATHS.
  changeEmail: '/user/change-email-address',
  deleteAccount: '/user/delete',
  deleteAccountConfirm: '/user/delete/confirm',
  deleted: '/deleted',
  assets: '/assets/',
} as const;

/**
 * Pages whose last path segment is a token from an email: the route is the prefix + `/:token`. Not in PATHS, because
 * the edge's generator routes exact paths only: at the edge these stay with the legacy front (which reads the same
 * API tokens and session) until it routes the prefix; where lpa-front is the whole site they are lpa-front's (ADR
 * 0049).
 */
export type PathName = keyof typeof PATHS;

/**
 * Pages whose last path segment is a secret token, by prefix: the route is `tokenRoute(prefix)`. Kept out of PATHS
 * (which the edge routes by exact match): the edge sends `<prefix><token>` to lpa-front only when the token is made
 * of TOKEN_SEGMENT characters (a regex location, deploy/nginx), and passes it on as that normalised path.
 */
export const TOKEN_PATHS = {
  signupConfirm: '/signup/confirm/',
  resetPassword: '/forgot-password/reset/',
  changeEmailVerify: '/user/change-email-address/verify/',
} as const;

/**
 * What a token segment may hold (the local store's base64url, the API's base62 or hex), as a regular expression source.
 */
export const TOKEN_SEGMENT = '[A-Za-z0-9_-]{16,100}';

/** The route pattern of a token page. */
export function tokenRoute(prefix: string): string {
  return `${prefix}:token`;
}
export type AppPath = (typeof PATHS)[PathName];

/**
 * Paths lpa-front serves that the edge still sends to the legacy front, each with the reason. A page is taken over
 * only when it does everything the legacy page does (ADR 0017); until then lpa-front's version runs only where
 * lpa-front is the whole site (`npm start`, the tests). Redirects to a held-back path reach the legacy page, which
 * reads the same session. test/integration/live-routes.integration.test.ts proves the rule against the live front's own
 * route
 * table (docs/adr/0028): every method and optional sub-path of the live route must be served here first.
 */
export const EDGE_HELD_BACK: Readonly<Partial<Record<AppPath, string>>> = {
  [PATHS.home]:
    "shows no service announcement: the live page's system message is read from the admin " + "app's DynamoDB table",
  [PATHS.start]: 'the same page as / (held back with it)',
  [PATHS.cookies]:
    'the live front runs a consent banner and analytics after consent, and answers POST ' +
    '/cookies (the consent form)',
  [PATHS.login]:
    'the live route also serves /login/internal-system-error and /login/member-suspended, and ' + 'POST on each state',
  [PATHS.loginTimeout]: 'the same live route as /login (held back with it)',
  [PATHS.evidence]:
    'a new page (issue 23) that nothing at OPG consumes yet: the edge sends it to the legacy ' +
    'front, which has no such page, until a service reads the files. Everything else it needs to run behind the edge ' +
    'is there: records and the per-user limit shared in Redis by every instance (ADR 0059), the bytes in S3, its own ' +
    'nginx location and time limits (ADR 0052)',
};

/**
 * Pages only the legacy PHP front serves that lpa-front's pages link to (the account links are for the about-you page
 * still to come; `/lpa` is the LPA journey). They are not routes of this app (nginx sends
 * them to the legacy front, as every path missing from PATHS); where lpa-front is the whole site (`npm start`) its
 * 404 page says so. Spelt as the live `service-front/config/routes.php` (test/fixtures/opg-lpa/routes.php).
 */
export const LEGACY_PATHS = {
  guide: '/guide',
  createLpa: '/user/dashboard/create',
  lpa: '/lpa',
  /** Followed by an LPA id: the live dashboard's "Delete LPA" link (a confirmation page, then the deletion). */
  confirmDeleteLpa: '/user/dashboard/confirm-delete-lpa',
  /** Followed by LPA ids, comma-separated: their latest processing status as JSON (the live StatusesHandler). */
  dashboardStatuses: '/user/dashboard/statuses',
  /** The changed terms, shown once to someone who last signed in before they changed (TermsAndConditionsMiddleware). */
  termsChanged: '/user/dashboard/new-terms',
} as const;

/** The service for LPAs already registered, which the live dashboard points to. */
export const USE_AN_LPA_URL = 'https://use-lasting-power-of-attorney.service.gov.uk/home';

/**
 * Where sign-out lands, as on the live service (GOV.UK's "done" page). A form whose response redirects off-site
 * needs that origin in the CSP's form-action, so the policy reads it from here.
 */
export const SIGNED_OUT_URL = 'https://www.gov.uk/done/lasting-power-of-attorney';

/**
 * Upload routes (POST): their own time and minimum-rate limits (UPLOAD_TIMEOUT_MS, UPLOAD_MIN_BYTES_PER_SECOND) in
 * place of REQUEST_TIMEOUT_MS (platform/request-deadline.ts), and their own nginx location: a body limit, no request
 * buffering, body and upstream timeouts (deploy/nginx/generate.ts).
 */
export const UPLOAD_PATHS: readonly AppPath[] = [PATHS.evidence];

/** One evidence file (download) and its delete action, under PATHS.evidence; `id` is the file's UUID. */
export const EVIDENCE_FILE_ROUTE = `${PATHS.evidence}/:id`;
export const EVIDENCE_DELETE_ROUTE = `${PATHS.evidence}/:id/delete`;
export function evidenceFilePath(id: string): string {
  return `${PATHS.evidence}/${encodeURIComponent(id)}`;
}

/** The reset link's path for a token. */
export function resetPasswordPath(token: string): string {
  return TOKEN_PATHS.resetPassword + token;
}

/** The prefix under which content-hashed static files are served. */
export const ASSET_PREFIX = PATHS.assets;

/**
 * Deny by default: a route is public only if its exact path (and method) is listed here.
 * Everything else needs a signed-in user. The route-table test walks every registered route
 * against this table, so a new page cannot become public by accident.
 */
export const PUBLIC_ROUTES: Readonly<Record<string, readonly string[]>> = {
  [PATHS.home]: ['GET', 'HEAD'],
  [PATHS.start]: ['GET', 'HEAD'],
  [PATHS.accessibility]: ['GET', 'HEAD'],
  [PATHS.cookies]: ['GET', 'HEAD', 'POST'],
  [PATHS.privacy]: ['GET', 'HEAD'],
  [PATHS.terms]: ['GET', 'HEAD'],
  [PATHS.contact]: ['GET', 'HEAD'],
  [PATHS.feedback]: ['GET', 'HEAD', 'POST'],
  [PATHS.feedbackThanks]: ['GET', 'HEAD'],
  [PATHS.robots]: ['GET', 'HEAD'],
  [PATHS.securityTxt]: ['GET', 'HEAD'],
  [PATHS.ping]: ['GET', 'HEAD'],
  [PATHS.pingJson]: ['GET', 'HEAD'],
  [PATHS.pingElb]: ['GET', 'HEAD'],
  [PATHS.cspReport]: ['POST'],
  [PATHS.login]: ['GET', 'HEAD', 'POST'],
  [PATHS.loginTimeout]: ['GET', 'HEAD'],
  [PATHS.logout]: ['GET', 'HEAD', 'POST'],
  [PATHS.sessionState]: ['GET', 'HEAD'],
  [PATHS.forgotPassword]: ['GET', 'HEAD', 'POST'],
  [tokenRoute(TOKEN_PATHS.resetPassword)]: ['GET', 'HEAD', 'POST'],
  [PATHS.signup]: ['GET', 'HEAD', 'POST'],
  [PATHS.signupEmailSent]: ['GET', 'HEAD'],
  [tokenRoute(TOKEN_PATHS.signupConfirm)]: ['GET', 'HEAD'],
  [PATHS.signupResend]: ['GET', 'HEAD', 'POST'],
  // As live (unauthenticated_route): the link is opened from the new address's mailbox, signed in or not.
  [tokenRoute(TOKEN_PATHS.changeEmailVerify)]: ['GET', 'HEAD'],
  [PATHS.deleted]: ['GET', 'HEAD'],
  [`${PATHS.assets}*`]: ['GET', 'HEAD'],
};

export function isPublicRoute(routePattern: string, method: string): boolean {
  const methods = PUBLIC_ROUTES[routePattern];
  return methods?.includes(method) === true;
}

/** A request URL's path: everything before the query string. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/**
 * Every path prefix, lpa-front's or the legacy front's, whose last segment is a secret token (activation, reset,
 * email change): logs, the access line and nginx's access log write `[redacted]` in its place (issue 22).
 */
export const TOKEN_PATH_PREFIXES: readonly string[] = [
  ...new Set<string>([...Object.values(TOKEN_PATHS), '/forgot-password/reset/', '/user/change-email-address/verify/']),
];

/** A request URL as it may be logged: its path only, a token segment replaced by `[redacted]`. */
export function loggablePath(url: string): string {
  const path = pathOf(url);
  for (const prefix of TOKEN_PATH_PREFIXES) {
    if (path.startsWith(prefix) && path.length > prefix.length) return `${prefix}[redacted]`;
  }
  return path;
}

/** Paths that are health checks or assets: left out of access logs. */
export const QUIET_PATHS: ReadonlySet<string> = new Set([PATHS.pingElb, PATHS.robots]);

/**
 * A redirect target from user input is only ever a path on this site. The input is screened (no scheme, no `//` or
 * `/\\`, no backslash or control character, raw or percent-encoded), then resolved; the RESULT is checked again,
 * because resolving dot segments can make `//host` of an input that had none (`/.//evil`, `/a/..//evil`,
 * `/%2e//evil`). Returns the safe path (with its query) or the fallback.
 */
export function safeLocalPath(candidate: unknown, fallback: string = PATHS.home): string {
  if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > 512) return fallback;
  if (!candidate.startsWith('/')) return fallback;
  if (candidate.startsWith('//')) return fallback;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what we refuse
  const unsafe = /[\\\u0000-\u001f\u007f]/;
  if (unsafe.test(candidate)) return fallback;
  let decoded: string;
  try {
    decoded = decodeURIComponent(candidate);
  } catch {
    return fallback;
  }
  if (decoded.startsWith('//') || unsafe.test(decoded) || /^\/[^/]*:/.test(decoded)) return fallback;
  let result: string;
  try {
    const url = new URL(candidate, 'http://local.invalid');
    if (url.origin !== 'http://local.invalid') return fallback;
    result = url.pathname + url.search;
  } catch {
    return fallback;
  }
  return isSingleSlashPath(result) ? result : fallback;
}

/** `/`, or `/` followed by a character that is neither `/` nor `\`: a browser can read it only as a path here. */
function isSingleSlashPath(path: string): boolean {
  return path === '/' || (path.startsWith('/') && path[1] !== '/' && path[1] !== '\\');
}
