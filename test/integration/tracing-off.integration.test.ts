// With OTEL_ENABLED false the OpenTelemetry SDK is never loaded (docs/adr/0026): the real server process, started
// with a module hook that records every module it resolves (import and require alike), serves a page and drains,
// and no @opentelemetry module was ever resolved. The same run with tracing on proves the hook sees them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/services.ts';

const SERVER = join(import.meta.dirname, '..', '..', 'src', 'server.ts');
// Records each resolved URL and writes the list to stderr as the process exits.
const HOOK = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module';
const seen = new Set();
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
process.on('exit', () => { process.stderr.write('\\nRESOLVED ' + JSON.stringify([...seen]) + '\\n'); });
`)}`;

async function resolvedByServer(env: Record<string, string>): Promise<{ resolved: string[]; status: number }> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'lpa-tracing-off-'));
  try {
    const child = spawn(process.execPath, ['--import', HOOK, SERVER], {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATA_DIR: dataDir,
        WORKERS: '1',
        LOAD_SHED_EVENT_LOOP_DELAY_MS: '60000', // as test apps (test/helpers/app.ts says why)
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 20_000;
    let status = 0;
    while (Date.now() < deadline) {
      try {
        status = (await fetch(`http://127.0.0.1:${String(port)}/`)).status;
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    child.kill('SIGTERM');
    const code = await exited;
    const line = stderr.split('\n').find((l) => l.startsWith('RESOLVED '));
    assert.ok(
      line !== undefined,
      `no module list (exit ${String(code)}): ${stderr.slice(0, 2000)} ${stdout.slice(0, 2000)}`,
    );
    return { resolved: JSON.parse(line.slice('RESOLVED '.length)) as string[], status };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

test('tracing off: the server never resolves an @opentelemetry module', async () => {
  const { resolved, status } = await resolvedByServer({ OTEL_ENABLED: 'false' });
  assert.equal(status, 200);
  assert.ok(
    resolved.some((u) => u.endsWith('/src/platform/trace-context.ts')),
    'the hook saw the app load',
  );
  assert.deepEqual(
    resolved.filter((u) => u.includes('@opentelemetry') || u.endsWith('/src/platform/tracing.ts')),
    [],
  );
});

test('tracing on: the same server loads the SDK (so the check above can fail)', async () => {
  const { resolved, status } = await resolvedByServer({
    OTEL_ENABLED: 'true',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
  });
  assert.equal(status, 200);
  assert.ok(
    resolved.some((u) => u.includes('/@opentelemetry/sdk-trace')),
    resolved
      .filter((u) => u.includes('node_modules'))
      .slice(0, 5)
      .join(' '),
  );
});
