import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DEVELOPMENT_SECRETS, describeSettings, loadConfig } from './config.ts';

const STRONG = 'q8Zr1vN3xK0pL5sT9wE2yU7iO4aD6fG1hJ3kM5nB8cV0';
const prod = {
  NODE_ENV: 'production',
  PUBLIC_ORIGIN: 'https://lpa.example.gov.uk',
  SESSION_SECRET: STRONG,
  MAIL_TRANSPORT: 'file',
};

test('development defaults work with no environment and generate an ephemeral secret once', () => {
  const notices: string[] = [];
  const config = loadConfig({}, { onNotice: (m) => notices.push(m) });
  assert.equal(config.port, 8005);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.dataDir, './data');
  assert.equal(config.sessionSecretIsEphemeral, true);
  assert.equal(config.sessionSecret.length, 48);
  assert.equal(notices.length, 1);
  assert.ok(!notices[0]?.includes(config.sessionSecret.toString('base64')));
  assert.equal(config.sessionCookieName, 'lpa-session');
});

test('production starts with its secrets and uses a __Host- cookie', () => {
  const config = loadConfig(prod);
  assert.equal(config.isProduction, true);
  assert.equal(config.sessionCookieName, '__Host-lpa-session');
  assert.equal(config.sessionSecretIsEphemeral, false);
});

test('production accepts generated secrets in the usual encodings', () => {
  for (const secret of [
    'a3f1c9e07b2d4865f0e1d2c3b4a59687', // openssl rand -hex 16
    '9c4e1f7a2b8d0e5f3a6c9b1d4e7f0a2c5b8d1e4f7a0c3b6d9e2f5a8c1b4d7e0f', // openssl rand -hex 32
    'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG9mcmVk', // base64
  ]) {
    assert.equal(loadConfig({ ...prod, SESSION_SECRET: secret }).sessionSecret.toString(), secret);
  }
});

test('sharing the PHP session switches the cookie to lpa3', () => {
  assert.equal(loadConfig({ ...prod, REDIS_URL: 'redis://127.0.0.1:6379' }).sessionCookieName, 'lpa3');
});

test('trusted proxies may be addresses or CIDR ranges of 1 bit up to the full length', () => {
  const proxies = [
    '127.0.0.1',
    '10.0.0.0/8',
    '192.0.2.7/32',
    '::1',
    'fd00::/8',
    '2001:db8::1/128',
    '::ffff:10.0.0.0/104',
  ];
  assert.deepEqual(loadConfig({ TRUSTED_PROXIES: proxies.join(', ') }).trustedProxies, proxies);
});

test('several workers share sessions and sign-in counters through Redis', () => {
  assert.equal(loadConfig({ WORKERS: '4', REDIS_URL: 'redis://127.0.0.1:6379' }).workers, 4);
  assert.equal(loadConfig({ WORKERS: '0', REDIS_URL: 'redis://127.0.0.1:6379' }).workers, 0);
  assert.equal(loadConfig({}).workers, 1);
});

