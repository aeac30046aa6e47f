/**
 * CSP violation reports (report-uri and the Reporting API), rate-limited per source address.
 * CSRF is off for this route alone: browsers send reports without a token, and the endpoint changes
 * nothing but a log line. Reports are size-capped, reduced to known fields and logged at warn.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PATHS } from '../../paths.ts';

const REPORT_TYPES = ['application/csp-report', 'application/reports+json', 'application/json'];
const FIELDS = [
  'document-uri',
  'documentURL',
  'violated-directive',
  'effective-directive',
  'effectiveDirective',
  'blocked-uri',
  'blockedURL',
  'source-file',
  'sourceFile',
  'line-number',
  'lineNumber',
  'disposition',
  'status-code',
];

/** Keeps only the known, short fields of each report, paths without query strings. */
export function summariseReports(body: unknown): Record<string, string | number>[] {
  const list = Array.isArray(body) ? body : [body];
  return list.slice(0, 10).map((item) => {
    const r = (
      item !== null && typeof item === 'object'
        ? ((item as Record<string, unknown>)['csp-report'] ?? (item as Record<string, unknown>).body ?? item)
        : {}
    ) as Record<string, unknown>;
    const out: Record<string, string | number> = {};
    for (const f of FIELDS) {
      const v = r[f];
      if (typeof v === 'number') out[f] = v;
      else if (typeof v === 'string') out[f] = v.split('?', 1)[0]?.slice(0, 200) ?? '';
    }
    return out;
  });
}

export default async function cspReportRoutes(app: FastifyInstance): Promise<void> {
  await app.register(rateLimit, { global: false });
  for (const type of REPORT_TYPES) {
    app.addContentTypeParser(
      type,
      { parseAs: 'string', bodyLimit: 16 * 1024 },
      (_req: FastifyRequest, body: string, done) => {
        try {
          done(null, JSON.parse(body) as unknown);
        } catch {
          done(Object.assign(new Error('invalid report'), { statusCode: 400 }), undefined);
        }
      },
    );
  }
  app.post(
    PATHS.cspReport,
    {
      config: { csrf: false, session: false, json: true, rateLimit: { max: 30, timeWindow: '1 minute' } },
    },
    async (request, reply) => {
      request.log.warn({ cspViolations: summariseReports(request.body) }, 'csp violation reported');
      return reply.code(204).send();
    },
  );
}
