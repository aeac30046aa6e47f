/**
 * Raw HTTP over a socket: for requests a client library would refuse or fix (no Host, bad bytes, slow senders,
 * keep-alive sockets held open across a shutdown). Loopback only.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import type { Socket } from 'node:net';

export interface RawReply {
  readonly status: number;
  readonly headers: Map<string, string>;
  /** Every header line as sent (to count repeats). */
  readonly headerLines: readonly string[];
  readonly body: string;
}

/** Parses the first response in `raw` (latin1 text); its body is what follows the head. */
export function parseRaw(raw: string): RawReply {
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return {
    status: Number(statusLine.split(' ')[1]),
    headers,
    headerLines: lines,
    body: end < 0 ? '' : raw.slice(end + 4),
  };
}

export async function openSocket(origin: string): Promise<Socket> {
  const url = new URL(origin);
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  await once(socket, 'connect');
  return socket;
}

/** Sends `bytes`, half-closes, and resolves with everything the server wrote before closing (latin1). */
export async function sendRaw(origin: string, bytes: string, timeoutMs = 5000): Promise<string> {
  const socket = await openSocket(origin);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => {
    /* a reset after the reply is the server's choice; the bytes read so far are the answer */
  });
  socket.end(bytes);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    once(socket, 'close'),
    new Promise((_resolve, reject) => {
      timer = setTimeout(() => {
        reject(new Error('server did not close the socket'));
      }, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  socket.destroy();
  return Buffer.concat(chunks).toString('latin1');
}
