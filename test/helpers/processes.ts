/**
 * The one process supervisor and test-certificate maker, shared by the tests (services.ts), `npm run stack`
 * (scripts/stack.ts) and the bench (bench/lib.ts), which each had their own copy.
 *
 * - spawnGroup: a child in its own process group (detached), signalled as a group, and killed with SIGKILL if this
 *   process exits without stopping it; stop() is SIGTERM (or the signal given), SIGKILL after a grace period, then
 *   SIGKILL for anything left in the group.
 * - issueTestCertificates: a throwaway CA and a server certificate for 127.0.0.1 and localhost (openssl CLI).
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface GroupExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface GroupProcess {
  readonly child: ChildProcess;
  /** -1 when the process could not be spawned. */
  readonly pid: number;
  /** Resolves when the leader has exited (or could not be spawned: code -1). */
  readonly exited: Promise<GroupExit>;
  hasExited(): boolean;
  /**
   * Signals the group, SIGKILL after `graceMs`, then SIGKILL for what is left of the group; after the exit, only that.
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHook = false;
let signalHooks = false;

/** Signals the whole group (the child was spawned detached); falls back to the child alone. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function killAll(): void {
  for (const child of live) signalGroup(child, 'SIGKILL');
}

/**
 * Also kill every group on SIGINT/SIGTERM (a test run interrupted). Not for `npm run stack`, which stops its
 * services gracefully on those signals itself.
 */
export function killGroupsOnSignals(): void {
  if (signalHooks) return;
  signalHooks = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      killAll();
      process.removeListener(signal, onSignal);
      // Only re-raise when nobody else listens, so the default action (exit) still happens.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

export interface SpawnGroupOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Output appended to this file; without it, stdout and stderr are pipes on `child`. */
  readonly logFile?: string;
}

export function spawnGroup(cmd: string, args: readonly string[], options: SpawnGroupOptions = {}): GroupProcess {
  if (!exitHook) {
    exitHook = true;
    process.on('exit', killAll);
  }
  const { env, cwd, logFile } = options;
  let child: ChildProcess;
  if (logFile === undefined) {
    child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  } else {
    const fd = openSync(logFile, 'a');
    try {
      child = spawn(cmd, args, { cwd, env, stdio: ['ignore', fd, fd], detached: true });
    } finally {
      closeSync(fd);
    }
  }
  live.add(child);
  child.unref(); // the exit hook cleans up; the child never keeps this process alive
  let done = false;
  const exited = new Promise<GroupExit>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      live.delete(child);
      resolve({ code, signal });
    });
    child.once('error', () => {
      if (child.pid !== undefined) return; // a running child's error is not its exit
      done = true;
      live.delete(child);
      resolve({ code: -1, signal: null });
    });
  });
  return {
    child,
    get pid() {
      return child.pid ?? -1;
    },
    exited,
    hasExited: () => done,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000) {
      if (!done) {
        signalGroup(child, signal);
        const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      signalGroup(child, 'SIGKILL'); // a group member that outlived the leader
    },
  };
}

export interface TestCertificateFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * Writes ca.pem, ca.key, server.pem and server.key into `dir`: an EC P-256 CA and a server certificate for
 * 127.0.0.1 and localhost, with the extensions a strict checker (testssl) expects of a CA and a server.
 */
export async function issueTestCertificates(
  dir: string,
  days: { readonly ca: number; readonly server: number },
): Promise<TestCertificateFiles> {
  const openssl = async (args: string[]): Promise<void> => {
    try {
      await execFileAsync('openssl', args, { cwd: dir });
    } catch (err) {
      throw new Error(`openssl ${args.join(' ')} failed: ${(err as { stderr?: string }).stderr ?? String(err)}`, {
        cause: err,
      });
    }
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    String(days.ca),
    '-subj',
    '/CN=lpa-front local test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE,pathlen:0',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  await writeFile(
    path.join(dir, 'server.ext'),
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '',
    ].join('\n'),
  );
  await openssl([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    String(days.server),
    '-sha256',
    '-extfile',
    'server.ext',
  ]);
  return {
    caFile: path.join(dir, 'ca.pem'),
    certFile: path.join(dir, 'server.pem'),
    keyFile: path.join(dir, 'server.key'),
  };
}
