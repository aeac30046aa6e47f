/**
 * What the dashboard shows, worked out as the live front works it out: each LPA's progress
 * (service-front `Service/Lpa/Application.php` fetchLpaSummaries), the pager (`Handler/Traits/PaginationTrait.php`)
 * and the LPA reference (`MakeShared\DataModel\Lpa\Formatter::id`). Pure functions: the route only fetches and renders.
 */
import type { LpaSummary } from '../../backends/accounts.ts';
import { formatUkShortDate } from '../../platform/uk-time.ts';

/** The live handler's pager width (DashboardHandler: 5 page numbers; its page size is LPAS_PER_PAGE). */
export const PAGES_IN_RANGE = 5;
/** Up to six LPAs and no search: no search box, the list grouped by type (dashboard/index.twig `shortList`). */
export const SHORT_LIST = 6;
/** Longer searches are cut to this (the API contract's limit) before they are sent or shown. */
export const MAX_SEARCH = 200;
/** When the terms last changed (service-front ConfigProvider `terms.lastUpdated`). */
export const TERMS_LAST_UPDATED = new Date('2015-02-17T14:00:00Z');
/** The PHP session key saying the changed terms were shown in this session (TermsAndConditionsMiddleware). */
export const TERMS_SEEN_KEY = 'termsAndConditionsCheckSeen';

/** Statuses whose explanation page `/lpa/:id/status` the live dashboard links to (macros.twig). */
const STATUS_PAGES: ReadonlySet<string> = new Set(['completed', 'waiting', 'received', 'checking', 'processed']);
/** Statuses the catalogue has words for; another (a new Sirius status) is shown as the API sent it. */
export const KNOWN_STATUSES: readonly string[] = [
  'started',
  'created',
  'completed',
  'waiting',
  'received',
  'checking',
  'processed',
];

export interface Progress {
  /** As the API or the front names it: Started, Created, Completed, Waiting, or the case system's status. */
  readonly progress: string;
  /** Lower case, for the status key and its class. */
  readonly status: string;
  /** The live page's script refreshes this one's status from OPG's case system. */
  readonly refresh: boolean;
}

/**
 * fetchLpaSummaries' progress: Started, Created once created, Completed, and once tracked Waiting or the case status.
 */
export function lpaProgress(lpa: LpaSummary, trackFrom: Date, now: Date): Progress {
  let progress = 'Started';
  let refresh = false;
  if (lpa.completedAt !== null) {
    progress = 'Completed';
    if (trackFrom <= now && trackFrom <= lpa.completedAt) {
      progress = lpa.processingStatus ?? 'Waiting';
      refresh = progress !== 'Completed';
    }
  } else if (lpa.createdAt !== null) {
    progress = 'Created';
  }
  return { progress, status: progress.toLowerCase(), refresh };
}

/** "A000 0000 0042": A and 11 digits, in fours. */
export function formatLpaId(id: number): string {
  return `A${String(id).padStart(11, '0')}`.replace(/(.{4})(?=.)/g, '$1 ');
}

/** "21/08/26", the live page's `date('d/m/y')` (UK time). */
export function formatShortDate(date: Date): string {
  return formatUkShortDate(date);
}

export interface Pager {
  readonly page: number;
  readonly pageCount: number;
  readonly pagesInRange: readonly number[];
  readonly firstItemNumber: number;
  readonly lastItemNumber: number;
  readonly totalItemCount: number;
}

/**
 * PaginationTrait::getPaginationControlData: the page (kept within the pages there are) and up to `width` around it.
 */
export function pager(requested: number, perPage: number, total: number, width: number = PAGES_IN_RANGE): Pager {
  const pageCount = Math.ceil(total / perPage);
  const page = Math.min(requested, pageCount);
  const pages = [page];
  for (let i = 0; i < width - 1; i++) {
    const lowest = Math.min(...pages);
    const highest = Math.max(...pages);
    // Alternately one more after and one more before, taking the other side when one runs out.
    const after = highest < pageCount ? highest + 1 : undefined;
    const before = lowest > 1 ? lowest - 1 : undefined;
    const next = i % 2 === 0 ? (after ?? before) : (before ?? after);
    if (next !== undefined) pages.push(next);
  }
  return {
    page,
    pageCount,
    pagesInRange: pages.sort((a, b) => a - b),
    firstItemNumber: (page - 1) * perPage + 1,
    lastItemNumber: Math.min(page * perPage, total),
    totalItemCount: total,
  };
}

/** One LPA as the template shows it. */
export interface LpaRow {
  readonly id: number;
  readonly reference: string;
  readonly donor: string | null;
  readonly type: LpaSummary['type'];
  readonly updated: string | null;
  readonly progress: string;
  readonly status: string;
  readonly statusKnown: boolean;
  readonly refresh: boolean;
  /** "Continue" (Started or Created) rather than "View LPA". */
  readonly inProgress: boolean;
  readonly reusable: boolean;
  readonly statusPage: boolean;
}

export function lpaRow(lpa: LpaSummary, trackFrom: Date, now: Date): LpaRow {
  const { progress, status, refresh } = lpaProgress(lpa, trackFrom, now);
  const tracking = trackFrom <= now;
  return {
    id: lpa.id,
    reference: formatLpaId(lpa.id),
    donor: lpa.donorName === null || lpa.donorName === '' ? null : lpa.donorName,
    type: lpa.type,
    updated: lpa.updatedAt === null ? null : formatShortDate(lpa.updatedAt),
    progress,
    // A status from the case system becomes a class name: only letters, so it can never break out of the attribute.
    status: status.replace(/[^a-z]/g, ''),
    statusKnown: KNOWN_STATUSES.includes(status),
    refresh,
    inProgress: progress === 'Started' || progress === 'Created',
    reusable: lpa.reusable,
    statusPage: tracking && STATUS_PAGES.has(status),
  };
}

/** The type groups of a short list, in the live page's order: no type yet, property and finance, health and welfare. */
export function groupByType(rows: readonly LpaRow[]): { type: LpaSummary['type']; rows: LpaRow[] }[] {
  const order: LpaSummary['type'][] = [null, 'property-and-financial', 'health-and-welfare'];
  return order.map((type) => ({ type, rows: rows.filter((r) => r.type === type) })).filter((g) => g.rows.length > 0);
}

/** The `search` query parameter as the page uses it: the first if repeated, cut to MAX_SEARCH; undefined if absent. */
export function searchParam(query: unknown): string | undefined {
  const raw = query !== null && typeof query === 'object' ? (query as Record<string, unknown>).search : undefined;
  const first: unknown = Array.isArray(raw) ? raw[0] : raw;
  return typeof first === 'string' ? first.slice(0, MAX_SEARCH) : undefined;
}
