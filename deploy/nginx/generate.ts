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
  /** load_module path for a dynamic stream module (Debian's libnginx-mod-stream); false when built in. Standalone only. */
  readonly streamModule?: string | false;
}

export const DEFAULT_TCP_FRONT: TcpFront = { perAddress: 128 };

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
 * paths held back for the legacy front (EDGE_HELD_BACK), unless a test routes them anyway (`alsoRoute`).
 */
export function declaredPaths(alsoRoute: readonly string[] = []): string[] {
  const known: readonly string[] = Object.values(PATHS);
  for (const p of alsoRoute) {
    if (!known.includes(p) || p === ASSET_PREFIX) throw new Error(`nginx generator: alsoRoute "${p}" is not a page path in PATHS`);
  }
  const paths = Object.values(PATHS).filter((p) => p !== ASSET_PREFIX && (!Object.hasOwn(EDGE_HELD_BACK, p) || alsoRoute.includes(p)));
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
  return `    server ${assertToken('upstream', server.address, ADDRESS)} max_fails=${String(maxFails)} fail_timeout=${failTimeout}${server.down === true ? ' down' : ''};`;
}

function varName(header: string): string {
  return header.toLowerCase().replace(/-/g, '_');
}

interface ResolvedTcpFront {
  readonly perAddress: number;
  readonly proxyProtocolFrom: readonly string[];
  readonly streamModule: string | false;
  /** The unix socket an http server listens on behind the stream listener for `port`. */
  socket(port: number): string;
}

/** An IPv4 or IPv6 address, optionally with a prefix length. */
function assertCidr(value: string): string {
  const [address = '', bits, extra] = value.split('/');
  if (extra !== undefined || !/^[0-9a-fA-F.:]{2,39}$/.test(address) || (bits !== undefined && !/^\d{1,3}$/.test(bits))) {
    throw new Error(`nginx generator: proxyProtocolFrom "${value}" is not allowed`);
  }
  return value;
}

function resolveTcpFront(opts: EdgeOptions): ResolvedTcpFront | undefined {
  const front = opts.tcpFront ?? DEFAULT_TCP_FRONT;
  if (front === false) return undefined;
  if (!Number.isInteger(front.perAddress) || front.perAddress < 1) throw new Error(`nginx generator: tcpFront.perAddress ${String(front.perAddress)} is not allowed`);
  const dir = assertToken('socketDir', front.socketDir ?? (opts.prefix !== undefined ? join(opts.prefix, 'temp') : '/run'), FILE);
  return {
    perAddress: front.perAddress,
    proxyProtocolFrom: (front.proxyProtocolFrom ?? []).map(assertCidr),
    streamModule: front.streamModule ?? '/usr/lib/nginx/modules/ngx_stream_module.so',
    socket: (port) => `unix:${join(dir, `lpa-edge-${String(port)}.sock`)}`,
  };
}

/** The sampled flag the edge puts in the traceparent it sends: its own decision, never the client's. */
function traceSampling(percent: number): string[] {
  const hundredths = percent * 100; // split_clients takes at most two decimals
  if (!(percent >= 0 && percent <= 100) || Math.abs(hundredths - Math.round(hundredths)) > 1e-9) {
    throw new Error(`nginx generator: traceSamplePercent ${String(percent)} is not allowed`);
  }
  if (percent === 0 || percent === 100) {
    return ['  map $request_id $lpa_trace_sampled {', `    default ${percent === 100 ? '1' : '0'};`, '  }'];
  }
  return ['  split_clients $request_id $lpa_trace_sampled {', `    ${String(percent)}% 1;`, '    * 0;', '  }'];
}

// Inside `return 200 "..."`: no double quotes; \n is nginx's newline escape.
const ERROR_BODY = "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
  + "<meta name='viewport' content='width=device-width, initial-scale=1'>"
  + '<title>$lpa_error_title - Make a lasting power of attorney - GOV.UK</title></head>'
  + '<body><main><h1>$lpa_error_title</h1><p>$lpa_error_text</p>'
  + "<p><a href='/'>Go to the start page</a></p></main></body></html>\\n";

/** Where plain HTTP sent to the TLS port is redirected from: internal only, like the error page. */
export const TO_HTTPS_LOCATION = '/__lpa_edge_to_https__';

