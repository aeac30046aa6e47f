/**
 * Mail transports (ADR 0035): how one account email leaves.
 *
 * - `notify`: GOV.UK Notify's `POST /v2/notifications/email`, called through egress (allow-list: the Notify origin
 *   only; bounded time and size; no redirects) with the JWT Notify documents: HS256 over `{iss: service id,
 *   iat: now}` signed with the key's secret, sent as `Authorization: Bearer`. Each email carries the outbox's
 *   `reference`, so `alreadySent` can ask Notify (`GET /v2/notifications?reference=`) before a retry.
 * - `file`, the embedded default: one JSON line `{"to","template","personalisation","sentAt"}` appended to
 *   DATA_DIR/mail.jsonl (mode 0600: the lines hold tokens), for development and tests to follow links.
 *
 * Neither logs an address, a personalisation value or the key.
 */
import { createHmac } from 'node:crypto';
import { appendFile, chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { NotifyTemplate } from '../config/config.ts';
import type { Egress } from './egress.ts';
import { createEgress } from './egress.ts';
import type { EgressLogger } from './egress.ts';

export const MAIL_FILE = 'mail.jsonl';

export interface Email {
  readonly to: string;
  readonly template: NotifyTemplate;
  /** Template fields; every value a string (Notify's personalisation). */
  readonly personalisation: Readonly<Record<string, string>>;
  /** Unique per email (the outbox's), so a retry can be recognised. */
  readonly reference: string;
}

/** A send that failed. `permanent`: retrying will not help (a refused request, not an outage). */
export class MailError extends Error {
  readonly code: string;
  readonly permanent: boolean;
  constructor(code: string, permanent: boolean, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MailError';
    this.code = code;
    this.permanent = permanent;
  }
}

export interface MailTransport {
  readonly kind: 'notify' | 'file';
  /** Resolves once the email is accepted; MailError otherwise. */
  send(email: Email): Promise<void>;
  /** Whether an email with this reference was already accepted (an earlier attempt whose answer was lost). */
  alreadySent(reference: string): Promise<boolean>;
  close(): void;
}

export function fileTransport(dataDir: string, now: () => number = Date.now): MailTransport {
  const path = join(dataDir, MAIL_FILE);
  return {
    kind: 'file',
    async send(email) {
      const line = JSON.stringify({
        to: email.to,
        template: email.template,
        personalisation: email.personalisation,
        sentAt: new Date(now()).toISOString(),
      });
      /* eslint-disable security/detect-non-literal-fs-filename -- DATA_DIR from config, never request data */
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      await appendFile(path, `${line}\n`, { mode: 0o600 });
      await chmod(path, 0o600);
      /* eslint-enable security/detect-non-literal-fs-filename */
    },
    // An append cannot be half-known: a failed one throws before the outbox records a send.
    alreadySent: () => Promise.resolve(false),
    close: () => undefined,
  };
}

/** Splits a Notify API key (`{name}-{service id}-{secret}`) as Notify's own clients do: the last 73 characters. */
export function parseNotifyKey(key: string): { serviceId: string; secret: string } {
  if (key.length < 74) throw new Error('not a Notify API key');
  return { serviceId: key.slice(-73, -37), secret: key.slice(-36) };
}

/** The bearer token Notify expects: a JWT, HS256, `{iss: service id, iat: seconds}`. */
export function notifyJwt(key: string, nowSeconds: number): string {
  const { serviceId, secret } = parseNotifyKey(key);
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ typ: 'JWT', alg: 'HS256' })}.${part({ iss: serviceId, iat: nowSeconds })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

export interface NotifyTransportOptions {
  readonly apiKey: string;
  readonly baseUrl: URL;
  readonly templates: Readonly<Record<NotifyTemplate, string>>;
  readonly logger: EgressLogger;
  /** Tests pass an egress allowing 127.0.0.1; default: one allowing only the Notify origin. */
  readonly egress?: Egress;
  readonly now?: () => number;
}

export function notifyTransport(options: NotifyTransportOptions): MailTransport {
  const origin = options.baseUrl.origin;
  const egress =
    options.egress ??
    createEgress({ allowedOrigins: [origin], timeoutMs: 10_000, maxResponseBytes: 256 * 1024, logger: options.logger });
  const now = options.now ?? Date.now;
  const headers = () => ({
    authorization: `Bearer ${notifyJwt(options.apiKey, Math.floor(now() / 1000))}`,
    accept: 'application/json',
    'user-agent': 'lpa-front-notify',
  });

  return {
    kind: 'notify',
    async send(email) {
      const res = await egress
        .request(new URL('/v2/notifications/email', origin), {
          method: 'POST',
          headers: headers(),
          json: {
            email_address: email.to,
            template_id: options.templates[email.template],
            personalisation: email.personalisation,
            reference: email.reference,
          },
        })
        .catch((err: unknown) => {
          throw new MailError(
            err instanceof Error && 'code' in err ? String(err.code) : 'NETWORK',
            false,
            'Notify could not be reached',
            { cause: err },
          );
        });
      if (res.status === 201 || res.status === 200) return;
      // 400 (bad request, e.g. an address Notify refuses) and 403 (key) will not change on retry; 429 and 5xx will.
      throw new MailError(
        `HTTP_${String(res.status)}`,
        res.status === 400 || res.status === 403,
        `Notify answered ${String(res.status)}`,
      );
    },
    async alreadySent(reference) {
      const url = new URL('/v2/notifications', origin);
      url.searchParams.set('reference', reference);
      url.searchParams.set('template_type', 'email');
      const res = await egress.request(url, { method: 'GET', headers: headers() }).catch((err: unknown) => {
        throw new MailError('NETWORK', false, 'Notify could not be reached', { cause: err });
      });
      if (res.status !== 200)
        throw new MailError(`HTTP_${String(res.status)}`, false, `Notify answered ${String(res.status)}`);
      const body = res.json<{ notifications?: unknown }>();
      return Array.isArray(body.notifications) && body.notifications.length > 0;
    },
    close: () => {
      if (options.egress === undefined) egress.close();
    },
  };
}
