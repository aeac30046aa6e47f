// The only module in the app that makes outbound HTTP requests (OWASP A10, server-side request forgery).
//
// Every request must go to one of a fixed list of origins (scheme + host + port, from config). The host is
// resolved once, every address it resolves to is checked, and the connection is pinned to those checked
// addresses (a custom `lookup`), so a second, different DNS answer (DNS rebinding) cannot move the request
// to an internal address. Redirects are never followed unless the caller opts in, and then only within the
// same origin. Time and response size are bounded. One debug log line per request, never headers or bodies.
// https://owasp.org/Top10/A10_2021-Server-Side_Request_Forgery_%28SSRF%29/
// https://cheatsheetseries.owasp.org/cheatsheets/Server_Side_Request_Forgery_Prevention_Cheat_Sheet.html
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';

export type EgressErrorCode =
  | 'ORIGIN_NOT_ALLOWED'
  | 'ADDRESS_NOT_ALLOWED'
  | 'TIMEOUT'
  | 'TOO_LARGE'
  | 'NETWORK'
  | 'REDIRECT_REFUSED';

export class EgressError extends Error {
  readonly code: EgressErrorCode;

  constructor(code: EgressErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EgressError';
    this.code = code;
  }
}

/** The part of a pino Logger that egress uses. */
export interface EgressLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
}

export interface EgressOptions {
  /** Origins requests may go to, e.g. 'https://api.example.gov.uk' (scheme, host and port; no path). */
  allowedOrigins: readonly string[];
  /**
   * Hosts (as written in allowedOrigins) that may resolve to loopback, private (RFC 1918), unique-local or
   * CGNAT addresses: an API inside the VPC, or 127.0.0.1 in tests. Link-local (cloud metadata),
   * unspecified, multicast and reserved addresses stay refused even for these.
   */
  allowPrivateFor?: readonly string[];
  /** Bound on the whole request: DNS, connect, sending, and reading the response body. */
  timeoutMs: number;
  /** Bound on establishing the TCP connection; defaults to timeoutMs. */
  connectTimeoutMs?: number;
  /** Responses whose body is larger are aborted with TOO_LARGE. */
  maxResponseBytes: number;
  logger: EgressLogger;
  /** Resolves a host name to its addresses (DNS); injectable for tests. Default: dns.lookup, all addresses. */
  resolve?: (host: string) => Promise<string[]>;
  /** Extra trusted CA certificates (PEM) for https origins, e.g. a private CA. Default: Node's bundle. */
  ca?: string | Buffer | (string | Buffer)[];
}

export interface EgressRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Serialised as the body, with content-type application/json unless a content-type header is given. */
  json?: unknown;
  /** How many same-origin redirects to follow (default 0: any 3xx is returned as it is). */
  followRedirects?: number;
}

export interface EgressResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  /** JSON.parse of the body, typed as the caller expects (validate it: the type is not checked). */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape it expects
  json<T>(): T;
}

export interface Egress {
  request(url: string | URL, init?: EgressRequestInit): Promise<EgressResponse>;
  /** Closes the keep-alive connections. */
  close(): void;
}

// ---------------------------------------------------------------------------------------------------------
// Address classification

export type AddressCategory =
  | 'public'
  | 'loopback'
  | 'private'
  | 'unique-local'
  | 'cgnat'
  | 'link-local'
  | 'unspecified'
  | 'multicast'
  | 'reserved'
  | 'invalid';

/** Categories that allowPrivateFor hosts may resolve to. */
const PRIVATE_OK: ReadonlySet<AddressCategory> = new Set(['loopback', 'private', 'unique-local', 'cgnat']);

// The one table of non-public ranges. classifyAddress reads it, and so does the net.BlockList handed to every
// connection, so Node's own connect refuses these addresses too (defence in depth), whatever the checks above it.
const V4_RULES: readonly (readonly [network: string, prefix: number, category: AddressCategory])[] = [
  ['0.0.0.0', 8, 'unspecified'], // "this network"; 0.0.0.0 reaches the local host on Linux
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'cgnat'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'], // includes 169.254.169.254, the cloud metadata service
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'], // IETF protocol assignments
  ['192.0.2.0', 24, 'reserved'], // documentation
  ['192.88.99.0', 24, 'reserved'], // 6to4 relay anycast
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'], // benchmarking
  ['198.51.100.0', 24, 'reserved'], // documentation
  ['203.0.113.0', 24, 'reserved'], // documentation
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // includes 255.255.255.255
];

