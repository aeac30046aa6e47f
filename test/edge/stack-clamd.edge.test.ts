/**
 * `npm run stack` with clamd (issue 23, ADR 0040): the instances get CLAMD_ADDRESS, /ping/json through nginx
 * reports clamd with its engine, and the edge still sends /user/evidence to the legacy front (EDGE_HELD_BACK):
 * with no legacy front in this stack, nginx answers it, not lpa-front.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startStack } from '../../scripts/stack.ts';
import { PATHS } from '../../src/paths.ts';
import { TEST_LOAD_SHED_BOUND_MS } from '../helpers/app.ts';

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      })
      .on('error', reject);
  });
}

test('the stack starts a clamd that every instance scans with, reported on /ping/json', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lpa-edge-clamd-'));
  const stack = await startStack({
    dir,
    httpsPort: 0,
    httpPort: 0,
    instances: 1,
    redis: false,
    clamd: true,
    env: { LOAD_SHED_EVENT_LOOP_DELAY_MS: String(TEST_LOAD_SHED_BOUND_MS) }, // test/helpers/app.ts says why
  });
  t.after(async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });
  assert.match(stack.clamdAddress ?? '', /^unix:\//);
  const ping = await get(`${stack.origin}${PATHS.pingJson}`, stack.caPem);
  const report = JSON.parse(ping.body) as {
    checks: Partial<Record<string, { status: string; detail?: Record<string, unknown> }>>;
  };
  const clamd = report.checks.clamd;
  assert.ok(clamd !== undefined, ping.body);
  assert.equal(clamd.status, 'pass');
  assert.match(String(clamd.detail?.engine), /^ClamAV /);
  const evidence = await get(`${stack.origin}${PATHS.evidence}`, stack.caPem);
  assert.equal(evidence.status, 404, "held back: not lpa-front's page (which would redirect to sign-in)");
});
