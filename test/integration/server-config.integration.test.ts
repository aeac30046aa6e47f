/**
 * The real server process refuses a bad configuration as it should: exit code 78 (EX_CONFIG) and one fatal log line
 * that names the setting, never a library's stack trace. Nothing listens: the config is checked first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_SECRET } from '../helpers/app.ts';

const SERVER = join(import.meta.dirname, '..', '..', 'src', 'server.ts');

function start(env: Record<string, string>): {
  status: number | null;
  lines: Record<string, unknown>[];
  output: string;
} {
  const dataDir = mkdtempSync(join(tmpdir(), 'lpa-server-config-'));
  try {
    const result = spawnSync(process.execPath, [SERVER], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'test',
        DATA_DIR: dataDir,
        SESSION_SECRET: TEST_SECRET,
        ...env,
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    const output = `${result.stdout}${result.stderr}`;
    const lines = result.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { status: result.status, lines, output };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// LOG_LEVEL: the boot logger exists before the config is checked. WORKERS: a check across settings.
for (const [setting, value] of [
  ['LOG_LEVEL', 'verbose'],
  ['WORKERS', '2'],
] as const) {
  test(`${setting}=${value} stops the start with a config error naming ${setting}`, () => {
    const { status, lines, output } = start({ [setting]: value });
    assert.equal(status, 78, output);
    const fatal = lines.find((l) => l.level === 'fatal');
    assert.equal(fatal?.setting, setting, output);
    assert.ok(String(fatal.msg).startsWith(`Invalid configuration: ${setting} `), String(fatal.msg));
    assert.doesNotMatch(output, /\n\s+at /, 'no stack trace');
  });
}
