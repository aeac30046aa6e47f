/**
 * One configuration schema, validated once at boot.
 *
 * Every setting comes from an environment variable NAME, or from the file named by NAME_FILE (how ECS and
 * Kubernetes deliver secrets; a trailing newline is dropped). Unknown LPA_-style keys cannot slip in: only
 * the names below are read. A bad value stops the start with an error that names the setting and never
 * echoes a secret's value. Production refuses to start without its secrets, or with weak or default ones.
 *
 * This module imports nothing of the app.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

export type NodeEnv = 'development' | 'production' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  readonly nodeEnv: NodeEnv;
  readonly isProduction: boolean;
  readonly host: string;
  readonly port: number;
  readonly publicOrigin: URL;
  /**
   * Origins whose forms the CSRF check accepts: PUBLIC_ORIGIN, and outside production, when it is a loopback origin,
   * the same scheme and port on every loopback alias (a developer may browse to localhost or 127.0.0.1).
   */
  readonly acceptedOrigins: readonly string[];
  readonly sessionSecret: Buffer;
  readonly sessionSecretIsEphemeral: boolean;
  readonly dataDir: string;
  readonly apiBaseUrl: URL | undefined;
  readonly logLevel: LogLevel;
  readonly trustedProxies: readonly string[];
  readonly redisUrl: URL | undefined;
  readonly redisTlsCaFile: string | undefined;
  readonly sessionCookieName: string;
  readonly sessionKeyPrefix: string;
  readonly sessionTtlSeconds: number;
  readonly sessionWarningSeconds: number;
  readonly localTokenLifetimeSeconds: number;
  readonly workers: number;
  readonly egressAllowPrivate: readonly string[];
  readonly feedbackMinSeconds: number;
  readonly bodyLimitBytes: number;
  readonly requestTimeoutMs: number;
  /** GA4 measurement ID; undefined: no analytics at all (docs/adr/0037). */
  readonly gaMeasurementId: string | undefined;
  /** The domain GA4 sets its cookies on, and on which withdrawing consent deletes them. */
  readonly gaCookieDomain: string;
}

type Parsed = string | number | boolean | URL | readonly string[] | undefined;

interface Setting {
  /** What it is for; written into .env.example by scripts/env-example.ts. */
  readonly doc: string;
  /** Never logged, never echoed in an error. */
  readonly secret?: true;
  /** Default outside production (and in production unless `requiredInProduction`). */
  readonly default?: string;
  readonly requiredInProduction?: true;
  readonly parse: (raw: string) => Parsed;
}

class SettingError extends Error {}

function oneOf<T extends string>(...values: T[]) {
  return (raw: string): T => {
    if ((values as string[]).includes(raw)) return raw as T;
    throw new SettingError(`must be one of ${values.join(', ')}`);
  };
}

function integer(min: number, max: number) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw)) throw new SettingError('must be a whole number');
    const n = Number(raw);
    if (n < min || n > max) throw new SettingError(`must be between ${String(min)} and ${String(max)}`);
    return n;
  };
}

function url(protocols: readonly string[]) {
  return (raw: string): URL => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new SettingError('must be an absolute URL');
    }
    if (!protocols.includes(u.protocol)) throw new SettingError(`must use ${protocols.join(' or ')}`);
    return u;
  };
}

function origin(raw: string): URL {
  const u = url(['http:', 'https:'])(raw);
  if (u.pathname !== '/' || u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') {
    throw new SettingError('must be an origin only (scheme, host and port), e.g. https://www.lastingpowerofattorney.service.gov.uk');
  }
  return u;
}

function list(raw: string): readonly string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

