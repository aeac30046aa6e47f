/**
 * testssl.sh (Debian package) against the stack's TLS listener: protocols (-p), server defaults and
 * certificate (-S), HTTP headers (-h). Nothing MEDIUM or worse is accepted, except the ids below that a
 * local test CA makes unavoidable.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startStack } from '../../scripts/stack.ts';
import type { Stack } from '../../scripts/stack.ts';
import { systemBinary } from '../helpers/services.ts';
import { TEST_LOAD_SHED_BOUND_MS } from '../helpers/app.ts';

/** Findings a locally made CA cannot avoid, with the reason. Everything else MEDIUM or worse fails the test. */
const UNAVOIDABLE_WITH_LOCAL_CA: Readonly<Record<string, string>> = {
  cert_revocation: 'a local test CA publishes no CRL and runs no OCSP responder, so the certificate names neither',
};

const FAILING = new Set(['MEDIUM', 'HIGH', 'CRITICAL']);

interface Finding {
  id: string;
  severity: string;
  finding: string;
}

let stack: Stack;
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lpa-edge-tls-'));
  stack = await startStack({
    dir,
    httpsPort: 0,
    httpPort: 0,
    instances: 1,
    redis: false,
    env: { LOAD_SHED_EVENT_LOOP_DELAY_MS: String(TEST_LOAD_SHED_BOUND_MS) }, // test/helpers/app.ts says why
  });
});

after(async () => {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
});

test('testssl finds nothing MEDIUM or worse beyond what a local CA makes unavoidable', async () => {
  const jsonFile = path.join(dir, 'testssl.json');
  const started = performance.now();
  const args = [
    '-p',
    '-S',
    '-h',
    '--jsonfile',
    jsonFile,
    '--add-ca',
    stack.caFile, // trust the local CA, as a client of this stack would
    '--nodns',
    'none', // offline: no DNS lookups (CAA and the like); halves the run time
    '--fast',
    '--warnings',
    'batch',
    '--color',
    '0',
    '--quiet',
    `127.0.0.1:${String(stack.httpsPort)}`,
  ];
  await new Promise<void>((resolve, reject) => {
    // testssl's exit code is not a verdict (it counts findings); the JSON file is.
    execFile(systemBinary('testssl'), args, { timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (err) => {
      if (err !== null && (err as { killed?: boolean }).killed === true) reject(new Error('testssl timed out'));
      else resolve();
    });
  });
  const seconds = (performance.now() - started) / 1000;
  const findings = JSON.parse(await readFile(jsonFile, 'utf8')) as Finding[];
  assert.ok(findings.length > 20, 'testssl produced its findings');
  const bySeverity = new Map<string, number>();
  for (const f of findings) bySeverity.set(f.severity, (bySeverity.get(f.severity) ?? 0) + 1);
  const serious = findings.filter((f) => FAILING.has(f.severity));
  const accepted = serious.filter((f) => f.id in UNAVOIDABLE_WITH_LOCAL_CA);
  const rejected = serious.filter((f) => !(f.id in UNAVOIDABLE_WITH_LOCAL_CA));
  const byId = (id: string): string => findings.find((f) => f.id === id)?.finding ?? '(absent)';
  process.stdout.write(
    [
      `# testssl in ${seconds.toFixed(0)} s: ${[...bySeverity].map(([s, n]) => `${s} ${String(n)}`).join(', ')}`,
      `#   protocols: SSLv2 ${byId('SSLv2')}; SSLv3 ${byId('SSLv3')}; TLS1 ${byId('TLS1')}; ` +
        `TLS1_1 ${byId('TLS1_1')}; TLS1_2 ${byId('TLS1_2')}; TLS1_3 ${byId('TLS1_3')}`,
      ...accepted.map(
        (f) => `#   accepted ${f.id} ` + `(${f.severity}): ${f.finding}: ${UNAVOIDABLE_WITH_LOCAL_CA[f.id] ?? ''}`,
      ),
      ...rejected.map((f) => `#   REJECTED ${f.id} (${f.severity}): ${f.finding}`),
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    rejected.map((f) => `${f.id} ${f.severity}: ${f.finding}`),
    [],
  );
  assert.match(byId('TLS1_2'), /offered/);
  assert.match(byId('TLS1_3'), /offered/);
  for (const old of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1']) assert.match(byId(old), /not offered/, old);
});
