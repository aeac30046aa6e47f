import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { TestContext } from 'node:test';
import { BASE_MIGRATIONS, STORE_FILE, openStore } from './sqlite-store.ts';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'lpa-store-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return join(dir, 'data');
}

describe('openStore', () => {
  test('creates the folder 0700 and the file 0600, in WAL mode', (t) => {
    const dir = tempDir(t);
    const store = openStore(dir);
    t.after(() => {
      store.close();
    });
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(store.path, join(dir, STORE_FILE));
    assert.equal(statSync(store.path).mode & 0o777, 0o600);
    const mode = store.db.prepare('PRAGMA journal_mode').get();
    assert.equal(mode?.journal_mode, 'wal');
  });

  test('applies migrations once, in order, and takes extra ones', (t) => {
    const dir = tempDir(t);
    const users = {
      name: 'users-001-create',
      sql: 'CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE)',
    };
    const first = openStore(dir);
    assert.deepEqual(
      first.appliedMigrations(),
      BASE_MIGRATIONS.map((m) => m.name),
    );
    first.close();
    const second = openStore(dir, { migrations: [users] });
    assert.deepEqual(second.appliedMigrations(), [...BASE_MIGRATIONS.map((m) => m.name), users.name]);
    second.db.prepare('INSERT INTO users (id, email) VALUES (?, ?)').run('u1', 'a@example.com');
    second.close();
    // Opening again does not re-run (CREATE TABLE would fail) and keeps the data.
    const third = openStore(dir, { migrations: [users] });
    t.after(() => {
      third.close();
    });
    assert.equal(third.db.prepare('SELECT count(*) AS n FROM users').get()?.n, 1);
  });

  test('refuses a migration listed twice, and rolls back a failing one', (t) => {
    const dir = tempDir(t);
    const m = { name: 'x-001', sql: 'CREATE TABLE x (a)' };
    assert.throws(() => openStore(dir, { migrations: [m, m] }), /listed twice/);
    const broken = { name: 'x-002', sql: 'CREATE TABLE y (a); THIS IS NOT SQL' };
    assert.throws(() => openStore(dir, { migrations: [broken] }), /migration x-002 failed/);
    const store = openStore(dir);
    t.after(() => {
      store.close();
    });
    assert.ok(!store.appliedMigrations().includes('x-002'));
    assert.equal(store.db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'y'").get()?.n, 0);
  });

  test('data only goes in as parameters: SQL in a payload stays data', (t) => {
    const store = openStore(tempDir(t));
    t.after(() => {
      store.close();
    });
    const evil = { details: "'); DROP TABLE feedback; --" };
    const id = store.insertFeedback(evil, 1000);
    assert.deepEqual(store.listFeedback(10), [{ id, createdAt: 1000, payload: evil }]);
  });

  test('transaction rolls back when the function throws', (t) => {
    const store = openStore(tempDir(t));
    t.after(() => {
      store.close();
    });
    assert.throws(
      () =>
        store.transaction(() => {
          store.insertFeedback({ a: 1 }, 1);
          throw new Error('boom');
        }),
      /boom/,
    );
    assert.equal(store.listFeedback(10).length, 0);
    store.transaction(() => {
      store.insertFeedback({ a: 2 }, 2);
    });
    assert.equal(store.listFeedback(10).length, 1);
  });

  test('ping answers, close is idempotent', async (t) => {
    const store = openStore(tempDir(t));
    await store.ping();
    store.close();
    store.close();
    await assert.rejects(store.ping());
  });
});

describe('outbox', () => {
  test('a leased row is not claimed until its lease ends; claims count attempts', (t) => {
    const store = openStore(tempDir(t));
    t.after(() => {
      store.close();
    });
    const id = store.enqueue('k', { n: 1 }, 1000, 61_000);
    assert.equal(store.getOutbox(id)?.attempts, 1);
    assert.equal(store.claimDue(60_999, 120_000, 10), undefined);
    const row = store.claimDue(61_000, 121_000, 10);
    assert.equal(row?.id, id);
    assert.equal(row.attempts, 2);
    assert.equal(row.nextAttemptAt, 121_000);
    assert.deepEqual(row.payload, { n: 1 });
    // Claimed: another worker gets nothing until the new lease ends.
    assert.equal(store.claimDue(61_001, 121_001, 10), undefined);
  });

  test('the most overdue row first; maxAttempts and parked rows are skipped', (t) => {
    const store = openStore(tempDir(t));
    t.after(() => {
      store.close();
    });
    const late = store.enqueue('k', { n: 'late' }, 500);
    const early = store.enqueue('k', { n: 'early' }, 100);
    const parked = store.enqueue('k', { n: 'parked' }, 50);
    store.markFailed(parked, 'HTTP_400', null);
    assert.equal(store.claimDue(1000, 2000, 5)?.id, early);
    assert.equal(store.claimDue(1000, 2000, 5)?.id, late);
    assert.equal(store.claimDue(1000, 2000, 5), undefined);
    store.markDelivered(early, 1500);
    store.markFailed(late, 'HTTP_500', 3000);
    assert.equal(store.claimDue(2999, 4000, 2), undefined, 'not due yet');
    assert.equal(store.claimDue(3000, 4000, 1), undefined, 'already had its one attempt');
    assert.equal(store.claimDue(3000, 4000, 2)?.id, late);
    assert.deepEqual(store.outboxCounts(), { pending: 1, parked: 1, delivered: 1 });
  });

  test('delivered rows drop their payload and are never claimed again', (t) => {
    const store = openStore(tempDir(t));
    t.after(() => {
      store.close();
    });
    const id = store.enqueue('k', { email: 'a@example.com' }, 0);
    store.markFailed(id, 'NETWORK', 10);
    store.markDelivered(id, 20);
    const row = store.getOutbox(id);
    assert.equal(row?.deliveredAt, 20);
    assert.equal(row.payload, null);
    assert.equal(row.lastErrorCode, null);
    assert.equal(store.claimDue(1e12, 1e12, 100), undefined);
    // A late failure report cannot undo a delivery.
    store.markFailed(id, 'TIMEOUT', 30);
    assert.equal(store.getOutbox(id)?.nextAttemptAt, null);
    assert.deepEqual(store.outboxCounts(), { pending: 0, parked: 0, delivered: 1 });
  });

  test('two connections (two workers) never claim the same row', (t) => {
    const dir = tempDir(t);
    const a = openStore(dir);
    const b = openStore(dir);
    t.after(() => {
      a.close();
      b.close();
    });
    for (let i = 0; i < 50; i++) a.enqueue('k', { i }, i);
    const seen = new Set<number>();
    for (let i = 0; i < 60; i++) {
      const row = (i % 2 === 0 ? a : b).claimDue(1000, 10_000, 5);
      if (row === undefined) continue;
      assert.ok(!seen.has(row.id), `row ${String(row.id)} claimed twice`);
      seen.add(row.id);
    }
    assert.equal(seen.size, 50);
  });

  test('rows survive close and reopen', (t) => {
    const dir = tempDir(t);
    const first = openStore(dir);
    const id = first.enqueue('k', { keep: true }, 1);
    first.close();
    const raw = new DatabaseSync(join(dir, STORE_FILE), { readOnly: true });
    assert.equal(raw.prepare('SELECT count(*) AS n FROM outbox').get()?.n, 1);
    raw.close();
    const second = openStore(dir);
    t.after(() => {
      second.close();
    });
    assert.deepEqual(second.getOutbox(id)?.payload, { keep: true });
  });
});
