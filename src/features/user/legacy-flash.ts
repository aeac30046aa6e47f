/**
 * Messages the legacy PHP front left for the next page in the shared session (mezzio-flash), shown and used up
 * here as the live layout would (layout/layout.twig, View/Twig/FlashMessenger.php). Legacy pages that send people to
 * the dashboard leave them: "LPA could not be deleted" (DeleteLpaHandler), "Error creating a new LPA…"
 * (CreateLpaHandler), "Your details have been updated." (AboutYouHandler) and others.
 *
 * mezzio-flash keeps `{key: {value, hops}}` under one session key; reading them takes a hop off each and drops those
 * with none left (FlashMessages::prepareMessages), which this does too, so a message shows on one page only.
 */
import type { Session } from '../../platform/session.ts';

/** mezzio-flash's session key (`FlashMessagesInterface::FLASH_NEXT`). */
export const MEZZIO_FLASH_KEY = 'Mezzio\\Flash\\FlashMessagesInterface::FLASH_NEXT';

export type LegacyFlashType = 'error' | 'info' | 'default' | 'success' | 'warning';
/** The order the live layout renders them in, each with its key in the flash (FlashMessenger::TYPE_KEY_MAP). */
const TYPES: readonly (readonly [LegacyFlashType, string])[] = [
  ['error', 'flash_error'],
  ['info', 'flash_info'],
  ['default', 'flash_default'],
  ['success', 'flash_success'],
  ['warning', 'flash_warning'],
];
/** Enough for any real message; a longer one is cut rather than filling the page. */
const MAX_MESSAGES = 10;
const MAX_LENGTH = 500;

export interface LegacyFlash {
  readonly type: LegacyFlashType;
  readonly messages: readonly string[];
}

function entryOf(value: unknown): { value: unknown; hops: number } | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const e = value as Record<string, unknown>;
  return { value: e.value, hops: typeof e.hops === 'number' ? e.hops : 1 };
}

function messagesOf(value: unknown): string[] {
  const list: unknown[] = Array.isArray(value) ? value : [value];
  return list
    .filter((m): m is string | number => (typeof m === 'string' && m !== '') || typeof m === 'number')
    .slice(0, MAX_MESSAGES)
    .map((m) => String(m).slice(0, MAX_LENGTH));
}

/** The waiting messages, by type in the layout's order; each loses a hop (HEAD, a link checker, uses none up). */
export function takeLegacyFlash(session: Session | null, method: string): LegacyFlash[] {
  const stored = session?.get(MEZZIO_FLASH_KEY);
  if (session === null || stored === null || typeof stored !== 'object' || Array.isArray(stored)) return [];
  const entries = stored as Record<string, unknown>;
  const shown = TYPES.flatMap(([type, key]) => {
    const messages = Object.hasOwn(entries, key) ? messagesOf(entryOf(entries[key])?.value) : [];
    return messages.length === 0 ? [] : [{ type, messages }];
  });
  if (method !== 'HEAD') {
    const left: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [key, raw] of Object.entries(entries)) {
      const entry = entryOf(raw);
      if (entry !== undefined && entry.hops > 1) left[key] = { value: entry.value, hops: entry.hops - 1 };
    }
    if (Object.keys(left).length === 0) session.delete(MEZZIO_FLASH_KEY);
    else session.set(MEZZIO_FLASH_KEY, left);
  }
  return shown;
}
