// The only module in the app that makes outbound HTTP requests (OWASP A10, server-side request forgery).
//
// Every request must go to one of a fixed list of origins (scheme + host + port, from config). The host is
// resolved once, every address it resolves to is checked, and the connection is pinned to those checked
// addresses (a custom `lookup`), so a second, different DNS answer (DNS rebinding) cannot move the request
// to an internal address. Redirects are never followed unless the caller opts in, and then only within the
// same origin. Time and response size are bounded. One debug log line per request, never headers or bodies.
// https://owasp.org/Top10/A10_2021-Server-Side_Request_Forgery_%28SSRF%29/
// https://cheatsheetseries.owasp.org/cheatsheets/Server_Side_Request_Forgery_Prevention_Cheat_Sheet.html
import type http from 'node:http';
import type https from 'node:https';
import type net from 'node:net';
import { nonPublicBlockList } from './egress-addresses.ts';
import type { Deadline } from './egress-deadline.ts';
import { abortReason, startDeadline } from './egress-deadline.ts';
import type { CheckedAddress } from './egress-dns.ts';
import { defaultResolve, pinnedLookup, resolveAndCheck } from './egress-dns.ts';
import { checkUrl, parseAllowedOrigin, REDIRECT_STATUSES, RESERVED_HEADERS, stripBrackets } from './egress-origins.ts';
import type { Egress, EgressOptions, EgressRequestInit, EgressResponse } from './egress-types.ts';
import { EgressError, EgressHeaders } from './egress-types.ts';

// The CommonJS modules, not ESM imports: an ESM import of node:http reads every export, and one of them loads Node's
// fetch implementation (undici), about 13 MiB of resident memory (docs/adr/0032).
const httpModule = process.getBuiltinModule('node:http');
const httpsModule = process.getBuiltinModule('node:https');

// Its parts, each readable alone: egress-types.ts (what callers see), egress-origins.ts (where a request may go),
// egress-dns.ts and egress-addresses.ts (which addresses), egress-deadline.ts (one clock per request). This module
// alone opens connections (the outbound lint, ADR 0029).
export type { AddressCategory } from './egress-addresses.ts';
export { classifyAddress, nonPublicBlockList } from './egress-addresses.ts';
export type {
  Egress,
  EgressErrorCode,
  EgressLogger,
  EgressOptions,
  EgressRequestInit,
  EgressResponse,
} from './egress-types.ts';
export { EgressError, EgressHeaders } from './egress-types.ts';
export { privateHostsFor } from './egress-origins.ts';

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
  // As many idle connections are kept as may be busy: with fewer, every burst above the idle limit closed its extra
  // connections after one call and opened them again on the next (bench: a quarter of the dashboard's API calls
  // connected anew under 50 concurrent users). Idle ones close at the server's Keep-Alive timeout.
  const agentOptions = {
    keepAlive: true,
    keepAliveMsecs: 1000,
    maxSockets: 64,
    maxFreeSockets: 64,
    scheduling: 'lifo' as const,
  };
  const httpAgent = new httpModule.Agent(agentOptions);
  const httpsAgent = new httpsModule.Agent({
    ...agentOptions,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
  });

  function once(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    addresses: readonly CheckedAddress[],
    deadline: Deadline,
  ): Promise<{ status: number; headers: EgressHeaders; body: Buffer }> {
    return new Promise((resolvePromise, rejectPromise) => {
      let settled = false;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        if (err instanceof EgressError) rejectPromise(err);
        else if ((err as NodeJS.ErrnoException | undefined)?.code === 'ERR_IP_BLOCKED') {
          rejectPromise(
            new EgressError('ADDRESS_NOT_ALLOWED', `${url.hostname} connects to a blocked address`, { cause: err }),
          );
        } else if (deadline.signal.aborted) rejectPromise(abortReason(deadline.signal));
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
        req = (isHttps ? httpsModule : httpModule).request(requestOptions);
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
      // Settled before the socket is destroyed: the response's close (NETWORK) must not win the race.
      const tooLarge = (message: string): void => {
        const err = new EgressError('TOO_LARGE', message);
        fail(err);
        req.destroy(err);
      };
      req.on('response', (res) => {
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxResponseBytes) {
          tooLarge(`response of ${declared} bytes exceeds ${maxResponseBytes}`);
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          size += chunk.length;
          if (size > maxResponseBytes) {
            tooLarge(`response exceeds ${maxResponseBytes} bytes`);
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
          resolvePromise({
            status: res.statusCode ?? 0,
            headers: new EgressHeaders(res.rawHeaders),
            body: Buffer.concat(chunks),
          });
        });
      });
      req.end(body);
    });
  }

  async function request(input: string | URL, init: EgressRequestInit = {}): Promise<EgressResponse> {
    let url = checkUrl(input, allowed);
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
        let result: { status: number; headers: EgressHeaders; body: Buffer };
        try {
          const host = stripBrackets(url.hostname);
          const addresses = await resolveAndCheck(host, privateHosts.has(host.toLowerCase()), resolve, deadline);
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

function respond(result: { status: number; headers: EgressHeaders; body: Buffer }): EgressResponse {
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
