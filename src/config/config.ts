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
  readonly otelEnabled: boolean;
  readonly otelEndpoint: URL | undefined;
  readonly otelSampleRatio: number;
  readonly otelAwsXray: boolean;
  readonly clamdAddress: ClamdAddress | undefined;
  readonly clamdTimeoutMs: number;
  readonly uploadMaxFileBytes: number;
  readonly uploadMaxFilesPerUser: number;
  readonly uploadMaxImagePixels: number;
  readonly uploadRetentionDays: number;
  readonly uploadScanIntervalMs: number;
  readonly uploadTimeoutMs: number;
  readonly uploadMinBytesPerSecond: number;
  readonly uploadRateWindowMs: number;
  readonly uploadS3Bucket: string | undefined;
  readonly uploadS3Region: string;
  readonly uploadS3Endpoint: URL | undefined;
  readonly uploadS3KmsKeyId: string | undefined;
  readonly shutdownDrainMs: number;
  readonly loadShedEventLoopDelayMs: number;
  readonly loadShedRetryAfterSeconds: number;
  /** Embedded credential store: scrypt hashes run at once per process (ADR 0032). */
  readonly passwordHashConcurrency: number;
  /** How account emails leave (ADR 0035): GOV.UK Notify, or one JSON line each in DATA_DIR/mail.jsonl. */
  readonly mailTransport: 'notify' | 'file';
  readonly notifyApiKey: string | undefined;
  readonly notifyBaseUrl: URL;
  readonly notifyTemplates: Readonly<Record<NotifyTemplate, string>>;
  /** OS Places API key for the address lookup (ADR 0050); undefined: the embedded address fixture. */
  readonly osPlacesApiKey: string | undefined;
  readonly osPlacesUrl: URL;
  /** Account pages that must not tell whether an address has an account answer no sooner than this (ms). */
  readonly accountAnswerFloorMs: number;
  /** Sign-up and resend-activation requests allowed per source address, and per email address named, per hour. */
  readonly accountThrottlePerAddress: number;
  readonly accountThrottlePerRecipient: number;
  /** Most account emails sent to one address in an hour; more are dropped and logged. */
  readonly mailHourlyCapPerRecipient: number;
  /** GA4 measurement ID; undefined: no analytics at all (docs/adr/0037). */
  readonly gaMeasurementId: string | undefined;
  /** The domain GA4 sets its cookies on, and on which withdrawing consent deletes them. */
  readonly gaCookieDomain: string;
  /**
   * LPAs completed from this day on show OPG's processing status on the dashboard (the live front's track-from-date).
   */
  readonly trackFromDate: Date;
  /** The legacy PHP front answers the paths lpa-front does not (behind the edge): its pages may be redirected to. */
  readonly legacyFront: boolean;
}

/** Where clamd listens: its local socket, or a TCP port (ADR 0033). */
export type ClamdAddress =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** The account emails, and the Notify template each uses (the PHP front's NotifyMailTransport template map). */
export type NotifyTemplate =
  | 'accountActivate'
  | 'accountDuplicationWarning'
  | 'passwordReset'
  | 'passwordResetNoAccount'
  | 'passwordChanged'
  | 'newEmailVerify'
  | 'newEmailNotify';

const TEMPLATE_SETTINGS = {
  accountActivate: 'NOTIFY_TEMPLATE_ACCOUNT_ACTIVATE',
  accountDuplicationWarning: 'NOTIFY_TEMPLATE_ACCOUNT_DUPLICATION_WARNING',
  passwordReset: 'NOTIFY_TEMPLATE_PASSWORD_RESET',
  passwordResetNoAccount: 'NOTIFY_TEMPLATE_PASSWORD_RESET_NO_ACCOUNT',
  passwordChanged: 'NOTIFY_TEMPLATE_PASSWORD_CHANGED',
  newEmailVerify: 'NOTIFY_TEMPLATE_NEW_EMAIL_VERIFY',
  newEmailNotify: 'NOTIFY_TEMPLATE_NEW_EMAIL_NOTIFY',
} as const satisfies Record<NotifyTemplate, string>;

type Parsed = string | number | boolean | URL | readonly string[] | ClamdAddress | undefined;

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

function uuid(raw: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(raw))
    throw new SettingError('must be a Notify template id (a lowercase UUID)');
  return raw;
}

