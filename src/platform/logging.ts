/**
 * Logs: pino JSON, one access line per request carrying its request id, nothing secret.
 *
 * Fastify's two default request lines are off; `accessLog` writes one line when the response is finished.
 * Only the path is logged (query strings can carry tokens), never headers, cookies or bodies. Redaction
 * is the second line of defence for anything a handler logs by mistake: cookies, authorisation headers,
 * CSRF values, tokens, passwords and email addresses are censored wherever they appear (two levels deep).
 */
import { randomFillSync } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LoggerOptions } from 'pino';
import { ASSET_PREFIX, QUIET_PATHS } from '../paths.ts';

const SECRET_KEYS = ['password', 'newPassword', 'currentPassword', 'token', 'authToken', '_csrf', '__csrf', 'csrf', 'email', 'username', 'cookie', 'authorization', 'set-cookie', 'secret', 'sessionSecret'];

export const REDACT_PATHS: string[] = [
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
  ...SECRET_KEYS.flatMap((k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? [k, `*.${k}`, `*.*.${k}`] : [`*["${k}"]`, `*.*["${k}"]`])),
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'lpa-front', pid: process.pid },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    formatters: { level: (label: string) => ({ level: label }) },
    serializers: {
      req: (req: { method?: string; url?: string; id?: string }) => ({ method: req.method, path: (req.url ?? '').split('?', 1)[0], id: req.id }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
  };
}

const ID_POOL = 6 * 1024;
let idPool = Buffer.alloc(0);
let idOffset = ID_POOL;

/** A short random request id, also the error reference shown on 500 pages. */
export function newRequestId(): string {
  if (idOffset >= ID_POOL) {
    idPool = randomFillSync(Buffer.alloc(ID_POOL));
    idOffset = 0;
  }
  const id = idPool.toString('base64url', idOffset, idOffset + 6).toUpperCase().replace(/[-_]/g, 'X');
  idOffset += 6;
  return id;
}

async function accessLog(app: FastifyInstance): Promise<void> {
  // The access line is built here from five fixed keys, none of them secret, so it skips pino's path
  // redaction, which was the largest cost per request in a CPU profile (docs/adr/0006). Every other
  // log line, including anything a handler logs, is still redacted by the configuration above.
  const access = app.log.child({}, { redact: { paths: ['accessLineHasNoSecretKeys'], censor: '[redacted]' } });
  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?', 1)[0] ?? '';
    if (QUIET_PATHS.has(path) || (path.startsWith(ASSET_PREFIX) && reply.statusCode < 400)) return;
    access.info({ reqId: request.id, method: request.method, path, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
  });
}

export default fp(accessLog, { name: 'lpa-access-log' });