const refusals: [string, Record<string, string>, string][] = [
  ['no SESSION_SECRET in production', { NODE_ENV: 'production', PUBLIC_ORIGIN: 'https://a.example' }, 'SESSION_SECRET'],
  ['short secret', { ...prod, SESSION_SECRET: 'short-but-not-32-bytes' }, 'SESSION_SECRET'],
  [
    'development default secret in production',
    { ...prod, SESSION_SECRET: DEVELOPMENT_SECRETS[0] ?? '' },
    'SESSION_SECRET',
  ],
  ['repetitive secret', { ...prod, SESSION_SECRET: 'a'.repeat(40) }, 'SESSION_SECRET'],
  ['secret that is a short pattern repeated', { ...prod, SESSION_SECRET: 'abcdefgh'.repeat(4) }, 'SESSION_SECRET'],
  [
    'secret that is a pattern repeated with a partial copy',
    { ...prod, SESSION_SECRET: `${'Tr0ub4dor&3xyz'.repeat(3)}Tr0` },
    'SESSION_SECRET',
  ],
  ['no PUBLIC_ORIGIN in production', { NODE_ENV: 'production', SESSION_SECRET: STRONG }, 'PUBLIC_ORIGIN'],
  ['http origin in production', { ...prod, PUBLIC_ORIGIN: 'http://lpa.example' }, 'PUBLIC_ORIGIN'],
  ['origin with a path', { PUBLIC_ORIGIN: 'https://a.example/x' }, 'PUBLIC_ORIGIN'],
  ['bad port', { PORT: '99999' }, 'PORT'],
  ['port not a number', { PORT: '80a' }, 'PORT'],
  ['bad NODE_ENV', { NODE_ENV: 'staging' }, 'NODE_ENV'],
  ['bad LOG_LEVEL', { LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  ['bad API_BASE_URL', { API_BASE_URL: 'ftp://api' }, 'API_BASE_URL'],
  ['bad REDIS_URL', { REDIS_URL: 'http://redis' }, 'REDIS_URL'],
  [
    'CA file without TLS',
    { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_TLS_CA_FILE: '/etc/ca.pem' },
    'REDIS_TLS_CA_FILE',
  ],
  ['bad proxy', { TRUSTED_PROXIES: '127.0.0.1,nginx' }, 'TRUSTED_PROXIES'],
  ['IPv4 prefix longer than 32 bits', { TRUSTED_PROXIES: '10.0.0.0/8,10.0.0.0/99' }, 'TRUSTED_PROXIES'],
  ['IPv6 prefix longer than 128 bits', { TRUSTED_PROXIES: 'fd00::/129' }, 'TRUSTED_PROXIES'],
  ['a zero-length prefix (every address a proxy)', { TRUSTED_PROXIES: '0.0.0.0/0' }, 'TRUSTED_PROXIES'],
  ['two prefixes', { TRUSTED_PROXIES: '10.0.0.0/8/16' }, 'TRUSTED_PROXIES'],
  ['bad host', { HOST: 'example.com' }, 'HOST'],
  ['bad cookie name', { SESSION_COOKIE_NAME: 'a;b' }, 'SESSION_COOKIE_NAME'],
  ['ttl too short', { SESSION_TTL_SECONDS: '5' }, 'SESSION_TTL_SECONDS'],
  ['more than one worker without Redis', { WORKERS: '2' }, 'WORKERS'],
  ['one worker per core without Redis', { WORKERS: '0' }, 'WORKERS'],
  ['local token lifetime too short', { LOCAL_TOKEN_LIFETIME_SECONDS: '29' }, 'LOCAL_TOKEN_LIFETIME_SECONDS'],
  ['a timeout warning that could never close', { LOCAL_TOKEN_LIFETIME_SECONDS: '300' }, 'SESSION_WARNING_SECONDS'],
  ['both NAME and NAME_FILE', { SESSION_SECRET: STRONG, SESSION_SECRET_FILE: '/run/secrets/x' }, 'SESSION_SECRET'],
  ['unreadable NAME_FILE', { SESSION_SECRET_FILE: '/nonexistent/secret' }, 'SESSION_SECRET_FILE'],
];

for (const [name, env, setting] of refusals) {
  test(`refuses to start: ${name}, naming ${setting}`, () => {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.setting, setting);
        assert.ok(err.message.includes(setting));
        return true;
      },
    );
  });
}

test(
  "the timeout warning and the local sign-in lifetime: the API's 75 minutes, 5 minutes' " + 'warning, both adjustable',
  () => {
    const defaults = loadConfig({});
    assert.equal(defaults.localTokenLifetimeSeconds, 4500);
    assert.equal(defaults.sessionWarningSeconds, 300);
    const short = loadConfig({ LOCAL_TOKEN_LIFETIME_SECONDS: '30', SESSION_WARNING_SECONDS: '20' });
    assert.equal(short.localTokenLifetimeSeconds, 30);
    assert.equal(short.sessionWarningSeconds, 20);
    // With the API the lifetime is the API's, so the local one is not compared.
    assert.equal(
      loadConfig({ API_BASE_URL: 'https://api.example', LOCAL_TOKEN_LIFETIME_SECONDS: '60' }).sessionWarningSeconds,
      300,
    );
  },
);

test('a refused secret is never echoed in the error', () => {
  const secret = 'tooShortButSecretValue';
  assert.throws(
    () => loadConfig({ ...prod, SESSION_SECRET: secret }),
    (err: Error) => !err.message.includes(secret),
  );
  const redis = 'redis-with-password-in-http://user:hunter2@host';
  assert.throws(
    () => loadConfig({ REDIS_URL: redis }),
    (err: Error) => !err.message.includes('hunter2'),
  );
});

test('secrets arrive through NAME_FILE with the trailing newline dropped', () => {
  const config = loadConfig(
    { ...prod, SESSION_SECRET: '', SESSION_SECRET_FILE: '/run/secrets/session' },
    {
      readFile: (p) => {
        assert.equal(p, '/run/secrets/session');
        return `${STRONG}\n`;
      },
    },
  );
  assert.equal(config.sessionSecret.toString(), STRONG);
});

test('every setting is documented, and secrets are marked', () => {
  const docs = describeSettings();
  assert.ok(docs.length >= 15);
  for (const d of docs) assert.ok(d.doc.length > 10, `${d.name} lacks documentation`);
  assert.deepEqual(
    docs
      .filter((d) => d.secret)
      .map((d) => d.name)
      .sort(),
    ['NOTIFY_API_KEY', 'OS_PLACES_API_KEY', 'REDIS_URL', 'SESSION_SECRET'],
  );
});