/** A Notify API key: `{key name}-{service id}-{secret}`, the last two UUIDs (the Notify clients split it so). */
function notifyKey(raw: string): string {
  if (
    !/^[A-Za-z0-9_-]+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(
      raw,
    )
  ) {
    throw new SettingError('must be a GOV.UK Notify API key (key name, service id, secret)');
  }
  return raw;
}

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
    throw new SettingError(
      'must be an origin only (scheme, host and port), e.g. ' + 'https://www.lastingpowerofattorney.service.gov.uk',
    );
  }
  return u;
}

function flag(raw: string): boolean {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new SettingError('must be true or false');
}

function ratio(raw: string): number {
  const parts = raw.split('.');
  const [whole = '', fraction] = parts;
  if (
    parts.length > 2 ||
    !/^[01]$/.test(whole) ||
    (fraction !== undefined && !/^\d{1,6}$/.test(fraction)) ||
    Number(raw) > 1
  )
    throw new SettingError('must be a number from 0 to 1, e.g. 0.05');
  return Number(raw);
}

function list(raw: string): readonly string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
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

function clamdAddress(raw: string): ClamdAddress {
  if (raw.startsWith('unix:')) {
    const p = raw.slice('unix:'.length);
    if (!p.startsWith('/'))
      throw new SettingError('unix: needs an absolute socket path, e.g. unix:/run/clamav/clamd.ctl');
    return { kind: 'unix', path: p };
  }
  const m = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw);
  const port = Number(m?.[2]);
  if (m?.[1] === undefined || port < 1 || port > 65535) {
    throw new SettingError('must be unix:/path/to/clamd.ctl or tcp://HOST:PORT, e.g. tcp://127.0.0.1:3310');
  }
  return { kind: 'tcp', host: m[1].replace(/^\[|\]$/g, ''), port };
}

function s3Bucket(raw: string): string {
  // S3's bucket naming rules (no dots: virtual-hosted TLS names break with them).
  if (!/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(raw))
    throw new SettingError('must be 3-63 lowercase letters, digits or -');
  return raw;
}

