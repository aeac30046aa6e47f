/**
 * The app's dependencies, built once from config. Tests build their own with real alternatives
 * (memory store, local backends) through the same function's options.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from './config/config.ts';
import type { SessionStore } from './sessions/session-store.ts';
import { MemoryStore } from './sessions/memory-store.ts';
import { RedisStore } from './sessions/redis-store.ts';
import { RedisThrottleStore } from './sessions/redis-throttle-store.ts';
import { createRedisEvidenceFiles } from './sessions/redis-evidence-files.ts';
import type { RevocationStore } from './sessions/revocation-store.ts';
import { MemoryRevocationStore, RedisRevocationStore } from './sessions/revocation-store.ts';
import type { SessionCookieOptions } from './platform/session.ts';
import type { ResolveUser, SignedInUser } from './platform/auth-guard.ts';
import type { AssetCatalogue } from './platform/assets.ts';
import { loadAssets } from './platform/assets.ts';
import type { HealthCheck } from './features/status/status-routes.ts';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { loggerOptions } from './platform/logging.ts';
import { openStore } from './backends/sqlite-store.ts';
import { apiClientFor } from './backends/api-client.ts';
import type { CredentialBackend } from './backends/credentials.ts';
import { createApiCredentials } from './backends/api-credentials.ts';
import { createLocalCredentials, setPasswordHashConcurrency } from './backends/local-credentials.ts';
import type { AccountsBackend } from './backends/accounts.ts';
import { createApiAccounts } from './backends/api-accounts.ts';
import { LOCAL_ACCOUNTS_MIGRATIONS, createLocalAccounts } from './backends/local-accounts.ts';
import type { MailTransport } from './backends/mail.ts';
import { fileTransport, notifyTransport } from './backends/mail.ts';
import type { MailOutbox } from './backends/mail-outbox.ts';
import { MAIL_OUTBOX_MIGRATIONS, createMailOutbox } from './backends/mail-outbox.ts';
import type { AddressLookup } from './backends/address-lookup.ts';
import { fixtureLookup, osPlacesLookup } from './backends/address-lookup.ts';
import { capMail } from './backends/mail-cap.ts';
import { createResolveUser } from './features/sign-in/identity.ts';
import type { ThrottleStore } from './features/sign-in/throttle.ts';
import { MemoryThrottleStore } from './features/sign-in/throttle.ts';
import type { SignInPolicy } from './features/sign-in/sign-in-routes.ts';
import type { FeedbackService } from './features/feedback/feedback-service.ts';
import { createFeedbackService } from './features/feedback/feedback-service.ts';
import type { Tracing } from './platform/trace-context.ts';
import { createClamd } from './backends/clamd.ts';
import type { Clamd } from './backends/clamd.ts';
import { createFileStorage, deferredFileStorage } from './backends/file-storage-loader.ts';
import type { FileStorage } from './backends/file-storage.ts';
import { EVIDENCE_MIGRATIONS, createEvidenceFiles } from './backends/evidence-files.ts';
import type { EvidenceService } from './features/evidence/evidence-service.ts';
import { createEvidenceService } from './features/evidence/evidence-service.ts';

export interface Services {
  readonly sessionStore: SessionStore;
  readonly sessionCookie: SessionCookieOptions;
  readonly assets: AssetCatalogue;
  readonly resolveUser: ResolveUser;
  readonly healthChecks: readonly HealthCheck[];
  readonly feedback: FeedbackService;
  /** Who users are: the LPA API when API_BASE_URL is set, else local users in the SQLite store. */
  readonly credentials: CredentialBackend;
  /** Sign-in attempt counters (memory; shared Redis when configured). */
  readonly throttleStore: ThrottleStore;
  /** Signed-out tokens, refused by resolveUser (memory; shared Redis when configured; ADR 0019). */
  readonly revocations: RevocationStore;
  /** Sign-in limits and failure delay; undefined: the defaults in sign-in-routes.ts. */
  readonly signInPolicy?: Partial<SignInPolicy>;
  /** Request tracing, when OTEL_ENABLED is true (loaded by server.ts with loadTracing). */
  readonly tracing?: Tracing;
  /** Registration, tokens, profile, deletion, LPAs (ADR 0034): the API's, or the embedded store's. */
  readonly accounts: AccountsBackend;
  /** Account emails, durable and sent once (ADR 0035): Notify, or DATA_DIR/mail.jsonl. */
  readonly mail: MailOutbox;
  /** Evidence uploads (ADR 0040): their records, storage, clamd scans and the rescan queue. */
  readonly evidence: EvidenceService;
  /** Postcode → addresses (ADR 0050): OS Places when OS_PLACES_API_KEY is set, else an embedded fixture. */
  readonly addressLookup: AddressLookup;
  close(): Promise<void>;
}

