// Refuses to run on a Node.js older than the LTS line the project pins (ADR 0008 A06).
// npm's engine-strict would enforce this at install time, but it would also stop `npm install` under
// the machine's system Node 20 before the pinned `node` package (Node 24) is installed, so the check
// lives where the code runs instead: src/server.ts and scripts/test.ts call assertSupportedRuntime().

/**
 * The lowest supported Node.js version. Kept in step with package.json `engines.node` (">=24.11.0 <25");
 * runtime-guard.test.ts fails if the two drift apart.
 */
export const MINIMUM_NODE_VERSION = '24.11.0';

/** The first Node.js major the project has not been tested on (the `<25` of the engines range). */
export const UNSUPPORTED_NODE_MAJOR = 25;

export class UnsupportedRuntimeError extends Error {
  override name = 'UnsupportedRuntimeError';
}

interface Version {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

export function parseNodeVersion(version: string): Version {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
  if (match === null) {
    throw new UnsupportedRuntimeError(`Cannot read the Node.js version "${version}".`);
  }
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

function compare(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/**
 * Throws UnsupportedRuntimeError unless `version` is at least MINIMUM_NODE_VERSION and below
 * UNSUPPORTED_NODE_MAJOR. Call it first thing in every entry point.
 */
export function assertSupportedRuntime(version: string = process.versions.node): void {
  const running = parseNodeVersion(version);
  const minimum = parseNodeVersion(MINIMUM_NODE_VERSION);
  if (compare(running, minimum) < 0) {
    throw new UnsupportedRuntimeError(
      `lpa-front needs Node.js >= ${MINIMUM_NODE_VERSION} <${UNSUPPORTED_NODE_MAJOR}, but this ` +
        `is Node.js ${version}. ` +
        'Use the pinned runtime: ./node_modules/.bin/node (or npm run ...), installed by npm ci.',
    );
  }
  if (running.major >= UNSUPPORTED_NODE_MAJOR) {
    throw new UnsupportedRuntimeError(
      `lpa-front is tested on Node.js ${UNSUPPORTED_NODE_MAJOR - 1} only, but this is Node.js ${version}. ` +
        'Move package.json engines, the `node` devDependency and this guard together.',
    );
  }
}