function proxyList(raw: string): readonly string[] {
  const items = list(raw);
  for (const item of items) {
    const parts = item.split('/');
    const [addr, bits] = parts;
    const family = addr === undefined ? 0 : isIP(addr);
    if (family === 0 || parts.length > 2 || (bits !== undefined && !/^\d{1,3}$/.test(bits))) {
      throw new SettingError(`"${item}" is not an IP address or CIDR range`);
    }
    // Checked here so the error names the setting; Fastify's proxy-addr refuses the same ranges only when the app
    // is built. /0 (every address a proxy) is refused too.
    const maxBits = family === 4 ? 32 : 128;
    if (bits !== undefined && (Number(bits) < 1 || Number(bits) > maxBits)) {
      throw new SettingError(`"${item}" needs a prefix length from 1 to ${String(maxBits)}`);
    }
  }
  return items;
}

export const SETTINGS = {
  NODE_ENV: { doc: 'development, test or production. Production enforces secrets, Secure cookies and Host checks.', default: 'development', parse: oneOf('development', 'production', 'test') },
  HOST: { doc: 'Address to listen on. Loopback by default; a container sets 0.0.0.0.', default: '127.0.0.1', parse: (raw) => { if (isIP(raw) === 0 && raw !== 'localhost') throw new SettingError('must be an IP address'); return raw; } },
  PORT: { doc: 'TCP port to listen on.', default: '8005', parse: integer(1, 65535) },
  PUBLIC_ORIGIN: { doc: 'The external origin users see (scheme, host, port). Used for Host and Origin checks and absolute URLs. Unset outside production: http://HOST:PORT (127.0.0.1 for a wildcard HOST), and a loopback origin also accepts its aliases 127.0.0.1, localhost and [::1] on the same port.', requiredInProduction: true, parse: origin },
  SESSION_SECRET: { doc: 'At least 32 bytes of random data (production refuses published values, and ones with under 8 distinct bytes or made of a short pattern repeated). Keys cookie signatures and the keyed hashes in audit logs. Generate with: openssl rand -base64 48', secret: true, requiredInProduction: true, parse: (raw) => raw },
  DATA_DIR: { doc: 'Folder for the embedded SQLite store (feedback, local users, outbox).', default: './data', parse: (raw) => raw },
  API_BASE_URL: { doc: 'Base URL of the LPA API. Unset: the embedded store is used instead.', parse: url(['http:', 'https:']) },
  LOG_LEVEL: { doc: 'pino log level.', default: 'info', parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent') },
  TRUSTED_PROXIES: { doc: 'Comma-separated IPs or CIDRs of proxies (nginx) whose X-Forwarded-* headers are trusted. Empty: none.', default: '', parse: proxyList },
  REDIS_URL: { doc: 'redis:// or rediss:// URL of the session Redis shared with the PHP front. Unset: in-memory sessions.', secret: true, parse: url(['redis:', 'rediss:']) },
  REDIS_TLS_CA_FILE: { doc: 'PEM file of the CA that signs the Redis certificate (rediss:// only). Unset: the system trust store and NODE_EXTRA_CA_CERTS.', parse: (raw) => raw },
  SESSION_COOKIE_NAME: { doc: 'Session cookie name. Default lpa3 (the PHP front\'s) when REDIS_URL is set, else lpa-session (__Host- prefixed in production).', parse: (raw) => { if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw)) throw new SettingError('must be 1-64 letters, digits, _ or -'); return raw; } },
  SESSION_KEY_PREFIX: { doc: 'Redis key prefix for sessions (the phpredis default).', default: 'PHPREDIS_SESSION:', parse: (raw) => raw },
  SESSION_TTL_SECONDS: { doc: 'Idle session lifetime in seconds (sliding).', default: '10800', parse: integer(60, 86_400) },
  SESSION_WARNING_SECONDS: { doc: 'How many seconds before a signed-in user\'s sign-in expires the "You\'re about to be signed out" dialog appears.', default: '300', parse: integer(10, 3600) },
  LOCAL_TOKEN_LIFETIME_SECONDS: { doc: 'Idle sign-in lifetime in seconds (sliding) of the embedded store\'s users, when API_BASE_URL is unset (the API\'s is 4500). Lower it to see the timeout warning and sign-out sooner.', default: '4500', parse: integer(30, 86_400) },
  WORKERS: { doc: 'Worker processes (node:cluster). 0 means one per core. More than 1 (or 0) needs REDIS_URL, so that workers share sessions and sign-in counters.', default: '1', parse: integer(0, 64) },
  EGRESS_ALLOW_PRIVATE: { doc: 'Comma-separated hostnames that may resolve to private or loopback addresses (for a co-located API). Empty: none.', default: '', parse: list },
  FEEDBACK_MIN_SECONDS: { doc: 'A feedback form submitted sooner than this after it was shown is treated as automated.', default: '3', parse: integer(0, 600) },
  BODY_LIMIT_BYTES: { doc: 'Largest accepted request body.', default: '16384', parse: integer(1024, 1_048_576) },
  REQUEST_TIMEOUT_MS: { doc: 'Time allowed to receive a whole request (slow-client protection).', default: '10000', parse: integer(1000, 120_000) },
  GA_MEASUREMENT_ID: { doc: 'Google Analytics 4 measurement ID (G-XXXXXXXXXX; the live front\'s is G-DY4BCL021L). Loaded only for visitors who accepted analytics cookies. Unset: no analytics at all.', parse: (raw) => { if (!/^G-[A-Z0-9]{4,20}$/.test(raw)) throw new SettingError('must look like G-XXXXXXXXXX'); return raw; } },
  GA_COOKIE_DOMAIN: { doc: 'Domain GA4 sets its _ga cookies on, and on which withdrawing consent deletes them, e.g. .lastingpowerofattorney.service.gov.uk. Must contain the PUBLIC_ORIGIN host. Unset: the PUBLIC_ORIGIN host name.', parse: (raw) => { if (raw.length > 253 || !raw.replace(/^\./, '').split('.').every((label) => /^[a-z0-9-]{1,63}$/.test(label))) throw new SettingError('must be a lower-case domain name'); return raw; } },
} as const satisfies Record<string, Setting>;

