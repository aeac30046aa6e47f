import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import diagnosticsChannel from 'node:diagnostics_channel';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import {
  createEgress,
  classifyAddress,
  nonPublicBlockList,
  EgressError,
  EgressHeaders,
  privateHostsFor,
} from './egress.ts';
import type { AddressCategory, Egress, EgressOptions } from './egress.ts';

// ---------------------------------------------------------------------------------------------------------
// Fixtures: two real HTTP servers on 127.0.0.1 (A is "the API", B is "somewhere else"), a recording logger,
// an injectable resolver, and a count of every TCP socket the process opens (diagnostics channel).

interface TestServer {
  server: http.Server;
  origin: string;
  port: number;
  requests: string[];
  connections: number;
}

async function listen(handler: http.RequestListener): Promise<TestServer> {
  const server = http.createServer(handler);
  const state: TestServer = { server, origin: '', port: 0, requests: [], connections: 0 };
  server.on('request', (req: http.IncomingMessage) => state.requests.push(`${req.method ?? ''} ${req.url ?? ''}`));
  server.on('connection', () => (state.connections += 1));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as AddressInfo).port;
  state.origin = `http://127.0.0.1:${state.port}`;
  return state;
}

async function close(s: TestServer): Promise<void> {
  s.server.closeAllConnections();
  await new Promise<void>((r) => s.server.close(() => r()));
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

let otherOrigin = '';
const MAX = 1000;

const apiHandler: http.RequestListener = (req, res) => {
  void (async () => {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://x');
    switch (url.pathname) {
      case '/hello':
        res.setHeader('content-type', 'application/json');
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.end(JSON.stringify({ hello: 'world', method: req.method, query: url.search }));
        return;
      case '/echo':
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            method: req.method,
            type: req.headers['content-type'] ?? null,
            body: JSON.parse(body) as unknown,
          }),
        );
        return;
      case '/headers':
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(req.headers));
        return;
      case '/redirect-same':
        res.writeHead(302, { location: '/hello' }).end();
        return;
      case '/redirect-other':
        res.writeHead(302, { location: `${otherOrigin}/hello` }).end();
        return;
      case '/redirect-loop':
        res.writeHead(302, { location: '/redirect-loop' }).end();
        return;
      case '/see-other':
        res.writeHead(303, { location: '/echo-method' }).end();
        return;
      case '/echo-method':
        res.end(`${req.method ?? ''} ${String(body.length)}`);
        return;
      case '/slow':
        setTimeout(() => res.end('late'), 3000).unref();
        return;
      case '/big-chunked':
        res.write(Buffer.alloc(600, 'a'));
        setTimeout(() => res.end(Buffer.alloc(600, 'b')), 10);
        return;
      case '/big-declared':
        res.setHeader('content-length', String(MAX + 1));
        res.end(Buffer.alloc(MAX + 1, 'c'));
        return;
      case '/exactly-max':
        res.end(Buffer.alloc(MAX, 'd'));
        return;
      default:
        res.writeHead(404).end();
    }
  })();
};

/** Fake DNS for host names no real resolver knows; counts the look-ups. */
const dnsAnswers: Record<string, string[]> = {
  'api.test': ['127.0.0.1'],
  'metadata.test': ['169.254.169.254'],
  'internal.test': ['10.0.0.1'],
  'mapped.test': ['::ffff:127.0.0.1'],
  'mixed.test': ['127.0.0.1', '169.254.169.254'],
  'mapped-metadata.test': ['::ffff:169.254.169.254'],
  'nothing.test': [],
};
const lookups: string[] = [];
async function fakeResolve(host: string): Promise<string[]> {
  lookups.push(host);
  const answer = dnsAnswers[host];
  if (answer === undefined) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return answer;
}

