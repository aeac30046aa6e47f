/**
 * Status and well-known files: /ping/elb (load balancer), /ping/json (dependency status), /ping (the overall
 * status as one word of plain text), /robots.txt (Disallow everything, as the live service), /.well-known/security.txt
 * (RFC 9116).
 * Health checks never touch the session (no cookie, no Redis key per probe: the live service creates one
 * for every Pingdom hit).
 */
import type { FastifyInstance } from 'fastify';
import { PATHS } from '../../paths.ts';

export interface HealthCheck {
  readonly name: string;
  /** A failing required check makes the whole status fail; an optional one only warns. */
  readonly required: boolean;
  check(): Promise<unknown>;
}

export interface CheckResult {
  readonly ok: boolean;
  readonly status: 'pass' | 'warn' | 'fail';
  readonly ms: number;
  /** What a passing check chose to report (`{ detail }` from its check): clamd's engine and signature age. */
  readonly detail?: Readonly<Record<string, string | number | null>>;
}

export interface StatusReport {
  readonly ok: boolean;
  readonly status: 'pass' | 'warn' | 'fail';
  readonly checks: Record<string, CheckResult>;
}

const CHECK_TIMEOUT_MS = 2000;

function detailOf(value: unknown): CheckResult['detail'] {
  if (value === null || typeof value !== 'object' || !('detail' in value)) return undefined;
  const d: unknown = value.detail;
  return d !== null && typeof d === 'object'
    ? Object.fromEntries(
        Object.entries(d).filter(
          (e): e is [string, string | number | null] =>
            e[1] === null || typeof e[1] === 'string' || typeof e[1] === 'number',
        ),
      )
    : undefined;
}

export async function runChecks(checks: readonly HealthCheck[]): Promise<StatusReport> {
  const entries = await Promise.all(
    checks.map(async (c): Promise<[string, CheckResult]> => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      let detail: CheckResult['detail'];
      const ok = await Promise.race([
        c.check().then(
          (value) => {
            detail = detailOf(value);
            return true;
          },
          () => false,
        ),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => {
            resolve(false);
          }, CHECK_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
      const status = ok ? 'pass' : c.required ? 'fail' : 'warn';
      return [
        c.name,
        { ok, status, ms: Math.round(performance.now() - started), ...(ok && detail !== undefined ? { detail } : {}) },
      ];
    }),
  );
  const checksOut = Object.fromEntries(entries);
  const failed = entries.some(([, r]) => r.status === 'fail');
  const warned = entries.some(([, r]) => r.status === 'warn');
  return { ok: !failed, status: failed ? 'fail' : warned ? 'warn' : 'pass', checks: checksOut };
}

export function securityTxt(publicOrigin: string, now: Date = new Date()): string {
  const expires = new Date(now.getTime() + 180 * 24 * 3600 * 1000);
  expires.setUTCHours(0, 0, 0, 0);
  return [
    'Contact: mailto:security@digital.justice.gov.uk',
    'Contact: https://hackerone.com/ministry-of-justice',
    `Expires: ${expires.toISOString()}`,
    'Preferred-Languages: en',
    `Canonical: ${publicOrigin}${PATHS.securityTxt}`,
    'Policy: https://security-guidance.service.justice.gov.uk/#vulnerability-disclosure',
    '',
  ].join('\n');
}

export interface StatusOptions {
  readonly checks: readonly HealthCheck[];
  readonly publicOrigin: string;
}

export default async function statusRoutes(app: FastifyInstance, options: StatusOptions): Promise<void> {
  const quiet = { config: { session: false } } as const;
  const security = securityTxt(options.publicOrigin);

  // Never shed (load-shedding.ts): a 503 here would make the load balancer pull every busy instance at once.
  app.get(PATHS.pingElb, { config: { session: false, loadShedding: false } }, async (_req, reply) =>
    reply.type('text/plain; charset=utf-8').send('Happy face'),
  );
  app.get(PATHS.robots, quiet, async (_req, reply) =>
    reply.type('text/plain; charset=utf-8').send('User-agent: *\nDisallow: /\n'),
  );
  app.get(PATHS.securityTxt, quiet, async (_req, reply) => reply.type('text/plain; charset=utf-8').send(security));

  app.get(PATHS.pingJson, { config: { session: false, json: true } }, async (_req, reply) => {
    const report = await runChecks(options.checks);
    return reply
      .code(report.ok ? 200 : 503)
      .type('application/json; charset=utf-8')
      .send(report);
  });
  // Plain text, overall status only: the public page names no internal dependency (the JSON at /ping/json is for
  // the monitoring that needs the detail).
  app.get(PATHS.ping, quiet, async (_req, reply) => {
    const report = await runChecks(options.checks);
    return reply
      .code(report.ok ? 200 : 503)
      .type('text/plain; charset=utf-8')
      .send(`${report.status}\n`);
  });
}
