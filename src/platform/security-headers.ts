/**
 * Security headers on every response this app produces: pages, redirects, errors, 404s, assets, health
 * checks, and the raw responses Node writes for malformed requests (see `rawErrorResponse`).
 *
 * The Content-Security-Policy carries a fresh nonce per response (none on a request refused before this plugin's
 * onRequest hook ran); govuk-frontend's page template reads it as `cspNonce`. Everything but the nonce is computed
 * once at start-up. Decisions: docs/adr/0001 (X-XSS-Protection: 0) and docs/adr/0002 (the policy).
 */
import { randomPool } from './random-pool.ts';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { PATHS, SIGNED_OUT_URL } from '../paths.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** This response's CSP nonce (base64, 128 bits). */
    cspNonce: string;
  }
}

export interface SecurityHeadersOptions {
  /** Adds upgrade-insecure-requests and HSTS semantics meant for https origins. */
  readonly https: boolean;
}

/**
 * The policy, as directives; the nonce goes into script-src. Without one, no inline script may run.
 * `default-src 'none'`: every kind of resource the pages load is named below, and nothing else may load at all
 * (docs/adr/0024). Same-origin scripts and stylesheets also carry Subresource Integrity (the asset catalogue).
 */
export function cspDirectives(nonce: string | undefined, https: boolean): string[] {
  const directives = [
    "default-src 'none'",
    nonce === undefined ? "script-src 'self'" : `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'", // the session-timeout warning's fetches
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-src 'none'",
    "frame-ancestors 'self'",
    // Sign-out is a form whose response redirects to GOV.UK's "done" page; browsers apply form-action to that redirect.
    `form-action 'self' ${new URL(SIGNED_OUT_URL).origin}`,
    "require-trusted-types-for 'script'",
    `report-uri ${PATHS.cspReport}`,
    'report-to csp',
  ];
  if (https) directives.push('upgrade-insecure-requests');
  return directives;
}

export function contentSecurityPolicy(nonce: string | undefined, https: boolean): string {
  return cspDirectives(nonce, https).join('; ');
}

/** Every header but the CSP: the same on every response. */
export function staticSecurityHeaders(): Record<string, string> {
  return {
    'strict-transport-security': 'max-age=31536000; includeSubDomains',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'SAMEORIGIN',
    // ADR 0001: the XSS auditor is gone from browsers and `1; mode=block` could itself leak data; 0 is OWASP's advice.
    'x-xss-protection': '0',
    'referrer-policy': 'strict-origin-when-cross-origin',
    'permissions-policy':
      'accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), ' +
      'gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), ' +
      'publickey-credentials-get=(), usb=(), browsing-topics=()',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'origin-agent-cluster': '?1',
    'x-permitted-cross-domain-policies': 'none',
    'x-dns-prefetch-control': 'off',
    'reporting-endpoints': `csp="${PATHS.cspReport}"`,
  };
}

/** 128 random bits, base64, from a CSPRNG pool refilled 512 nonces at a time (one syscall, not one per response). */
export const nextNonce: () => string = randomPool(16, 512, (pool, start, end) => pool.toString('base64', start, end));

/**
 * Headers for a reply made outside Fastify's routes: Node's own refusals of malformed requests, and the few Fastify
 * answers before routing (a URL it cannot decode). No page is rendered, so no nonce is issued: the policy is the
 * one without a nonce source, the same as on a page refused before the nonce hook ran.
 */
export function rawErrorHeaders(https: boolean): Record<string, string> {
  return {
    ...staticSecurityHeaders(),
    'content-security-policy': contentSecurityPolicy(undefined, https),
    'cache-control': 'no-store',
  };
}

/** The body of such a reply: the status and its reason, nothing of the request. */
export function rawErrorBody(status: number, reason: string): string {
  return `${String(status)} ${reason}\n`;
}

/** A whole HTTP/1.1 response, for Node's `clientError` (malformed request, header overflow, timeout). */
export function rawErrorResponse(status: number, reason: string, https: boolean): string {
  const body = rawErrorBody(status, reason);
  let head =
    `HTTP/1.1 ${String(status)} ${reason}\r\nconnection: close\r\ncontent-type: text/plain; ` +
    `charset=utf-8\r\ncontent-length: ${String(Buffer.byteLength(body))}\r\n`;
  for (const [name, value] of Object.entries(rawErrorHeaders(https))) head += `${name}: ${value}\r\n`;
  return `${head}\r\n${body}`;
}

async function securityHeaders(app: FastifyInstance, options: SecurityHeadersOptions): Promise<void> {
  const fixed = staticSecurityHeaders();
  const https = options.https;
  const [cspBefore, cspAfter] = contentSecurityPolicy('\u0000', https).split('\u0000') as [string, string];
  const cspWithoutNonce = contentSecurityPolicy(undefined, https);

  app.decorateRequest('cspNonce', '');
  // Callback-style hooks (here and in the other plugins): Fastify runs them without a promise and a microtask each.
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const nonce = nextNonce();
    request.cspNonce = nonce;
    reply.headers(fixed);
    reply.header('content-security-policy', cspBefore + nonce + cspAfter);
    // Safe default: nothing is cached unless a route says so (assets do).
    reply.header('cache-control', 'no-store');
    done();
  });
  // Error and 404 replies keep the headers above; this re-asserts them should anything have removed one.
  app.addHook(
    'onSend',
    (
      request: FastifyRequest,
      reply: FastifyReply,
      payload: unknown,
      done: (err: Error | null, payload?: unknown) => void,
    ) => {
      if (!reply.hasHeader('content-security-policy')) {
        reply.headers(fixed);
        if (request.cspNonce !== '') {
          reply.header('content-security-policy', cspBefore + request.cspNonce + cspAfter);
        } else {
          // An earlier onRequest hook refused the request (the Host check in limits.ts), so the hook above never ran:
          // no nonce was issued and the error page was rendered without one. A policy with no nonce source is the
          // narrowest that fits (the page's own script still loads from 'self'; no inline script runs), and an
          // empty 'nonce-' would be invalid. No route ran to choose caching, so the default applies.
          reply.header('content-security-policy', cspWithoutNonce);
          reply.header('cache-control', 'no-store');
        }
      }
      if (reply.hasHeader('x-powered-by')) reply.removeHeader('x-powered-by');
      done(null, payload);
    },
  );
}

export default fp(securityHeaders, { name: 'lpa-security-headers' });
