/**
 * `/user/dashboard` and `/user/dashboard/page/:page`: the signed-in user's LPAs, 50 a page, searchable by LPA
 * reference or donor name, as the live front's DashboardHandler (service-front `Handler/DashboardHandler.php`,
 * `templates/application/authenticated/dashboard/`). One API call a request (ADR 0042): the LPA list, which also
 * says whether the sign-in is still valid; behind the edge, the first view of a session also checks the user has a
 * name.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountsBackend } from '../../backends/accounts.ts';
import { LPAS_PER_PAGE } from '../../backends/accounts.ts';
import { LEGACY_PATHS, PATHS, USE_AN_LPA_URL, pathOf } from '../../paths.ts';
import { httpError } from '../../platform/http-error.ts';
import { pageLanguage, takeFlash } from '../../platform/forms/index.ts';
import type { PageLanguage } from '../../platform/forms/index.ts';
import type { PageVariant } from '../../platform/views.ts';
import { requireSession } from '../../platform/session.ts';
import type { Session } from '../../platform/session.ts';
import { SESSION_KEYS } from '../../sessions/session-store.ts';
import {
  KNOWN_STATUSES,
  SHORT_LIST,
  TERMS_LAST_UPDATED,
  TERMS_SEEN_KEY,
  groupByType,
  lpaRow,
  pager,
  searchParam,
} from './dashboard.ts';
import { takeLegacyFlash } from './legacy-flash.ts';
import { NOTICE_KEY, formatDateTime } from './user-routes.ts';

export interface DashboardRoutesOptions {
  readonly accounts: AccountsBackend;
  /** LPAs completed from this day show OPG's processing status (config TRACK_FROM_DATE). */
  readonly trackFromDate: Date;
  /**
   * The legacy front serves the pages around this one (config LEGACY_FRONT): no LPAs go to the create page, an old
   * sign-in to the new terms, and the status script asks its statuses route. (No name yet: profile-gate.ts, always.)
   */
  readonly legacyFront: boolean;
  readonly now?: () => number;
  /**
   * The views' page variant (the consent banner, app.ts): the page's shell is cached per variant and language.
   * Without it every request renders the whole page.
   */
  readonly variant?: (request: FastifyRequest, reply: FastifyReply) => PageVariant;
}

/** The page's content, rendered per request into the cached shell of dashboard.njk. */
const CONTENT_TEMPLATE = 'user/dashboard-content.njk';

/** The notices other pages may leave under NOTICE_KEY (their words: dashboard.json `notice`). */
const NOTICES: readonly string[] = ['name-updated'];

/** The page number in the path: 1 to 9 digits (the live route takes `\d+`; anything else is not this page). */
const PAGE = /^\d{1,9}$/;

