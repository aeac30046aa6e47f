/**
 * Load generator for the mixed scenario (bench/session-flow.ts): autocannon, each connection walking through
 * visits one after the other, with its own cookie jar and CSRF token (autocannon's per-connection context).
 * wrk cannot do this: its Lua hooks do not know which connection a response came on.
 *
 *   node bench/mixed-client.ts '<json options>'   → one line: MIXED_JSON {...}
 *
 * Options: port, host, origin, users (email and password each), connections, seconds, and optionally rate (requests
 * per second over all connections). SIGTERM ends the run early and still prints the result (the memory run keeps
 * visits going beside its rounds and stops them at the end).
 */
import { createRequire } from 'node:module';
import type { FlowOptions, Visit } from './session-flow.ts';
import { SESSION_STEPS, afterResponse, newVisit } from './session-flow.ts';

interface Options {
  readonly port: number;
  readonly host: string;
  readonly origin: string;
  /**
   * Visits take these accounts in turn: sign-in is throttled per account (10 attempts in 15 minutes, reset by a
   * success).
   */
  readonly users: readonly { readonly email: string; readonly password: string }[];
  readonly connections: number;
  readonly seconds: number;
  readonly rate?: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const statuses: Record<string, number> = {};
let unexpected = 0;
let visits = 0;
const firstUnexpected: string[] = [];

interface Context {
  visit?: Visit;
  flow?: FlowOptions;
}

function list(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** The part of autocannon's programmatic API used here (the package ships no types). */
interface AutocannonResult {
  readonly requests: { readonly total: number };
  readonly duration: number;
  readonly latency: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly errors: number;
  readonly timeouts: number;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (
  opts: Record<string, unknown>,
) => Promise<AutocannonResult> & { stop(): void };

let visitCounter = 0;
const requests = SESSION_STEPS.map((step, i) => ({
  setupRequest: (req: Record<string, unknown>, context: Context) => {
    if (i === 0 || context.visit === undefined || context.flow === undefined) {
      context.visit = newVisit();
      visitCounter++;
      // One address per visit in 10.0.0.0/8: sign-in is throttled per address, as it is for people behind the proxy.
      const user = options.users[visitCounter % options.users.length] ?? { email: '', password: '' };
      context.flow = {
        host: options.host,
        origin: options.origin,
        email: user.email,
        password: user.password,
        forwardedFor: `10.${String((visitCounter >> 16) & 255)}.${String((visitCounter >> 8) & 255)}.${String(visitCounter & 255)}`,
      };
    }
    const r = step.request(context.visit, context.flow);
    return { ...req, method: r.method, path: r.path, headers: r.headers, body: r.body };
  },
  onResponse: (status: number, body: unknown, context: Context, headers: Record<string, string | string[]>) => {
    statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    if (status !== step.expect) {
      unexpected++;
      const location = list(lower.location)[0];
      if (firstUnexpected.length < 5)
        firstUnexpected.push(`${step.name}: ${String(status)}${location === undefined ? '' : ` to ${location}`}`);
    }
    if (i === SESSION_STEPS.length - 1) visits++;
    const type = list(lower['content-type'])[0] ?? '';
    // Bodies arrive as text; a compressed one (the home page only) has no form to read.
    const page =
      typeof body === 'string' && type.startsWith('text/html') && lower['content-encoding'] === undefined
        ? body
        : undefined;
    if (context.visit !== undefined) afterResponse(context.visit, list(lower['set-cookie']), page);
  },
}));

const run = autocannon({
  url: `http://127.0.0.1:${String(options.port)}`,
  connections: options.connections,
  duration: options.seconds,
  ...(options.rate === undefined ? {} : { overallRate: options.rate }),
  requests,
  timeout: 10,
});
process.once('SIGTERM', () => {
  run.stop();
});
const result = await run;

process.stdout.write(
  `MIXED_JSON ${JSON.stringify({
    requests: result.requests.total,
    seconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    socketErrors: result.errors + result.timeouts,
    unexpected,
    statuses,
    visits,
    firstUnexpected,
  })}\n`,
);
