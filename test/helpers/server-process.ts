/**
 * The real server process (src/server.ts, as `node` runs it) on a free loopback port, for tests of what only the
 * process does: signals, the drain, the exit code. Test settings as test/helpers/app.ts has them; `env` adds or
 * overrides. The caller stops it (`t.after(() => started.server.stop())`).
 */
import { join } from 'node:path';
import { TEST_LOAD_SHED_BOUND_MS, TEST_SECRET } from './app.ts';
import { canConnect, freePort, startProcess } from './services.ts';
import type { StartedProcess } from './services.ts';

const SERVER = join(import.meta.dirname, '..', '..', 'src', 'server.ts');

export interface StartedServer {
  readonly server: StartedProcess;
  readonly port: number;
  /** http://127.0.0.1:<port>, also the app's PUBLIC_ORIGIN (its default outside production). */
  readonly origin: string;
}

export async function startServerProcess(env: Record<string, string> & { DATA_DIR: string }): Promise<StartedServer> {
  const port = await freePort();
  const server = await startProcess(process.execPath, [SERVER], {
    env: {
      NODE_ENV: 'test',
      PORT: String(port),
      SESSION_SECRET: TEST_SECRET,
      LOAD_SHED_EVENT_LOOP_DELAY_MS: String(TEST_LOAD_SHED_BOUND_MS), // test/helpers/app.ts says why
      LOG_LEVEL: 'info',
      ...env,
    },
    readyCheck: () => canConnect(port),
    name: 'lpa-front',
  });
  return { server, port, origin: `http://127.0.0.1:${String(port)}` };
}