// IPv6 outside these ranges is global unicast. Two ranges are left out on purpose and judged by the IPv4
// address they embed: ::ffff:0:0/96 (IPv4-mapped) and 64:ff9b::/96 (NAT64, what DNS64 answers on an
// IPv6-only network).
const V6_RULES: readonly (readonly [first: string, last: string, category: AddressCategory])[] = [
  ['::', '::', 'unspecified'],
  ['::1', '::1', 'loopback'],
  ['::2', '::fffe:ffff:ffff', 'reserved'], // includes ::/96, the deprecated IPv4-compatible form
  ['0:0:0:0:1::', '64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  ['64:ff9b:0:0:0:1::', '1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], // 64:ff9b:1::/48, 100::/64, ...
  ['2001::', '2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], // 2001::/23, includes Teredo 2001::/32
  ['2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], // documentation
  ['2002::', '2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], // 6to4 hides an IPv4 address
  ['4000::', 'fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  ['fc00::', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'unique-local'],
  ['fe00::', 'fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'],
  ['fe80::', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'link-local'],
  ['fec0::', 'feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'reserved'], // deprecated site-local
  ['ff00::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'multicast'],
];

function v4ToInt(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

const V4_TABLE = V4_RULES.map(([network, prefix, category]) => {
  const start = v4ToInt(network) ?? 0;
  return { start, end: start + 2 ** (32 - prefix) - 1, category };
});

function classifyV4(n: number): AddressCategory {
  return V4_TABLE.find((r) => n >= r.start && n <= r.end)?.category ?? 'public';
}

/** Eight 16-bit groups of an IPv6 address (accepts '::' and a trailing dotted quad), or undefined. */
function v6Groups(address: string): number[] | undefined {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    // ::ffff:127.0.0.1 -> ::ffff:7f00:1
    const v4 = v4ToInt(last);
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const group of part.split(':')) {
      if (!/^[0-9a-f]{1,4}$/i.test(group)) return undefined;
      out.push(parseInt(group, 16));
    }
    return out;
  };
  const head = parse(halves[0] ?? '');
  const tail = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

function compareGroups(x: readonly number[], y: readonly number[]): number {
  for (let i = 0; i < 8; i += 1) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const V6_TABLE = V6_RULES.map(([first, last, category]) => ({
  first: v6Groups(first) ?? [],
  last: v6Groups(last) ?? [],
  category,
}));

function classifyV6(groups: readonly number[]): AddressCategory {
  const embeddedV4 = (groups[6] ?? 0) * 65536 + (groups[7] ?? 0);
  const prefix = groups.slice(0, 6).join(':');
  if (prefix === '0:0:0:0:0:65535') return classifyV4(embeddedV4); // ::ffff:a.b.c.d
  if (prefix === '100:65435:0:0:0:0') return classifyV4(embeddedV4); // 64:ff9b::a.b.c.d
  const rule = V6_TABLE.find((r) => compareGroups(groups, r.first) >= 0 && compareGroups(groups, r.last) <= 0);
  return rule?.category ?? 'public';
}

/**
 * A net.BlockList of every non-public range (less the PRIVATE_OK ones when allowPrivate), for Node's connect
 * to enforce. It matches IPv4-mapped IPv6 addresses against the IPv4 rules by itself.
 */
export function nonPublicBlockList(allowPrivate: boolean): net.BlockList {
  const list = new net.BlockList();
  const blocked = (category: AddressCategory): boolean => !(allowPrivate && PRIVATE_OK.has(category));
  for (const [network, prefix, category] of V4_RULES) {
    if (!blocked(category)) continue;
    list.addSubnet(network, prefix, 'ipv4');
    list.addSubnet(`64:ff9b::${network}`, 96 + prefix, 'ipv6');
  }
  for (const [first, last, category] of V6_RULES) {
    if (!blocked(category)) continue;
    if (first === last) list.addAddress(first, 'ipv6');
    else list.addRange(first, last, 'ipv6');
  }
  return list;
}

/** What kind of address this is; only 'public' may be reached without allowPrivateFor. */
export function classifyAddress(address: string): AddressCategory {
  const family = net.isIP(address);
  if (family === 4) {
    const n = v4ToInt(address);
    return n === undefined ? 'invalid' : classifyV4(n);
  }
  if (family === 6) {
    if (address.includes('%')) return 'link-local'; // a zone index only makes sense for link-local scope
    const groups = v6Groups(address);
    return groups === undefined ? 'invalid' : classifyV6(groups);
  }
  return 'invalid';
}

// ---------------------------------------------------------------------------------------------------------
// The client

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers egress sets itself; a caller's value would allow request smuggling or virtual-host confusion. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade']);

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function parseAllowedOrigin(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new Error(`egress: allowed origin is not a URL: ${origin}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`egress: allowed origin must be http or https: ${origin}`);
  }
  if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) {
    throw new Error(`egress: allowed origin must be scheme://host[:port] only: ${origin}`);
  }
  return url.origin;
}

async function defaultResolve(host: string): Promise<string[]> {
  const results = await dnsLookup(host, { all: true, order: 'verbatim' });
  return results.map((r) => r.address);
}

interface Deadline {
  readonly signal: AbortSignal;
  remaining(): number;
  clear(): void;
}

function startDeadline(timeoutMs: number): Deadline {
  const controller = new AbortController();
  const end = Date.now() + timeoutMs;
  const timer = setTimeout(
    () => controller.abort(new EgressError('TIMEOUT', `request timed out after ${timeoutMs} ms`)),
    timeoutMs,
  );
  return {
    signal: controller.signal,
    remaining: () => Math.max(0, end - Date.now()),
    clear: () => clearTimeout(timer),
  };
}

function abortReason(signal: AbortSignal): EgressError {
  const reason: unknown = signal.reason;
  return reason instanceof EgressError ? reason : new EgressError('TIMEOUT', 'request aborted');
}

/** Races a promise against the deadline. */
function withinDeadline<T>(promise: Promise<T>, deadline: Deadline): Promise<T> {
  if (deadline.signal.aborted) return Promise.reject(abortReason(deadline.signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(deadline.signal));
    deadline.signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        deadline.signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        deadline.signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

interface CheckedAddress {
  address: string;
  family: 4 | 6;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net.connect that answers only with the addresses already checked: no second DNS query. */
function pinnedLookup(addresses: readonly CheckedAddress[]) {
  return (_hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
    const usable = addresses.filter((a) => wanted === 0 || a.family === wanted);
    const first = usable[0];
    if (first === undefined) {
      const err: NodeJS.ErrnoException = new Error('no checked address of the requested family');
      err.code = 'ENOTFOUND';
      callback(err, '', 0);
      return;
    }
    if (options.all) callback(null, usable.map((a) => ({ address: a.address, family: a.family })));
    else callback(null, first.address, first.family);
  };
}

function toHeaders(res: http.IncomingMessage): Headers {
  const headers = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    if (name === undefined || value === undefined) continue;
    try {
      headers.append(name, value);
    } catch {
      // A header the WHATWG Headers class rejects is dropped rather than failing the request.
    }
  }
  return headers;
}

export function createEgress(options: EgressOptions): Egress {
  const {
    timeoutMs,
    maxResponseBytes,
    logger,
    resolve = defaultResolve,
    connectTimeoutMs = options.timeoutMs,
  } = options;
  if (!(timeoutMs > 0) || !(connectTimeoutMs > 0) || !(maxResponseBytes > 0)) {
    throw new Error('egress: timeoutMs, connectTimeoutMs and maxResponseBytes must be positive');
  }
  const allowed = new Set(options.allowedOrigins.map(parseAllowedOrigin));
  const allowedHosts = new Set([...allowed].map((o) => stripBrackets(new URL(o).hostname)));
  const privateHosts = new Set<string>();
  for (const entry of options.allowPrivateFor ?? []) {
    const host = stripBrackets(entry.trim().toLowerCase());
    // Fail fast on a typo: an entry that matches no allowed origin would silently do nothing.
    if (!allowedHosts.has(host)) {
      throw new Error(`egress: allowPrivateFor host ${entry} is not the host of any allowed origin`);
    }
    privateHosts.add(host);
  }

  const strictBlockList = nonPublicBlockList(false);
  const privateOkBlockList = nonPublicBlockList(true);

  // Keep-alive saves a TCP (and TLS) handshake per API call; Node also honours the server's Keep-Alive timeout.
  const agentOptions = {
    keepAlive: true,
    keepAliveMsecs: 1000,
    maxSockets: 64,
    maxFreeSockets: 16,
    scheduling: 'lifo' as const,
  };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent({
    ...agentOptions,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
  });

  function checkUrl(input: string | URL): URL {
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw new EgressError('ORIGIN_NOT_ALLOWED', 'not a valid absolute URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new EgressError('ORIGIN_NOT_ALLOWED', `scheme ${url.protocol} is not allowed`);
    }
    if (url.username !== '' || url.password !== '') {
      throw new EgressError('ORIGIN_NOT_ALLOWED', 'credentials in the URL are not allowed');
    }
    if (!allowed.has(url.origin)) {
      throw new EgressError('ORIGIN_NOT_ALLOWED', `origin ${url.origin} is not allowed`);
    }
    return url;
  }

  async function resolveAndCheck(host: string, deadline: Deadline): Promise<CheckedAddress[]> {
    let addresses: string[];
    if (net.isIP(host) !== 0) {
      addresses = [host];
    } else {
      try {
        addresses = await withinDeadline(resolve(host), deadline);
      } catch (err) {
        if (err instanceof EgressError) throw err;
        throw new EgressError('NETWORK', `could not resolve ${host}`, { cause: err });
      }
    }
    if (addresses.length === 0) throw new EgressError('NETWORK', `${host} resolved to no address`);
    const mayBePrivate = privateHosts.has(host.toLowerCase());
    const checked: CheckedAddress[] = [];
    for (const address of addresses) {
      const category = classifyAddress(address);
      const ok = category === 'public' || (mayBePrivate && PRIVATE_OK.has(category));
      if (!ok) {
        // Every address must pass: with several, the connection could use any of them.
        throw new EgressError('ADDRESS_NOT_ALLOWED', `${host} resolves to a ${category} address`);
      }
      checked.push({ address, family: net.isIP(address) === 6 ? 6 : 4 });
    }
    return checked;
  }

  function once(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    addresses: readonly CheckedAddress[],
    deadline: Deadline,
  ): Promise<{ status: number; headers: Headers; body: Buffer }> {
    return new Promise((resolvePromise, rejectPromise) => {
      let settled = false;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        if (err instanceof EgressError) rejectPromise(err);
        else if ((err as NodeJS.ErrnoException | undefined)?.code === 'ERR_IP_BLOCKED') {
          rejectPromise(new EgressError('ADDRESS_NOT_ALLOWED', `${url.hostname} connects to a blocked address`, { cause: err }));
        }
        else if (deadline.signal.aborted) rejectPromise(abortReason(deadline.signal));
        else rejectPromise(new EgressError('NETWORK', `request to ${url.origin} failed`, { cause: err }));
      };
      const isHttps = url.protocol === 'https:';
      // http.request hands these options on to net.connect, which knows blockList (@types/node's
      // RequestOptions does not list it).
      const requestOptions: https.RequestOptions & Pick<net.SocketConstructorOpts, 'blockList'> = {
        protocol: url.protocol,
        hostname: stripBrackets(url.hostname),
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method,
        headers,
        agent: isHttps ? httpsAgent : httpAgent,
        lookup: pinnedLookup(addresses),
        // Checked again by Node right before connect(2); see nonPublicBlockList.
        blockList: privateHosts.has(stripBrackets(url.hostname).toLowerCase()) ? privateOkBlockList : strictBlockList,
        signal: deadline.signal,
      };
      let req: http.ClientRequest;
      try {
        req = (isHttps ? https : http).request(requestOptions);
      } catch (err) {
        // Invalid method or header characters: a caller's bug, reported without touching the network.
        fail(err);
        return;
      }
      req.on('error', fail);
      req.on('socket', (socket) => {
        if (!socket.connecting) return; // a reused keep-alive connection
        const timer = setTimeout(
          () => req.destroy(new EgressError('TIMEOUT', `connect timed out after ${connectTimeoutMs} ms`)),
          Math.min(connectTimeoutMs, deadline.remaining()),
        );
        const clear = (): void => clearTimeout(timer);
        socket.once('connect', clear);
        socket.once('close', clear);
      });
      req.on('response', (res) => {
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxResponseBytes) {
          req.destroy(new EgressError('TOO_LARGE', `response of ${declared} bytes exceeds ${maxResponseBytes}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          size += chunk.length;
          if (size > maxResponseBytes) {
            req.destroy(new EgressError('TOO_LARGE', `response exceeds ${maxResponseBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('close', () => {
          if (!res.complete) fail(new EgressError('NETWORK', 'connection closed before the response ended'));
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          resolvePromise({ status: res.statusCode ?? 0, headers: toHeaders(res), body: Buffer.concat(chunks) });
        });
      });
      req.end(body);
    });
  }

  async function request(input: string | URL, init: EgressRequestInit = {}): Promise<EgressResponse> {
    let url = checkUrl(input);
    let method = (init.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(init.headers ?? {})) {
      if (!RESERVED_HEADERS.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
    }
    let body: Buffer | undefined;
    if (init.json !== undefined) {
      body = Buffer.from(JSON.stringify(init.json), 'utf8');
      headers['content-type'] ??= 'application/json';
    } else if (init.body !== undefined) {
      body = typeof init.body === 'string' ? Buffer.from(init.body, 'utf8') : init.body;
    }
    if (body !== undefined) headers['content-length'] = String(body.length);

    const followRedirects = Math.max(0, Math.floor(init.followRedirects ?? 0));
    let redirectsLeft = followRedirects;
    const deadline = startDeadline(timeoutMs);
    try {
      for (;;) {
        const started = performance.now();
        const logFields = { method, origin: url.origin, path: url.pathname };
        let result: { status: number; headers: Headers; body: Buffer };
        try {
          const addresses = await resolveAndCheck(stripBrackets(url.hostname), deadline);
          result = await once(url, method, headers, body, addresses, deadline);
        } catch (err) {
          const code = err instanceof EgressError ? err.code : 'NETWORK';
          logger.debug({ ...logFields, error: code, ms: Math.round(performance.now() - started) }, 'egress');
          throw err;
        }
        logger.debug({ ...logFields, status: result.status, ms: Math.round(performance.now() - started) }, 'egress');

        const location = result.headers.get('location');
        if (!REDIRECT_STATUSES.has(result.status) || location === null || followRedirects === 0) {
          // Not opted in: the 3xx goes back to the caller as it is, never followed.
          return respond(result);
        }
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new EgressError('REDIRECT_REFUSED', 'redirect to an invalid URL');
        }
        if (next.origin !== url.origin || next.username !== '' || next.password !== '') {
          throw new EgressError('REDIRECT_REFUSED', `redirect from ${url.origin} to another origin refused`);
        }
        if (redirectsLeft === 0) throw new EgressError('REDIRECT_REFUSED', 'too many redirects');
        redirectsLeft -= 1;
        // As browsers do (Fetch): 303, and 301/302 after POST, become a GET without a body.
        if (result.status === 303 || ((result.status === 301 || result.status === 302) && method === 'POST')) {
          if (method !== 'HEAD') method = 'GET';
          body = undefined;
          delete headers['content-length'];
          delete headers['content-type'];
        }
        url = next;
      }
    } finally {
      deadline.clear();
    }
  }

  return {
    request,
    close: () => {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

function respond(result: { status: number; headers: Headers; body: Buffer }): EgressResponse {
  return {
    status: result.status,
    headers: result.headers,
    body: result.body,
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- see EgressResponse
    json<T>(): T {
      return JSON.parse(result.body.toString('utf8')) as T;
    },
  };
}