/** The nearest folder above `from` holding package.json: src/.. from source, dist/server/../.. compiled (ADR 0058). */
function projectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- folders above this module, at start-up
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const ASSETS_DIR = join(projectRoot(import.meta.dirname), 'dist', 'assets');

/** The identity as the PHP front stores it; anything malformed or expired means "not signed in". */
export function identityFromSession(raw: unknown, now: Date = new Date()): SignedInUser | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  const { userId, token, tokenExpiresAt } = r;
  if (typeof userId !== 'string' || typeof token !== 'string' || typeof tokenExpiresAt !== 'string') return undefined;
  const expires = new Date(tokenExpiresAt);
  if (Number.isNaN(expires.getTime()) || expires <= now) return undefined;
  return { userId, token, tokenExpiresAt: expires };
}

/** clamd's engine and the age of its signatures, for /ping/json; throws when clamd does not answer. */
async function clamdStatus(
  clamd: Clamd,
  now: Date = new Date(),
): Promise<{ detail: Record<string, string | number | null> }> {
  const v = await clamd.version();
  if (v === undefined) throw new Error('clamd did not answer');
  return {
    detail: {
      engine: v.engine,
      signatures: v.databaseVersion ?? null,
      signatureAgeHours:
        v.databaseDate === undefined ? null : Math.floor((now.getTime() - v.databaseDate.getTime()) / 3_600_000),
    },
  };
}

/** Runs each step in order whatever the others do; rejects with the first failure once all have run. */
export async function closeAll(steps: readonly (() => unknown)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      failures.push(err);
    }
  }
  if (failures.length > 0) throw failures[0];
}

export interface ServiceOverrides {
  readonly sessionStore?: SessionStore;
  readonly assets?: AssetCatalogue;
  readonly logger?: Logger;
  readonly credentials?: CredentialBackend;
  readonly throttleStore?: ThrottleStore;
  readonly revocations?: RevocationStore;
  readonly signInPolicy?: Partial<SignInPolicy>;
  readonly tracing?: Tracing | undefined;
  readonly accounts?: AccountsBackend;
  readonly mailTransport?: MailTransport;
  readonly clamd?: Clamd;
  readonly fileStorage?: FileStorage;
  readonly addressLookup?: AddressLookup;
}