export const SETTINGS = {
  NODE_ENV: {
    doc: 'development, test or production. Production enforces secrets, Secure cookies and Host checks.',
    default: 'development',
    parse: oneOf('development', 'production', 'test'),
  },
  HOST: {
    doc: 'Address to listen on. Loopback by default; a container sets 0.0.0.0.',
    default: '127.0.0.1',
    parse: (raw) => {
      if (isIP(raw) === 0 && raw !== 'localhost') throw new SettingError('must be an IP address');
      return raw;
    },
  },
  PORT: { doc: 'TCP port to listen on.', default: '8005', parse: integer(1, 65535) },
  PUBLIC_ORIGIN: {
    doc: 'The external origin users see (scheme, host, port). Used for Host and Origin checks and absolute URLs. Unset outside production: http://HOST:PORT (127.0.0.1 for a wildcard HOST), and a loopback origin also accepts its aliases 127.0.0.1, localhost and [::1] on the same port.',
    requiredInProduction: true,
    parse: origin,
  },
  SESSION_SECRET: {
    doc: 'At least 32 bytes of random data (production refuses published values, and ones with under 8 distinct bytes or made of a short pattern repeated). Keys cookie signatures and the keyed hashes in audit logs. Generate with: openssl rand -base64 48',
    secret: true,
    requiredInProduction: true,
    parse: (raw) => raw,
  },
  DATA_DIR: {
    doc: 'Folder for the embedded SQLite store (feedback, local users, outbox).',
    default: './data',
    parse: (raw) => raw,
  },
  API_BASE_URL: {
    doc: 'Base URL of the LPA API. Unset: the embedded store is used instead.',
    parse: url(['http:', 'https:']),
  },
  LOG_LEVEL: {
    doc: 'pino log level.',
    default: 'info',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  },
  TRUSTED_PROXIES: {
    doc: 'Comma-separated IPs or CIDRs of proxies (nginx) whose X-Forwarded-* headers, and with OTEL_ENABLED their traceparent and X-Amzn-Trace-Id, are trusted. Empty: none.',
    default: '',
    parse: proxyList,
  },
  REDIS_URL: {
    doc: 'redis:// or rediss:// URL of the session Redis shared with the PHP front. Unset: in-memory sessions.',
    secret: true,
    parse: url(['redis:', 'rediss:']),
  },
  REDIS_TLS_CA_FILE: {
    doc: 'PEM file of the CA that signs the Redis certificate (rediss:// only). Unset: the system trust store and NODE_EXTRA_CA_CERTS.',
    parse: (raw) => raw,
  },
  SESSION_COOKIE_NAME: {
    doc: "Session cookie name. Default lpa3 (the PHP front's) when REDIS_URL is set, else lpa-session (__Host- prefixed in production).",
    parse: (raw) => {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw)) throw new SettingError('must be 1-64 letters, digits, _ or -');
      return raw;
    },
  },
  SESSION_KEY_PREFIX: {
    doc: 'Redis key prefix for sessions (the phpredis default).',
    default: 'PHPREDIS_SESSION:',
    parse: (raw) => raw,
  },
  SESSION_TTL_SECONDS: {
    doc: 'Idle session lifetime in seconds (sliding).',
    default: '10800',
    parse: integer(60, 86_400),
  },
  SESSION_WARNING_SECONDS: {
    doc: 'How many seconds before a signed-in user\'s sign-in expires the "You\'re about to be signed out" dialog appears.',
    default: '300',
    parse: integer(10, 3600),
  },
  LOCAL_TOKEN_LIFETIME_SECONDS: {
    doc: "Idle sign-in lifetime in seconds (sliding) of the embedded store's users, when API_BASE_URL is unset (the API's is 4500). Lower it to see the timeout warning and sign-out sooner.",
    default: '4500',
    parse: integer(30, 86_400),
  },
  WORKERS: {
    doc: 'Worker processes (node:cluster). 0 means one per core. More than 1 (or 0) needs REDIS_URL, so that workers share sessions and sign-in counters.',
    default: '1',
    parse: integer(0, 64),
  },
  EGRESS_ALLOW_PRIVATE: {
    doc: 'Comma-separated hostnames that may resolve to private or loopback addresses (for a co-located API). Empty: none.',
    default: '',
    parse: list,
  },
  FEEDBACK_MIN_SECONDS: {
    doc: 'A feedback form submitted sooner than this after it was shown is treated as automated.',
    default: '3',
    parse: integer(0, 600),
  },
  BODY_LIMIT_BYTES: { doc: 'Largest accepted request body.', default: '16384', parse: integer(1024, 1_048_576) },
  MAIL_TRANSPORT: {
    doc: 'How account emails are sent: notify (GOV.UK Notify, needs NOTIFY_API_KEY) or file (one JSON line per email appended to DATA_DIR/mail.jsonl, for development and tests). Default: notify when NOTIFY_API_KEY is set, else file; production refuses to start with neither a key nor MAIL_TRANSPORT=file.',
    parse: oneOf('notify', 'file'),
  },
  NOTIFY_API_KEY: {
    doc: 'GOV.UK Notify API key (key name, service id, secret). Signs the JWT of each Notify call; never logged.',
    secret: true,
    parse: notifyKey,
  },
  NOTIFY_BASE_URL: {
    doc: 'GOV.UK Notify API origin (the only place mail goes; egress allows nothing else for it).',
    default: 'https://api.notifications.service.gov.uk',
    parse: origin,
  },
  NOTIFY_TEMPLATE_ACCOUNT_ACTIVATE: {
    doc: "Notify template: activate your account (the PHP front's EMAIL_ACCOUNT_ACTIVATE).",
    default: '32aea199-3b82-4e2d-8228-f2cd8b58c40a',
    parse: uuid,
  },
  NOTIFY_TEMPLATE_ACCOUNT_DUPLICATION_WARNING: {
    doc: 'Notify template: someone tried to register with your address (EMAIL_ACCOUNT_DUPLICATION_WARNING).',
    default: '4c99eeff-6af9-4753-aae1-a5d46ea06815',
    parse: uuid,
  },
  NOTIFY_TEMPLATE_PASSWORD_RESET: {
    doc: 'Notify template: reset your password (EMAIL_PASSWORD_RESET).',
    default: 'a4f2c358-0484-431f-8148-6d1280d79f44',
    parse: uuid,
  },
  NOTIFY_TEMPLATE_PASSWORD_RESET_NO_ACCOUNT: {
    doc: 'Notify template: a reset was asked for an address with no account (EMAIL_PASSWORD_RESET_NO_ACCOUNT).',
    default: '4f57dea9-5433-4c49-9a69-365ab60a3b95',
    parse: uuid,
  },
  NOTIFY_TEMPLATE_PASSWORD_CHANGED: {
    doc: 'Notify template: your password was changed (EMAIL_PASSWORD_CHANGED).',
    default: '856f6b93-a248-42ae-9580-5d0ff24b595e',
    parse: uuid,
  },
  NOTIFY_TEMPLATE_NEW_EMAIL_VERIFY: {
    doc: 'Notify template: confirm your new address, sent to it (EMAIL_NEW_EMAIL_ADDRESS_VERIFY).',
    default: '1dd980a2-deab-4a5b-802b-61566188496d',
    parse: uuid,
  },
  NOTIFY_TEMPLATE_NEW_EMAIL_NOTIFY: {
    doc: 'Notify template: your address is being changed, sent to the old one (EMAIL_NEW_EMAIL_ADDRESS_NOTIFY).',
    default: '85a14f80-813e-4e72-8dc5-5549d958a592',
    parse: uuid,
  },
  OS_PLACES_API_KEY: {
    doc: 'Ordnance Survey Places API key for the postcode lookup on "Your details" (the live front\'s OS Places key). Sent only to OS_PLACES_URL; never logged. Unset: a small embedded address fixture answers instead (development and tests).',
    secret: true,
    parse: (raw) => {
      if (!/^[A-Za-z0-9]{8,128}$/.test(raw))
        throw new SettingError('must be an OS Data Hub API key (letters and digits)');
      return raw;
    },
  },
  OS_PLACES_URL: {
    doc: 'OS Places postcode search endpoint; egress allows its origin and nothing else for the lookup. A loopback or private host must be named in EGRESS_ALLOW_PRIVATE.',
    default: 'https://api.os.uk/search/places/v1/postcode',
    parse: url(['https:', 'http:']),
  },
  ACCOUNT_ANSWER_FLOOR_MS: {
    doc: "Sign up, resend activation and forgotten password answer no sooner than this many ms, whatever they found, so their timing does not tell whether an address has an account. Above the API's slowest usual answer, below its timeout.",
    default: '1000',
    parse: integer(0, 10_000),
  },
  ACCOUNT_THROTTLE_PER_ADDRESS: {
    doc: "Sign-up and resend-activation requests one source address may make in an hour (counted apart from sign-in's); more get 429.",
    default: '20',
    parse: integer(1, 100_000),
  },
  ACCOUNT_THROTTLE_PER_RECIPIENT: {
    doc: "Sign-up and resend-activation requests naming one email address in an hour (counted apart from sign-in's, so they never lock its owner out); more get 429.",
    default: '5',
    parse: integer(1, 100_000),
  },
  MAIL_HOURLY_CAP_PER_RECIPIENT: {
    doc: 'Most account emails (activation, reset, warnings) sent to one address in an hour; the rest are dropped and logged, so the service cannot be used to flood a mailbox.',
    default: '10',
    parse: integer(1, 1000),
  },
  REQUEST_TIMEOUT_MS: {
    doc: 'Time allowed to receive a whole request (slow-client protection); upload routes have their own, UPLOAD_TIMEOUT_MS.',
    default: '10000',
    parse: integer(1000, 120_000),
  },
  OTEL_ENABLED: {
    doc: 'Request tracing with OpenTelemetry (docs/adr/0026). false: the tracing SDK is not even loaded and nothing is exported.',
    default: 'false',
    parse: flag,
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    doc: "Origin (scheme, host, port) of the OpenTelemetry collector's OTLP/HTTP receiver, e.g. http://127.0.0.1:4318; spans are POSTed to it as JSON at /v1/traces. Required when OTEL_ENABLED is true. A collector on a loopback or private address must be named in EGRESS_ALLOW_PRIVATE.",
    parse: origin,
  },
  OTEL_SAMPLE_RATIO: {
    doc: 'Share of new traces recorded and exported, from 0 to 1. The sampled flag of an incoming trace header is never obeyed, so clients cannot force recording.',
    default: '0.05',
    parse: ratio,
  },
  OTEL_AWS_XRAY: {
    doc: 'true: trace ids in the AWS X-Ray form (the first 8 hex digits are the start time), for a collector that exports to X-Ray.',
    default: 'false',
    parse: flag,
  },
  CLAMD_ADDRESS: {
    doc: 'Where the ClamAV daemon listens: unix:/run/clamav/clamd.ctl or tcp://127.0.0.1:3310. Unset: uploads are unavailable and nothing is accepted (fail closed). Its StreamMaxLength must be at least UPLOAD_MAX_FILE_BYTES.',
    parse: clamdAddress,
  },
  CLAMD_TIMEOUT_MS: {
    doc: 'Longest wait for clamd to connect, take a chunk or answer a scan; a scan that runs out is "unavailable", never clean.',
    default: '30000',
    parse: integer(100, 600_000),
  },
  UPLOAD_MAX_FILE_BYTES: {
    doc: 'Largest uploaded file in bytes (20 MiB = 20971520).',
    default: '20971520',
    parse: integer(1024, 104_857_600),
  },
  UPLOAD_MAX_FILES_PER_USER: {
    doc: 'Most evidence files one user may hold at once.',
    default: '5',
    parse: integer(1, 100),
  },
  UPLOAD_MAX_IMAGE_PIXELS: {
    doc: 'Largest image accepted, in pixels (width x height read from the file header): refuses decompression bombs.',
    default: '50000000',
    parse: integer(1, 1_000_000_000),
  },
  UPLOAD_RETENTION_DAYS: {
    doc: 'Evidence files are deleted (bytes and record) this many days after upload. The privacy notice says 90: change it with this.',
    default: '90',
    parse: integer(1, 3650),
  },
  UPLOAD_SCAN_INTERVAL_MS: {
    doc: 'How often files still "Checking" (clamd was down) are scanned again, files last scanned with an older signature database are rescanned, and expired files are deleted.',
    default: '60000',
    parse: integer(1000, 3_600_000),
  },
  UPLOAD_TIMEOUT_MS: {
    doc: 'Time allowed to receive one upload request (all its files), in place of REQUEST_TIMEOUT_MS, which does not apply to upload routes. Past it the upload is refused with an error page and the connection closed.',
    default: '600000',
    parse: integer(1000, 3_600_000),
  },
  UPLOAD_MIN_BYTES_PER_SECOND: {
    doc: 'Slowest upload accepted: in every UPLOAD_RATE_WINDOW_MS, at least this many bytes per second must arrive, else the upload is refused with an error page and the connection closed (a slow sender holds a connection and a storage slot).',
    default: '16384',
    parse: integer(1, 104_857_600),
  },
  UPLOAD_RATE_WINDOW_MS: {
    doc: 'The window UPLOAD_MIN_BYTES_PER_SECOND is measured over (sliding, so a fast start does not pay for a stall later); the first window is grace.',
    default: '10000',
    parse: integer(500, 120_000),
  },
  UPLOAD_S3_BUCKET: {
    doc: "S3 bucket for uploaded files. Unset: files are kept under DATA_DIR/uploads. Credentials come from the AWS SDK's default chain (the task role), never from here.",
    parse: s3Bucket,
  },
  UPLOAD_S3_REGION: {
    doc: 'AWS region of UPLOAD_S3_BUCKET.',
    default: 'eu-west-1',
    parse: (raw) => {
      if (!/^[a-z]{2}-[a-z-]{1,30}-\d$/.test(raw)) throw new SettingError('must be an AWS region, e.g. eu-west-1');
      return raw;
    },
  },
  UPLOAD_S3_ENDPOINT: {
    doc: "S3 endpoint URL for an S3-compatible store or a VPC endpoint. Unset: AWS's own for the region.",
    parse: url(['http:', 'https:']),
  },
  UPLOAD_S3_KMS_KEY_ID: {
    doc: 'KMS key id or ARN for server-side encryption (aws:kms). Unset: SSE-S3 (AES256).',
    parse: (raw) => {
      if (!/^[A-Za-z0-9:/_-]{1,2048}$/.test(raw)) throw new SettingError('must be a KMS key id, alias or ARN');
      return raw;
    },
  },
  SHUTDOWN_DRAIN_MS: {
    doc: 'After SIGTERM, how long open keep-alive connections are kept so that requests already on their way are answered (each with Connection: close) before idle ones are closed. Ends sooner when every connection has closed.',
    default: '5000',
    parse: integer(0, 60_000),
  },
  LOAD_SHED_EVENT_LOOP_DELAY_MS: {
    doc: 'Answer 503 with Retry-After (except /ping/elb and assets) while the event loop lags more than this many milliseconds: an overloaded instance refuses quickly instead of letting every request time out. 0 turns load shedding off.',
    default: '1000',
    parse: integer(0, 60_000),
  },
  LOAD_SHED_RETRY_AFTER_SECONDS: {
    doc: 'The Retry-After sent with a load-shedding 503.',
    default: '10',
    parse: integer(1, 3600),
  },
  PASSWORD_HASH_CONCURRENCY: {
    doc: 'Embedded credential store (API_BASE_URL unset): password hashes (scrypt, 32 MiB each) run at once per process; more wait in line. 1 suits a worker with a core to itself (ADR 0032).',
    default: '1',
    parse: integer(1, 64),
  },
  GA_MEASUREMENT_ID: {
    doc: "Google Analytics 4 measurement ID (G-XXXXXXXXXX; the live front's is G-DY4BCL021L). Loaded only for visitors who accepted analytics cookies. Unset: no analytics at all.",
    parse: (raw) => {
      if (!/^G-[A-Z0-9]{4,20}$/.test(raw)) throw new SettingError('must look like G-XXXXXXXXXX');
      return raw;
    },
  },
  GA_COOKIE_DOMAIN: {
    doc: 'Domain GA4 sets its _ga cookies on, and on which withdrawing consent deletes them, e.g. .lastingpowerofattorney.service.gov.uk. Must contain the PUBLIC_ORIGIN host. Unset: the PUBLIC_ORIGIN host name.',
    parse: (raw) => {
      if (
        raw.length > 253 ||
        !raw
          .replace(/^\./, '')
          .split('.')
          .every((label) => /^[a-z0-9-]{1,63}$/.test(label))
      )
        throw new SettingError('must be a lower-case domain name');
      return raw;
    },
  },
  TRACK_FROM_DATE: {
    doc: "YYYY-MM-DD: LPAs completed on or after this day show OPG's processing status (Waiting, Received, Checking, Processed) on the dashboard, from this day on; as the live front's OPG_LPA_FRONT_TRACK_FROM_DATE.",
    default: '2019-04-01',
    parse: (raw) => {
      const d = /^\d{4}-\d\d-\d\d$/.test(raw) ? new Date(`${raw}T00:00:00Z`) : new Date(Number.NaN);
      if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== raw)
        throw new SettingError('must be a date, YYYY-MM-DD');
      return raw;
    },
  },
  LEGACY_FRONT: {
    doc: 'true where the legacy PHP front answers every path lpa-front does not (behind the edge, as in production): pages then send people on to its pages as the live front does (a dashboard with no LPAs goes to /user/dashboard/create). false where lpa-front is the whole site (npm start), which has no such pages. Unset: true in production, else false.',
    parse: flag,
  },
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
    if (direct !== undefined && direct !== '')
      throw new ConfigError(name, `is set both directly and through ${name}_FILE; use one`);
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
  return [
    publicOrigin.origin,
    ...LOOPBACK_HOSTNAMES.map((h) => `${publicOrigin.protocol}//${h}${port}`).filter((o) => o !== publicOrigin.origin),
  ];
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
  const publicOrigin =
    (get('PUBLIC_ORIGIN') as URL | undefined) ?? listeningOrigin(get('HOST') as string, get('PORT') as number);
  if (production && publicOrigin.protocol !== 'https:')
    throw new ConfigError('PUBLIC_ORIGIN', 'must use https: in production');

  const secretRaw = get('SESSION_SECRET') as string | undefined;
  let sessionSecret: Buffer;
  let ephemeral = false;
  if (secretRaw === undefined) {
    sessionSecret = randomBytes(48);
    ephemeral = true;
    options.onNotice?.(
      'SESSION_SECRET is not set: using an ephemeral random secret. Sessions end when the ' + 'process restarts.',
    );
  } else {
    sessionSecret = Buffer.from(secretRaw, 'utf8');
    if (sessionSecret.length < 32) throw new ConfigError('SESSION_SECRET', 'must be at least 32 bytes long');
    if (DEVELOPMENT_SECRETS.includes(secretRaw)) {
      if (production)
        throw new ConfigError('SESSION_SECRET', 'is a published development value; generate a real secret');
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
  if (workers !== 1 && redisUrl === undefined)
    throw new ConfigError(
      'WORKERS',
      'must be 1 without REDIS_URL: workers share sessions and sign-in counters only through ' + 'Redis',
    );
  if (redisTlsCaFile !== undefined && redisUrl?.protocol !== 'rediss:')
    throw new ConfigError('REDIS_TLS_CA_FILE', 'needs a rediss:// REDIS_URL');
  const sessionWarningSeconds = get('SESSION_WARNING_SECONDS') as number;
  const localTokenLifetimeSeconds = get('LOCAL_TOKEN_LIFETIME_SECONDS') as number;
  if (get('API_BASE_URL') === undefined && sessionWarningSeconds >= localTokenLifetimeSeconds) {
    throw new ConfigError(
      'SESSION_WARNING_SECONDS',
      'must be less than LOCAL_TOKEN_LIFETIME_SECONDS, or the warning would never close',
    );
  }
  const otelEnabled = get('OTEL_ENABLED') as boolean;
  const otelEndpoint = get('OTEL_EXPORTER_OTLP_ENDPOINT') as URL | undefined;
  if (otelEnabled && otelEndpoint === undefined)
    throw new ConfigError('OTEL_EXPORTER_OTLP_ENDPOINT', 'is required when OTEL_ENABLED is true');
  const notifyApiKey = get('NOTIFY_API_KEY') as string | undefined;
  const mailTransport =
    (get('MAIL_TRANSPORT') as 'notify' | 'file' | undefined) ?? (notifyApiKey !== undefined ? 'notify' : 'file');
  if (mailTransport === 'notify' && notifyApiKey === undefined)
    throw new ConfigError('NOTIFY_API_KEY', 'is required when MAIL_TRANSPORT=notify');
  // Production never falls back to writing emails to a file by accident: it needs a key or an explicit choice.
  if (production && notifyApiKey === undefined && get('MAIL_TRANSPORT') !== 'file')
    throw new ConfigError('NOTIFY_API_KEY', 'is required in production (or set MAIL_TRANSPORT=file explicitly)');
  const notifyTemplates = Object.fromEntries(
    Object.entries(TEMPLATE_SETTINGS).map(([k, name]) => [k, get(name) as string]),
  ) as Record<NotifyTemplate, string>;
  const gaCookieDomain = (get('GA_COOKIE_DOMAIN') as string | undefined) ?? publicOrigin.hostname;
  const bare = gaCookieDomain.replace(/^\./, '');
  if (publicOrigin.hostname !== bare && !publicOrigin.hostname.endsWith(`.${bare}`))
    throw new ConfigError('GA_COOKIE_DOMAIN', 'must be the PUBLIC_ORIGIN host or a parent domain of it');
  const cookieName =
    (get('SESSION_COOKIE_NAME') as string | undefined) ??
    (redisUrl !== undefined ? 'lpa3' : production ? '__Host-lpa-session' : 'lpa-session');

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
    otelEnabled,
    otelEndpoint,
    otelSampleRatio: get('OTEL_SAMPLE_RATIO') as number,
    otelAwsXray: get('OTEL_AWS_XRAY') as boolean,
    clamdAddress: get('CLAMD_ADDRESS') as ClamdAddress | undefined,
    clamdTimeoutMs: get('CLAMD_TIMEOUT_MS') as number,
    uploadMaxFileBytes: get('UPLOAD_MAX_FILE_BYTES') as number,
    uploadMaxFilesPerUser: get('UPLOAD_MAX_FILES_PER_USER') as number,
    uploadMaxImagePixels: get('UPLOAD_MAX_IMAGE_PIXELS') as number,
    uploadRetentionDays: get('UPLOAD_RETENTION_DAYS') as number,
    uploadScanIntervalMs: get('UPLOAD_SCAN_INTERVAL_MS') as number,
    uploadTimeoutMs: get('UPLOAD_TIMEOUT_MS') as number,
    uploadMinBytesPerSecond: get('UPLOAD_MIN_BYTES_PER_SECOND') as number,
    uploadRateWindowMs: get('UPLOAD_RATE_WINDOW_MS') as number,
    uploadS3Bucket: get('UPLOAD_S3_BUCKET') as string | undefined,
    uploadS3Region: get('UPLOAD_S3_REGION') as string,
    uploadS3Endpoint: get('UPLOAD_S3_ENDPOINT') as URL | undefined,
    uploadS3KmsKeyId: get('UPLOAD_S3_KMS_KEY_ID') as string | undefined,
    shutdownDrainMs: get('SHUTDOWN_DRAIN_MS') as number,
    loadShedEventLoopDelayMs: get('LOAD_SHED_EVENT_LOOP_DELAY_MS') as number,
    loadShedRetryAfterSeconds: get('LOAD_SHED_RETRY_AFTER_SECONDS') as number,
    passwordHashConcurrency: get('PASSWORD_HASH_CONCURRENCY') as number,
    mailTransport,
    notifyApiKey,
    notifyBaseUrl: get('NOTIFY_BASE_URL') as URL,
    notifyTemplates: Object.freeze(notifyTemplates),
    osPlacesApiKey: get('OS_PLACES_API_KEY') as string | undefined,
    osPlacesUrl: get('OS_PLACES_URL') as URL,
    accountAnswerFloorMs: get('ACCOUNT_ANSWER_FLOOR_MS') as number,
    mailHourlyCapPerRecipient: get('MAIL_HOURLY_CAP_PER_RECIPIENT') as number,
    accountThrottlePerAddress: get('ACCOUNT_THROTTLE_PER_ADDRESS') as number,
    accountThrottlePerRecipient: get('ACCOUNT_THROTTLE_PER_RECIPIENT') as number,
    gaMeasurementId: get('GA_MEASUREMENT_ID') as string | undefined,
    gaCookieDomain,
    // Unset: true in production (behind the edge), false elsewhere (npm start is the whole site).
    legacyFront: (get('LEGACY_FRONT') as boolean | undefined) ?? production,
    trackFromDate: new Date(`${get('TRACK_FROM_DATE') as string}T00:00:00Z`),
  });
}

/** The documentation of every setting, for .env.example and the README. */
export function describeSettings(): {
  name: string;
  doc: string;
  secret: boolean;
  default: string | undefined;
  requiredInProduction: boolean;
}[] {
  return (Object.entries(SETTINGS) as [SettingName, Setting][]).map(([name, s]) => ({
    name,
    doc: s.doc,
    secret: s.secret === true,
    default: s.default,
    requiredInProduction: s.requiredInProduction === true,
  }));
}
