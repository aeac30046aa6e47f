// Gate: scripts/check-deps.ts fails on an end-of-life runtime and on a direct dependency a major behind.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import {
  NODE_RELEASES,
  RegistryUnreachableError,
  checkOutdated,
  checkRuntime,
  readOutdated,
  type OutdatedEntry,
} from '../../scripts/check-deps.ts';

const ENGINES = '>=24.11.0 <25';
const TODAY = '2026-11-28';

describe('checkRuntime', () => {
  test('the pinned Node 24 LTS passes today', () => {
    assert.deepEqual(checkRuntime('24.21.0', ENGINES, TODAY), []);
  });

  test('planted: an end-of-life runtime fails', () => {
    const problems = checkRuntime('20.20.2', '>=20.0.0 <21', TODAY);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /Node\.js 20 reached end of life on 2026-04-30/);
  });

  test('planted: Node 24 fails the day after its end of life', () => {
    assert.deepEqual(checkRuntime('24.21.0', ENGINES, '2028-04-30'), []);
    assert.match(checkRuntime('24.21.0', ENGINES, '2028-05-01').join(), /end of life on 2028-04-30/);
  });

  test('a runtime older than engines.node fails, and so does one past its upper bound', () => {
    assert.match(checkRuntime('24.10.0', ENGINES, TODAY).join(), /older than engines\.node/);
    assert.match(checkRuntime('22.12.0', ENGINES, TODAY).join(), /older than engines\.node/);
    assert.match(checkRuntime('26.1.0', ENGINES, TODAY).join(), /newer than engines\.node/);
  });

  test('odd (non-LTS) and unknown majors fail, as does an unreadable engines range', () => {
    assert.match(checkRuntime('25.2.0', '>=25.0.0 <26', '2026-05-01').join(), /not an LTS line/);
    assert.match(checkRuntime('27.0.0', '>=27.0.0 <28', TODAY).join(), /not in the embedded release schedule/);
    assert.match(checkRuntime('24.21.0', '^24', TODAY).join(), /should have the form/);
  });

  test('the embedded schedule covers majors 18 to 26 with Node 24 supported until 2028-04-30', () => {
    assert.deepEqual(
      NODE_RELEASES.map((r) => r.major),
      [18, 19, 20, 21, 22, 23, 24, 25, 26],
    );
    assert.equal(NODE_RELEASES.find((r) => r.major === 24)?.endOfLife, '2028-04-30');
  });
});

describe('checkOutdated', () => {
  const options = {
    directDependencies: ['fastify', 'pino', 'node', '@types/node', '@sinclair/typebox', 'nunjucks'],
    enginesMajor: 24,
    today: TODAY,
    heldBack: [],
  };

  test('patch and minor updates are within policy', () => {
    const outdated: Record<string, OutdatedEntry> = {
      fastify: { current: '5.12.8', wanted: '5.12.8', latest: '5.13.0' },
      pino: { current: '10.4.0', wanted: '10.4.0', latest: '10.4.1' },
    };
    assert.deepEqual(checkOutdated(outdated, options), []);
  });

  test('planted: a direct dependency a major behind fails', () => {
    const problems = checkOutdated({ fastify: { current: '5.12.8', wanted: '5.12.8', latest: '6.0.0' } }, options);
    assert.deepEqual(problems, ['fastify 5.12.8 is a major version behind latest 6.0.0']);
  });

  test('planted: for 0.x a minor bump is breaking and counts as a major', () => {
    const problems = checkOutdated({ '@sinclair/typebox': { current: '0.34.52', latest: '0.35.0' } }, options);
    assert.equal(problems.length, 1);
  });

  test('a registry "latest" older than what is installed is not a failure', () => {
    assert.deepEqual(checkOutdated({ pino: { current: '10.4.0', latest: '9.0.0' } }, options), []);
  });

  test('a missing install fails', () => {
    assert.match(checkOutdated({ nunjucks: { wanted: '3.2.4', latest: '3.2.4' } }, options).join(), /not installed/);
  });

  test('node and @types/node follow engines.node, not npm latest', () => {
    assert.deepEqual(
      checkOutdated(
        { node: { current: '24.21.0', latest: '26.10.0' }, '@types/node': { current: '24.19.4', latest: '26.6.7' } },
        options,
      ),
      [],
    );
    assert.match(
      checkOutdated({ node: { current: '22.1.0', latest: '26.10.0' } }, options).join(),
      /does not match the engines\.node major 24/,
    );
  });

  test('a reviewed hold excuses a major behind until its review date, then fails', () => {
    const hold = { name: 'fastify', line: '5', reason: 'waiting for plugins', reviewBy: '2026-12-31' };
    const outdated = { fastify: { current: '5.12.8', latest: '6.0.0' } };
    assert.deepEqual(checkOutdated(outdated, { ...options, heldBack: [hold] }), []);
    assert.match(
      checkOutdated(outdated, { ...options, heldBack: [hold], today: '2027-01-01' }).join(),
      /needed review by 2026-12-31/,
    );
    assert.equal(
      checkOutdated(
        { fastify: { current: '5.12.8', latest: '7.0.0' } },
        { ...options, heldBack: [{ ...hold, line: '4' }] },
      ).length,
      1,
    );
  });
});

describe('readOutdated', () => {
  test('says so when the registry cannot be reached (closed loopback port, no retries)', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    await assert.rejects(
      readOutdated(root, ['--registry=http://127.0.0.1:9/', '--fetch-retries=0', '--offline=false', '--prefer-online']),
      RegistryUnreachableError,
    );
  });
});