/** nginx's own error page: internal only (a request for it from outside is a 404). */
export const ERROR_LOCATION = '/__lpa_edge_error__';

/**
 * Tracing: the trace id of a valid incoming traceparent (or X-Amzn-Trace-Id Root) is kept, else $request_id starts
 * one; the sampled flag is always the edge's own. $lpa_traceparent and $lpa_trace_xray say the same thing.
 */
function traceMaps(percent: number): string[] {
  return [
    '  # Tracing: the trace id of a valid incoming traceparent (or X-Amzn-Trace-Id Root) is kept, else $request_id',
    '  # starts one; the sampled flag is always the edge\'s own. Upstreams get both headers, saying the same.',
    '  map $http_traceparent $lpa_trace_in {',
    '    "~^00-(?!0{32}-)(?<lpa_tp_in>[0-9a-f]{32}-(?!0{16}-)[0-9a-f]{16})-[0-9a-f]{2}$" $lpa_tp_in;',
    '    default "";',
    '  }',
    '  map $http_x_amzn_trace_id $lpa_trace_amzn {',
    '    "~(?:^|;)Root=1-(?<lpa_xr_a>[0-9a-f]{8})-(?<lpa_xr_b>[0-9a-f]{24})(?:;|$)" "$lpa_xr_a$lpa_xr_b";',
    '    default "";',
    '  }',
    '  map $request_id $lpa_trace_span {',
    '    "~(?<lpa_rid_tail>[0-9a-f]{16})$" $lpa_rid_tail;',
    '    default "0123456789abcdef";',
    '  }',
    ...traceSampling(percent),
    '  map $lpa_trace_sampled $lpa_trace_flags {',
    '    1 01;',
    '    default 00;',
    '  }',
    '  map "$lpa_trace_in/$lpa_trace_amzn" $lpa_traceparent {',
    '    "~^(?<lpa_tp_keep>[0-9a-f]{32}-[0-9a-f]{16})/" "00-$lpa_tp_keep-$lpa_trace_flags";',
    '    "~^/(?<lpa_tp_root>[0-9a-f]{32})$" "00-$lpa_tp_root-$lpa_trace_span-$lpa_trace_flags";',
    '    default "00-$request_id-$lpa_trace_span-$lpa_trace_flags";',
    '  }',
    '  map $lpa_traceparent $lpa_trace_id {',
    '    "~^00-(?<lpa_ti>[0-9a-f]{32})-" $lpa_ti;',
    '  }',
    '  map $lpa_traceparent $lpa_trace_xray {',
    '    "~^00-(?<lpa_xo_a>[0-9a-f]{8})(?<lpa_xo_b>[0-9a-f]{24})-(?<lpa_xo_p>[0-9a-f]{16})-" "Root=1-$lpa_xo_a-$lpa_xo_b;Parent=$lpa_xo_p;Sampled=$lpa_trace_sampled";',
    '  }',
  ];
}

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
  const front = resolveTcpFront(opts);

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
  w("    '\"trace_id\":\"$lpa_trace_id\",'");
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
  w('  # nginx\'s gzip_vary would add a second `Vary: Accept-Encoding` to pages whose upstream already sent one.');
  w('  map $upstream_http_vary $lpa_edge_vary {');
  w('    "~*accept-encoding" "";');
  w('    default "Accept-Encoding";');
  w('  }');
  w();
  for (const line of traceMaps(opts.traceSamplePercent ?? 5)) w(line);
  w();
  w('  # HTTP/0.9: a request line of method and URI only, so no protocol. A line cut off as too long (414) has no');
  w('  # protocol either, but nginx answers that one as HTTP/1.0, with headers.');
  w('  map "$server_protocol:$status:$request" $lpa_http09 {');
  w('    "~^:(?!414:)[0-9]*:[A-Z]+ [^ ]+$" 1;');
  w('    default "";');
  w('  }');
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
  w('  gzip_vary off; # Vary is added once, below (add_header vary)');
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
    w(`${indent}add_header vary $lpa_edge_vary always;`);
  };
  // HTTP/0.9 has no status line and no headers, so its reply could carry no security header: close instead.
  // Internal redirects (error pages) pass here again, so a 0.9 request's error page is refused too.
  const refuseHttp09 = (indent: string): void => {
    w(`${indent}if ($lpa_http09) {`);
    w(`${indent}  return 444;`);
    w(`${indent}}`);
  };
  const errorPages = (): void => {
    // A URI, not a named location: a request refused while its headers are read (400, 414, 494) has no URI of
    // its own, and nginx cannot redirect such a request to a named location (it answers a bare 500 instead).
    w('    error_page 494 =400 ' + ERROR_LOCATION + ';');
    w('    error_page 400 403 404 405 408 411 413 414 416 500 502 503 504 ' + ERROR_LOCATION + ';');
    w('    location = ' + ERROR_LOCATION + ' {');
    w('      internal;');
    w('      default_type "text/html; charset=utf-8";');
    w(`      return 200 "${ERROR_BODY}";`); // the status stays the original error's (error_page keeps it)
    w('    }');
  };
  // Behind the stream front the http servers listen on unix sockets and learn the client from the PROXY header.
  const listenLine = (port: number, params: string): void => {
    if (front === undefined) {
      w(`    listen ${listen}:${String(port)}${params} default_server;`);
      return;
    }
    w(`    listen ${front.socket(port)}${params} proxy_protocol default_server;`);
    w('    set_real_ip_from unix:;');
    w('    real_ip_header proxy_protocol;');
  };

  if (opts.httpPort !== undefined) {
    w('  # Plain HTTP: redirect only, to the canonical host (never the client\'s Host).');
    w('  server {');
    listenLine(opts.httpPort, '');
    w('    server_name _;');
    refuseHttp09('    ');
    headerLines('    ');
    errorPages();
    w('    location / {');
    w(`      return 301 https://${publicHost}$request_uri;`);
    w('    }');
    w('  }');
    w();
  }

  w('  server {');
  listenLine(httpsPort, ` ssl${opts.http2 === false ? '' : ' http2'}`);
  w('    server_name _;');
  refuseHttp09('    ');
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
  // Through an internal location, not `=301 https://…` directly, so the HTTP/0.9 check above runs for it too.
  w(`    error_page 497 ${TO_HTTPS_LOCATION};`);
  w(`    location = ${TO_HTTPS_LOCATION} {`);
  w('      internal;');
  w(`      return 301 https://${publicHost}$request_uri;`);
  w('    }');
  errorPages();
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
  w('    # Trace context: the edge\'s (see the maps above); a client\'s tracestate and baggage are not passed on.');
  w('    proxy_set_header traceparent $lpa_traceparent;');
  w('    proxy_set_header X-Amzn-Trace-Id $lpa_trace_xray;');
  w('    proxy_set_header tracestate "";');
  w('    proxy_set_header baggage "";');
  w('    # Retries go to the next server for idempotent methods only (non_idempotent is deliberately absent), and only');
  w('    # when the server failed (no answer). A 503 is an answer: the app sends it on purpose (store down, load');
  w('    # shedding) with Retry-After, and counting it would mark every instance down and fail the public pages too.');
  w('    proxy_next_upstream error timeout;');
  w(`    proxy_next_upstream_tries ${String(tries)};`);
  w('    proxy_next_upstream_timeout 10s;');
  w();
  w('    # lpa-front: exact declared paths (src/paths.ts PATHS), sent upstream as the declared spelling.');
  const alsoRoute = opts.alsoRoute ?? [];
  if (alsoRoute.length > 0) w(`    # TEST ONLY (alsoRoute): ${alsoRoute.join(' ')} routed although held back at the edge.`);
  for (const p of declaredPaths(alsoRoute)) {
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
      ['REMOTE_PORT', '$remote_port'], ['SERVER_ADDR', front === undefined ? '$server_addr' : '$proxy_protocol_server_addr'],
      ['SERVER_PORT', String(httpsPort)],
      ['SERVER_NAME', publicHost.replace(/:\d+$/, '')], ['HTTP_HOST', publicHost],
      ['HTTP_X_FORWARDED_FOR', '$remote_addr'], ['HTTP_X_FORWARDED_PROTO', '$scheme'], ['HTTP_X_FORWARDED_HOST', publicHost],
      ['HTTP_PROXY', '""'], // httpoxy
      ['HTTP_TRACEPARENT', '$lpa_traceparent'], ['HTTP_X_AMZN_TRACE_ID', '$lpa_trace_xray'], ['HTTP_TRACESTATE', '""'], ['HTTP_BAGGAGE', '""'],
    ];
    for (const h of CLEARED_REQUEST_HEADERS) params.push([`HTTP_${h.toUpperCase().replace(/-/g, '_')}`, '""']);
    for (const [k, v] of params) w(`      fastcgi_param ${k} ${v};`);
  }
  w('    }');
  w('  }');
  return out.join('\n') + '\n';
}