// Every TCP client socket the process creates is counted. While `noNetwork` runs, each one also gets a
// block-everything net.BlockList, which Node checks right before connect(2) (the channel fires inside
// Socket#connect, before the address is looked up). So a regression in the checks under test can never send
// a packet to 169.254.169.254 or 10.0.0.1: it fails the test instead. The first test proves the guard works.
let socketsOpened = 0;
let guardOn = false;
let guardVerified = false;
const everything = new net.BlockList();
everything.addSubnet('0.0.0.0', 0, 'ipv4');
everything.addSubnet('::', 0, 'ipv6');
diagnosticsChannel.subscribe('net.client.socket', (message) => {
  socketsOpened += 1;
  if (guardOn) (message as { socket: net.Socket & { blockList?: net.BlockList } }).socket.blockList = everything;
});

/** Runs fn with outbound connections disarmed; asserts no socket was even created. */
async function noNetwork(fn: () => Promise<unknown>, { verifying = false } = {}): Promise<void> {
  assert.ok(guardVerified || verifying, 'the network guard has not been shown to work: not risking real traffic');
  const sockets = socketsOpened;
  guardOn = true;
  try {
    await fn();
  } finally {
    guardOn = false;
  }
  assert.equal(socketsOpened, sockets, 'a socket was opened');
}

const logLines: string[] = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(chunk.toString('utf8'));
      cb();
    },
  }),
);

let api: TestServer;
let other: TestServer;
let egress: Egress;

function options(overrides: Partial<EgressOptions> = {}): EgressOptions {
  return {
    allowedOrigins: [
      api.origin,
      `http://api.test:${api.port}`,
      'http://metadata.test',
      'http://internal.test',
      `http://mapped.test:${api.port}`,
      `http://mixed.test:${api.port}`,
      `http://mapped-metadata.test:${api.port}`,
      'http://nothing.test',
      'http://169.254.169.254',
    ],
    allowPrivateFor: ['127.0.0.1', 'api.test', 'mixed.test', 'mapped-metadata.test'],
    timeoutMs: 1000,
    maxResponseBytes: MAX,
    logger,
    resolve: fakeResolve,
    ...overrides,
  };
}

/** Asserts the promise rejects with an EgressError of this code, and returns it. */
async function rejectsWith(promise: Promise<unknown>, code: EgressError['code']): Promise<EgressError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof EgressError, `expected EgressError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}, but the request succeeded`);
}

before(async () => {
  api = await listen(apiHandler);
  other = await listen((_req, res) => res.end('other'));
  otherOrigin = other.origin;
  egress = createEgress(options());
});

after(async () => {
  egress.close();
  await close(api);
  await close(other);
});

// ---------------------------------------------------------------------------------------------------------

