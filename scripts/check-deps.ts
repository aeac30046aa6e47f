// Dependency freshness gate (ADR 0008 A06 "vulnerable and outdated components"), part of `npm test`
// as `npm run check:deps`. It fails when:
//   - the running Node.js is past its end of life, or older than package.json engines.node;
//   - a direct dependency is a major version (or, for 0.x, a minor version) behind the registry's latest,
//     unless it is held back below with a reason and a review date that has not passed.
// The vulnerability audit (`npm audit --audit-level=high`) runs in CI (.github/workflows/ci.yml): the
// registry's audit endpoint is not reachable from the development machines, `npm outdated` is.
// The logic is pure functions with injected inputs, so test/supply-chain/check-deps.test.ts can plant an
// end-of-life runtime and an outdated dependency.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export interface NodeRelease {
  readonly major: number;
  /** Last day of support, ISO date (https://github.com/nodejs/release#release-schedule). */
  readonly endOfLife: string;
  readonly lts: boolean;
}

/** The Node.js release schedule, majors 18 to 26. Add a row when a new major ships. */
export const NODE_RELEASES: readonly NodeRelease[] = [
  { major: 18, endOfLife: '2025-04-30', lts: true },
  { major: 19, endOfLife: '2023-06-01', lts: false },
  { major: 20, endOfLife: '2026-04-30', lts: true },
  { major: 21, endOfLife: '2024-06-01', lts: false },
  { major: 22, endOfLife: '2027-04-30', lts: true },
  { major: 23, endOfLife: '2025-06-01', lts: false },
  { major: 24, endOfLife: '2028-04-30', lts: true },
  { major: 25, endOfLife: '2026-06-01', lts: false },
  { major: 26, endOfLife: '2029-04-30', lts: true },
];

/** Packages deliberately held a major behind. Each needs a reason and a date by which to look again. */
export interface HeldBack {
  readonly name: string;
  /** The major (or "0.minor") we stay on. */
  readonly line: string;
  readonly reason: string;
  /** ISO date; after it the hold stops counting and the gate fails until someone reviews it. */
  readonly reviewBy: string;
}

export const HELD_BACK: readonly HeldBack[] = [
  {
    name: 'eslint',
    line: '9',
    reason: '@microsoft/eslint-plugin-sdl 1.1.0 declares peerDependencies eslint ^9.',
    reviewBy: '2027-02-28',
  },
  {
    name: '@eslint/js',
    line: '9',
    reason: 'Moves with eslint (see eslint).',
    reviewBy: '2027-02-28',
  },
  {
    name: 'typescript',
    line: '6',
    reason:
      'typescript-eslint 8.74.0 declares peerDependencies typescript >=4.8.4 <6.1.0 (TypeScript ' +
      '7 is the native port).',
    reviewBy: '2027-02-28',
  },
  {
    name: '@opentelemetry/core',
    line: '2',
    reason:
      'Moves with @opentelemetry/sdk-trace-base 2.x, which @opentelemetry/id-generator-aws-xray ' +
      '2.1.0 requires (docs/adr/0026).',
    reviewBy: '2027-02-28',
  },
];

/**
 * `node` (the runtime package) and `@types/node` follow the Node LTS line chosen in engines.node, not npm's
 * latest: moving to a new LTS line is a decision (engines, runtime guard, Dockerfile, CI move together).
 */
export const RUNTIME_PACKAGES: readonly string[] = ['node', '@types/node'];

export interface OutdatedEntry {
  readonly current?: string;
  readonly wanted?: string;
  readonly latest?: string;
}