function lastLoginOf(session: Session): Date | null {
  const identity = session.get(SESSION_KEYS.identity);
  const value =
    identity !== null && typeof identity === 'object' ? (identity as Record<string, unknown>).lastLogin : undefined;
  if (typeof value !== 'string') return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** A dashboard address: page 1 is the dashboard itself, others the page route; a search goes with it. */
export function dashboardHref(page: number, search: string | undefined): string {
  const base = page <= 1 ? PATHS.dashboard : `${PATHS.dashboardPage}${String(page)}`;
  return search === undefined || search === '' ? base : `${base}?${new URLSearchParams({ search }).toString()}`;
}

export default async function dashboardRoutes(app: FastifyInstance, options: DashboardRoutesOptions): Promise<void> {
  const { accounts, trackFromDate, legacyFront, variant } = options;
  const now = options.now ?? Date.now;

  /**
   * The page as its cached shell (one per language and consent state, rendered from nothing of the user's) with this
   * request's nonce, token and content spliced in (spliced-page.ts, ADR 0063): the same bytes as `reply.view`
   * (ADR 0057).
   */
  function sendInShell(reply: FastifyReply, language: PageLanguage, content: Record<string, unknown>): FastifyReply {
    return reply.slotView('user/dashboard.njk', {
      lang: language.lang,
      key: 'shell',
      values: [],
      html: app.views.render(CONTENT_TEMPLATE, content),
      context: (_slot, html) => ({ lang: language.lang, t: language.t, refreshIds: [], dashboardContent: html }),
    });
  }

  /** For the status script: the words of each status it may write (a status it does not know it shows as sent). */
  const labelsByLanguage = new Map<string, string>();
  function statusLabelsFor(language: PageLanguage): string {
    let labels = labelsByLanguage.get(language.lang);
    if (labels === undefined) {
      labels = JSON.stringify(Object.fromEntries(KNOWN_STATUSES.map((s) => [s, language.t(`dashboard:status.${s}`)])));
      labelsByLanguage.set(language.lang, labels);
    }
    return labels;
  }

  /** The backend no longer accepts the token: signed out, and told why. */
  function tokenRejected(session: Session, reply: FastifyReply): FastifyReply {
    session.delete(SESSION_KEYS.identity);
    return reply.redirect(PATHS.loginTimeout, 303);
  }

  async function show(request: FastifyRequest, reply: FastifyReply, requested: number): Promise<FastifyReply> {
    const user = request.user;
    if (user === undefined) throw httpError(401, 'signed-in route reached without a user');
    const search = searchParam(request.query);
    const isSearch = search !== undefined && search !== '';
    const page = Math.max(1, requested);
    const session = requireSession(request);
    const lastLogin = lastLoginOf(session);
    // TermsAndConditionsMiddleware: last signed in before the terms changed, so shown them, once a session.
    if (legacyFront && lastLogin !== null && lastLogin < TERMS_LAST_UPDATED && !session.has(TERMS_SEEN_KEY)) {
      session.set(TERMS_SEEN_KEY, true);
      return reply.redirect(LEGACY_PATHS.termsChanged, 302);
    }
    const found = await accounts.listLpas(
      user.userId,
      user.token,
      { ...(search === undefined ? {} : { search }), page, perPage: LPAS_PER_PAGE },
      request.id,
    );
    if (found === null) return tokenRejected(session, reply);
    // As the live handler: no LPAs and no search at all goes straight to making one (where that page exists).
    if (search === undefined && found.total === 0 && legacyFront) return reply.redirect(LEGACY_PATHS.createLpa, 302);
    const pages = pager(page, LPAS_PER_PAGE, found.total);
    // Past the last page (or page 0): the nearest page there is, rather than the live page's empty list.
    if (found.total > 0 && page !== requested) return reply.redirect(dashboardHref(1, search), 302);
    if (found.total > 0 && pages.page !== page) return reply.redirect(dashboardHref(pages.page, search), 302);

    const language = pageLanguage(request, reply, app.words);
    const noticeKey = session.get(NOTICE_KEY);
    if (noticeKey !== undefined && request.method !== 'HEAD') session.delete(NOTICE_KEY);
    const at = new Date(now());
    const rows = found.lpas.map((lpa) => lpaRow(lpa, trackFromDate, at));
    const shortList = found.total <= SHORT_LIST && !isSearch;
    const refreshIds = legacyFront ? rows.filter((r) => r.refresh).map((r) => r.id) : [];
    const statusLabels = statusLabelsFor(language);
    const content = {
      lang: language.lang,
      htmlLang: language.lang,
      t: language.t,
      flash: takeFlash(request, language.t),
      notice:
        typeof noticeKey === 'string' && NOTICES.includes(noticeKey)
          ? language.t(`dashboard:notice.${noticeKey}`)
          : undefined,
      legacyFlash: takeLegacyFlash(session, request.method),
      lastLogin: lastLogin === null ? null : formatDateTime(lastLogin),
      total: found.total,
      isSearch,
      search: search ?? '',
      shortList,
      groups: shortList ? groupByType(rows) : undefined,
      rows,
      page: pages.page,
      pager:
        pages.pageCount > 1
          ? {
              summary: { first: pages.firstItemNumber, last: pages.lastItemNumber, total: pages.totalItemCount },
              previous: pages.page > 1 ? dashboardHref(pages.page - 1, search) : undefined,
              next: pages.page < pages.pageCount ? dashboardHref(pages.page + 1, search) : undefined,
              items: pages.pagesInRange.map((n) => ({
                number: n,
                href: dashboardHref(n, search),
                current: n === pages.page,
              })),
            }
          : undefined,
      // Only where the legacy front answers /user/dashboard/statuses (the status script asks it).
      refreshIds,
      statusLabels,
      useAnLpaUrl: USE_AN_LPA_URL,
    };
    // The first page without the status script (every page but a long list's later ones): the cached shell (ADR 0057).
    if (variant !== undefined && refreshIds.length === 0 && pathOf(request.url) === PATHS.dashboard)
      return sendInShell(reply, language, content);
    return reply.view('user/dashboard.njk', content);
  }

  app.get(PATHS.dashboard, (request, reply) => show(request, reply, 1));

  app.get<{ Params: { page: string } }>(`${PATHS.dashboardPage}:page`, async (request, reply) => {
    if (!PAGE.test(request.params.page)) throw httpError(404, 'not a dashboard page number');
    return show(request, reply, Number(request.params.page));
  });
}
