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
 *   2b. One anchored regex per token page (src/paths.ts TOKEN_PATHS): `<prefix><TOKEN_SEGMENT>`, proxied as the
 *      normalised $uri (only `[A-Za-z0-9_-]` after the prefix). A link with any other character goes to the legacy
 *      front. The access log writes such paths (and the legacy front's token paths) with `[redacted]` for the token.
 *   2c. One anchored regex per id sub-route of a routed page (ID_ROUTES: `/user/evidence/<uuid>` and its `/delete`),
 *      routed only when that page is; the id a lowercase UUID, proxied as the normalised $uri. Server-wide body
 *      limit; a download is never spooled to nginx's temp files (`proxy_max_temp_file_size 0`). ADR 0052.
 *   3. `location /`: everything else to the legacy front (HTTP or FastCGI, with the URI as the client sent
 *      it, as today), or 404 when there is none. Never to lpa-front.
 *
 * Headers: added at server level only (no location has an add_header, so none loses them), with `always`,
 * each only when the upstream sent none (`map $upstream_http_<name>`); values are constants, never a
 * request header. nginx's own 4xx/5xx therefore carry them too.
 *
 * The text itself is in http.conf.njk, stream.conf.njk and nginx.conf.njk beside this file; this module checks
 * every value and hands the templates only checked values (test/edge/nginx-golden.edge.test.ts pins the output).
 *
 * Usage: `node deploy/nginx/generate.ts --help`, or import `generateNginxConf` (tests, scripts/stack.ts).
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import nunjucks from 'nunjucks';
import {
  ASSET_PREFIX,
  EDGE_HELD_BACK,
  EVIDENCE_DELETE_ROUTE,
  EVIDENCE_FILE_ROUTE,
  PATHS,
  TOKEN_PATHS,
  TOKEN_PATH_PREFIXES,
  TOKEN_SEGMENT,
  UPLOAD_PATHS,
} from '../../src/paths.ts';
import { staticSecurityHeaders } from '../../src/platform/security-headers.ts';

export interface UpstreamServer {
  /** host:port (or unix:/path). */
  readonly address: string;
  /** Failures within failTimeout after which the server is skipped for failTimeout. Default 1. */
  readonly maxFails?: number;
  /** Default '10s'. */
  readonly failTimeout?: string;
  /** Out of rotation (`down`): taken out before it is stopped, so nginx sends it nothing new while it drains. */
  readonly down?: boolean;
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

/**
 * The TCP layer in front of the http servers (a `stream` block): one client address may hold at most
 * `perAddress` connections, counted when the connection is accepted, before a byte of TLS or HTTP is read
 * (nginx's http `limit_conn` counts a connection only once its request header is complete). Each listener
 * is proxied to its http server over a unix socket with the PROXY protocol, so the http layer still sees
 * the client's address. Reasons and sizing: docs/adr/0025-edge-connection-limits.md.
 */
export interface TcpFront {
  /** Connections one client address may hold open at once, over both listeners. */
  readonly perAddress: number;
  /** Folder for the internal unix sockets. Default <prefix>/temp (standalone) or /run. */
  readonly socketDir?: string;
  /**
   * Addresses or CIDRs of a TCP load balancer in front that sends the PROXY protocol (e.g. an NLB): the
   * listeners then expect it, and take the client address from it only when the peer is one of these.
   */
  readonly proxyProtocolFrom?: readonly string[];
  /**
   * load_module path for a dynamic stream module (Debian's libnginx-mod-stream); false when built in. Standalone only.
   */
  readonly streamModule?: string | false;
}

export const DEFAULT_TCP_FRONT: TcpFront = { perAddress: 128 };

/**
 * The location of an upload route (src/paths.ts UPLOAD_PATHS), once it is routed to lpa-front: its own body limit,
 * the body streamed to lpa-front as it arrives (`proxy_request_buffering off`: no unscanned file lands in nginx's temp
 * files, and lpa-front's minimum-rate check sees the client's real pace), and timeouts that fit an upload. lpa-front
 * enforces the total time and the minimum rate (UPLOAD_TIMEOUT_MS, UPLOAD_MIN_BYTES_PER_SECOND); nginx only bounds the
 * silence between two reads. docs/adr/0052.
 */
export interface UploadLocation {
  /**
   * One request's whole body. Default '101m': lpa-front's own total for its defaults, UPLOAD_MAX_FILES_PER_USER x
   * (UPLOAD_MAX_FILE_BYTES + 64 KiB of part headers) = 5 x 20.0625 MiB, rounded up.
   */
  readonly maxBodySize?: string;
  /** Seconds of silence from the client between two reads (client_body_timeout). Default 10. */
  readonly bodyTimeout?: number;
  /** Seconds lpa-front may take to answer once the body is sent: it scans every file first. Default 180. */
  readonly readTimeout?: number;
}

export interface EdgeOptions {
  /** Address nginx listens on. Default 127.0.0.1 (a container would use 0.0.0.0). */
  readonly listenAddress?: string;
  readonly httpsPort: number;
  /** Plain HTTP port that only redirects to HTTPS. Omit for none. */
  readonly httpPort?: number;
  /**
   * Public host name (and :port when not 443) that users see: Host and X-Forwarded-Host sent upstream, and redirect
   * targets.
   */
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
  /** The upload routes' own location (src/paths.ts UPLOAD_PATHS), when routed: see UploadLocation. */
  readonly upload?: UploadLocation;
  /** Seconds. Defaults: connect 2, send 10, read 30. */
  readonly proxyConnectTimeout?: number;
  readonly proxySendTimeout?: number;
  readonly proxyReadTimeout?: number;
  /** Attempts per idempotent request across upstream servers (proxy_next_upstream_tries). Default 2. */
  readonly proxyTries?: number;
  /** CSP for responses whose upstream sent none (nginx's own error pages, legacy pages without one). */
  readonly fallbackCsp?: string;
  /** worker_connections (every client, upstream and internal connection counts). Default 4096. Standalone only. */
  readonly workerConnections?: number;
  /** Per-address connection limit in front of the http servers; false: none (the http servers listen directly). */
  readonly tcpFront?: TcpFront | false;
  /**
   * Share of requests (0-100 %) that the edge marks sampled in the traceparent it sends upstream. The edge
   * decides, so a client cannot force tracing; the trace id of a valid incoming header is kept. Default 5.
   */
  readonly traceSamplePercent?: number;
  /**
   * TESTS ONLY: paths in EDGE_HELD_BACK to route to lpa-front anyway, so the edge tests keep a signed-in page
   * behind nginx whatever the legacy front keeps. Each must be a path in PATHS; the CLI never sets it.
   */
  readonly alsoRoute?: readonly string[];
}

/** What nginx adds to responses whose upstream did not send its own: nginx's error pages, chiefly. */
export const FALLBACK_CSP =
  "default-src 'none'; img-src 'self'; style-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * Mozilla "intermediate" (server-side TLS guidelines v5.7+/6): TLS 1.2 ECDHE AEAD suites; TLS 1.3 suites are implicit.
 */
export const MOZILLA_INTERMEDIATE_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/**
 * The end of every regex location: PCRE's `$` also matches before a final newline, so a `%0A` at the end would match
 * and reach lpa-front raw in $uri (a bare LF in the request line). `(?!\n)` refuses it; JavaScript reads it the same.
 */
export const REGEX_END = '$(?!\\n)';

/**
 * The hashed-asset rule: an optional folder, then a name ending `-<10 hex>.<ext>` (scripts/build-assets.ts).
 * Only [A-Za-z0-9._-], no segment that starts with a dot, anchored at both ends.
 */
export const ASSET_REGEX = `^${ASSET_PREFIX}(?:[a-z0-9][a-z0-9_-]*/)?[A-Za-z0-9_][A-Za-z0-9._-]*-[0-9a-f]{10}\\.[a-z0-9]{1,8}${REGEX_END}`;

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
 * paths held back for the legacy front (EDGE_HELD_BACK), unless a test routes them anyway (`alsoRoute`).
 */
export function declaredPaths(alsoRoute: readonly string[] = []): string[] {
  const known: readonly string[] = Object.values(PATHS);
  for (const p of alsoRoute) {
    if (!known.includes(p) || p === ASSET_PREFIX)
      throw new Error(`nginx generator: alsoRoute "${p}" is not a page path in PATHS`);
  }
  const paths = routedPaths(alsoRoute).filter((p) => !isPrefixPath(p));
  for (const p of paths) assertPlainPath(p);
  return [...new Set(paths)].sort();
}

/**
 * A path in PATHS that ends in `/` (other than `/` and the asset prefix) is a prefix: its route takes a number after
 * it.
 */
function isPrefixPath(p: string): boolean {
  return p.length > 1 && p.endsWith('/');
}

function routedPaths(alsoRoute: readonly string[]): string[] {
  return Object.values(PATHS).filter(
    (p) => p !== ASSET_PREFIX && (!Object.hasOwn(EDGE_HELD_BACK, p) || alsoRoute.includes(p)),
  );
}

/**
 * The prefix paths the edge sends to lpa-front (PATHS.dashboardPage: `/user/dashboard/page/` for
 * `/user/dashboard/page/:page`), each as a location regex: the prefix, then 1 to 9 digits, nothing else.
 */
export function declaredPatterns(alsoRoute: readonly string[] = []): string[] {
  return declaredPrefixes(alsoRoute).map((p) => `^${p.replace(/[.]/g, '\\.')}[0-9]{1,9}${REGEX_END}`);
}

/** The prefix paths themselves (for the tests that compare them with the live route table). */
export function declaredPrefixes(alsoRoute: readonly string[] = []): string[] {
  const prefixes = routedPaths(alsoRoute).filter(isPrefixPath);
  for (const p of prefixes) assertPlainPath(p);
  return [...new Set(prefixes)].sort();
}

/** The anchored regex of each token page the edge sends to lpa-front (TOKEN_PATHS). */
export function tokenPathRegexes(): string[] {
  return Object.values(TOKEN_PATHS)
    .map((prefix) => {
      assertPlainPath(prefix);
      return `^${prefix}${TOKEN_SEGMENT}${REGEX_END}`;
    })
    .sort();
}

/** The access log's rewrite: a token path's last segment logged as `[redacted]` (TOKEN_PATH_PREFIXES). */
export function redactedLogPrefixes(): string[] {
  for (const prefix of TOKEN_PATH_PREFIXES) assertPlainPath(prefix);
  return [...TOKEN_PATH_PREFIXES].sort();
}

/** What an id segment may be at the edge: a lowercase UUID (the evidence store's `randomUUID`), as a regex source. */
export const UUID_SEGMENT = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/**
 * Routes with an `:id` segment under a page in PATHS (`under`): the edge routes each exactly when it routes that page.
 * `download`: the answer is a user's file (up to UPLOAD_MAX_FILE_BYTES), which nginx must not spool to its temp files.
 */
export const ID_ROUTES: readonly { readonly route: string; readonly under: string; readonly download: boolean }[] = [
  { route: EVIDENCE_FILE_ROUTE, under: PATHS.evidence, download: true },
  { route: EVIDENCE_DELETE_ROUTE, under: PATHS.evidence, download: false },
];

/** The anchored regex of each id sub-route whose page is routed (ID_ROUTES), and whether it is a download. */
export function idRouteLocations(alsoRoute: readonly string[] = []): { regex: string; download: boolean }[] {
  const routed = routedPaths(alsoRoute);
  return ID_ROUTES.filter((r) => routed.includes(r.under))
    .map((r) => {
      const parts = r.route.split('/:id');
      if (parts.length !== 2) throw new Error(`nginx generator: "${r.route}" has no single :id segment`);
      const [before = '', after = ''] = parts;
      assertPlainPath(before);
      if (after !== '') assertPlainPath(after);
      const escape = (s: string): string => s.replace(/[.]/g, '\\.');
      return { regex: `^${escape(before)}/${UUID_SEGMENT}${escape(after)}${REGEX_END}`, download: r.download };
    })
    .sort((a, b) => a.regex.localeCompare(b.regex));
}

/** A path goes into the config verbatim, so it may only hold characters that need no quoting or escaping. */
export function assertPlainPath(p: string): void {
  const segments = p.slice(1).split('/');
  const bad =
    !p.startsWith('/') ||
    segments.some(
      (seg, i) =>
        seg === '.' || seg === '..' || !/^[A-Za-z0-9._~-]*$/.test(seg) || (seg === '' && i < segments.length - 1),
    );
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

function seconds(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 3600)
    throw new Error(`nginx generator: ${name} ${String(value)} is not allowed`);
  return value;
}

function serverLine(s: string | UpstreamServer): string {
  const server = typeof s === 'string' ? { address: s } : s;
  const maxFails = server.maxFails ?? 1;
  const failTimeout = assertToken('fail_timeout', server.failTimeout ?? '10s', /^\d+(ms|s|m)?$/);
  return (
    `server ${assertToken('upstream', server.address, ADDRESS)} max_fails=${String(maxFails)} ` +
    `fail_timeout=${failTimeout}${server.down === true ? ' down' : ''};`
  );
}

function varName(header: string): string {
  return header.toLowerCase().replace(/-/g, '_');
}

interface ResolvedTcpFront {
  readonly perAddress: number;
  readonly proxyProtocolFrom: readonly string[];
  readonly streamModule: string | false;
  /** The unix socket an http server listens on behind the stream listener for `port`. */
  readonly socket: (port: number) => string;
}

/** An IPv4 or IPv6 address, optionally with a prefix length. */
function assertCidr(value: string): string {
  const [address = '', bits, extra] = value.split('/');
  if (
    extra !== undefined ||
    !/^[0-9a-fA-F.:]{2,39}$/.test(address) ||
    (bits !== undefined && !/^\d{1,3}$/.test(bits))
  ) {
    throw new Error(`nginx generator: proxyProtocolFrom "${value}" is not allowed`);
  }
  return value;
}

function resolveTcpFront(opts: EdgeOptions): ResolvedTcpFront | undefined {
  const front = opts.tcpFront ?? DEFAULT_TCP_FRONT;
  if (front === false) return undefined;
  if (!Number.isInteger(front.perAddress) || front.perAddress < 1)
    throw new Error(`nginx generator: tcpFront.perAddress ${String(front.perAddress)} is not allowed`);
  const dir = assertToken(
    'socketDir',
    front.socketDir ?? (opts.prefix !== undefined ? join(opts.prefix, 'temp') : '/run'),
    FILE,
  );
  return {
    perAddress: front.perAddress,
    proxyProtocolFrom: (front.proxyProtocolFrom ?? []).map(assertCidr),
    streamModule: front.streamModule ?? '/usr/lib/nginx/modules/ngx_stream_module.so',
    socket: (port) => `unix:${join(dir, `lpa-edge-${String(port)}.sock`)}`,
  };
}

/** The sampled share the edge puts in the traceparent it sends: its own decision, never the client's. */
function assertTraceSamplePercent(percent: number): number {
  const hundredths = percent * 100; // split_clients takes at most two decimals
  if (!(percent >= 0 && percent <= 100) || Math.abs(hundredths - Math.round(hundredths)) > 1e-9) {
    throw new Error(`nginx generator: traceSamplePercent ${String(percent)} is not allowed`);
  }
  return percent;
}

/** Where plain HTTP sent to the TLS port is redirected from: internal only, like the error page. */
export const TO_HTTPS_LOCATION = '/__lpa_edge_to_https__';

/** nginx's own error page: internal only (a request for it from outside is a 404). */
export const ERROR_LOCATION = '/__lpa_edge_error__';

/**
 * The templates (*.conf.njk beside this file) are nginx config, not HTML: HTML escaping would corrupt them (a
 * CSP's quotes would become &#39;), so autoescape is off for this one Environment. What keeps the config safe is
 * that every value is checked against a narrow pattern here before it reaches a template; throwOnUndefined makes
 * a misspelt variable fail instead of vanishing.
 */
const templates = new nunjucks.Environment(new nunjucks.FileSystemLoader(import.meta.dirname), {
  // eslint-disable-next-line no-restricted-syntax -- nginx config, not HTML (see above); every value is validated.
  autoescape: false,
  throwOnUndefined: true,
  trimBlocks: true,
  lstripBlocks: true,
});

/** The FastCGI parameters for the legacy front: the URI as the client sent it, the rest set by the edge. */
function fastcgiParams(publicHost: string, httpsPort: number, front: ResolvedTcpFront | undefined): [string, string][] {
  const params: [string, string][] = [
    ['QUERY_STRING', '$query_string'],
    ['REQUEST_METHOD', '$request_method'],
    ['CONTENT_TYPE', '$content_type'],
    ['CONTENT_LENGTH', '$content_length'],
    ['REQUEST_URI', '$request_uri'],
    ['DOCUMENT_URI', '$document_uri'],
    ['SERVER_PROTOCOL', '$server_protocol'],
    ['REQUEST_SCHEME', '$scheme'],
    ['HTTPS', 'on'],
    ['GATEWAY_INTERFACE', 'CGI/1.1'],
    ['SERVER_SOFTWARE', 'nginx'],
    ['REMOTE_ADDR', '$remote_addr'],
    ['REMOTE_PORT', '$remote_port'],
    ['SERVER_ADDR', front === undefined ? '$server_addr' : '$proxy_protocol_server_addr'],
    ['SERVER_PORT', String(httpsPort)],
    ['SERVER_NAME', publicHost.replace(/:\d+$/, '')],
    ['HTTP_HOST', publicHost],
    ['HTTP_X_FORWARDED_FOR', '$remote_addr'],
    ['HTTP_X_FORWARDED_PROTO', '$scheme'],
    ['HTTP_X_FORWARDED_HOST', publicHost],
    ['HTTP_PROXY', '""'], // httpoxy
    ['HTTP_TRACEPARENT', '$lpa_traceparent'],
    ['HTTP_X_AMZN_TRACE_ID', '$lpa_trace_xray'],
    ['HTTP_TRACESTATE', '""'],
    ['HTTP_BAGGAGE', '""'],
  ];
  for (const h of CLEARED_REQUEST_HEADERS) params.push([`HTTP_${h.toUpperCase().replace(/-/g, '_')}`, '""']);
  return params;
}

function legacyView(
  legacy: LegacyUpstream | undefined,
  publicHost: string,
  httpsPort: number,
  front: ResolvedTcpFront | undefined,
): object | null {
  if (legacy === undefined) return null;
  const servers = legacy.servers.map(serverLine);
  if (legacy.kind === 'http') return { kind: 'http', servers };
  const staticRoot = legacy.staticRoot !== undefined ? assertToken('staticRoot', legacy.staticRoot, FILE) : null;
  const script = assertToken('scriptFilename', legacy.scriptFilename, FILE);
  return {
    kind: 'fastcgi',
    servers,
    staticRoot,
    script,
    scriptName: script.split('/').pop() ?? 'index.php',
    params: fastcgiParams(publicHost, httpsPort, front),
  };
}

/** The `http { }` content: maps, upstreams, servers (http.conf.njk). */
export function renderHttpBlock(opts: EdgeOptions): string {
  const listen = assertToken('listenAddress', opts.listenAddress ?? '127.0.0.1', /^(?:[0-9.]+|\[[0-9a-fA-F:]+\]|\*)$/);
  const publicHost = assertToken('publicHost', opts.publicHost, /^[A-Za-z0-9.:-]+$/);
  const httpsPort = opts.httpsPort;
  const certFile = assertToken('certFile', opts.certFile, FILE);
  const keyFile = assertToken('keyFile', opts.keyFile, FILE);
  const bodySize = assertToken('clientMaxBodySize', opts.clientMaxBodySize ?? '1m', SIZE);
  const upload = {
    bodySize: assertToken('upload.maxBodySize', opts.upload?.maxBodySize ?? '101m', SIZE),
    bodyTimeout: seconds('upload.bodyTimeout', opts.upload?.bodyTimeout ?? 10),
    readTimeout: seconds('upload.readTimeout', opts.upload?.readTimeout ?? 180),
  };
  if (opts.upstreams.length === 0) throw new Error('nginx generator: at least one lpa-front upstream is needed');
  const accessLog =
    opts.accessLog ?? (opts.prefix !== undefined ? join(opts.prefix, 'logs/access.log') : '/dev/stdout');
  const front = resolveTcpFront(opts);
  const alsoRoute = opts.alsoRoute ?? [];
  return templates.render('http.conf.njk', {
    listen,
    publicHost,
    httpsPort,
    hasHttpPort: opts.httpPort !== undefined,
    httpPort: opts.httpPort ?? null,
    tlsParams: ` ssl${opts.http2 === false ? '' : ' http2'}`,
    certFile,
    keyFile,
    ciphers: MOZILLA_INTERMEDIATE_CIPHERS,
    bodySize,
    accessLog: accessLog === 'off' ? 'off' : assertToken('accessLog', accessLog, FILE),
    headers: edgeHeaders(opts.fallbackCsp).map(([name, value]) => ({
      name,
      varName: varName(name),
      value: assertToken('header value', value, HEADER_VALUE),
    })),
    traceSamplePercent: assertTraceSamplePercent(opts.traceSamplePercent ?? 5),
    upstreams: opts.upstreams.map(serverLine),
    keepalive: opts.keepalive ?? 32,
    legacy: legacyView(opts.legacy, publicHost, httpsPort, front),
    front: front ?? null,
    errorLocation: ERROR_LOCATION,
    toHttpsLocation: TO_HTTPS_LOCATION,
    clearedHeaders: CLEARED_REQUEST_HEADERS,
    connectTimeout: opts.proxyConnectTimeout ?? 2,
    sendTimeout: opts.proxySendTimeout ?? 10,
    readTimeout: opts.proxyReadTimeout ?? 30,
    tries: opts.proxyTries ?? 2,
    alsoRoute,
    paths: declaredPaths(alsoRoute),
    uploadPaths: UPLOAD_PATHS,
    upload,
    patterns: declaredPatterns(alsoRoute),
    assetRegex: ASSET_REGEX,
    tokenRegexes: tokenPathRegexes(),
    idRoutes: idRouteLocations(alsoRoute),
    redactedPrefixes: redactedLogPrefixes(),
  });
}

/**
 * The `stream { }` content (empty without a TCP front): one TCP listener per port, each limiting connections per
 * client address and passing the rest, with the PROXY protocol, to its http server's unix socket (stream.conf.njk).
 */
export function renderStreamBlock(opts: EdgeOptions): string {
  const front = resolveTcpFront(opts);
  if (front === undefined) return '';
  return templates.render('stream.conf.njk', {
    listen: assertToken('listenAddress', opts.listenAddress ?? '127.0.0.1', /^(?:[0-9.]+|\[[0-9a-fA-F:]+\]|\*)$/),
    ports: [opts.httpsPort, ...(opts.httpPort !== undefined ? [opts.httpPort] : [])],
    viaBalancer: front.proxyProtocolFrom.length > 0,
    proxyProtocolFrom: front.proxyProtocolFrom,
    perAddress: front.perAddress,
    socket: front.socket,
  });
}

/** A complete nginx.conf (standalone, with `prefix`), or the http-block content to include (without). */
export function generateNginxConf(opts: EdgeOptions): string {
  const body = renderHttpBlock(opts);
  if (opts.prefix === undefined) return body;
  const p = (rel: string): string => assertToken('prefix', join(opts.prefix ?? '', rel), FILE);
  const connections = opts.workerConnections ?? 4096;
  if (!Number.isInteger(connections) || connections < 16)
    throw new Error(`nginx generator: workerConnections ${String(connections)} is not allowed`);
  const front = resolveTcpFront(opts);
  return templates.render('nginx.conf.njk', {
    streamModule:
      front !== undefined && front.streamModule !== false
        ? assertToken('streamModule', front.streamModule, FILE)
        : null,
    workers: opts.workerProcesses ?? 1,
    connections,
    pidFile: p('logs/nginx.pid'),
    errorLog: opts.errorLog ?? p('logs/error.log'),
    stream: renderStreamBlock(opts).trimEnd(),
    temp: {
      client_body: p('temp/client_body'),
      proxy: p('temp/proxy'),
      fastcgi: p('temp/fastcgi'),
      uwsgi: p('temp/uwsgi'),
      scgi: p('temp/scgi'),
    },
    body: body.trimEnd(),
  });
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
  --stream                      without --prefix: print the stream-block include instead (the per-address TCP front)
  --per-address <n>             connections one client address may hold (default 128)
  --socket-dir <dir>            the TCP front's internal unix sockets (default /run, or <prefix>/temp)
  --proxy-protocol-from <cidr>  a TCP load balancer sending the PROXY protocol (repeat)
  --no-tcp-front                no stream front: the http servers listen directly, with no per-address limit
  --trace-sample-percent <n>    requests the edge marks sampled in traceparent (default 5)
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
      stream: { type: 'boolean', default: false },
      'per-address': { type: 'string', default: String(DEFAULT_TCP_FRONT.perAddress) },
      'socket-dir': { type: 'string' },
      'proxy-protocol-from': { type: 'string', multiple: true, default: [] },
      'no-tcp-front': { type: 'boolean', default: false },
      'trace-sample-percent': { type: 'string', default: '5' },
      help: { type: 'boolean', default: false },
    },
  });
  if (
    values.help ||
    values['public-host'] === undefined ||
    values.cert === undefined ||
    values.key === undefined ||
    values.upstream.length === 0
  ) {
    process.stderr.write(USAGE);
    process.exit(values.help ? 0 : 64);
  }
  let legacy: LegacyUpstream | undefined;
  if (values['legacy-http'].length > 0) legacy = { kind: 'http', servers: values['legacy-http'] };
  else if (values['legacy-fastcgi'].length > 0) {
    if (values['legacy-script'] === undefined) throw new Error('--legacy-fastcgi needs --legacy-script');
    legacy = {
      kind: 'fastcgi',
      servers: values['legacy-fastcgi'],
      scriptFilename: values['legacy-script'],
      staticRoot: values['legacy-root'],
    };
  }
  const httpPort = Number(values['http-port']);
  const options: EdgeOptions = {
    publicHost: values['public-host'],
    httpsPort: Number(values['https-port']),
    httpPort: httpPort === 0 ? undefined : httpPort,
    listenAddress: values.listen,
    certFile: values.cert,
    keyFile: values.key,
    upstreams: values.upstream,
    legacy,
    prefix: values.prefix,
    tcpFront: values['no-tcp-front']
      ? false
      : {
          perAddress: Number(values['per-address']),
          socketDir: values['socket-dir'],
          proxyProtocolFrom: values['proxy-protocol-from'],
        },
    traceSamplePercent: Number(values['trace-sample-percent']),
  };
  process.stdout.write(
    values.stream && values.prefix === undefined ? renderStreamBlock(options) : generateNginxConf(options),
  );
}

if (import.meta.main) main(process.argv.slice(2));
