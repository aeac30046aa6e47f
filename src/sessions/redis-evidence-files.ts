/**
 * Evidence file records in Redis (issue 23, docs/adr/0059), shared by every instance when REDIS_URL is set, so
 * /user/evidence can run on several workers and containers: a file stored through one is listed, downloaded, scanned
 * and deleted through any other. The embedded SQLite store (backends/evidence-files.ts) stays the default.
 *
 * Keys, under `prefix` (default `lpa-evidence:`): `file:<id>` a hash of the record; `user:<userId>` the user's ids in
 * upload order (a sorted set scored by a global sequence); `held:<userId>` the ids that count towards the per-user
 * limit (every status but `rejected`); `status:<status>` and `all` the ids by creation time (the sweep's queues).
 * Every change that touches more than one key is one Lua script, so it is atomic: above all `reserve`, which counts
 * `held:<userId>` and adds to it in one step, so parallel uploads through any number of instances never hold more
 * than the limit. The client is the session store's connection (redis-store.ts owns Redis connections, ADR 0029):
 * its command timeout and reconnection apply here too.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { EvidenceFile, EvidenceFiles, EvidenceStatus } from './evidence-records.ts';
import { unbounded } from './command-deadlines.ts';
import type { Bound } from './command-deadlines.ts';

const STATUSES: readonly EvidenceStatus[] = ['receiving', 'checking', 'ready', 'rejected'];

// KEYS: held, user, file, status:receiving, all, seq. ARGV: max, id, userId, userHash, displayName, now.
const RESERVE = `
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
local seq = redis.call('INCR', KEYS[6])
redis.call('HSET', KEYS[3], 'id', ARGV[2], 'user_id', ARGV[3], 'user_hash', ARGV[4], 'display_name', ARGV[5],
  'status', 'receiving', 'created_at', ARGV[6], 'seq', seq)
redis.call('SADD', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], seq, ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[2])
redis.call('ZADD', KEYS[5], ARGV[6], ARGV[2])
return 1
`;

// Moves a record to another status. KEYS: file, held, status:receiving, :checking, :ready, :rejected.
// ARGV: id, new status, allowed current statuses (comma-separated), then field/value pairs to set ('' deletes).
const TRANSITION = `
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur or not string.find(',' .. ARGV[3] .. ',', ',' .. cur .. ',', 1, true) then return 0 end
local created = redis.call('HGET', KEYS[1], 'created_at')
for i = 3, 6 do redis.call('ZREM', KEYS[i], ARGV[1]) end
local index = { receiving = 3, checking = 4, ready = 5, rejected = 6 }
redis.call('ZADD', KEYS[index[ARGV[2]]], created, ARGV[1])
redis.call('HSET', KEYS[1], 'status', ARGV[2])
for i = 4, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[1], ARGV[i]) else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
if ARGV[2] == 'rejected' then redis.call('SREM', KEYS[2], ARGV[1]) end
return 1
`;

// KEYS: file, held, user, all, status:receiving, :checking, :ready, :rejected. ARGV: id.
const RELEASE = `
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
for i = 3, 8 do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 1
`;

type EvidenceRedis = Redis & {
  evidenceReserve(...args: string[]): Promise<number>;
  evidenceTransition(...args: string[]): Promise<number>;
  evidenceRelease(...args: string[]): Promise<number>;
};

export interface RedisEvidenceFilesOptions {
  /** The session store's client (RedisStore.client). */
  readonly redis: Redis;
  /** The bound of the connection's owner (RedisStore.bound), whose client has no command timeout of its own. */
  readonly bound?: Bound;
  readonly prefix?: string;
}

function toFile(hash: Record<string, string>): EvidenceFile | undefined {
  if (hash.id === undefined || hash.user_id === undefined) return undefined;
  const num = (v: string | undefined): number | null => (v === undefined ? null : Number(v));
  const status = STATUSES.find((s) => s === hash.status) ?? 'rejected';
  return {
    id: hash.id,
    userId: hash.user_id,
    userHash: hash.user_hash === undefined || hash.user_hash === '' ? null : hash.user_hash,
    storageKey: hash.storage_key ?? null,
    displayName: hash.display_name ?? '',
    mediaType: hash.media_type ?? null,
    bytes: num(hash.bytes),
    status,
    reason: hash.reason ?? null,
    scannedWith: hash.scanned_with ?? null,
    createdAt: num(hash.created_at) ?? 0,
  };
}

