/**
 * The edge: an nginx configuration generated from lpa-front's own route table (src/paths.ts), so a path
 * reaches lpa-front only when lpa-front declares it. Decisions and their reasons: docs/adr/0005-edge-nginx.md.
 *
 * Routing, in nginx's matching order:
 *   1. `location = <path>` for every declared path (exact match on the normalised $uri). proxy_pass carries
 *      the declared path as a literal, so lpa-front receives exactly that spelling, never the client's
 *      (`/user/../accessibility`, `//accessibility` and `/%61ccessibility` all arrive as `/accessibility`).
 *   2. One anchored regex for content-hashed assets: `/assets/[dir/]name-<10 hex>.<ext>`, characters
 *      `[A-Za-z0-9._-]` only, no segment starting with a dot. Proxied as the normalised $uri (which can then
 *      only hold those characters), without the query string.
 *   3. `location /`: everything else to the legacy front (HTTP or FastCGI, with the URI as the client sent
 *      it, as today), or 404 when there is none. Never to lpa-front.
 *
 * Headers: added at server level only (no location has an add_header, so none loses them), with `always`,
 * each only when the upstream sent none (`map $upstream_http_<name>`); values are constants, never a
 * request header. nginx's own 4xx/5xx therefore carry them too.
 *
 * Usage: `node deploy/nginx/generate.ts --help`, or import `generateNginxConf` (tests, scripts/stack.ts).
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { ASSET_PREFIX, EDGE_HELD_BACK, PATHS } from '../../src/paths.ts';
import { staticSecurityHeaders } from '../../src/platform/security-headers.ts';

export interface UpstreamServer {
  /** host:port (or unix:/path). */
  readonly address: string;
  /** Failures within failTimeout after which the server is skipped for failTimeout. Default 1. */
  readonly maxFails?: number;
  /** Default '10s'. */
  readonly failTimeout?: string;
}

export type LegacyUpstream =
  | { readonly kind: 'http'; readonly servers: readonly (string | UpstreamServer)[] }
  | {
      readonly kind: 'fastcgi';
      readonly servers: readonly (string | UpstreamServer)[];
      /** The front controller, e.g. /app/public/index.php. Every request runs this one script. */
      readonly scriptFilename: string;
      /** If set, files under this folder are served directly (try_files) before falling back to PHP. */
      readonly staticRoot?: string;
    };

export interface EdgeOptions {
  /** Address nginx listens on. Default 127.0.0.1 (a container would use 0.0.0.0). */
  readonly listenAddress?: string;
  readonly httpsPort: number;
  /** Plain HTTP port that only redirects to HTTPS. Omit for none. */
  readonly httpPort?: number;
  /** Public host name (and :port when not 443) that users see: Host and X-Forwarded-Host sent upstream, and redirect targets. */
  readonly publicHost: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** lpa-front instances. */
  readonly upstreams: readonly (string | UpstreamServer)[];
  /** Idle keep-alive connections kept per worker to lpa-front. Default 32. */
  readonly keepalive?: number;
  /** The legacy (PHP) front for every undeclared path; omitted: those get 404. */
  readonly legacy?: LegacyUpstream;
  /**
   * Standalone mode: pid, logs and temp files under this folder (tests, `npm run stack`). Omitted, the
   * output is only the `http { }` content, to include from a system nginx.conf.
   */
  readonly prefix?: string;
  /** Access log destination; default <prefix>/logs/access.log (standalone) or /dev/stdout. 'off' disables. */
  readonly accessLog?: string;
  readonly errorLog?: string;
  readonly workerProcesses?: number | 'auto';
  /** HTTP/2 on the TLS listener. Default true. */
  readonly http2?: boolean;
  /** Default '1m' (the live service's effective limit; lpa-front itself accepts far less). */
  readonly clientMaxBodySize?: string;
  /** Seconds. Defaults: connect 2, send 10, read 30. */
  readonly proxyConnectTimeout?: number;
  readonly proxySendTimeout?: number;
  readonly proxyReadTimeout?: number;
  /** Attempts per idempotent request across upstream servers (proxy_next_upstream_tries). Default 2. */
  readonly proxyTries?: number;
  /** CSP for responses whose upstream sent none (nginx's own error pages, legacy pages without one). */
  readonly fallbackCsp?: string;
}

