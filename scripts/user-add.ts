/**
 * Adds a local user (the embedded credential backend, when API_BASE_URL is not set):
 *
 *   npm run user:add -- --email someone@example.com --name "Full Name"
 *
 * The password is read from standard input, never from the command line (argv is visible to every user of
 * the machine in `ps` and is kept in shell history): typed twice and hidden on a terminal, or the first line
 * when piped (`printf '%s\n' "$PASSWORD" | npm run user:add -- ...`). Weak passwords are refused.
 * The database is the one in DATA_DIR (config), created if needed.
 */
import { loadConfig } from '../src/config/config.ts';
import { openStore } from '../src/backends/sqlite-store.ts';
import type { PersonName } from '../src/backends/credentials.ts';
import {
  LOCAL_CREDENTIALS_MIGRATIONS,
  UserExistsError,
  createLocalCredentials,
  passwordProblem,
} from '../src/backends/local-credentials.ts';

export interface UserAddArgs {
  readonly email: string;
  readonly name: PersonName | null;
}

export class UsageError extends Error {}

const USAGE =
  'usage: npm run user:add -- --email someone@example.com --name "Full Name"   (password on ' + 'standard input)';

/** "Full Name" → first names "Full", last name "Name"; a single word is a last name with no first names. */
export function splitName(full: string): PersonName | null {
  const words = full
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  if (words.length === 0) return null;
  const last = words.pop() ?? '';
  return { first: words.join(' '), last };
}

export function parseArgs(argv: readonly string[]): UserAddArgs {
  let email: string | undefined;
  let name: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      i += 1;
      const v = argv[i];
      if (v === undefined) throw new UsageError(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--email') email = value();
    else if (flag === '--name') name = value();
    else if (flag === '--password' || flag === '-p')
      throw new UsageError('the password is never taken from the command line: type it, or pipe it to standard input');
    else throw new UsageError(`unknown argument ${flag}\n${USAGE}`);
  }
  if (email === undefined || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim()))
    throw new UsageError(`--email must be an email address\n${USAGE}`);
  if (name === undefined || name.trim() === '') throw new UsageError(`--name is required\n${USAGE}`);
  const parsed = splitName(name);
  if (parsed === null || parsed.first.length > 50 || parsed.last.length > 50)
    throw new UsageError(
      '--name must be a name of up to 50 characters for the first names and 50 for the last ' + 'name',
    );
  return { email: email.trim(), name: parsed };
}

/** The first line of a piped stdin. */
async function readLine(input: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    chunks.push(b);
    size += b.length;
    if (b.includes(0x0a) || size > 8192) break;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const end = text.search(/\r?\n/);
  return end === -1 ? text : text.slice(0, end);
}

/** Reads one line from a terminal without echoing it. */
function readHidden(input: NodeJS.ReadStream, output: NodeJS.WriteStream, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(prompt);
    let value = '';
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.resume();
    const done = (err?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.removeListener('data', onData);
      output.write('\n');
      if (err === undefined) resolve(value);
      else reject(err);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          done();
          return;
        }
        if (ch === '\u0003') {
          done(new UsageError('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = Array.from(value).slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    input.on('data', onData);
  });
}

export async function readPassword(input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string> {
  if (!input.isTTY) return readLine(input);
  const first = await readHidden(input, output, 'Password: ');
  const again = await readHidden(input, output, 'Password again: ');
  if (first !== again) throw new UsageError('the two passwords are not the same');
  return first;
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const out = process.stderr;
  try {
    const args = parseArgs(argv);
    const password = await readPassword(process.stdin, out);
    const problem = passwordProblem(password, args.email);
    if (problem !== null) throw new UsageError(`password refused: it ${problem}`);
    const config = loadConfig(env);
    const store = openStore(config.dataDir, { migrations: LOCAL_CREDENTIALS_MIGRATIONS });
    try {
      const users = createLocalCredentials({ db: () => store.db });
      const id = await users.addUser({ email: args.email, password, name: args.name });
      out.write(`added user ${id}\n`);
    } finally {
      store.close();
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError || err instanceof UserExistsError) {
      out.write(`user:add: ${err.message}\n`);
      return 2;
    }
    out.write(`user:add: failed: ${err instanceof Error ? err.message : 'unknown error'}\n`);
    return 1;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