/**
 * The `stream { }` content (empty without a TCP front): one TCP listener per port, each limiting connections per
 * client address and passing the rest, with the PROXY protocol, to its http server's unix socket.
 */
export function renderStreamBlock(opts: EdgeOptions): string {
  const front = resolveTcpFront(opts);
  if (front === undefined) return '';
  const listen = assertToken('listenAddress', opts.listenAddress ?? '127.0.0.1', /^(?:[0-9.]+|\[[0-9a-fA-F:]+\]|\*)$/);
  const viaBalancer = front.proxyProtocolFrom.length > 0;
  const out = [
    '  # Generated by deploy/nginx/generate.ts. Do not edit: regenerate.',
    '  # Counted at accept, before TLS or a header byte: a client holding half-sent requests cannot fill the workers.',
    '  limit_conn_zone $binary_remote_addr zone=lpa_per_address:10m;',
    '  limit_conn_log_level warn;',
  ];
  for (const port of [opts.httpsPort, ...(opts.httpPort !== undefined ? [opts.httpPort] : [])]) {
    out.push('  server {');
    out.push(`    listen ${listen}:${String(port)}${viaBalancer ? ' proxy_protocol' : ''};`);
    if (viaBalancer) {
      out.push('    # The client address from the load balancer\'s PROXY header, only when the peer is the balancer.');
      for (const cidr of front.proxyProtocolFrom) out.push(`    set_real_ip_from ${cidr};`);
    }
    out.push(`    limit_conn lpa_per_address ${String(front.perAddress)};`);
    out.push(`    proxy_pass ${front.socket(port)};`);
    out.push('    proxy_protocol on;');
    out.push('    proxy_connect_timeout 2s;');
    out.push('  }');
  }
  return out.join('\n') + '\n';
}

