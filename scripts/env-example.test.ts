import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderEnvExample } from './env-example.ts';

test('.env.example documents every setting and matches the schema', () => {
  const committed = readFileSync(join(import.meta.dirname, '..', '.env.example'), 'utf8');
  assert.equal(committed, renderEnvExample(), '.env.example is stale: run node scripts/env-example.ts');
  assert.match(committed, /# SESSION_SECRET=/, 'no secret value is shipped');
});
