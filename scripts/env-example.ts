/**
 * Writes .env.example from the config schema (src/config/config.ts), so the documented settings can never drift.
 * `node scripts/env-example.ts` writes it; `--check` fails when the committed file is stale (run by a test).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeSettings } from '../src/config/config.ts';

export function renderEnvExample(): string {
  const lines = [
    '# lpa-front settings. Generated from src/config/config.ts by `node ' +
      'scripts/env-example.ts`: edit the schema, not this file.',
    '# Every setting can also be read from a file named by NAME_FILE (e.g. ' +
      'SESSION_SECRET_FILE=/run/secrets/session_secret).',
    '# Values here are safe examples, never real secrets.',
    '',
  ];
  for (const s of describeSettings()) {
    lines.push(`# ${s.doc}`);
    const flags = [s.secret ? 'SECRET' : '', s.requiredInProduction ? 'required in production' : '']
      .filter(Boolean)
      .join(', ');
    if (flags) lines.push(`# (${flags})`);
    lines.push(`${s.default === undefined ? '# ' : ''}${s.name}=${s.default ?? ''}`);
    lines.push('');
  }
  return lines.join('\n');
}

const file = join(import.meta.dirname, '..', '.env.example');
if (import.meta.main) {
  if (process.argv.includes('--check')) {
    if (readFileSync(file, 'utf8') !== renderEnvExample()) {
      process.stderr.write('.env.example is stale: run node scripts/env-example.ts\n');
      process.exit(1);
    }
  } else {
    writeFileSync(file, renderEnvExample());
  }
}
