/**
 * Account emails go through an outbox, as feedback does (ADR 0011, ADR 0035): an outage loses nothing and
 * sends nothing twice.
 *
 * - `send` writes the email to `mail_outbox` first (durable, leased to this process), then tries the transport
 *   once, waiting at most `waitMs`. A failure leaves the row due again with exponential backoff and jitter.
 * - Rows are claimed with a lease by one atomic UPDATE … RETURNING, so two workers never send the same row at once.
 * - Before any retry the transport is asked whether the email's `reference` was already accepted (an earlier
 *   attempt whose answer was lost to a timeout or a reset): if so the row is marked sent, not sent again.
 * - A sent or parked row keeps no personalisation (it holds tokens) and no address.
 * Its own table, not feedback's `outbox`: feedback's loop parks rows of kinds it does not know.
 */
import { randomBytes } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Migration } from './sqlite-store.ts';
import type { Email, MailTransport } from './mail.ts';
import { MailError } from './mail.ts';
import type { RetryOptions } from './retry-loop.ts';
import { backoffMs, createRetryLoop } from './retry-loop.ts';

export const MAIL_OUTBOX_MIGRATIONS: readonly Migration[] = [
  {
    name: 'mail-001-outbox',
    sql: `
      CREATE TABLE mail_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        reference TEXT NOT NULL UNIQUE,
        recipient TEXT NOT NULL,
        template TEXT NOT NULL,
        personalisation TEXT NOT NULL CHECK (json_valid(personalisation)),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        last_error_code TEXT,
        created_at INTEGER NOT NULL,
        sent_at INTEGER
      );
      CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND next_attempt_at IS NOT NULL;
    `,
  },
];

export interface MailLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export const DEFAULT_MAIL_RETRY: RetryOptions = {
  pollMs: 10_000,
  baseDelayMs: 5_000,
  maxDelayMs: 30 * 60_000,
  maxAttempts: 30,
  batchSize: 20,
  leaseMs: 60_000,
};

export interface MailOutboxOptions {
  readonly db: () => DatabaseSync;
  readonly transport: MailTransport;
  readonly logger: MailLogger;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly retry?: Partial<RetryOptions>;
  /** Longest `send` waits for the first attempt (ms). */
  readonly waitMs?: number;
}

export interface MailOutbox {
  /**
   * Durable first; `sent` when the first attempt succeeded within waitMs; `capped`: dropped by the cap (mail-cap.ts).
   */
  send(
    email: Omit<Email, 'reference'>,
  ): Promise<{ readonly id: number; readonly sent: boolean; readonly capped?: boolean }>;
  /** One pass of the retry loop; how many were sent (or found already sent). */
  deliverDue(): Promise<number>;
  counts(): { pending: number; parked: number; sent: number };
  start(): void;
  stop(): Promise<void>;
}

type Row = Record<string, unknown>;
const int = (row: Row, key: string): number => Number(row[key] ?? 0);
const text = (row: Row, key: string): string => (typeof row[key] === 'string' ? row[key] : '');