describe('allowed origin', () => {
  test('GET returns status, headers, body and json()', async () => {
    const res = await egress.request(`${api.origin}/hello?x=1`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.deepEqual(res.json<{ hello: string; method: string; query: string }>(), {
      hello: 'world',
      method: 'GET',
      query: '?x=1',
    });
  });

  test('POST json sends the body with content-type application/json', async () => {
    const res = await egress.request(new URL(`${api.origin}/echo`), { method: 'post', json: { a: [1, 'two'] } });
    assert.deepEqual(res.json(), { method: 'POST', type: 'application/json', body: { a: [1, 'two'] } });
  });

  test('POST with a string body and its own content-type', async () => {
    const res = await egress.request(`${api.origin}/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/vnd.test+json' },
      body: '{"b":2}',
    });
    assert.deepEqual(res.json(), { method: 'POST', type: 'application/vnd.test+json', body: { b: 2 } });
  });

  test('a caller cannot set Host (virtual-host confusion) or framing headers', async () => {
    const res = await egress.request(`${api.origin}/headers`, {
      headers: { host: 'evil.example', 'transfer-encoding': 'chunked', 'x-request-id': 'r1' },
    });
    const seen = res.json<Record<string, string>>();
    assert.equal(seen.host, `127.0.0.1:${api.port}`);
    assert.equal(seen['transfer-encoding'], undefined);
    assert.equal(seen['x-request-id'], 'r1');
  });

  test('a header value with CR/LF (header injection) is refused without sending anything', async () => {
    const requests = api.requests.length;
    await rejectsWith(egress.request(`${api.origin}/hello`, { headers: { 'x-a': 'a\r\nx-injected: 1' } }), 'NETWORK');
    assert.equal(api.requests.length, requests);
  });

  test('keep-alive: sequential requests reuse one connection', async () => {
    const fresh = createEgress(options());
    try {
      const before = api.connections;
      const sockets = socketsOpened;
      for (let i = 0; i < 5; i += 1) assert.equal((await fresh.request(`${api.origin}/hello`)).status, 200);
      assert.equal(api.connections - before, 1);
      // Also shows the socket counter used by the "no connection" tests below does see egress's sockets.
      assert.equal(socketsOpened - sockets, 1);
    } finally {
      fresh.close();
    }
  });
});

test('keep-alive: a burst of concurrent requests keeps its connections for the next burst', async () => {
  // 16 idle connections used to be the limit: a burst of 40 closed 24 of them after one request each, and every
  // later burst opened them again (a quarter of the bench dashboard's API calls).
  const fresh = createEgress(options());
  try {
    const before = api.connections;
    const burst = (): Promise<number[]> =>
      Promise.all(Array.from({ length: 40 }, () => fresh.request(`${api.origin}/hello`).then((r) => r.status)));
    for (let round = 0; round < 3; round += 1) assert.deepEqual(new Set(await burst()), new Set([200]));
    assert.equal(api.connections - before, 40);
  } finally {
    fresh.close();
  }
});

test('the test guard really blocks connections (so the refusal tests below cannot leak traffic)', async () => {
  const fresh = createEgress(options());
  const connections = api.connections;
  try {
    await assert.rejects(
      noNetwork(() => rejectsWith(fresh.request(`${api.origin}/hello`), 'ADDRESS_NOT_ALLOWED'), { verifying: true }),
      /a socket was opened/,
    );
  } finally {
    fresh.close();
  }
  assert.equal(api.connections, connections, 'the server saw no connection');
  guardVerified = true;
});

describe('origin and URL checks happen before any connection or DNS look-up', () => {
  const refused: [string, string][] = [
    ['another port on the same host', 'http://127.0.0.1:1/hello'],
    ['another scheme', 'https://127.0.0.1/hello'],
    ['a host not listed', 'http://example.com/'],
    ['userinfo', 'http://user:password@127.0.0.1:PORT/hello'],
    ['a user name only', 'http://user@127.0.0.1:PORT/hello'],
    ['userinfo on a listed host name', 'http://a:b@api.test:PORT/hello'],
    ['file:', 'file:///etc/passwd'],
    ['ftp:', 'ftp://127.0.0.1:PORT/'],
    ['data:', 'data:text/plain,hi'],
    ['a relative URL', '/hello'],
    ['not a URL', 'http://'],
  ];
  for (const [name, raw] of refused) {
    test(`refuses ${name}`, async () => {
      const url = raw.replace('PORT', String(api.port));
      const dns = lookups.length;
      const requests = api.requests.length;
      await noNetwork(() => rejectsWith(egress.request(url), 'ORIGIN_NOT_ALLOWED'));
      assert.equal(lookups.length, dns, 'no DNS look-up was made');
      assert.equal(api.requests.length, requests);
    });
  }
});

describe('resolved addresses are checked before connecting', () => {
  const cases: [string, string][] = [
    ['cloud metadata 169.254.169.254', 'http://metadata.test/latest/meta-data/'],
    ['private 10.0.0.1', 'http://internal.test/'],
    ['IPv4-mapped loopback ::ffff:127.0.0.1', 'http://mapped.test:PORT/hello'],
    ['link-local among allowed loopback answers: every address must pass', 'http://mixed.test:PORT/hello'],
    ['mapped link-local even when private addresses are allowed', 'http://mapped-metadata.test:PORT/hello'],
    ['an IP literal in the URL', 'http://169.254.169.254/'],
  ];
  for (const [name, raw] of cases) {
    test(`refuses ${name}`, async () => {
      const url = raw.replace('PORT', String(api.port));
      const requests = api.requests.length;
      await noNetwork(async () => {
        const err = await rejectsWith(egress.request(url), 'ADDRESS_NOT_ALLOWED');
        assert.match(err.message, /resolves to a (link-local|private|loopback) address/);
      });
      assert.equal(api.requests.length, requests);
    });
  }

  test('loopback is refused for a host not in allowPrivateFor', async () => {
    const strict = createEgress(options({ allowPrivateFor: [] }));
    try {
      await noNetwork(() => rejectsWith(strict.request(`${api.origin}/hello`), 'ADDRESS_NOT_ALLOWED'));
    } finally {
      strict.close();
    }
  });

  test('connects to the checked address without a second look-up (pinned)', async () => {
    const dns = lookups.length;
    // Real DNS cannot resolve api.test: only the injected answer can have been used to connect.
    const res = await egress.request(`http://api.test:${api.port}/headers`);
    assert.equal(res.status, 200);
    assert.equal(res.json<Record<string, string>>().host, `api.test:${api.port}`);
    assert.deepEqual(lookups.slice(dns), ['api.test']);
  });

  test('a resolver failure or an empty answer is a NETWORK error', async () => {
    const strict = createEgress(
      options({ allowedOrigins: ['http://unknown.test', 'http://nothing.test'], allowPrivateFor: [] }),
    );
    try {
      await rejectsWith(strict.request('http://unknown.test/'), 'NETWORK');
      await rejectsWith(strict.request('http://nothing.test/'), 'NETWORK');
    } finally {
      strict.close();
    }
  });
});

describe('redirects', () => {
  test('without opting in, a 3xx is returned as it is and not followed', async () => {
    const requests = other.requests.length;
    const res = await egress.request(`${api.origin}/redirect-other`);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), `${other.origin}/hello`);
    const same = await egress.request(`${api.origin}/redirect-same`);
    assert.equal(same.status, 302);
    assert.equal(other.requests.length, requests);
  });

  test('a redirect to another origin is refused even when opted in', async () => {
    const requests = other.requests.length;
    const both = createEgress(options({ allowedOrigins: [...options().allowedOrigins, other.origin] }));
    try {
      // Refused although the other origin is itself allowed: following is same-origin only.
      await rejectsWith(both.request(`${api.origin}/redirect-other`, { followRedirects: 5 }), 'REDIRECT_REFUSED');
    } finally {
      both.close();
    }
    assert.equal(other.requests.length, requests, 'the other origin received nothing');
  });

  test('a same-origin redirect is followed when opted in', async () => {
    const res = await egress.request(`${api.origin}/redirect-same`, { followRedirects: 1 });
    assert.equal(res.status, 200);
    assert.equal(res.json<{ hello: string }>().hello, 'world');
  });

  test('a redirect loop stops at the limit', async () => {
    const before = api.requests.length;
    await rejectsWith(egress.request(`${api.origin}/redirect-loop`, { followRedirects: 3 }), 'REDIRECT_REFUSED');
    assert.equal(api.requests.length - before, 4);
  });

  test('303 after POST becomes a GET without a body', async () => {
    const res = await egress.request(`${api.origin}/see-other`, { method: 'POST', json: { x: 1 }, followRedirects: 1 });
    assert.equal(res.body.toString(), 'GET 0');
  });
});

