/**
 * Sessions: one cookie checklist, one Session object per request, written only when changed.
 *
 * - The cookie holds only a random 128-bit id (32 hex characters, as PHP makes them). With the embedded
 *   store it is also HMAC-signed (`<id>.<sig>`), so forged ids are refused without a store lookup; when the
 *   session is shared with the PHP front (REDIS_URL) the cookie must be the bare id PHP reads (ADR 0003).
 * - HttpOnly, SameSite=Lax, Path=/, no Domain, no Expires (ends with the browser); Secure whenever the public
 *   origin is https; `__Host-` prefixed by default in production when not shared with PHP.
 * - Nothing is stored and no cookie is set until a handler writes something (no saveUninitialized).
 * - Idle expiry slides with each request (store TTL), in the same command as the read where the store can (ADR 0038);
 *   a request carrying a non-empty X-SessionReadOnly other
 *   than `0` never writes or slides the session (the PHP front's rule).
 * - Only changed keys are committed (see sessions/session-store.ts).
 * - `regenerate()` issues a new id and deletes the old one (sign-in); `destroy()` deletes the session and
 *   expires the cookie (sign-out).
 * - The store failing (ADR 0021): a public GET or HEAD carries on as if there were no session, so public pages
 *   answer whatever the store does; a page that then needs to write, and every other request, answers 503 with
 *   Retry-After (StoreUnavailableError). A failed idle slide (touch) is only logged: the page is served.
 */
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { randomPool } from './random-pool.ts';
import fp from 'fastify-plugin';
import { addRouteHook } from './route-hooks.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { SessionChanges, SessionData, SessionStore, SessionValue } from '../sessions/session-store.ts';
import { DELETE } from '../sessions/session-store.ts';
import { httpError } from './http-error.ts';
import type { RevocationCheck } from '../sessions/revocation-store.ts';
import { StoreUnavailableError } from '../sessions/store-unavailable.ts';
import { isPublicRoute } from '../paths.ts';

const ID_PATTERN = /^[0-9a-f]{32}$/;

/** 128 random bits as 32 lowercase hex characters (session ids, CSRF tokens), from a CSPRNG pool. */
export const randomHex128: () => string = randomPool(16, 256, (pool, start, end) => pool.toString('hex', start, end));

export function newSessionId(): string {
  return randomHex128();
}

export class Session {
  #id: string | null;
  #data: SessionData;
  readonly #changes = new Map<string, unknown>();
  #oldId: string | null = null;
  #startEmpty = false;
  #destroyed = false;
  readonly readOnly: boolean;
  /** The store slid the idle TTL when it loaded this session (ADR 0038): unchanged, it needs no touch. */
  readonly slidOnLoad: boolean;
  /** The stored bytes this session was loaded from, for the store's write (LoadedSession.seen). */
  readonly #seen: Buffer | undefined;

  constructor(id: string | null, data: SessionData | null, readOnly: boolean, slidOnLoad = false, seen?: Buffer) {
    this.#id = id;
    this.#data = data ?? new Map<string, unknown>();
    this.readOnly = readOnly;
    this.slidOnLoad = slidOnLoad;
    this.#seen = seen;
  }

  /** @internal used by the plugin */
  get seen(): Buffer | undefined {
    return this.#seen;
  }

  /** The id, or null while the session has never been stored. */
  get id(): string | null {
    return this.#id;
  }

  get isNew(): boolean {
    return this.#id === null;
  }

  get changed(): boolean {
    return this.#changes.size > 0 || this.#oldId !== null || this.#destroyed;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  get(key: string): SessionValue {
    return this.#data.get(key);
  }

  has(key: string): boolean {
    return this.#data.has(key);
  }

  set(key: string, value: SessionValue): void {
    this.#data.set(key, value);
    this.#changes.set(key, value);
  }