export type SettingName = keyof typeof SETTINGS;

/** Values that ship in this repository's docs and examples: never acceptable as a real secret. */
export const DEVELOPMENT_SECRETS: readonly string[] = [
  'development-only-secret-change-me-0000000000',
  'change-me',
  'changeme',
  'secret',
  'test-secret-for-lpa-front-tests-only-000000',
];

export class ConfigError extends Error {
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(`Invalid configuration: ${setting} ${message}`);
    this.name = 'ConfigError';
    this.setting = setting;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function readRaw(name: string, env: Env, readFile: (path: string) => string): string | undefined {
  const fileName = env[`${name}_FILE`];
  const direct = env[name];
  if (fileName !== undefined && fileName !== '') {
    if (direct !== undefined && direct !== '') throw new ConfigError(name, `is set both directly and through ${name}_FILE; use one`);
    try {
      return readFile(fileName).replace(/\r?\n$/, '');
    } catch {
      throw new ConfigError(`${name}_FILE`, 'names a file that cannot be read');
    }
  }
  return direct === '' ? undefined : direct;
}

/**
 * True when the bytes are a shorter sequence said again (`abcdefgh` four times, a partial last copy included): such a
 * secret holds no more randomness than its pattern, though it passes the length and distinct-byte checks. A cheap
 * screen for typed-in secrets, not an entropy estimate; a generated one (hex, base64) is, in practice, never periodic.
 */
function isRepeatedPattern(bytes: Buffer): boolean {
  for (let period = 1; period <= bytes.length / 2; period++) {
    let repeats = true;
    for (let i = period; repeats && i < bytes.length; i++) repeats = bytes[i] === bytes[i - period];
    if (repeats) return true;
  }
  return false;
}

/** The names one machine answers to on its loopback interface, as URL hostnames. */
export const LOOPBACK_HOSTNAMES: readonly string[] = ['127.0.0.1', 'localhost', '[::1]'];

/** Where a browser on this machine reaches the server: PUBLIC_ORIGIN's default outside production. */
export function listeningOrigin(host: string, port: number): URL {
  const name = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : isIP(host) === 6 ? `[${host}]` : host;
  // Plain http: the server itself speaks http, and production (behind TLS) must set PUBLIC_ORIGIN.
  // eslint-disable-next-line @microsoft/sdl/no-insecure-url -- a loopback or LAN address of this very process
  return new URL(`http://${name}:${String(port)}`);
}

/** PUBLIC_ORIGIN, plus its loopback aliases outside production (see Config.acceptedOrigins). */
export function acceptedOrigins(publicOrigin: URL, production: boolean): readonly string[] {
  if (production || !LOOPBACK_HOSTNAMES.includes(publicOrigin.hostname)) return [publicOrigin.origin];
  const port = publicOrigin.port === '' ? '' : `:${publicOrigin.port}`;
  return [publicOrigin.origin, ...LOOPBACK_HOSTNAMES.map((h) => `${publicOrigin.protocol}//${h}${port}`).filter((o) => o !== publicOrigin.origin)];
}

export interface LoadOptions {
  readonly readFile?: (path: string) => string;
  /** Called once when development generates an ephemeral secret. */
  readonly onNotice?: (message: string) => void;
}

export function loadConfig(env: Env = process.env, options: LoadOptions = {}): Config {
  // NAME_FILE paths come from the deployment's own environment (how ECS/Kubernetes mount secrets), never a request.
  // eslint-disable-next-line security/detect-non-literal-fs-filename
  const readFile = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const values = new Map<SettingName, Parsed>();
  const nodeEnvRaw = readRaw('NODE_ENV', env, readFile) ?? SETTINGS.NODE_ENV.default;
  const production = nodeEnvRaw === 'production';

  for (const [name, setting] of Object.entries(SETTINGS) as [SettingName, Setting][]) {
    let raw = readRaw(name, env, readFile);
    if (raw === undefined) {
      if (production && setting.requiredInProduction === true) throw new ConfigError(name, 'is required in production');
      raw = setting.default;
    }
    if (raw === undefined) {
      values.set(name, undefined);
      continue;
    }
    try {
      values.set(name, setting.parse(raw));
    } catch (err) {
      const why = err instanceof SettingError ? err.message : 'is not valid';
      // A secret's value is never echoed.
      throw new ConfigError(name, setting.secret === true ? why.replace(/"[^"]*"/g, '(hidden)') : why);
    }
  }

  const get = (name: SettingName): Parsed => values.get(name);
  const nodeEnv = get('NODE_ENV') as NodeEnv;
  const publicOrigin = (get('PUBLIC_ORIGIN') as URL | undefined) ?? listeningOrigin(get('HOST') as string, get('PORT') as number);
  if (production && publicOrigin.protocol !== 'https:') throw new ConfigError('PUBLIC_ORIGIN', 'must use https: in production');

  const secretRaw = get('SESSION_SECRET') as string | undefined;
  let sessionSecret: Buffer;
  let ephemeral = false;
  if (secretRaw === undefined) {
    sessionSecret = randomBytes(48);
    ephemeral = true;
    options.onNotice?.('SESSION_SECRET is not set: using an ephemeral random secret. Sessions end when the process restarts.');
  } else {
    sessionSecret = Buffer.from(secretRaw, 'utf8');
    if (sessionSecret.length < 32) throw new ConfigError('SESSION_SECRET', 'must be at least 32 bytes long');
    if (DEVELOPMENT_SECRETS.includes(secretRaw)) {
      if (production) throw new ConfigError('SESSION_SECRET', 'is a published development value; generate a real secret');
    }
    if (production && (new Set(sessionSecret).size < 8 || isRepeatedPattern(sessionSecret))) {
      throw new ConfigError('SESSION_SECRET', 'is too repetitive to be random');
    }
  }

  const redisUrl = get('REDIS_URL') as URL | undefined;
  const redisTlsCaFile = get('REDIS_TLS_CA_FILE') as string | undefined;
  // Without Redis each worker keeps its own sessions and sign-in counters: a session (and its CSRF token) would be
  // lost whenever the next request reached another worker, and each worker would allow the full sign-in attempts.
  // 0 (one per core) counts as several, which it is on any machine with more than one core.
  const workers = get('WORKERS') as number;
  if (workers !== 1 && redisUrl === undefined) throw new ConfigError('WORKERS', 'must be 1 without REDIS_URL: workers share sessions and sign-in counters only through Redis');
  if (redisTlsCaFile !== undefined && redisUrl?.protocol !== 'rediss:') throw new ConfigError('REDIS_TLS_CA_FILE', 'needs a rediss:// REDIS_URL');
  const sessionWarningSeconds = get('SESSION_WARNING_SECONDS') as number;
  const localTokenLifetimeSeconds = get('LOCAL_TOKEN_LIFETIME_SECONDS') as number;
  if (get('API_BASE_URL') === undefined && sessionWarningSeconds >= localTokenLifetimeSeconds) {
    throw new ConfigError('SESSION_WARNING_SECONDS', 'must be less than LOCAL_TOKEN_LIFETIME_SECONDS, or the warning would never close');
  }
  const gaCookieDomain = get('GA_COOKIE_DOMAIN') as string | undefined ?? publicOrigin.hostname;
  const bare = gaCookieDomain.replace(/^\./, '');
  if (publicOrigin.hostname !== bare && !publicOrigin.hostname.endsWith(`.${bare}`)) throw new ConfigError('GA_COOKIE_DOMAIN', 'must be the PUBLIC_ORIGIN host or a parent domain of it');
  const cookieName = get('SESSION_COOKIE_NAME') as string | undefined
    ?? (redisUrl !== undefined ? 'lpa3' : production ? '__Host-lpa-session' : 'lpa-session');

  return Object.freeze({
    nodeEnv,
    isProduction: production,
    host: get('HOST') as string,
    port: get('PORT') as number,
    publicOrigin,
    acceptedOrigins: acceptedOrigins(publicOrigin, production),
    sessionSecret,
    sessionSecretIsEphemeral: ephemeral,
    dataDir: get('DATA_DIR') as string,
    apiBaseUrl: get('API_BASE_URL') as URL | undefined,
    logLevel: get('LOG_LEVEL') as LogLevel,
    trustedProxies: get('TRUSTED_PROXIES') as readonly string[],
    redisUrl,
    redisTlsCaFile,
    sessionCookieName: cookieName,
    sessionKeyPrefix: get('SESSION_KEY_PREFIX') as string,
    sessionTtlSeconds: get('SESSION_TTL_SECONDS') as number,
    sessionWarningSeconds,
    localTokenLifetimeSeconds,
    workers,
    egressAllowPrivate: get('EGRESS_ALLOW_PRIVATE') as readonly string[],
    feedbackMinSeconds: get('FEEDBACK_MIN_SECONDS') as number,
    bodyLimitBytes: get('BODY_LIMIT_BYTES') as number,
    requestTimeoutMs: get('REQUEST_TIMEOUT_MS') as number,
    gaMeasurementId: get('GA_MEASUREMENT_ID') as string | undefined,
    gaCookieDomain,
  });
}

/** The documentation of every setting, for .env.example and the README. */
export function describeSettings(): { name: string; doc: string; secret: boolean; default: string | undefined; requiredInProduction: boolean }[] {
  return (Object.entries(SETTINGS) as [SettingName, Setting][]).map(([name, s]) => ({
    name,
    doc: s.doc,
    secret: s.secret === true,
    default: s.default,
    requiredInProduction: s.requiredInProduction === true,
  }));
}
