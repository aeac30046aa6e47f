import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  MINIMUM_NODE_VERSION,
  UNSUPPORTED_NODE_MAJOR,
  UnsupportedRuntimeError,
  assertSupportedRuntime,
  parseNodeVersion,
} from './runtime-guard.ts';

describe('assertSupportedRuntime', () => {
  test('accepts the pinned LTS line', () => {
    for (const version of ['24.11.0', '24.21.0', 'v24.30.1', '24.11.0-pre']) {
      assert.doesNotThrow(() => {
        assertSupportedRuntime(version);
      }, version);
    }
  });

  test('refuses older or untested runtimes with a clear message', () => {
    const cases: readonly [string, RegExp][] = [
      ['20.20.2', /needs Node\.js >= 24\.11\.0 <25, but this is Node\.js 20\.20\.2/],
      ['22.12.0', /needs Node\.js >= 24\.11\.0/],
      ['24.10.9', /needs Node\.js >= 24\.11\.0/],
      ['18.0.0', /needs Node\.js/],
      ['25.0.0', /tested on Node\.js 24 only/],
      ['26.1.0', /tested on Node\.js 24 only/],
      ['not-a-version', /Cannot read the Node\.js version/],
    ];
    for (const [version, message] of cases) {
      assert.throws(
        () => {
          assertSupportedRuntime(version);
        },
        (error: unknown) => {
          assert.ok(error instanceof UnsupportedRuntimeError, version);
          assert.match(error.message, message);
          return true;
        },
      );
    }
  });

  test('defaults to the running Node, which is the pinned one under npm test', () => {
    assert.doesNotThrow(() => {
      assertSupportedRuntime();
    });
  });

  test('stays in step with package.json engines.node', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      engines?: { node?: string };
    };
    const range = pkg.engines?.node ?? '';
    const match = /^>=\s*(\d+\.\d+\.\d+)\s+<\s*(\d+)$/.exec(range);
    assert.ok(match, `engines.node "${range}" should have the form ">=X.Y.Z <N"`);
    assert.equal(match[1], MINIMUM_NODE_VERSION);
    assert.equal(Number(match[2]), UNSUPPORTED_NODE_MAJOR);
  });

  test('parses versions with or without the v prefix', () => {
    assert.deepEqual(parseNodeVersion('v24.21.0'), { major: 24, minor: 21, patch: 0 });
  });
});
