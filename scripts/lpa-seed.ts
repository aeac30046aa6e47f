/**
 * Gives a local user (the embedded store, API_BASE_URL unset) some LPAs, so the dashboard's paging and search can
 * be seen before the LPA pages exist:
 *
 *   npm run user:add -- --email someone@example.com --name "Full Name"
 *   node scripts/lpa-seed.ts --email someone@example.com --count 60
 *
 * Donor names come from a fixed list, types alternate, each LPA updated a day before the previous one. Every stage the
 * dashboard shows appears: started (some with no type or donor yet), created, completed, and completed LPAs with each
 * status OPG's case system sends (Waiting, Received, Checking, Processed).
 */
import { loadConfig } from '../src/config/config.ts';
import { openStore } from '../src/backends/sqlite-store.ts';
import type { Store } from '../src/backends/sqlite-store.ts';
import { normaliseEmail } from '../src/backends/credentials.ts';
import { LOCAL_ACCOUNTS_MIGRATIONS, createLocalAccounts } from '../src/backends/local-accounts.ts';
import type { NewLpa } from '../src/backends/local-accounts.ts';

const USAGE = 'usage: node scripts/lpa-seed.ts --email someone@example.com [--count 60]';
const FIRST = ['Ada', 'Alan', 'Grace', 'Tim', 'Mary', 'Charles', 'Dorothy', 'Rosalind', 'Isambard', 'Florence'];
const STATUSES = ['Received', 'Checking', 'Processed', 'Completed'];
const LAST = [
  'Lovelace',
  'Turing',
  'Hopper',
  'Berners-Lee',
  'Somerville',
  'Babbage',
  'Hodgkin',
  'Franklin',
  'Brunel',
  'Nightingale',
  'Smith',
  'Jones',
];

export function seedLpas(store: Store, email: string, count: number, now: number = Date.now()): number[] {
  const row = store.db.prepare('SELECT id FROM users WHERE email = ?').get(normaliseEmail(email));
  const userId = typeof row?.id === 'string' ? row.id : undefined;
  if (userId === undefined) throw new Error(`no local user ${email}: add one first with npm run user:add`);
  return createLocalAccounts({ db: () => store.db }).addLpas(userId, seedLpaList(count, now));
}

/** The LPAs the script adds (the browser test gives a user the same). */
export function seedLpaList(count: number, now: number = Date.now()): NewLpa[] {
  return Array.from({ length: count }, (_, i) => {
    const at = now - i * 86_400_000;
    const stage = i % 8; // 0-1 started, 2 created, 3 completed (waiting), 4-7 completed with a case status
    const status = STATUSES[stage - 4];
    return {
      type: i % 11 === 10 ? null : i % 2 === 0 ? 'property-and-financial' : 'health-and-welfare',
      donorName: i % 13 === 12 ? null : `${FIRST[i % FIRST.length] ?? ''} ${LAST[(i * 7) % LAST.length] ?? ''}`,
      updatedAt: at,
      ...(stage >= 2 ? { createdAt: at, reusable: true } : {}),
      ...(stage >= 3 ? { completedAt: at } : {}),
      ...(status === undefined ? {} : { processingStatus: status }),
    };
  });
}

export function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): number {
  let email: string | undefined;
  let count = 60;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--email') email = argv[++i];
    else if (argv[i] === '--count') count = Number(argv[++i]);
    else {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
  }
  if (email === undefined || !Number.isInteger(count) || count < 1 || count > 1000) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadConfig(env);
  if (config.apiBaseUrl !== undefined) {
    process.stderr.write('API_BASE_URL is set: LPAs live in the LPA API, not in the embedded store\n');
    return 2;
  }
  const store = openStore(config.dataDir, { migrations: LOCAL_ACCOUNTS_MIGRATIONS });
  try {
    const ids = seedLpas(store, email, count);
    process.stderr.write(`added ${String(ids.length)} LPAs to ${email}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    store.close();
  }
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2));