export function createMailOutbox(options: MailOutboxOptions): MailOutbox {
  const { transport, logger } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const retry: RetryOptions = { ...DEFAULT_MAIL_RETRY, ...options.retry };
  const waitMs = options.waitMs ?? 3000;
  let statements: ReturnType<typeof prepare> | undefined;

  function prepare(db: DatabaseSync) {
    return {
      insert: db.prepare(
        'INSERT INTO mail_outbox (reference, recipient, template, personalisation, attempts, ' +
          'next_attempt_at, created_at) VALUES (?, ?, ?, ?, 1, ?, ?)',
      ),
      claim: db.prepare(`UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = ?
        WHERE id = (SELECT id FROM mail_outbox WHERE sent_at IS NULL AND next_attempt_at IS NOT NULL AND next_attempt_at <= ? AND attempts < ?
          ORDER BY next_attempt_at, id LIMIT 1)
        RETURNING *`),
      sent: db.prepare(
        'UPDATE mail_outbox SET sent_at = ?, next_attempt_at = NULL, last_error_code = NULL, ' +
          "recipient = '', personalisation = 'null' WHERE id = ?",
      ),
      failed: db.prepare(
        'UPDATE mail_outbox SET last_error_code = ?, next_attempt_at = ? WHERE id = ? AND sent_at ' + 'IS NULL',
      ),
      parked: db.prepare(
        "UPDATE mail_outbox SET last_error_code = ?, next_attempt_at = NULL, recipient = '', " +
          "personalisation = 'null' WHERE id = ? AND sent_at IS NULL",
      ),
      counts: db.prepare(`SELECT COALESCE(SUM(sent_at IS NULL AND next_attempt_at IS NOT NULL), 0) AS pending,
        COALESCE(SUM(sent_at IS NULL AND next_attempt_at IS NULL), 0) AS parked, COALESCE(SUM(sent_at IS NOT NULL), 0) AS sent FROM mail_outbox`),
    } satisfies Record<string, StatementSync>;
  }
  const st = () => (statements ??= prepare(options.db()));

  /** One attempt for a claimed row. Never throws: a row left leased comes due again. */
  async function attempt(id: number, attempts: number, email: Email): Promise<boolean> {
    try {
      // A retry first asks whether an earlier attempt got through, so an email is never sent twice.
      if (attempts > 1 && (await transport.alreadySent(email.reference))) {
        st().sent.run(now(), id);
        logger.info({ mailId: id, attempts }, 'email had already been accepted; not sent again');
        return true;
      }
      await transport.send(email);
      st().sent.run(now(), id);
      logger.info({ mailId: id, attempts, template: email.template }, 'email sent');
      return true;
    } catch (err) {
      const code = err instanceof MailError ? err.code : 'UNEXPECTED';
      try {
        if ((err instanceof MailError && err.permanent) || attempts >= retry.maxAttempts) {
          st().parked.run(code, id);
          logger.error({ mailId: id, attempts, code }, 'email could not be sent; parked');
        } else {
          st().failed.run(code, now() + backoffMs(attempts, retry, random), id);
          logger.warn({ mailId: id, attempts, code }, 'email not sent; will retry');
        }
      } catch (recordErr) {
        logger.error({ mailId: id, err: recordErr }, 'mail outbox could not record an attempt');
      }
      return false;
    }
  }

  function toEmail(row: Row): Email {
    return {
      to: text(row, 'recipient'),
      template: text(row, 'template') as Email['template'],
      personalisation: JSON.parse(text(row, 'personalisation')) as Record<string, string>,
      reference: text(row, 'reference'),
    };
  }

  async function deliverDue(): Promise<number> {
    let delivered = 0;
    for (let i = 0; i < retry.batchSize; i++) {
      const t = now();
      const row = st().claim.get(t + retry.leaseMs, t, retry.maxAttempts);
      if (row === undefined) break;
      if (await loop.track(attempt(int(row, 'id'), int(row, 'attempts'), toEmail(row)))) delivered++;
    }
    return delivered;
  }

  const loop = createRetryLoop({
    pollMs: retry.pollMs,
    tick: deliverDue,
    failed: (err) => {
      logger.error({ err }, 'mail retry loop failed');
    },
  });

  return {
    async send(message) {
      const email: Email = { ...message, reference: randomBytes(16).toString('hex') };
      const t = now();
      // Leased to this call (attempt 1), so the loop leaves it alone while we try.
      const id = Number(
        st().insert.run(
          email.reference,
          email.to,
          email.template,
          JSON.stringify(email.personalisation),
          t + retry.leaseMs,
          t,
        ).lastInsertRowid,
      );
      return { id, sent: await loop.waitAtMost(attempt(id, 1, email), waitMs) };
    },
    deliverDue,
    counts() {
      const row = st().counts.get() ?? {};
      return { pending: int(row, 'pending'), parked: int(row, 'parked'), sent: int(row, 'sent') };
    },
    start: loop.start,
    stop: loop.stop,
  };
}
