/**
 * The real app with the form kit registered on extra, test-only forms and journeys: as test/helpers/app.ts's
 * startTestApp (same config, services and loopback listener), plus one `formKit` registration before listening.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { buildApp } from '../../src/app.ts';
import { createServices } from '../../src/services.ts';
import type { Services } from '../../src/services.ts';
import type { FormKitOptions } from '../../src/platform/forms/index.ts';
import formKit from '../../src/platform/forms/index.ts';
import { PUBLIC_ROUTES } from '../../src/paths.ts';
import { captureLogger, TEST_LOAD_SHED_BOUND_MS, TEST_SECRET } from '../helpers/app.ts';
import { freePort } from '../helpers/services.ts';

/**
 * Adds test-only paths to the route table, as a form's entry in src/paths.ts would: the auth guard reads the same
 * table. Only tests call this, in their own process.
 */
export function addPublicRoutes(paths: readonly string[]): void {
  for (const path of paths) (PUBLIC_ROUTES as Record<string, readonly string[]>)[path] = ['GET', 'HEAD', 'POST'];
}

/**
 * `publicPort`: listen on a free port that PUBLIC_ORIGIN names, as a real browser needs for the CSRF Origin check;
 * otherwise any port, PUBLIC_ORIGIN http://127.0.0.1:8005 (what test/helpers/http.ts's Browser sends).
 */
export async function buildKitApp(
  t: TestContext | { after(fn: () => unknown): void },
  kit: FormKitOptions,
  publicPort = false,
): Promise<{ origin: string; logText: () => string; services: Services }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lpa-front-kit-'));
  const port = publicPort ? await freePort() : 0;
  const publicOrigin = publicPort ? `http://127.0.0.1:${String(port)}` : 'http://127.0.0.1:8005';
  const config = loadConfig({
    NODE_ENV: 'test',
    SESSION_SECRET: TEST_SECRET,
    PUBLIC_ORIGIN: publicOrigin,
    DATA_DIR: dataDir,
    FEEDBACK_MIN_SECONDS: '0',
    LOAD_SHED_EVENT_LOOP_DELAY_MS: String(TEST_LOAD_SHED_BOUND_MS), // as test/helpers/app.ts says why
  });
  const { logger, lines } = captureLogger('info');
  const services = createServices(config, { logger });
  const app = await buildApp(config, services, logger, undefined, kit.catalogue);
  await app.register(formKit, kit);
  await app.listen({ host: '127.0.0.1', port });
  t.after(async () => {
    await app.close();
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { origin: `http://127.0.0.1:${String(address.port)}`, logText: () => lines.join('\n'), services };
}