interface Version {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

export function parseVersion(version: string): Version | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
  if (match === null) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

/** The semver "breaking line": the major, or for 0.x the minor (0.34 -> 0.35 is breaking). */
export function breakingLine(version: Version): string {
  return version.major === 0 ? `0.${version.minor}` : `${version.major}`;
}

function lineIsBehind(current: Version, latest: Version): boolean {
  if (latest.major !== current.major) return latest.major > current.major;
  return current.major === 0 && latest.minor > current.minor;
}

/** Reads the lower bound and the exclusive upper major of an engines range of the form ">=X.Y.Z <N". */
export function parseEnginesRange(range: string): { minimum: Version; belowMajor: number } | undefined {
  const match = /^>=\s*(\d+\.\d+\.\d+)\s+<\s*(\d+)$/.exec(range.trim());
  const minimum = match?.[1] === undefined ? undefined : parseVersion(match[1]);
  if (match?.[2] === undefined || minimum === undefined) return undefined;
  return { minimum, belowMajor: Number(match[2]) };
}

function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** Problems with the running Node.js: unknown, past end of life, or outside package.json engines.node. */
export function checkRuntime(
  nodeVersion: string,
  enginesRange: string,
  today: string,
  schedule: readonly NodeRelease[] = NODE_RELEASES,
): string[] {
  const problems: string[] = [];
  const running = parseVersion(nodeVersion);
  if (running === undefined) return [`cannot read the Node.js version "${nodeVersion}"`];
  const release = schedule.find((r) => r.major === running.major);
  if (release === undefined) {
    problems.push(`Node.js ${running.major} is not in the embedded release schedule (scripts/check-deps.ts): add it`);
  } else if (release.endOfLife < today) {
    problems.push(
      `Node.js ${running.major} reached end of life on ${release.endOfLife} (today ` +
        `is ${today}): move to a supported LTS`,
    );
  } else if (!release.lts) {
    problems.push(`Node.js ${running.major} is not an LTS line: production runs on LTS only`);
  }
  const engines = parseEnginesRange(enginesRange);
  if (engines === undefined) {
    problems.push(`package.json engines.node "${enginesRange}" should have the form ">=X.Y.Z <N"`);
  } else if (compareVersions(running, engines.minimum) < 0) {
    problems.push(`Node.js ${nodeVersion} is older than engines.node "${enginesRange}"`);
  } else if (running.major >= engines.belowMajor) {
    problems.push(`Node.js ${nodeVersion} is newer than engines.node "${enginesRange}" allows`);
  }
  return problems;
}

export interface OutdatedOptions {
  /** Names from package.json dependencies and devDependencies. */
  readonly directDependencies: readonly string[];
  /** The major of engines.node's lower bound, which RUNTIME_PACKAGES must match. */
  readonly enginesMajor: number;
  readonly today: string;
  readonly heldBack?: readonly HeldBack[];
  readonly runtimePackages?: readonly string[];
}

/** Problems in `npm outdated --json` output: direct dependencies a breaking line behind latest, or missing. */
export function checkOutdated(outdated: Readonly<Record<string, OutdatedEntry>>, options: OutdatedOptions): string[] {
  const heldBack = options.heldBack ?? HELD_BACK;
  const runtimePackages = options.runtimePackages ?? RUNTIME_PACKAGES;
  const problems: string[] = [];
  for (const name of options.directDependencies) {
    const entry = outdated[name];
    if (entry === undefined) continue; // up to date
    if (entry.current === undefined) {
      problems.push(`${name} is not installed (run npm ci)`);
      continue;
    }
    const current = parseVersion(entry.current);
    const latest = entry.latest === undefined ? undefined : parseVersion(entry.latest);
    if (current === undefined || latest === undefined) {
      problems.push(`${name}: cannot compare ${entry.current} with latest ${entry.latest ?? '(none)'}`);
      continue;
    }
    if (runtimePackages.includes(name)) {
      if (current.major !== options.enginesMajor) {
        problems.push(`${name} ${entry.current} does not match the engines.node major ${options.enginesMajor}`);
      }
      continue;
    }
    if (!lineIsBehind(current, latest)) continue;
    const hold = heldBack.find((h) => h.name === name && h.line === breakingLine(current));
    if (hold !== undefined && hold.reviewBy >= options.today) continue;
    const why = hold === undefined ? '' : ` (the hold "${hold.reason}" needed review by ${hold.reviewBy})`;
    problems.push(`${name} ${entry.current} is a major version behind latest ${entry.latest ?? ''}${why}`);
  }
  return problems;
}

export class RegistryUnreachableError extends Error {
  override name = 'RegistryUnreachableError';
}

/** Runs `npm outdated --json` (exit code 1 just means "something is outdated") and parses it. */
export async function readOutdated(
  cwd: string,
  npmArgs: readonly string[] = [],
): Promise<Record<string, OutdatedEntry>> {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      'npm',
      ['outdated', '--json', ...npmArgs],
      { cwd, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 },
      (error, out, err) => {
        if (error !== null && (typeof error.code !== 'number' || error.code > 1 || out.trim() === '')) {
          reject(new RegistryUnreachableError(`npm outdated failed: ${err.trim() || error.message}`));
          return;
        }
        resolve(out);
      },
    );
  });
  const parsed = JSON.parse(stdout.trim() === '' ? '{}' : stdout) as Record<string, OutdatedEntry> & {
    error?: { code?: string; summary?: string };
  };
  if (parsed.error !== undefined) {
    throw new RegistryUnreachableError(
      `npm outdated could not reach the registry (${parsed.error.code ?? 'error'}: ${parsed.error.summary ?? ''})`,
    );
  }
  return parsed;
}

interface PackageJson {
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

async function main(): Promise<number> {
  const root = new URL('..', import.meta.url);
  const pkg = JSON.parse(await readFile(new URL('package.json', root), 'utf8')) as PackageJson;
  const enginesRange = pkg.engines?.node ?? '';
  const today = new Date().toISOString().slice(0, 10);
  const problems = checkRuntime(process.versions.node, enginesRange, today);
  let outdated: Record<string, OutdatedEntry>;
  try {
    outdated = await readOutdated(fileURLToPath(root));
  } catch (error) {
    if (!(error instanceof RegistryUnreachableError)) throw error;
    console.error(`check:deps: ${error.message}. The freshness check needs the npm registry; failing.`);
    return 1;
  }
  problems.push(
    ...checkOutdated(outdated, {
      directDependencies: [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})],
      enginesMajor: parseEnginesRange(enginesRange)?.minimum.major ?? Number.NaN,
      today,
    }),
  );
  if (problems.length > 0) {
    console.error(`check:deps: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    return 1;
  }
  const behind = Object.keys(outdated).length;
  console.log(
    `check:deps: Node.js ${process.versions.node} supported; no direct dependency a major ` +
      `behind (${behind} with newer releases within policy).`,
  );
  return 0;
}

if (import.meta.main) {
  process.exitCode = await main();
}