/** What nginx adds to responses whose upstream did not send its own: nginx's error pages, chiefly. */
export const FALLBACK_CSP =
  "default-src 'none'; img-src 'self'; style-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Mozilla "intermediate" (server-side TLS guidelines v5.7+/6): TLS 1.2 ECDHE AEAD suites; TLS 1.3 suites are implicit. */
export const MOZILLA_INTERMEDIATE_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/**
 * The hashed-asset rule: an optional folder, then a name ending `-<10 hex>.<ext>` (scripts/build-assets.ts).
 * Only [A-Za-z0-9._-], no segment that starts with a dot, anchored at both ends.
 */
export const ASSET_REGEX = `^${ASSET_PREFIX}(?:[a-z0-9][a-z0-9_-]*/)?[A-Za-z0-9_][A-Za-z0-9._-]*-[0-9a-f]{10}\\.[a-z0-9]{1,8}$`;

/** Request headers that some frameworks trust to override the path, method or client: always cleared. */
export const CLEARED_REQUEST_HEADERS = [
  'Forwarded',
  'X-Real-IP',
  'X-Forwarded-Port',
  'X-Forwarded-Prefix',
  'X-Forwarded-Server',
  'X-Original-URL',
  'X-Rewrite-URL',
  'X-HTTP-Method-Override',
  'X-HTTP-Method',
  'X-Method-Override',
] as const;

/**
 * Every exact path the edge sends to lpa-front: PATHS, less the asset prefix (handled by ASSET_REGEX) and the
 * paths held back for the legacy front (EDGE_HELD_BACK).
 */
export function declaredPaths(): string[] {
  const paths = Object.values(PATHS).filter((p) => p !== ASSET_PREFIX && !Object.hasOwn(EDGE_HELD_BACK, p));
  for (const p of paths) assertPlainPath(p);
  return [...new Set(paths)].sort();
}

/** A path goes into the config verbatim, so it may only hold characters that need no quoting or escaping. */
export function assertPlainPath(p: string): void {
  const segments = p.slice(1).split('/');
  const bad = !p.startsWith('/')
    || segments.some((seg, i) => seg === '.' || seg === '..' || !/^[A-Za-z0-9._~-]*$/.test(seg) || (seg === '' && i < segments.length - 1));
  if (bad) {
    throw new Error(`nginx generator: "${p}" is not a plain absolute path`);
  }
}

/** Security headers nginx adds when the upstream sent none: lpa-front's own values, one source. */
export function edgeHeaders(fallbackCsp: string = FALLBACK_CSP): [string, string][] {
  const app = staticSecurityHeaders();
  // The reporting endpoint belongs to lpa-front pages; on nginx's own pages it would point nowhere useful.
  delete app['reporting-endpoints'];
  return [...Object.entries(app), ['content-security-policy', fallbackCsp]];
}

function assertToken(name: string, value: string, pattern: RegExp): string {
  if (!pattern.test(value)) throw new Error(`nginx generator: ${name} "${value}" is not allowed`);
  return value;
}