describe('limits', () => {
  test('a slow response times out', async () => {
    const quick = createEgress(options({ timeoutMs: 200 }));
    try {
      const started = Date.now();
      await rejectsWith(quick.request(`${api.origin}/slow`), 'TIMEOUT');
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 190 && elapsed < 1500, `took ${elapsed} ms`);
    } finally {
      quick.close();
    }
  });

  test('a DNS look-up that hangs counts against the same deadline', async () => {
    const quick = createEgress(options({ timeoutMs: 150, resolve: () => new Promise<string[]>(() => undefined) }));
    try {
      await rejectsWith(quick.request(`http://api.test:${api.port}/hello`), 'TIMEOUT');
    } finally {
      quick.close();
    }
  });

  test('a body larger than the cap is aborted (streamed, no content-length)', async () => {
    await rejectsWith(egress.request(`${api.origin}/big-chunked`), 'TOO_LARGE');
  });

  test('a declared content-length over the cap is aborted', async () => {
    await rejectsWith(egress.request(`${api.origin}/big-declared`), 'TOO_LARGE');
  });

  test('a body of exactly the cap is accepted', async () => {
    const res = await egress.request(`${api.origin}/exactly-max`);
    assert.equal(res.body.length, MAX);
  });

  test('the client still works after aborted requests', async () => {
    assert.equal((await egress.request(`${api.origin}/hello`)).status, 200);
  });

  test('a refused connection is a NETWORK error', async () => {
    const closed = await listen((_req, res) => res.end());
    const { origin } = closed;
    await close(closed);
    const e = createEgress(options({ allowedOrigins: [origin], allowPrivateFor: ['127.0.0.1'] }));
    try {
      await rejectsWith(e.request(`${origin}/`), 'NETWORK');
    } finally {
      e.close();
    }
  });
});

