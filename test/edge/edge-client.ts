/**
 * Raw HTTP/1.1 for the edge tests: the request line is sent byte for byte (fetch and URL would normalise
 * `..`, `//` and percent-encodings before nginx ever saw them), over TLS or plain TCP. Plus a recording
 * HTTP server that stands in for lpa-front or the legacy front.
 */
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';

export interface RawResponse {
  readonly status: number;
  /** Lower-case names; every value of a repeated header. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly body: Buffer;
  header(name: string): string | undefined;
}

export interface RawRequest {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  readonly tls?: { readonly ca: string } | false;
  readonly timeoutMs?: number;
  /** The client's own address (127.0.0.2 is a second client on loopback); default chosen by the system. */
  readonly localAddress?: string;
}

function connect(
  port: number,
  opts: { readonly tls?: { readonly ca: string } | false; readonly localAddress?: string },
): net.Socket {
  const where = { host: '127.0.0.1', port, localAddress: opts.localAddress };
  return opts.tls === false || opts.tls === undefined
    ? net.connect(where)
    : tls.connect({ ...where, ca: opts.tls.ca, ALPNProtocols: ['http/1.1'] });
}

/** Sends bytes as they are and resolves with every byte received until the server closes (or the timeout). */
export function rawExchange(
  port: number,
  bytes: string,
  opts: { readonly tls?: { readonly ca: string } | false; readonly timeoutMs?: number } = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, opts);
    const chunks: Buffer[] = [];
    const timer = setTimeout(
      () => socket.destroy(new Error(`${JSON.stringify(bytes.slice(0, 40))}: the server did not close in time`)),
      opts.timeoutMs ?? 5000,
    );
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.write(bytes);
  });
}

function decodeChunked(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = parseInt(buf.subarray(i, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

export function parseResponse(raw: Buffer): RawResponse {
  const split = raw.indexOf('\r\n\r\n');
  if (split < 0)
    throw new Error(`no complete response head: ${JSON.stringify(raw.subarray(0, 200).toString('latin1'))}`);
  const lines = raw.subarray(0, split).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, [...(headers.get(name) ?? []), value]);
  }
  let body = raw.subarray(split + 4);
  if (headers.get('transfer-encoding')?.includes('chunked') === true) body = decodeChunked(body);
  return {
    status,
    headers,
    body,
    header: (name: string) => headers.get(name.toLowerCase())?.join(', '),
  };
}

/** One request on a fresh connection (`Connection: close`), the path exactly as given. */
export function rawRequest(port: number, req: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, req);
    const chunks: Buffer[] = [];
    const timer = setTimeout(
      () => socket.destroy(new Error(`${req.method ?? 'GET'} ${req.path.slice(0, 80)}: no response in time`)),
      req.timeoutMs ?? 10_000,
    );
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    const headers: Record<string, string> = { host: `127.0.0.1:${String(port)}`, connection: 'close', ...req.headers };
    if (body !== undefined) headers['content-length'] = String(body.length);
    let head = `${req.method ?? 'GET'} ${req.path} HTTP/1.1\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    socket.write(head + '\r\n');
    if (body !== undefined) socket.write(body);
  });
}

export interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

export interface Recorder {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  readonly seen: Recorded[];
  /** Decides the answer; default: 200, `x-upstream: <name>`, a short text body. */
  handler: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | undefined;
  close(): Promise<void>;
}

/** A stand-in upstream on 127.0.0.1 and a free port that records every request it receives. */
export async function startRecorder(name: string): Promise<Recorder> {
  const seen: Recorded[] = [];
  const recorder: Recorder = {
    name,
    port: 0,
    address: '',
    seen,
    handler: undefined,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => {
          r();
        });
      }),
  };
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => {
      if (recorder.handler !== undefined) {
        recorder.handler(req, res);
        return;
      }
      res.setHeader('x-upstream', name);
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(`${name} ${req.url ?? ''}\n`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  Object.assign(recorder, { port, address: `127.0.0.1:${String(port)}` });
  return recorder;
}

/** A browser's cookie jar, as far as these tests need one: keeps each Set-Cookie pair, forgets an expired one. */
export function rememberCookies(jar: Map<string, string>, setCookie: string | string[] | undefined): void {
  for (const c of Array.isArray(setCookie) ? setCookie : []) {
    const pair = c.split(';')[0] ?? '';
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const value = pair.slice(eq + 1);
    if (/max-age=0/i.test(c) || value === '') jar.delete(pair.slice(0, eq));
    else jar.set(pair.slice(0, eq), value);
  }
}

/** The hidden `_csrf` field's value on a page. */
export function csrfFrom(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (m?.[1] === undefined) throw new Error(`no CSRF token on the page: ${html.slice(0, 200)}`);
  return m[1];
}

/** Adds a local user to an instance's DATA_DIR through `npm run user:add`'s script, password on standard input. */
export async function addUserWithScript(
  root: string,
  dataDir: string,
  email: string,
  name: string,
  password: string,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/user-add.ts', '--email', email, '--name', name], {
      cwd: root,
      env: { PATH: process.env.PATH, DATA_DIR: dataDir, NODE_ENV: 'development' },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`user-add failed (${String(code)}): ${err}`));
    });
    child.stdin.end(`${password}\n`);
  });
}
