/**
 * `npm run bench -- --backend api`: the LPA API lpa-front calls in production (API_BASE_URL: passwords are checked
 * there, LPAs listed there), as a process of its own on 127.0.0.1. It is the integration tests' fake
 * (test/helpers/fake-lpa-api.ts), so every request and answer is checked against docs/api/lpa-api.openapi.yaml,
 * seeded with the bench's accounts: active, named (a signed-in page otherwise sends them to "about you"), no LPAs,
 * as the embedded store's accounts are.
 *
 * Usage: node bench/lpa-api.ts <seed.json>, seed `{ "users": [{ "email", "password" }] }`. Prints
 * `LPA_API_ORIGIN <origin>` once listening, `LPA_API_VIOLATION <text>` for each contract violation, and on SIGTERM
 * `LPA_API_DONE <json>` (calls answered, violations, TCP connections accepted).
 */
import { readFileSync } from 'node:fs';
import { addActiveUser, fakeLpaApi } from '../test/helpers/fake-lpa-api.ts';

const seedFile = process.argv[2];
if (seedFile === undefined) throw new Error('usage: node bench/lpa-api.ts <seed.json>');
const seed = JSON.parse(readFileSync(seedFile, 'utf8')) as { users: { email: string; password: string }[] };

const fake = await fakeLpaApi();
for (const u of seed.users) {
  addActiveUser(fake, { email: u.email, password: u.password, name: { title: '', first: 'Bench', last: 'User' } });
}

// The fake keeps every exchange for a test to inspect; a bench makes hundreds of thousands, so count and drop them.
let calls = 0;
let violations = 0;
const byOperation: Record<string, number> = {};
function drain(): void {
  for (const c of fake.calls) {
    const op = c.request.operationId ?? 'unknown';
    byOperation[op] = (byOperation[op] ?? 0) + 1;
  }
  calls += fake.calls.length;
  fake.calls.length = 0;
  for (const v of fake.violations) process.stdout.write(`LPA_API_VIOLATION ${v}\n`);
  violations += fake.violations.length;
  fake.violations.length = 0;
}
setInterval(drain, 1000).unref();
// The fake's clock stands still unless moved (tests move it); the API's runs. Standing still, every refresh would
// answer an expiry a little nearer than the app asks for, and the app would refresh on every request.
setInterval(() => {
  fake.clock = Date.now();
}, 250).unref();

process.once('SIGTERM', () => {
  drain();
  process.stdout.write(
    `LPA_API_DONE ${JSON.stringify({ calls, violations, byOperation, connections: fake.connections })}\n`,
  );
  void fake.close().then(() => process.exit(0));
});
process.stdout.write(`LPA_API_ORIGIN ${fake.origin}\n`);