test(
  'outside production PUBLIC_ORIGIN follows HOST and PORT, and a loopback origin accepts ' +
    'its aliases (issue 16, point 10)',
  () => {
    const config = loadConfig({ PORT: '8123' });
    assert.equal(config.publicOrigin.origin, 'http://127.0.0.1:8123');
    assert.deepEqual(config.acceptedOrigins, ['http://127.0.0.1:8123', 'http://localhost:8123', 'http://[::1]:8123']);
    const cases: [Record<string, string>, string][] = [
      [{}, 'http://127.0.0.1:8005'],
      [{ HOST: '0.0.0.0', PORT: '3000' }, 'http://127.0.0.1:3000'],
      [{ HOST: '::', PORT: '3000' }, 'http://[::1]:3000'],
      [{ HOST: '::1', PORT: '3000' }, 'http://[::1]:3000'],
      [{ HOST: 'localhost', PORT: '3000' }, 'http://localhost:3000'],
      [{ HOST: '192.0.2.10', PORT: '3000' }, 'http://192.0.2.10:3000'],
      [{ PORT: '3000', PUBLIC_ORIGIN: 'http://lpa.test:8080' }, 'http://lpa.test:8080'],
    ];
    for (const [env, expected] of cases)
      assert.equal(loadConfig(env).publicOrigin.origin, expected, JSON.stringify(env));
    assert.deepEqual(
      loadConfig({ HOST: '192.0.2.10' }).acceptedOrigins,
      ['http://192.0.2.10:8005'],
      'no aliases for an address that is not loopback',
    );
    assert.deepEqual(loadConfig({ PUBLIC_ORIGIN: 'http://lpa.test:8080' }).acceptedOrigins, ['http://lpa.test:8080']);
    assert.deepEqual(loadConfig({ PUBLIC_ORIGIN: 'http://localhost' }).acceptedOrigins, [
      'http://localhost',
      'http://127.0.0.1',
      'http://[::1]',
    ]);
  },
);

test('production never derives PUBLIC_ORIGIN and accepts only it, even on loopback', () => {
  assert.throws(
    () => loadConfig({ NODE_ENV: 'production', SESSION_SECRET: STRONG, PORT: '8123' }),
    /PUBLIC_ORIGIN is required in production/,
  );
  assert.deepEqual(loadConfig(prod).acceptedOrigins, ['https://lpa.example.gov.uk']);
  assert.deepEqual(loadConfig({ ...prod, PUBLIC_ORIGIN: 'https://localhost:8443' }).acceptedOrigins, [
    'https://localhost:8443',
  ]);
});

test('tracing is off by default; on, it needs a collector origin; the ratio is a number from 0 to 1', () => {
  const off = loadConfig({});
  assert.equal(off.otelEnabled, false);
  assert.equal(off.otelSampleRatio, 0.05);
  assert.equal(off.otelAwsXray, false);
  assert.throws(() => loadConfig({ OTEL_ENABLED: 'true' }), /OTEL_EXPORTER_OTLP_ENDPOINT is required/);
  const on = loadConfig({
    OTEL_ENABLED: 'true',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
    OTEL_SAMPLE_RATIO: '1',
    OTEL_AWS_XRAY: 'true',
  });
  assert.equal(on.otelEndpoint?.origin, 'http://127.0.0.1:4318');
  assert.equal(on.otelSampleRatio, 1);
  assert.equal(on.otelAwsXray, true);
  for (const ratio of ['0', '0.5', '0.000001', '1.0'])
    assert.doesNotThrow(() => loadConfig({ OTEL_SAMPLE_RATIO: ratio }), ratio);
  for (const ratio of ['1.5', '2', '-0.1', '.5', '0.5.1', '1e-3', '0,5', 'NaN', '0.1234567']) {
    assert.throws(
      () => loadConfig({ OTEL_SAMPLE_RATIO: ratio }),
      /OTEL_SAMPLE_RATIO must be a number from 0 to 1/,
      ratio,
    );
  }
  assert.throws(() => loadConfig({ OTEL_ENABLED: 'yes' }), /OTEL_ENABLED must be true or false/);
  assert.throws(
    () => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/v1/traces' }),
    /OTEL_EXPORTER_OTLP_ENDPOINT must be an origin only/,
  );
});

test('the upload time limit is its own, not bounded by REQUEST_TIMEOUT_MS; the minimum rate has a window', () => {
  const quiet = { onNotice: () => undefined };
  const config = loadConfig({ REQUEST_TIMEOUT_MS: '3000', UPLOAD_TIMEOUT_MS: '900000' }, quiet);
  assert.equal(config.requestTimeoutMs, 3000);
  assert.equal(config.uploadTimeoutMs, 900_000);
  assert.equal(loadConfig({}, quiet).uploadTimeoutMs, 600_000);
  assert.equal(loadConfig({}, quiet).uploadRateWindowMs, 10_000);
  assert.throws(() => loadConfig({ UPLOAD_RATE_WINDOW_MS: '100' }, quiet), /UPLOAD_RATE_WINDOW_MS/);
  assert.throws(() => loadConfig({ UPLOAD_TIMEOUT_MS: '3600001' }, quiet), /UPLOAD_TIMEOUT_MS/);
});

test('LEGACY_FRONT: unset, true in production (behind the edge) and false elsewhere; set, as given', () => {
  assert.equal(loadConfig(prod).legacyFront, true);
  assert.equal(loadConfig({}, { onNotice: () => undefined }).legacyFront, false);
  assert.equal(loadConfig({ ...prod, LEGACY_FRONT: 'false' }).legacyFront, false);
  assert.equal(loadConfig({ LEGACY_FRONT: 'true' }, { onNotice: () => undefined }).legacyFront, true);
});