describe('logging', () => {
  test('one debug line per request: method, origin, path (no query), status, ms; no headers or bodies', async () => {
    const from = logLines.length;
    await egress.request(`${api.origin}/echo?token=QUERYSECRET`, {
      method: 'POST',
      headers: { authorization: 'Bearer HEADERSECRET' },
      json: { password: 'BODYSECRET' },
    });
    const lines = logLines.slice(from);
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    assert.equal(entry.level, 20);
    assert.equal(entry.method, 'POST');
    assert.equal(entry.origin, api.origin);
    assert.equal(entry.path, '/echo');
    assert.equal(entry.status, 200);
    assert.equal(typeof entry.ms, 'number');
    assert.doesNotMatch(lines[0] ?? '', /SECRET/);
  });

  test('a refused request logs its error code', async () => {
    const from = logLines.length;
    await noNetwork(() => rejectsWith(egress.request('http://metadata.test/x?y=1'), 'ADDRESS_NOT_ALLOWED'));
    const entry = JSON.parse(logLines.slice(from)[0] ?? '{}') as Record<string, unknown>;
    assert.equal(entry.error, 'ADDRESS_NOT_ALLOWED');
    assert.equal(entry.path, '/x');
  });
});

describe('configuration is validated at creation', () => {
  const bad: [string, Partial<EgressOptions>][] = [
    ['an origin with a path', { allowedOrigins: ['https://api.example/v2'] }],
    ['an origin with userinfo', { allowedOrigins: ['https://u:p@api.example'] }],
    ['a non-http origin', { allowedOrigins: ['ftp://api.example'] }],
    ['not a URL', { allowedOrigins: ['api.example'] }],
    [
      'allowPrivateFor naming no allowed host',
      { allowedOrigins: ['https://api.example'], allowPrivateFor: ['api.exampel'] },
    ],
    ['a zero timeout', { timeoutMs: 0 }],
    ['a zero size cap', { maxResponseBytes: 0 }],
  ];
  for (const [name, overrides] of bad) {
    test(`rejects ${name}`, () => {
      assert.throws(() => createEgress(options({ allowPrivateFor: [], ...overrides })), /egress:/);
    });
  }

  test('default ports are normalised (https://x:443 is https://x)', async () => {
    const e = createEgress(options({ allowedOrigins: ['https://api.example:443'], allowPrivateFor: [] }));
    try {
      // Allowed origin, so the check proceeds to DNS (the fake resolver does not know it): NETWORK, not ORIGIN.
      await rejectsWith(e.request('https://api.example/x'), 'NETWORK');
    } finally {
      e.close();
    }
  });
});