  delete(key: string): void {
    if (!this.#data.has(key) && !this.#changes.has(key)) return;
    this.#data.delete(key);
    this.#changes.set(key, DELETE);
  }

  /**
   * New id for the same data (sign-in, privilege change). On save the store copies the old session to the
   * new id byte for byte, applies this request's changes, and deletes the old id.
   */
  regenerate(): void {
    if (this.#id !== null && this.#oldId === null) this.#oldId = this.#id;
    this.#id = null;
  }

  /**
   * `regenerate()` for a new identity (sign-in): the new id starts EMPTY, keys the PHP front wrote included, as the
   * live front's LoginHandler does (regenerate + clear). The store copies nothing from the old id, so not even a key
   * a concurrent request wrote there after this one loaded it carries over (ADR 0019).
   */
  regenerateEmpty(): void {
    this.regenerate();
    this.#startEmpty = true;
    this.#data = new Map<string, unknown>();
    this.#changes.clear();
  }

  /** Removes everything: store entry deleted, cookie expired. */
  destroy(): void {
    this.#destroyed = true;
    this.#data = new Map<string, unknown>();
    this.#changes.clear();
  }

  /** @internal used by the plugin */
  takeChanges(): { changes: SessionChanges; oldId: string | null; startEmpty: boolean } {
    const changes = new Map(this.#changes);
    this.#changes.clear();
    const oldId = this.#oldId;
    this.#oldId = null;
    const startEmpty = this.#startEmpty;
    this.#startEmpty = false;
    return { changes, oldId, startEmpty };
  }

  /** @internal used by the plugin */
  assignId(id: string): void {
    this.#id = id;
  }
}

export interface SessionCookieOptions {
  readonly name: string;
  readonly secure: boolean;
  /** Sign the id with HMAC (embedded mode); false when PHP must read the same cookie. */
  readonly signingKey: Buffer | null;
}

export interface SessionPluginOptions {
  readonly store: SessionStore;
  readonly cookie: SessionCookieOptions;
  readonly ttlSeconds: number;
  /** The deny-list of signed-out tokens (ADR 0019): its check starts beside the session's read (ADR 0038). */
  readonly revocations?: { checkFor(sessionId: string): RevocationCheck };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** null on routes with `config: { session: false }`: narrow it, or call `requireSession`. */
    session: Session | null;
    /**
     * The deny-list check for this request's session (ADR 0038), begun with the session's read; null when the
     * request named no session. The identity check uses it instead of a read of its own.
     */
    revocationCheck: RevocationCheck | null;
  }
  interface FastifyContextConfig {
    /** false: the route never reads or writes a session (assets, health checks). */
    session?: boolean;
    /** true: the route reads the session but never writes or slides it, whatever the request says. */
    sessionReadOnly?: boolean;
  }
}

// An HMAC keyed by a KeyObject costs about a seventh of one keyed by a Buffer on Node 24 (5 µs, not 35-55 µs).
const keyObjects = new WeakMap<Buffer, KeyObject>();

function sign(id: string, key: Buffer): string {
  let keyObject = keyObjects.get(key);
  if (keyObject === undefined) {
    keyObject = createSecretKey(key);
    keyObjects.set(key, keyObject);
  }
  return createHmac('sha256', keyObject).update(id).digest('base64url').slice(0, 27);
}

export function encodeCookieValue(id: string, options: SessionCookieOptions): string {
  return options.signingKey === null ? id : `${id}.${sign(id, options.signingKey)}`;
}

/** The id from a cookie value, or null when it is malformed or its signature is wrong. */
export function decodeCookieValue(value: string | undefined, options: SessionCookieOptions): string | null {
  if (value === undefined) return null;
  if (options.signingKey === null) return ID_PATTERN.test(value) ? value : null;
  const dot = value.indexOf('.');
  if (dot !== 32) return null;
  const id = value.slice(0, 32);
  if (!ID_PATTERN.test(id)) return null;
  const given = Buffer.from(value.slice(33));
  const expected = Buffer.from(sign(id, options.signingKey));
  return given.length === expected.length && timingSafeEqual(given, expected) ? id : null;
}

export function serializeCookie(name: string, value: string, options: SessionCookieOptions, expire = false): string {
  let cookie = `${name}=${value}; Path=/; HttpOnly; SameSite=Lax`;
  if (options.secure) cookie += '; Secure';
  if (expire) cookie += '; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT';
  return cookie;
}

/** The value of one cookie from a Cookie header, without parsing the rest. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The request's session, for handlers that need one. A route with `config: { session: false }` has none; reaching
 * here from such a route is a programming error, answered with a 500 that names the route, not a TypeError.
 */
export function requireSession(request: FastifyRequest): Session {
  if (request.session === null)
    throw httpError(
      500,
      `route ${request.routeOptions.url ?? '(none)'} needs a session but has config.session ` + `false`,
    );
  return request.session;
}

export function isReadOnlyRequest(request: FastifyRequest): boolean {
  const header = request.headers['x-sessionreadonly'];
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && value !== '' && value !== '0';
}

async function sessionPlugin(app: FastifyInstance, options: SessionPluginOptions): Promise<void> {
  const { store, cookie, ttlSeconds, revocations } = options;

  app.decorateRequest('session', null);
  app.decorateRequest('revocationCheck', null);
  // Sessions the store could not load (public pages only): readable as empty, but never written or slid.
  const unavailable = new WeakSet<Session>();
  // Sessions whose write already failed: the error page's own send must not try it again.
  const spent = new WeakSet<Session>();

  // Only routes with sessions get the two hooks (route-hooks.ts): pages with `config: { session: false }`, and
  // unknown paths, never touch the store. Callback style, so a request without a session cookie costs no promise.
  app.addHook('onRoute', (route) => {
    if (route.config?.session === false) return;
    addRouteHook(route, 'onRequest', loadSession);
    addRouteHook(route, 'onSend', commitOnSend);
  });

  function loadSession(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const readOnly = request.routeOptions.config.sessionReadOnly === true || isReadOnlyRequest(request);
    const id = decodeCookieValue(readCookie(request.headers.cookie, cookie.name), cookie);
    if (id === null) {
      request.session = new Session(null, null, readOnly);
      done();
      return;
    }
    // In this tick, so the deny-list read and the session's go out in one pipelined write: one round trip.
    if (revocations !== undefined) request.revocationCheck = revocations.checkFor(id);
    // A page that may slide the session slides it in the read itself (GETEX, ADR 0038): no touch when it is sent.
    if (!readOnly && store.loadAndSlide !== undefined) {
      store.loadAndSlide(id, ttlSeconds).then(({ data, slid, seen }) => {
        request.session = new Session(data === null ? null : id, data, readOnly, slid, seen);
        done();
      }, failed);
      return;
    }
    store.load(id).then((data) => {
      request.session = new Session(data === null ? null : id, data, readOnly);
      done();
    }, failed);

    function failed(err: unknown): void {
      const method = request.method === 'HEAD' ? 'GET' : request.method;
      if (
        err instanceof StoreUnavailableError &&
        method === 'GET' &&
        isPublicRoute(request.routeOptions.url ?? '', method)
      ) {
        request.log.warn(
          { event: 'session.store_unavailable', err },
          'session store unavailable: public page served without the session',
        );
        const session = new Session(null, null, readOnly);
        unavailable.add(session);
        request.session = session;
        done();
        return;
      }
      done(err instanceof Error ? err : new Error(String(err)));
    }
  }

  function commitOnSend(
    request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (err: Error | null, payload?: unknown) => void,
  ): void {
    const session = request.session;
    if (
      session === null ||
      spent.has(session) ||
      (session.readOnly && !session.destroyed) ||
      (!session.changed && (session.id === null || session.slidOnLoad))
    ) {
      done(null, payload); // nothing to write, slide or expire
      return;
    }
    commitSession(request, session, reply).then(
      () => {
        done(null, payload);
      },
      (err: unknown) => {
        // The error page is sent through this hook too: it must not repeat the write, nor keep the page's redirect
        // or encoding (a pre-gzipped page's header would mislabel the plain error page).
        spent.add(session);
        reply.removeHeader('location');
        reply.removeHeader('content-encoding');
        done(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  async function commitSession(request: FastifyRequest, session: Session, reply: FastifyReply): Promise<void> {
    if (session.destroyed) {
      const { oldId } = session.takeChanges();
      const id = session.id ?? oldId;
      // Expired first: even if the store fails, the browser forgets the session.
      reply.header('set-cookie', serializeCookie(cookie.name, '', cookie, true));
      if (id !== null && !unavailable.has(session)) await store.destroy(id);
      return;
    }
    if (unavailable.has(session)) {
      if (session.changed)
        throw new StoreUnavailableError('session store unavailable: cannot keep what this page needs');
      return;
    }
    if (!session.changed) {
      // Only the idle slide: a failure (a failover's READONLY, a hung store) costs the user nothing on this page.
      if (session.id !== null)
        await store.touch(session.id, ttlSeconds).catch((err: unknown) => {
          request.log.warn({ event: 'session.touch_failed', err }, 'session idle slide failed');
        });
      return;
    }
    const { changes, oldId, startEmpty } = session.takeChanges();
    let id = session.id;
    const made = id === null;
    if (id === null) {
      id = newSessionId();
      session.assignId(id);
    }
    const base = oldId !== null && !startEmpty ? { copyFrom: oldId } : made ? ('new' as const) : undefined;
    // An existing session is written on top of the bytes it was loaded from: no second read (ADR 0038).
    const stored = await store.commit(id, changes, ttlSeconds, base, base === undefined ? session.seen : undefined);
    // Gone since it was loaded (signed out meanwhile, here or in the PHP front): it stays gone (ADR 0021).
    if (!stored)
      request.log.info(
        { event: 'session.gone_before_write' },
        'session destroyed or expired during the request: write dropped',
      );
    // The cookie only once the session it names exists.
    if (made) reply.header('set-cookie', serializeCookie(cookie.name, encodeCookieValue(id, cookie), cookie));
    if (oldId !== null)
      await store.destroy(oldId).catch((err: unknown) => {
        request.log.warn(
          { event: 'session.old_id_not_deleted', err },
          'pre-sign-in session not deleted; it expires with its idle TTL',
        );
      });
  }
}

export default fp(sessionPlugin, { name: 'lpa-session' });