export function createRedisEvidenceFiles(opts: RedisEvidenceFilesOptions): EvidenceFiles {
  const prefix = opts.prefix ?? 'lpa-evidence:';
  const redis = opts.redis as EvidenceRedis;
  const bound = opts.bound ?? unbounded;
  // defineCommand is idempotent per name: the session store's client may be shared by several of these.
  redis.defineCommand('evidenceReserve', { numberOfKeys: 6, lua: RESERVE });
  redis.defineCommand('evidenceTransition', { numberOfKeys: 6, lua: TRANSITION });
  redis.defineCommand('evidenceRelease', { numberOfKeys: 8, lua: RELEASE });
  const k = {
    file: (id: string) => `${prefix}file:${id}`,
    user: (userId: string) => `${prefix}user:${userId}`,
    held: (userId: string) => `${prefix}held:${userId}`,
    status: (s: EvidenceStatus) => `${prefix}status:${s}`,
    all: `${prefix}all`,
    seq: `${prefix}seq`,
  };
  const statusKeys = STATUSES.map((s) => k.status(s));

  async function load(ids: readonly string[]): Promise<EvidenceFile[]> {
    if (ids.length === 0) return [];
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.hgetall(k.file(id));
    const results = (await bound(pipeline.exec())) ?? [];
    const out: EvidenceFile[] = [];
    for (const [err, value] of results) {
      if (err !== null) throw err;
      const file = toFile(value as Record<string, string>);
      if (file !== undefined) out.push(file);
    }
    return out;
  }

  async function byId(id: string): Promise<EvidenceFile | undefined> {
    return toFile(await bound(redis.hgetall(k.file(id))));
  }

  async function transition(
    id: string,
    to: EvidenceStatus,
    from: readonly EvidenceStatus[],
    fields: Record<string, string>,
  ): Promise<void> {
    const userId = await bound(redis.hget(k.file(id), 'user_id'));
    if (userId === null) return;
    await bound(
      redis.evidenceTransition(
        k.file(id),
        k.held(userId),
        ...statusKeys,
        id,
        to,
        from.join(','),
        ...Object.entries(fields).flat(),
      ),
    );
  }

  return {
    async reserve(userId, userHash, displayName, max, now) {
      const id = randomUUID();
      const done = await bound(
        redis.evidenceReserve(
          k.held(userId),
          k.user(userId),
          k.file(id),
          k.status('receiving'),
          k.all,
          k.seq,
          String(max),
          id,
          userId,
          userHash ?? '',
          displayName,
          String(now),
        ),
      );
      return done === 1 ? id : undefined;
    },
    async stored(id, storageKey, mediaType, bytes) {
      await transition(id, 'checking', ['receiving'], {
        storage_key: storageKey,
        media_type: mediaType,
        bytes: String(bytes),
      });
    },
    async release(id) {
      const userId = await bound(redis.hget(k.file(id), 'user_id'));
      // A record without its hash (never, unless written half by hand) can still leave the queues.
      const owner = userId ?? '';
      await bound(redis.evidenceRelease(k.file(id), k.held(owner), k.user(owner), k.all, ...statusKeys, id));
    },
    async list(userId) {
      const ids = await bound(redis.zrange(k.user(userId), '0', '-1'));
      return (await load(ids)).filter((f) => f.status !== 'receiving').slice(0, 100);
    },
    async get(userId, id) {
      const file = await byId(id);
      return file?.userId === userId && file.status !== 'receiving' ? file : undefined;
    },
    byId,
    async clean(id, scannedWith, now) {
      // Only a file still waiting or ready can become ready: a rejection is final.
      await transition(id, 'ready', ['checking', 'ready'], { scanned_with: scannedWith, scanned_at: String(now) });
    },
    async reject(id, reason, now) {
      await transition(id, 'rejected', STATUSES, { reason, storage_key: '', scanned_at: String(now) });
    },
    async dueForScan(currentDatabase, limit) {
      const checking = await load(await bound(redis.zrange(k.status('checking'), '0', String(limit - 1))));
      if (currentDatabase === undefined || checking.length >= limit) return checking;
      const ready = await load(await bound(redis.zrange(k.status('ready'), '0', '-1')));
      return [...checking, ...ready.filter((f) => f.scannedWith !== currentDatabase)].slice(0, limit);
    },
    async olderThan(before, limit) {
      return load(await bound(redis.zrangebyscore(k.all, '-inf', `(${String(before)}`, 'LIMIT', 0, limit)));
    },
    async staleReservations(before, limit) {
      return load(
        await bound(redis.zrangebyscore(k.status('receiving'), '-inf', `(${String(before)}`, 'LIMIT', 0, limit)),
      );
    },
    async forUser(userId) {
      return load(await bound(redis.zrange(k.user(userId), '0', '-1')));
    },
  };
}