describe('classifyAddress', () => {
  const table: [string, AddressCategory][] = [
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['172.32.0.1', 'public'],
    ['100.128.0.1', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['169.254.169.254', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['2606:4700:4700::1111', 'public'],
    ['2a00:1450:4009:81f::200e', 'public'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:A9FE:A9FE', 'link-local'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['0:0:0:0:0:ffff:192.168.0.1', 'private'],
    ['::127.0.0.1', 'reserved'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['64:ff9b:1::1', 'reserved'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::10.1.2.3', 'private'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['2002:a9fe:a9fe::1', 'reserved'],
    ['2002:0808:0808::1', 'reserved'],
    ['1fff::1', 'reserved'],
    ['3fff:ffff::1', 'public'],
    ['4000::1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'],
    ['fec0::1', 'reserved'],
    ['100::1', 'reserved'],
    ['localhost', 'invalid'],
    ['', 'invalid'],
    ['256.0.0.1', 'invalid'],
    ['1.2.3', 'invalid'],
  ];
  for (const [address, expected] of table) {
    test(`${address || '(empty)'} is ${expected}`, () => {
      assert.equal(classifyAddress(address), expected);
    });
  }

  test('the BlockList given to connect agrees with classifyAddress on every address above', () => {
    const strict = nonPublicBlockList(false);
    const privateOk = nonPublicBlockList(true);
    const privateCategories = new Set<AddressCategory>(['loopback', 'private', 'unique-local', 'cgnat']);
    for (const [address, category] of table) {
      const family = net.isIP(address);
      if (family === 0 || address.includes('%')) continue;
      const type = family === 6 ? 'ipv6' : 'ipv4';
      assert.equal(strict.check(address, type), category !== 'public', `strict ${address}`);
      assert.equal(
        privateOk.check(address, type),
        category !== 'public' && !privateCategories.has(category),
        `private-ok ${address}`,
      );
    }
  });

  test('Node enforces the BlockList at connect, through a keep-alive agent and a custom lookup', async () => {
    const agent = new http.Agent({ keepAlive: true });
    try {
      const error = await new Promise<unknown>((resolve) => {
        const req = http.request({
          host: 'api.test',
          port: api.port,
          agent,
          lookup: (_h, _o, cb: (e: null, a: { address: string; family: number }[]) => void) =>
            cb(null, [{ address: '127.0.0.1', family: 4 }]),
          blockList: nonPublicBlockList(false),
        } as http.RequestOptions);
        req.on('response', () => resolve(undefined));
        req.on('error', resolve);
        req.end();
      });
      assert.equal((error as NodeJS.ErrnoException | undefined)?.code, 'ERR_IP_BLOCKED');
    } finally {
      agent.destroy();
    }
  });
});

test('privateHostsFor: the EGRESS_ALLOW_PRIVATE entries that name the endpoint, whatever their case or brackets', () => {
  const entries = ['api', ' LOCALHOST ', '[::1]', '::1', 'collector', '127.0.0.1'];
  const cases: readonly [endpoint: string, hosts: readonly string[]][] = [
    ['http://localhost:8080/', [' LOCALHOST ']],
    ['http://[::1]:4318', ['[::1]', '::1']],
    ['https://127.0.0.1/', ['127.0.0.1']],
    ['https://api.example/', []],
  ];
  for (const [endpoint, hosts] of cases) assert.deepEqual(privateHostsFor(entries, new URL(endpoint)), hosts, endpoint);
  // What it picks, createEgress takes (it refuses an entry naming none of its origins).
  const picked = privateHostsFor(entries, new URL('http://[::1]:4318'));
  assert.doesNotThrow(() =>
    createEgress({
      allowedOrigins: ['http://[::1]:4318'],
      allowPrivateFor: picked,
      timeoutMs: 1000,
      maxResponseBytes: 1024,
      logger: pino({ level: 'silent' }),
    }),
  );
});

test('EgressHeaders reads as the WHATWG Headers does: any case, repeats joined, Set-Cookie one by one', () => {
  const raw = ['Content-Type', 'text/plain', 'X-Many', 'a', 'x-many', ' b ', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2'];
  const ours = new EgressHeaders(raw);
  const theirs = new Headers();
  for (let i = 0; i < raw.length; i += 2) theirs.append(raw[i] ?? '', raw[i + 1] ?? '');
  for (const name of ['content-type', 'CONTENT-TYPE', 'x-many', 'set-cookie', 'absent']) {
    assert.equal(ours.get(name), theirs.get(name), name);
    assert.equal(ours.has(name), theirs.has(name), name);
  }
  assert.deepEqual(ours.getSetCookie(), theirs.getSetCookie());
});