/** A complete nginx.conf (standalone, with `prefix`), or the http-block content to include (without). */
export function generateNginxConf(opts: EdgeOptions): string {
  const body = renderHttpBlock(opts);
  if (opts.prefix === undefined) return body;
  const p = (rel: string): string => assertToken('prefix', join(opts.prefix ?? '', rel), FILE);
  const workers = opts.workerProcesses ?? 1;
  const connections = opts.workerConnections ?? 4096;
  if (!Number.isInteger(connections) || connections < 16) throw new Error(`nginx generator: workerConnections ${String(connections)} is not allowed`);
  const front = resolveTcpFront(opts);
  const stream = renderStreamBlock(opts);
  return [
    '# Generated by deploy/nginx/generate.ts. Do not edit: regenerate.',
    ...(front !== undefined && front.streamModule !== false ? [`load_module ${assertToken('streamModule', front.streamModule, FILE)};`] : []),
    `worker_processes ${String(workers)};`,
    // Every connection is a descriptor: clients, the internal stream hop, upstreams, plus files.
    `worker_rlimit_nofile ${String(connections * 2)};`,
    `pid ${p('logs/nginx.pid')};`,
    `error_log ${opts.errorLog ?? p('logs/error.log')} warn;`,
    `events { worker_connections ${String(connections)}; }`,
    ...(stream !== '' ? ['stream {', stream.trimEnd(), '}'] : []),
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
    tcpFront: values['no-tcp-front'] ? false : {
      perAddress: Number(values['per-address']),
      socketDir: values['socket-dir'],
      proxyProtocolFrom: values['proxy-protocol-from'],
    },
    traceSamplePercent: Number(values['trace-sample-percent']),
  };
  process.stdout.write(values.stream && values.prefix === undefined ? renderStreamBlock(options) : generateNginxConf(options));
}

if (import.meta.main) main(process.argv.slice(2));