const ADDRESS = /^(?:[A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):\d{1,5}$|^unix:\/[A-Za-z0-9._/-]+$/;
const FILE = /^\/[A-Za-z0-9._/-]+$/;
const SIZE = /^\d+[kKmM]?$/;
// Printable ASCII except `"`, `$` and backslash: header values sit inside double quotes in the config.
const HEADER_VALUE = /^[\x20\x21\x23\x25-\x5b\x5d-\x7e]*$/;

function quote(value: string): string {
  return `"${assertToken('header value', value, HEADER_VALUE)}"`;
}

function serverLine(s: string | UpstreamServer): string {
  const server = typeof s === 'string' ? { address: s } : s;
  const maxFails = server.maxFails ?? 1;
  const failTimeout = assertToken('fail_timeout', server.failTimeout ?? '10s', /^\d+(ms|s|m)?$/);
  return `    server ${assertToken('upstream', server.address, ADDRESS)} max_fails=${String(maxFails)} fail_timeout=${failTimeout};`;
}

function varName(header: string): string {
  return header.toLowerCase().replace(/-/g, '_');
}

// Inside `return 200 "..."`: no double quotes; \n is nginx's newline escape.
const ERROR_BODY = "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
  + "<meta name='viewport' content='width=device-width, initial-scale=1'>"
  + '<title>$lpa_error_title - Make a lasting power of attorney - GOV.UK</title></head>'
  + '<body><main><h1>$lpa_error_title</h1><p>$lpa_error_text</p>'
  + "<p><a href='/'>Go to the start page</a></p></main></body></html>\\n";

/** nginx's own error page: internal only (a request for it from outside is a 404). */
export const ERROR_LOCATION = '/__lpa_edge_error__';

/** The `http { }` content: maps, upstreams, servers. */
export function renderHttpBlock(opts: EdgeOptions): string {
  const listen = assertToken('listenAddress', opts.listenAddress ?? '127.0.0.1', /^(?:[0-9.]+|\[[0-9a-fA-F:]+\]|\*)$/);
  const publicHost = assertToken('publicHost', opts.publicHost, /^[A-Za-z0-9.:-]+$/);
  const httpsPort = opts.httpsPort;
  const certFile = assertToken('certFile', opts.certFile, FILE);
  const keyFile = assertToken('keyFile', opts.keyFile, FILE);
  const bodySize = assertToken('clientMaxBodySize', opts.clientMaxBodySize ?? '1m', SIZE);
  const tries = opts.proxyTries ?? 2;
  if (opts.upstreams.length === 0) throw new Error('nginx generator: at least one lpa-front upstream is needed');
  const headers = edgeHeaders(opts.fallbackCsp);
  const accessLog = opts.accessLog ?? (opts.prefix !== undefined ? join(opts.prefix, 'logs/access.log') : '/dev/stdout');

  const out: string[] = [];
  const w = (line = ''): void => {
    out.push(line);
  };

  w('  # Generated by deploy/nginx/generate.ts from src/paths.ts. Do not edit: regenerate.');
  w('  server_tokens off;');
  w('  default_type application/octet-stream;');
  w('  sendfile on;');
  w('  tcp_nopush on;');
  w('  keepalive_timeout 65s;');
  w('  merge_slashes on;');
  w('  ignore_invalid_headers on;');
  w('  underscores_in_headers off;');
  w('  client_max_body_size ' + bodySize + ';');
  w('  client_body_buffer_size 16k;');
  w('  client_body_timeout 10s;');
  w('  client_header_timeout 10s;');
  w('  client_header_buffer_size 1k;');
  w('  large_client_header_buffers 4 16k;');
  w('  send_timeout 30s;');
  w('  reset_timedout_connection on;');
  w();
  w('  # JSON access log: the path without its query string (tokens travel there), no cookies, no headers but the user agent.');
  w('  map $request_uri $lpa_log_path {');
  w('    "~^(?<path>[^?]*)" $path;');
  w('  }');
  w("  log_format lpa_json escape=json '{\"time\":\"$time_iso8601\",\"request_id\":\"$request_id\",\"remote_addr\":\"$remote_addr\",'");
  w("    '\"method\":\"$request_method\",\"path\":\"$lpa_log_path\",\"protocol\":\"$server_protocol\",\"status\":$status,'");
  w("    '\"bytes_sent\":$body_bytes_sent,\"request_time\":$request_time,\"upstream\":\"$upstream_addr\",'");
  w("    '\"upstream_status\":\"$upstream_status\",\"upstream_time\":\"$upstream_response_time\",\"tls\":\"$ssl_protocol\",'");
  w("    '\"user_agent\":\"$http_user_agent\"}';");
  w(accessLog === 'off' ? '  access_log off;' : `  access_log ${assertToken('accessLog', accessLog, FILE)} lpa_json;`);
  w();
  w('  # Security headers: added only when the upstream sent none, so lpa-front\'s own (CSP nonce) are never doubled.');
  w('  # The values are constants: a request header is never copied into a response.');
  for (const [name, value] of headers) {
    w(`  map $upstream_http_${varName(name)} $lpa_edge_${varName(name)} {`);
    w(`    "" ${quote(value)};`);
    w('    default "";');
    w('  }');
  }
  w();
  w('  map $status $lpa_error_title {');
  w('    404 "Page not found";');
  w('    413 "The information you sent is too large";');
  w('    414 "The web address is too long";');
  w('    "~^5" "Sorry, there is a problem with the service";');
  w('    default "Sorry, there is a problem";');
  w('  }');
  w('  map $status $lpa_error_text {');
  w('    404 "If you typed the web address, check it is correct.";');
  w('    "~^5" "Try again later.";');
  w('    default "Check what you sent and try again.";');
  w('  }');
  w();
  w('  # gzip for text; responses lpa-front already compressed (Content-Encoding set) are left alone by nginx.');
  w('  gzip on;');
  w('  gzip_comp_level 5;');
  w('  gzip_min_length 256;');
  w('  gzip_proxied any;');
  w('  gzip_vary on;');
  w('  gzip_types text/plain text/css text/javascript application/javascript application/json application/manifest+json application/xml image/svg+xml;');
  w();
  w('  upstream lpa_front {');
  for (const s of opts.upstreams) w(serverLine(s));
  w(`    keepalive ${String(opts.keepalive ?? 32)};`);
  w('  }');
  if (opts.legacy !== undefined) {
    w('  upstream lpa_legacy {');
    for (const s of opts.legacy.servers) w(serverLine(s));
    w('    keepalive 16;');
    w('  }');
  }
  w();

  const headerLines = (indent: string): void => {
    for (const [name] of headers) w(`${indent}add_header ${name} $lpa_edge_${varName(name)} always;`);
  };

  if (opts.httpPort !== undefined) {
    w('  # Plain HTTP: redirect only, to the canonical host (never the client\'s Host).');
    w('  server {');
    w(`    listen ${listen}:${String(opts.httpPort)} default_server;`);
    w('    server_name _;');
    headerLines('    ');
    w('    location / {');
    w(`      return 301 https://${publicHost}$request_uri;`);
    w('    }');
    w('  }');
    w();
  }

  w('  server {');
  w(`    listen ${listen}:${String(httpsPort)} ssl${opts.http2 === false ? '' : ' http2'} default_server;`);
  w('    server_name _;');
  w();
  w('    # TLS: Mozilla "intermediate". OCSP stapling is off: the local test CA has no OCSP responder; turn it on');
  w('    # (ssl_stapling on; ssl_stapling_verify on; resolver) with a public CA.');
  w(`    ssl_certificate ${certFile};`);
  w(`    ssl_certificate_key ${keyFile};`);
  w('    ssl_protocols TLSv1.2 TLSv1.3;');
  w(`    ssl_ciphers ${MOZILLA_INTERMEDIATE_CIPHERS};`);
  w('    ssl_ecdh_curve X25519:prime256v1:secp384r1;');
  w('    ssl_prefer_server_ciphers off;');
  w('    ssl_session_timeout 1d;');
  w('    ssl_session_cache shared:lpa_tls:10m;');
  w('    ssl_session_tickets off;');
  w();
  w('    # Every response, nginx\'s own errors included (`always`). No location below has add_header, so all inherit these.');
  headerLines('    ');
  w();
  w('    # Plain HTTP sent to this TLS port: redirect to HTTPS rather than answer 400.');
  w(`    error_page 497 =301 https://${publicHost}$request_uri;`);
  // A URI, not a named location: a request refused while its headers are read (400, 414, 494) has no URI of
  // its own, and nginx cannot redirect such a request to a named location (it answers a bare 500 instead).
  w('    error_page 494 =400 ' + ERROR_LOCATION + ';');
  w('    error_page 400 403 404 405 408 411 413 414 416 500 502 503 504 ' + ERROR_LOCATION + ';');
  w('    location = ' + ERROR_LOCATION + ' {');
  w('      internal;');
  w('      default_type "text/html; charset=utf-8";');
  w(`      return 200 "${ERROR_BODY}";`); // the status stays the original error's (error_page keeps it)
  w('    }');
  w();
  w('    # To the upstreams: Host and X-Forwarded-* set here, overwriting anything the client sent.');
  w('    proxy_http_version 1.1;');
  w('    proxy_set_header Connection "";');
  w(`    proxy_set_header Host ${publicHost};`);
  w('    proxy_set_header X-Forwarded-For $remote_addr;');
  w('    proxy_set_header X-Forwarded-Proto $scheme;');
  w(`    proxy_set_header X-Forwarded-Host ${publicHost};`);
  for (const h of CLEARED_REQUEST_HEADERS) w(`    proxy_set_header ${h} "";`);
  w('    proxy_hide_header X-Powered-By;');
  w('    proxy_redirect off;');
  w(`    proxy_connect_timeout ${String(opts.proxyConnectTimeout ?? 2)}s;`);
  w(`    proxy_send_timeout ${String(opts.proxySendTimeout ?? 10)}s;`);
  w(`    proxy_read_timeout ${String(opts.proxyReadTimeout ?? 30)}s;`);
  w('    # Retries go to the next server for idempotent methods only (non_idempotent is deliberately absent).');
  w('    proxy_next_upstream error timeout http_502 http_503;');
  w(`    proxy_next_upstream_tries ${String(tries)};`);
  w('    proxy_next_upstream_timeout 10s;');
  w();
  w('    # lpa-front: exact declared paths (src/paths.ts PATHS), sent upstream as the declared spelling.');
  for (const p of declaredPaths()) {
    w(`    location = ${p} {`);
    w(`      proxy_pass http://lpa_front${p};`);
    w('    }');
  }
  w();
  w('    # lpa-front: content-hashed assets only; sent as the normalised path (only [A-Za-z0-9._/-]), no query string.');
  w(`    location ~ "${ASSET_REGEX}" {`);
  w('      proxy_pass http://lpa_front$uri;');
  w('    }');
  w();
  w('    # Everything else: never lpa-front.');
  w('    location / {');
  const legacy = opts.legacy;
  if (legacy === undefined) {
    w('      return 404;');
  } else if (legacy.kind === 'http') {
    w('      # The URI exactly as the client sent it: the legacy front routes on it today.');
    w('      proxy_pass http://lpa_legacy;');
  } else {
    if (legacy.staticRoot !== undefined) {
      w(`      root ${assertToken('staticRoot', legacy.staticRoot, FILE)};`);
      w('      try_files $uri @lpa_legacy_php;');
      w('    }');
      w('    location @lpa_legacy_php {');
    }
    const script = assertToken('scriptFilename', legacy.scriptFilename, FILE);
    w('      fastcgi_pass lpa_legacy;');
    w('      fastcgi_keep_conn on;');
    w('      fastcgi_hide_header X-Powered-By;');
    w(`      fastcgi_connect_timeout ${String(opts.proxyConnectTimeout ?? 2)}s;`);
    w(`      fastcgi_read_timeout ${String(opts.proxyReadTimeout ?? 30)}s;`);
    w('      fastcgi_next_upstream error timeout;');
    w(`      fastcgi_next_upstream_tries ${String(tries)};`);
    w(`      fastcgi_param SCRIPT_FILENAME ${script};`);
    w(`      fastcgi_param SCRIPT_NAME /${script.split('/').pop() ?? 'index.php'};`);
    const params: [string, string][] = [
      ['QUERY_STRING', '$query_string'], ['REQUEST_METHOD', '$request_method'], ['CONTENT_TYPE', '$content_type'],
      ['CONTENT_LENGTH', '$content_length'], ['REQUEST_URI', '$request_uri'], ['DOCUMENT_URI', '$document_uri'],
      ['SERVER_PROTOCOL', '$server_protocol'], ['REQUEST_SCHEME', '$scheme'], ['HTTPS', 'on'],
      ['GATEWAY_INTERFACE', 'CGI/1.1'], ['SERVER_SOFTWARE', 'nginx'], ['REMOTE_ADDR', '$remote_addr'],
      ['REMOTE_PORT', '$remote_port'], ['SERVER_ADDR', '$server_addr'], ['SERVER_PORT', '$server_port'],
      ['SERVER_NAME', publicHost.replace(/:\d+$/, '')], ['HTTP_HOST', publicHost],
      ['HTTP_X_FORWARDED_FOR', '$remote_addr'], ['HTTP_X_FORWARDED_PROTO', '$scheme'], ['HTTP_X_FORWARDED_HOST', publicHost],
      ['HTTP_PROXY', '""'], // httpoxy
    ];
    for (const h of CLEARED_REQUEST_HEADERS) params.push([`HTTP_${h.toUpperCase().replace(/-/g, '_')}`, '""']);
    for (const [k, v] of params) w(`      fastcgi_param ${k} ${v};`);
  }
  w('    }');
  w('  }');
  return out.join('\n') + '\n';
}

/** A complete nginx.conf (standalone, with `prefix`), or the http-block content to include (without). */
export function generateNginxConf(opts: EdgeOptions): string {
  const body = renderHttpBlock(opts);
  if (opts.prefix === undefined) return body;
  const p = (rel: string): string => assertToken('prefix', join(opts.prefix ?? '', rel), FILE);
  const workers = opts.workerProcesses ?? 1;
  return [
    '# Generated by deploy/nginx/generate.ts. Do not edit: regenerate.',
    `worker_processes ${String(workers)};`,
    `pid ${p('logs/nginx.pid')};`,
    `error_log ${opts.errorLog ?? p('logs/error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    `  client_body_temp_path ${p('temp/client_body')};`,
    `  proxy_temp_path ${p('temp/proxy')};`,
    `  fastcgi_temp_path ${p('temp/fastcgi')};`,
    `  uwsgi_temp_path ${p('temp/uwsgi')};`,
    `  scgi_temp_path ${p('temp/scgi')};`,
    body.trimEnd(),
    '}',
    '',
  ].join('\n');
}

const USAGE = `node deploy/nginx/generate.ts [options] > nginx.conf

  --public-host <host[:port]>   host users see (required)
  --https-port <n>              TLS listener (default 443)
  --http-port <n>               redirect-only listener (default 80; 0 for none)
  --listen <addr>               listen address (default 0.0.0.0)
  --cert <file> --key <file>    TLS certificate chain and key (required)
  --upstream <host:port>        an lpa-front instance (repeat)
  --legacy-http <host:port>     legacy front over HTTP (repeat), or
  --legacy-fastcgi <host:port>  legacy front over FastCGI (repeat) with --legacy-script <file> [--legacy-root <dir>]
  --prefix <dir>                standalone nginx.conf with pid/logs/temp under <dir>; omitted: http-block include
`;

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      'public-host': { type: 'string' },
      'https-port': { type: 'string', default: '443' },
      'http-port': { type: 'string', default: '80' },
      listen: { type: 'string', default: '0.0.0.0' },
      cert: { type: 'string' },
      key: { type: 'string' },
      upstream: { type: 'string', multiple: true, default: [] },
      'legacy-http': { type: 'string', multiple: true, default: [] },
      'legacy-fastcgi': { type: 'string', multiple: true, default: [] },
      'legacy-script': { type: 'string' },
      'legacy-root': { type: 'string' },
      prefix: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || values['public-host'] === undefined || values.cert === undefined || values.key === undefined || values.upstream.length === 0) {
    process.stderr.write(USAGE);
    process.exit(values.help ? 0 : 64);
  }
  let legacy: LegacyUpstream | undefined;
  if (values['legacy-http'].length > 0) legacy = { kind: 'http', servers: values['legacy-http'] };
  else if (values['legacy-fastcgi'].length > 0) {
    if (values['legacy-script'] === undefined) throw new Error('--legacy-fastcgi needs --legacy-script');
    legacy = { kind: 'fastcgi', servers: values['legacy-fastcgi'], scriptFilename: values['legacy-script'], staticRoot: values['legacy-root'] };
  }
  const httpPort = Number(values['http-port']);
  process.stdout.write(generateNginxConf({
    publicHost: values['public-host'],
    httpsPort: Number(values['https-port']),
    httpPort: httpPort === 0 ? undefined : httpPort,
    listenAddress: values.listen,
    certFile: values.cert,
    keyFile: values.key,
    upstreams: values.upstream,
    legacy,
    prefix: values.prefix,
  }));
}

if (import.meta.main) main(process.argv.slice(2));
