/**
 * The generator without traffic: one source of truth with the app's route table, the properties every
 * generated config must have, refusal of unsafe input, and `nginx -t` on every variant (HTTP, FastCGI, none).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  ASSET_PREFIX,
  EDGE_HELD_BACK,
  PATHS,
  PUBLIC_ROUTES,
  TOKEN_PATHS,
  UPLOAD_PATHS,
  tokenRoute,
} from '../../src/paths.ts';
import { loadConfig } from '../../src/config/config.ts';
import {
  ASSET_REGEX,
  assertPlainPath,
  declaredPaths,
  declaredPatterns,
  declaredPrefixes,
  generateNginxConf,
  idRouteLocations,
  renderHttpBlock,
  renderStreamBlock,
  tokenPathRegexes,
} from '../../deploy/nginx/generate.ts';
import type { EdgeOptions } from '../../deploy/nginx/generate.ts';
import { build } from '../helpers/app.ts';
import { makeCertificates, systemBinary } from '../helpers/services.ts';

const execFileAsync = promisify(execFile);

const BASE: EdgeOptions = {
  publicHost: 'www.example.test',
  httpsPort: 443,
  httpPort: 80,
  certFile: '/etc/ssl/lpa/fullchain.pem',
  keyFile: '/etc/ssl/lpa/key.pem',
  upstreams: ['10.0.0.1:8005', { address: '10.0.0.2:8005', maxFails: 2, failTimeout: '5s' }],
};

/** Full paths from Fastify's printRoutes tree (commonPrefix: false). */
function routesFromTree(tree: string): string[] {
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of tree.split('\n')) {
    // eslint-disable-next-line security/detect-unsafe-regex -- one line of Fastify's own route tree, in a test
    const m = /^((?:[│ ] {3})*)(?:[├└]── )?(\S+) \(/.exec(line);
    if (m === null) continue;
    const depth = (m[1]?.length ?? 0) / 4 + (line.includes('── ') ? 1 : 0);
    stack.length = depth;
    const full = (depth > 0 ? (stack[depth - 1] ?? '') : '') + (m[2] ?? '');
    stack[depth] = full.replace(/\/?$/, (s) => s);
    out.push(full.replace(/^\/\//, '/'));
  }
  return out;
}

test(
  'every route the app registers is declared in PATHS, so nginx sends it to lpa-front ' + 'unless it is held back',
  async (t) => {
    const { app } = await build(t);
    // A route with a parameter last (`/user/dashboard/page/:page`) is declared in PATHS by its prefix
    // (`/user/dashboard/page/`).
    const rawRoutes = routesFromTree(app.printRoutes({ commonPrefix: false }));
    const routes = rawRoutes.map((r) => r.replace(/\/:[A-Za-z]+$/, '/'));
    const declared = new Set([...declaredPaths(), ...declaredPrefixes()]);
    const heldBack = Object.keys(EDGE_HELD_BACK);
    assert.ok(routes.length >= 15, `routes parsed: ${routes.join(' ')}`);
    for (const raw of rawRoutes) {
      const r = raw.replace(/\/:[A-Za-z]+$/, '/');
      if (r.endsWith('*')) continue; // the one wildcard: checked below
      // token pages: checked below
      if (Object.values(TOKEN_PATHS).some((prefix) => raw === tokenRoute(prefix))) continue;
      // A held-back page's own sub-paths (`/user/evidence/:id`) stay with the legacy front too: nginx routes exact
      // paths.
      const held = heldBack.some((h) => r === h || r.startsWith(`${h}/`));
      // A parameter route (the live `/user/about-you[/{new}]`): nginx routes the declared instance of it.
      const instanceOf = (p: string) =>
        p.split('/').length === raw.split('/').length &&
        raw.split('/').every((seg, i) => seg.startsWith(':') || seg === p.split('/')[i]);
      if (raw.includes('/:') && [...declared].some(instanceOf)) continue;
      assert.ok(
        declared.has(r) || held,
        `${r} is served by the app but not declared in PATHS: nginx would never route it`,
      );
    }
    for (const p of heldBack) {
      assert.ok(
        routes.some((r) => r === p || (r.startsWith(p) && r.slice(p.length).startsWith(':'))),
        `${p} is held back at the edge but is no route of the app`,
      );
      assert.ok(!declared.has(p), `${p} is held back but still sent to lpa-front`);
    }
    // ...and once a held-back page is routed, so is each of its sub-paths (an id in place of the parameter).
    assert.deepEqual(idRouteLocations(), [], 'no sub-path of a held-back page is routed');
    // eslint-disable-next-line security/detect-non-literal-regexp -- the generator's output, the very thing under test
    const subPaths = idRouteLocations(heldBack).map((l) => new RegExp(l.regex));
    for (const raw of rawRoutes.filter((r) => r.includes('/:') && heldBack.some((h) => r.startsWith(`${h}/`)))) {
      const instance = raw.replace(/:[A-Za-z]+/g, () => randomUUID());
      assert.equal(
        subPaths.filter((re) => re.test(instance)).length,
        1,
        `${raw}: one location once its page is routed`,
      );
    }
    assert.equal(routes.filter((r) => r.endsWith('*')).length, 1, 'exactly one wildcard route (assets)');
    assert.ok(app.hasRoute({ url: `${ASSET_PREFIX}*`, method: 'GET' }), 'the wildcard is the asset prefix');
    // And the other way: every declared path is a route of the app (for some method).
    for (const p of declared) {
      const methods = PUBLIC_ROUTES[p] ?? ['GET', 'POST'];
      const url = declaredPrefixes().includes(p) ? `${p}:page` : p; // a prefix's route takes its number there
      assert.ok(
        methods.some((method) => app.hasRoute({ url, method })),
        `${p} is declared but the app has no route for it`,
      );
    }
  },
);

test('the config has an exact location for every declared path, one asset regex, and nothing else to lpa-front', () => {
  const conf = renderHttpBlock({ ...BASE, legacy: { kind: 'http', servers: ['10.0.0.9:80'] } });
  const toFront = [...conf.matchAll(/location (.+) \{\n\s+proxy_pass http:\/\/lpa_front([^;]*);/g)].map((m) => [
    m[1]?.trim(),
    m[2],
  ]);
  const exact = toFront
    .filter(([loc]) => loc?.startsWith('= '))
    .map(([loc, uri]) => {
      assert.equal(`= ${uri ?? ''}`, loc, 'the declared path is passed as a literal');
      return loc?.slice(2);
    });
  assert.deepEqual(exact.sort(), declaredPaths());
  assert.deepEqual(
    toFront.filter(([loc]) => !loc?.startsWith('= ')),
    [
      ...declaredPatterns().map((re) => [`~ "${re}"`, '$uri$is_args$args']),
      [`~ "${ASSET_REGEX}"`, '$uri'],
      ...tokenPathRegexes().map((r) => [`~ "${r}"`, '$uri']),
    ],
  );
  assert.equal(
    [...conf.matchAll(/lpa_front/g)].length,
    toFront.length + 1,
    'lpa_front appears only in those locations and its upstream block',
  );
  assert.match(conf, /location \/ \{\n\s+# [^\n]*\n\s+proxy_pass http:\/\/lpa_legacy;/);
  for (const path of Object.values(PATHS)) {
    if (path === ASSET_PREFIX) continue;
    if (Object.hasOwn(EDGE_HELD_BACK, path))
      assert.ok(!conf.includes(`location = ${path} {`), `${path} is held back: the legacy front answers it`);
    else if (declaredPrefixes().includes(path))
      assert.ok(conf.includes(`location ~ "^${path}[0-9]{1,9}$(?!\\n)" {`), path);
    else assert.ok(conf.includes(`location = ${path} {`), path);
  }
  assert.ok(
    conf.includes(`location = ${PATHS.dashboard} {`),
    "the dashboard lists the user's LPAs: lpa-front answers it (ADR 0042)",
  );
  assert.deepEqual(declaredPatterns(), ['^/user/dashboard/page/[0-9]{1,9}$(?!\\n)'], 'and its pages, by number only');
  assert.ok(
    conf.includes(
      'location ~ "^/user/dashboard/page/[0-9]{1,9}$(?!\\n)" {\n      proxy_pass ' +
        'http://lpa_front$uri$is_args$args;',
    ),
    'the page number and the search go upstream',
  );
});

test('the asset regex admits only content-hashed names', () => {
  // eslint-disable-next-line security/detect-non-literal-regexp -- the generator's constant, the very thing under test
  const re = new RegExp(ASSET_REGEX);
  for (const ok of [
    '/assets/css/govuk-frontend.min-9fe50e9010.css',
    '/assets/images/favicon-dcd99aa1df.ico',
    '/assets/manifest-d7dcc0afcc.json',
    '/assets/fonts/bold-affa96571d-v2-5a2a925237.woff2',
  ]) {
    assert.ok(re.test(ok), ok);
  }
  for (const bad of [
    '/assets/',
    '/assets/x.css',
    '/assets/css/../x-0123456789.css',
    '/assets/css/.x-0123456789.css',
    '/assets/./x-0123456789.css',
    '/assets/a/b/x-0123456789.css',
    '/assets/x-0123456789.css/',
    '/assets/x-0123456789.css\n',
    '/assets/x-0123456789.CSS',
    '/assets/x-0123456789.css;a',
    '/assets/x y-0123456789.css',
    '/assets/x-0123456789.css%00',
    '/assets//x-0123456789.css',
    '/ASSETS/x-0123456789.css',
    '/assets/x-0123456789.php.',
  ]) {
    assert.ok(!re.test(bad), JSON.stringify(bad));
  }
});

test('headers are added with `always` at server level, never in a location, and never from a request variable', () => {
  const conf = renderHttpBlock(BASE);
  const adds = [...conf.matchAll(/^\s*add_header .*$/gm)].map((m) => m[0].trim());
  assert.ok(adds.length >= 10);
  for (const a of adds) {
    assert.match(a, / always;$/, a);
    assert.match(a, /^add_header [a-z-]+ \$lpa_edge_[a-z_]+ always;$/, a);
  }
  // Request headers are read in three places only: the log's user agent, and the two trace headers, each through a
  // map that keeps only ids of a fixed hex format (never copied into a response).
  assert.deepEqual(
    [...conf.matchAll(/.*\$http_(?!user_agent)[a-z_]+.*/g)].map((m) => m[0].trim()),
    ['map $http_traceparent $lpa_trace_in {', 'map $http_x_amzn_trace_id $lpa_trace_amzn {'],
  );
  // No add_header inside a location (it would silently drop the server-level ones there).
  for (const block of conf.split(/\n\s+location /).slice(1)) {
    const body = block.slice(0, block.indexOf('\n    }'));
    assert.doesNotMatch(body, /add_header/);
  }
  assert.match(
    conf,
    /map \$upstream_http_strict_transport_security \$lpa_edge_strict_transport_security \{\n\s+"" "max-age=31536000; includeSubDomains";\n\s+default "";/,
  );
});

test('TLS, limits, forwarding and logging settings', () => {
  const conf = renderHttpBlock(BASE);
  for (const line of [
    'server_tokens off;',
    'ssl_protocols TLSv1.2 TLSv1.3;',
    'ssl_prefer_server_ciphers off;',
    'ssl_session_tickets off;',
    'client_max_body_size 1m;',
    'client_body_timeout 10s;',
    'client_header_timeout 10s;',
    'send_timeout 30s;',
    'large_client_header_buffers 4 16k;',
    'proxy_connect_timeout 2s;',
    'proxy_send_timeout 10s;',
    'proxy_read_timeout 30s;',
    'proxy_set_header X-Forwarded-For $remote_addr;',
    'proxy_set_header X-Forwarded-Proto $scheme;',
    'proxy_set_header Host www.example.test;',
    'proxy_next_upstream error timeout;',
    'proxy_next_upstream_tries 2;',
    'merge_slashes on;',
    'return 301 https://www.example.test$request_uri;',
    'server 10.0.0.2:8005 max_fails=2 fail_timeout=5s;',
    'keepalive 32;',
  ])
    assert.ok(conf.includes(line), line);
  assert.match(
    renderHttpBlock({ ...BASE, upstreams: ['10.0.0.1:8005', { address: '10.0.0.2:8005', down: true }] }),
    /server 10\.0\.0\.2:8005 max_fails=1 fail_timeout=10s down;/,
  );
  assert.doesNotMatch(conf, /proxy_next_upstream [^;]*non_idempotent/);
  assert.doesNotMatch(
    conf,
    /_next_upstream [^;]*http_5/,
    "an upstream's 5xx is an answer, not a failure that marks it down",
  );
  assert.doesNotMatch(conf, /proxy_add_x_forwarded_for/);
  assert.doesNotMatch(conf, /SSLv|TLSv1 |TLSv1\.1/);
  assert.match(conf, /ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:[A-Z0-9:-]+;/);
  assert.doesNotMatch(conf, /ssl_ciphers [^;]*(CBC|SHA:|RC4|3DES|DES-CBC|NULL|EXPORT|[ :]DHE-)/);
  const logFormat = /log_format lpa_json escape=json ([\s\S]*?);\n/.exec(conf)?.[1] ?? '';
  assert.match(logFormat, /\$lpa_log_path/);
  assert.doesNotMatch(
    logFormat,
    /\$request_uri|\$request\b|\$args|\$query_string|\$http_cookie|\$cookie_|\$http_authorization/,
  );
});

test(
  'the TCP front: every listener limits connections per address and hands over to its http ' +
    'server with the PROXY protocol',
  () => {
    const standalone = generateNginxConf({ ...BASE, prefix: '/srv/edge', tcpFront: { perAddress: 40 } });
    assert.match(standalone, /^load_module \/usr\/lib\/nginx\/modules\/ngx_stream_module\.so;$/m);
    assert.match(standalone, /^events \{ worker_connections 4096; \}$/m);
    assert.match(standalone, /^worker_rlimit_nofile 8192;$/m);
    const stream = /\nstream \{\n([\s\S]*?)\n\}\n/.exec(standalone)?.[1] ?? '';
    assert.match(stream, /limit_conn_zone \$binary_remote_addr zone=lpa_per_address:10m;/);
    for (const port of [443, 80]) {
      const socket = `unix:/srv/edge/temp/lpa-edge-${String(port)}.sock`;
      assert.ok(
        stream.includes(
          `    listen 127.0.0.1:${String(port)};\n    limit_conn lpa_per_address 40;\n    ` +
            `proxy_pass ${socket};\n    proxy_protocol on;`,
        ),
        `${String(port)}: ${stream}`,
      );
      assert.ok(
        standalone.includes(
          `    listen ${socket}${port === 443 ? ' ssl http2' : ''} proxy_protocol ` +
            `default_server;\n    set_real_ip_from unix:;\n    real_ip_header proxy_protocol;`,
        ),
        String(port),
      );
    }
    assert.doesNotMatch(standalone, /listen 127\.0\.0\.1:\d+ ssl/, 'no http server listens on the public port itself');
    assert.doesNotMatch(stream, /set_real_ip_from/, 'without a load balancer the peer is the client');
    // Behind a TCP load balancer that sends the PROXY protocol: only its ranges may name the client.
    const nlb = renderStreamBlock({ ...BASE, tcpFront: { perAddress: 40, proxyProtocolFrom: ['10.0.0.0/16'] } });
    assert.match(nlb, /listen 127\.0\.0\.1:443 proxy_protocol;\n\s+# [^\n]*\n\s+set_real_ip_from 10\.0\.0\.0\/16;/);
    // Off: the http servers listen directly again, and there is no stream block.
    const off = generateNginxConf({ ...BASE, prefix: '/srv/edge', tcpFront: false });
    assert.doesNotMatch(off, /stream \{|load_module|proxy_protocol/);
    assert.match(off, /listen 127\.0\.0\.1:443 ssl http2 default_server;/);
    assert.throws(() => renderStreamBlock({ ...BASE, tcpFront: { perAddress: 0 } }), /perAddress/);
    assert.throws(
      () => renderStreamBlock({ ...BASE, tcpFront: { perAddress: 9, proxyProtocolFrom: ['10.0.0.0/8; evil'] } }),
      /proxyProtocolFrom/,
    );
  },
);

test('alsoRoute (tests only) routes a held-back page, refuses anything not in PATHS, and is off by default', () => {
  const heldBack = Object.keys(EDGE_HELD_BACK);
  assert.ok(heldBack.length > 0);
  assert.ok(!declaredPaths().some((p) => heldBack.includes(p)));
  assert.deepEqual(
    declaredPaths(heldBack).filter((p) => heldBack.includes(p)),
    heldBack.sort(),
  );
  const conf = renderHttpBlock({ ...BASE, alsoRoute: heldBack });
  for (const p of heldBack)
    assert.ok(
      conf.includes(`location = ${p} {\n`) && conf.includes(`      proxy_pass http://lpa_front${p};\n    }`),
      p,
    );
  assert.match(conf, /# TEST ONLY \(alsoRoute\)/);
  for (const bad of ['/admin', '/assets/', '/user/dashboard/', '/%75ser/dashboard']) {
    assert.throws(() => renderHttpBlock({ ...BASE, alsoRoute: [bad] }), /alsoRoute/, bad);
  }
  assert.doesNotMatch(renderHttpBlock(BASE), /TEST ONLY/);
});

test('an upload route, once routed, has its own location: body limit, no request buffering, upload timeouts', () => {
  const block = (conf: string, p: string): string => {
    const at = conf.indexOf(`location = ${p} {`);
    return at < 0 ? '' : conf.slice(at, conf.indexOf('\n    }', at));
  };
  assert.ok(UPLOAD_PATHS.length > 0);
  for (const p of UPLOAD_PATHS) {
    assert.equal(block(renderHttpBlock(BASE), p), '', `${p} is held back: no location unless routed`);
    const conf = renderHttpBlock({ ...BASE, alsoRoute: [p] });
    const own = block(conf, p);
    for (const line of [
      'client_max_body_size 101m;',
      'client_body_timeout 10s;',
      'proxy_request_buffering off;',
      'proxy_read_timeout 180s;',
    ])
      assert.ok(own.includes(line), `${p}: ${line}`);
    // Every other location keeps the server-wide limits.
    assert.equal(conf.split('proxy_request_buffering').length - 1, 1);
    assert.equal(conf.split('client_max_body_size').length - 1, 2);
    assert.ok(conf.includes('  client_max_body_size 1m;'));
    const tuned = block(
      renderHttpBlock({ ...BASE, alsoRoute: [p], upload: { maxBodySize: '30m', bodyTimeout: 5, readTimeout: 60 } }),
      p,
    );
    for (const line of ['client_max_body_size 30m;', 'client_body_timeout 5s;', 'proxy_read_timeout 60s;'])
      assert.ok(tuned.includes(line), line);
  }
  // The default body limit holds lpa-front's own total for its default settings (evidence-routes.ts).
  const config = loadConfig({}, { onNotice: () => undefined });
  const appTotal = config.uploadMaxFilesPerUser * (config.uploadMaxFileBytes + 64 * 1024);
  assert.ok(101 * 1024 * 1024 >= appTotal && 100 * 1024 * 1024 < appTotal, String(appTotal));
  for (const bad of [{ maxBodySize: '1g' }, { maxBodySize: '1m; evil' }, { bodyTimeout: 0 }, { readTimeout: 1.5 }])
    assert.throws(() => renderHttpBlock({ ...BASE, alsoRoute: [PATHS.evidence], upload: bad }), /upload\./);
});

test('evidence sub-paths, once routed: anchored UUID locations, server-wide body limit, download never spooled', () => {
  const block = (conf: string, re: string): string => {
    const at = conf.indexOf(`location ~ "${re}" {`);
    return at < 0 ? '' : conf.slice(at, conf.indexOf('\n    }', at));
  };
  const locations = idRouteLocations([PATHS.evidence]);
  const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
  assert.deepEqual(locations, [
    { regex: `^/user/evidence/${uuid}/delete$(?!\\n)`, download: false },
    { regex: `^/user/evidence/${uuid}$(?!\\n)`, download: true },
  ]);
  assert.doesNotMatch(renderHttpBlock(BASE), /evidence/, 'held back: nothing about evidence at the edge');
  const conf = renderHttpBlock({ ...BASE, alsoRoute: [PATHS.evidence] });
  for (const { regex, download } of locations) {
    const own = block(conf, regex);
    assert.ok(own.includes('proxy_pass http://lpa_front$uri;'), regex);
    assert.equal(own.includes('proxy_max_temp_file_size 0;'), download, regex);
    assert.doesNotMatch(own, /client_max_body_size|proxy_request_buffering|client_body_timeout/, regex);
  }
  const id = randomUUID();
  // eslint-disable-next-line security/detect-non-literal-regexp -- the generator's output, the very thing under test
  const res = locations.map((l) => new RegExp(l.regex));
  for (const yes of [`/user/evidence/${id}`, `/user/evidence/${id}/delete`])
    assert.equal(res.filter((re) => re.test(yes)).length, 1, yes);
  for (const no of [
    '/user/evidence',
    '/user/evidence/',
    `/user/evidenceX/${id}`,
    `/user/evidence/${id.toUpperCase()}`,
    `/user/evidence/${id}/`,
    `/user/evidence/${id}/delete/x`,
    `/x/user/evidence/${id}`,
    `/user/evidence/${id}\n`,
  ])
    assert.ok(!res.some((re) => re.test(no)), no);
});

test('unsafe input is refused instead of written into the config', () => {
  for (const bad of ['/a b', '/a;b', '/a{', '/a/../b', '//a', 'a', '/a$b', '/a"b', '/a\nb'])
    assert.throws(
      () => {
        assertPlainPath(bad);
      },
      /not a plain absolute path/,
      bad,
    );
  assert.throws(() => renderHttpBlock({ ...BASE, publicHost: 'x; evil' }), /publicHost/);
  assert.throws(() => renderHttpBlock({ ...BASE, upstreams: ['10.0.0.1:80; server evil:80'] }), /upstream/);
  assert.throws(() => renderHttpBlock({ ...BASE, certFile: '/a b' }), /certFile/);
  assert.throws(() => renderHttpBlock({ ...BASE, fallbackCsp: "default-src 'none'\"; evil" }), /header value/);
  assert.throws(() => renderHttpBlock({ ...BASE, upstreams: [] }), /at least one/);
});

test(
  'nginx -t accepts every variant: legacy over HTTP, over FastCGI (with and without static ' + 'files), none',
  async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lpa-edge-gen-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const certs = await makeCertificates(dir);
    const variants: [string, EdgeOptions['legacy']][] = [
      ['http', { kind: 'http', servers: ['127.0.0.1:9'] }],
      ['fastcgi', { kind: 'fastcgi', servers: ['127.0.0.1:9000'], scriptFilename: '/app/public/index.php' }],
      [
        'fastcgi-static',
        {
          kind: 'fastcgi',
          servers: ['127.0.0.1:9000'],
          scriptFilename: '/app/public/index.php',
          staticRoot: '/app/public',
        },
      ],
      ['none', undefined],
    ];
    const fronts: EdgeOptions['tcpFront'][] = [
      undefined,
      false,
      { perAddress: 10, proxyProtocolFrom: ['10.0.0.0/16', '192.0.2.1'] },
    ];
    for (const [i, [name, legacy]] of variants.entries()) {
      const prefix = path.join(dir, name);
      await mkdir(path.join(prefix, 'logs'), { recursive: true });
      await mkdir(path.join(prefix, 'temp'), { recursive: true });
      const conf = generateNginxConf({
        ...BASE,
        httpsPort: 1,
        httpPort: 2,
        certFile: certs.certFile,
        keyFile: certs.keyFile,
        legacy,
        prefix,
        tcpFront: fronts[i % fronts.length],
        alsoRoute: i === 0 ? [...UPLOAD_PATHS] : undefined, // the upload location's directives, checked by nginx too
        traceSamplePercent: [5, 0, 100, 0.25][i],
      });
      if (name.startsWith('fastcgi')) {
        assert.match(conf, /fastcgi_param SCRIPT_FILENAME \/app\/public\/index\.php;/);
        assert.match(conf, /fastcgi_param HTTP_X_ORIGINAL_URL "";/);
        assert.match(conf, /fastcgi_param HTTP_PROXY "";/);
        assert.doesNotMatch(
          conf,
          /\\\.php|\$fastcgi_script_name|\$document_root\$/,
          'one fixed front controller, no script from the URL',
        );
      }
      const file = path.join(prefix, 'nginx.conf');
      await writeFile(file, conf);
      await execFileAsync(systemBinary('nginx'), [
        '-t',
        '-q',
        '-p',
        prefix,
        '-c',
        file,
        '-e',
        path.join(prefix, 'logs/error.log'),
      ]).catch((err: unknown) => {
        throw new Error(`nginx -t rejected the ${name} variant: ${(err as { stderr?: string }).stderr ?? String(err)}`);
      });
    }
  },
);