export function createServices(config: Config, overrides: ServiceOverrides = {}): Services {
  const logger = overrides.logger ?? pino(loggerOptions(config.logLevel));
  const sessionStore =
    overrides.sessionStore ??
    (config.redisUrl !== undefined
      ? new RedisStore({
          url: config.redisUrl,
          prefix: config.sessionKeyPrefix,
          logger: logger.child({ component: 'redis' }),
          ...(config.redisTlsCaFile === undefined ? {} : { tlsCaFile: config.redisTlsCaFile }),
        })
      : new MemoryStore());
  const sharedWithPhp = config.redisUrl !== undefined;
  const sessionCookie: SessionCookieOptions = {
    name: config.sessionCookieName,
    secure: config.publicOrigin.protocol === 'https:',
    signingKey: sharedWithPhp ? null : config.sessionSecret,
  };
  const assets = overrides.assets ?? loadAssets(ASSETS_DIR);
  const store = openStore(config.dataDir, {
    migrations: [...LOCAL_ACCOUNTS_MIGRATIONS, ...MAIL_OUTBOX_MIGRATIONS, ...EVIDENCE_MIGRATIONS],
  });
  const api =
    config.apiBaseUrl === undefined
      ? undefined
      : apiClientFor(
          { apiBaseUrl: config.apiBaseUrl, egressAllowPrivate: config.egressAllowPrivate },
          logger,
          undefined,
          overrides.tracing,
        );
  setPasswordHashConcurrency(config.passwordHashConcurrency); // the embedded store's hashes (ADR 0032)
  const credentials =
    overrides.credentials ??
    (api !== undefined
      ? createApiCredentials({ api })
      : createLocalCredentials({ db: () => store.db, tokenLifetimeSeconds: config.localTokenLifetimeSeconds }));
  // Shared by every instance when sessions are in Redis, so throttling cannot be dodged by switching instance.
  const throttleStore =
    overrides.throttleStore ??
    (sessionStore instanceof RedisStore
      ? new RedisThrottleStore({ redis: sessionStore.client, bound: sessionStore.bound })
      : new MemoryThrottleStore());
  // Shared for the same reason: a token signed out on one instance must be refused by all of them at once.
  const revocations =
    overrides.revocations ??
    (sessionStore instanceof RedisStore
      ? new RedisRevocationStore({ redis: sessionStore.client, bound: sessionStore.bound })
      : new MemoryRevocationStore());
  const clamd = overrides.clamd ?? createClamd({ address: config.clamdAddress, timeoutMs: config.clamdTimeoutMs });
  const healthChecks: HealthCheck[] = [
    { name: 'sessionStore', required: true, check: () => sessionStore.ping() },
    { name: 'store', required: true, check: () => store.ping() },
    ...(api === undefined ? [] : [{ name: 'api', required: true, check: () => api.ping() }]),
    // Not required: with clamd down the site works and uploads wait as "Checking" (ADR 0040).
    ...(clamd.configured ? [{ name: 'clamd', required: false, check: () => clamdStatus(clamd) }] : []),
  ];
  // Shared by every instance when REDIS_URL is set (ADR 0059): the per-user limit and the records hold across them all.
  const evidence = createEvidenceService({
    files:
      sessionStore instanceof RedisStore
        ? createRedisEvidenceFiles({ redis: sessionStore.client, bound: sessionStore.bound })
        : createEvidenceFiles(store),
    storage: overrides.fileStorage ?? deferredFileStorage(createFileStorage(config)),
    clamd,
    logger: logger.child({ component: 'evidence' }),
    retentionMs: config.uploadRetentionDays * 86_400_000,
    scanIntervalMs: config.uploadScanIntervalMs,
    staleReservationMs: config.uploadTimeoutMs + 60_000,
  });
  const accounts =
    overrides.accounts ??
    (api !== undefined
      ? createApiAccounts({ api })
      : createLocalAccounts({ db: () => store.db, tokenLifetimeSeconds: config.localTokenLifetimeSeconds }));
  const mailTransport =
    overrides.mailTransport ??
    (config.mailTransport === 'notify' && config.notifyApiKey !== undefined
      ? notifyTransport({
          apiKey: config.notifyApiKey,
          baseUrl: config.notifyBaseUrl,
          templates: config.notifyTemplates,
          logger: logger.child({ component: 'notify' }),
        })
      : fileTransport(config.dataDir));
  const mailLogger = logger.child({ component: 'mail' });
  const mail = capMail(createMailOutbox({ db: () => store.db, transport: mailTransport, logger: mailLogger }), {
    counter: throttleStore,
    perHour: config.mailHourlyCapPerRecipient,
    secret: config.sessionSecret,
    logger: mailLogger,
  });
  const addressLookup =
    overrides.addressLookup ??
    (config.osPlacesApiKey === undefined
      ? fixtureLookup()
      : osPlacesLookup({
          apiKey: config.osPlacesApiKey,
          url: config.osPlacesUrl,
          allowPrivateFor: config.egressAllowPrivate,
          logger: logger.child({ component: 'os-places' }),
        }));
  const feedback = createFeedbackService({ store, api, logger: logger.child({ component: 'feedback' }) });
  return {
    sessionStore,
    sessionCookie,
    assets,
    resolveUser: createResolveUser({ backend: credentials, revocations, identityFromSession }),
    healthChecks,
    feedback,
    credentials,
    throttleStore,
    revocations,
    ...(overrides.signInPolicy === undefined ? {} : { signInPolicy: overrides.signInPolicy }),
    ...(overrides.tracing === undefined ? {} : { tracing: overrides.tracing }),
    accounts,
    mail,
    evidence,
    addressLookup,
    // Every step runs even when one before it fails: a skipped sessionStore.close() left a Redis client
    // reconnecting for ever (a test file that never exited). The first failure is thrown at the end.
    close: () =>
      closeAll([
        () => evidence.stop(),
        () => addressLookup.close(),
        () => mail.stop(),
        () => mailTransport.close(),
        () => credentials.close(),
        () => throttleStore.close?.(),
        () => revocations.close(),
        () => feedback.stop(),
        () => api?.close(),
        () => store.close(),
        () => sessionStore.close(),
        () => overrides.tracing?.shutdown(), // last: sends the spans of everything above
      ]),
  };
}
