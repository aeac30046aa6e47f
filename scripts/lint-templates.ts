// Template escaping gate (ADR 0008 A03, the team's STYLE.md #15, outside this repository), run by `npm run lint` after
// eslint.
// Nunjucks escapes every {{ value }} unless a template or the code opts out. Any opt-out must be reviewed:
//   - in src/**/*.njk: the `safe` filter (`| safe`, `|safe`) and `{% autoescape false %}`;
//   - in src/**/*.ts:  `markSafe(` and `SafeString` (Nunjucks' ways to mark a string as trusted HTML), and
//                      `markedSafe(` (this project's one wrapper of SafeString, src/platform/view-speedups.ts).
// Each finding fails unless its exact "file:line" is in scripts/template-allowlist.json with a reason.
// Lines move when a file is edited, so an allow-list entry is re-reviewed whenever its file changes.
// Allow-list entries that no longer match anything fail too, so the list stays short and true.
import { readFile, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Finding {
  /** Path relative to the project root, with forward slashes. */
  readonly file: string;
  readonly line: number;
  readonly kind: string;
  readonly text: string;
}

export interface AllowEntry {
  readonly location: string;
  readonly reason: string;
}

interface Pattern {
  readonly kind: string;
  readonly regex: RegExp;
}

/** `safe` as a filter: after a pipe, as a whole word (`| safe`, `|safe`, `| safe(...)`), not `| safeUrl`. */
const TEMPLATE_PATTERNS: readonly Pattern[] = [
  { kind: 'safe filter', regex: /\|\s*safe\b(?![-\w$])/ },
  { kind: 'autoescape false', regex: /\{%-?\s*autoescape\s+false\b/ },
];

const CODE_PATTERNS: readonly Pattern[] = [
  { kind: 'markSafe', regex: /\bmarkSafe\s*\(/ },
  { kind: 'SafeString', regex: /\bSafeString\b/ },
  { kind: 'markedSafe', regex: /\bmarkedSafe\s*\(/ },
];

/** Scans one file's text; `file` is only used to label findings and to pick the patterns. */
export function scanText(file: string, text: string): Finding[] {
  const patterns = file.endsWith('.njk') ? TEMPLATE_PATTERNS : CODE_PATTERNS;
  const findings: Finding[] = [];
  text.split(/\r?\n/).forEach((lineText, index) => {
    for (const { kind, regex } of patterns) {
      if (regex.test(lineText)) findings.push({ file, line: index + 1, kind, text: lineText.trim() });
    }
  });
  return findings;
}

/** Splits findings into those not allowed, and allow-list entries that matched nothing (stale). */
export function applyAllowList(
  findings: readonly Finding[],
  allowList: readonly AllowEntry[],
): { violations: Finding[]; stale: AllowEntry[] } {
  const allowed = new Set(allowList.map((entry) => entry.location));
  const used = new Set<string>();
  const violations = findings.filter((finding) => {
    const location = `${finding.file}:${finding.line}`;
    if (!allowed.has(location)) return true;
    used.add(location);
    return false;
  });
  return { violations, stale: allowList.filter((entry) => !used.has(entry.location)) };
}

/** Validates the allow-list file's shape: an array of { location: "path:line", reason: non-empty }. */
export function parseAllowList(json: string): AllowEntry[] {
  const data: unknown = JSON.parse(json);
  if (!Array.isArray(data)) throw new Error('template allow-list must be a JSON array');
  return data.map((item: unknown, index) => {
    if (typeof item !== 'object' || item === null) throw new Error(`allow-list entry ${index} is not an object`);
    const { location, reason } = item as Record<string, unknown>;
    if (typeof location !== 'string' || !/^[\w./-]+:\d+$/.test(location)) {
      throw new Error(`allow-list entry ${index} needs "location": "path/to/file:line"`);
    }
    if (typeof reason !== 'string' || reason.trim().length < 10) {
      throw new Error(`allow-list entry ${index} (${location}) needs a "reason" saying why the output is safe`);
    }
    return { location, reason };
  });
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && (entry.name.endsWith('.njk') || entry.name.endsWith('.ts')))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Scans every .njk and .ts file under `root`/src. */
export async function scanTree(root: string): Promise<Finding[]> {
  const files = await listFiles(join(root, 'src'));
  const findings: Finding[] = [];
  for (const path of files.sort()) {
    const file = relative(root, path).split(sep).join('/');
    findings.push(...scanText(file, await readFile(path, 'utf8')));
  }
  return findings;
}

export async function lintTemplates(
  root: string,
  allowListPath: string,
): Promise<{ violations: Finding[]; stale: AllowEntry[]; scanned: number }> {
  const findings = await scanTree(root);
  const allowList = parseAllowList(await readFile(allowListPath, 'utf8'));
  return { ...applyAllowList(findings, allowList), scanned: findings.length };
}

async function main(): Promise<number> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const allowListPath = join(root, 'scripts', 'template-allowlist.json');
  const { violations, stale } = await lintTemplates(root, allowListPath);
  for (const v of violations) {
    console.error(`${v.file}:${v.line}  ${v.kind} is not allowed: ${v.text}`);
  }
  for (const s of stale) {
    console.error(`scripts/template-allowlist.json: stale entry ${s.location} matches nothing; remove it`);
  }
  if (violations.length > 0 || stale.length > 0) {
    console.error(
      `lint:templates: ${violations.length} unreviewed escaping opt-out(s), ${stale.length} ` +
        `stale allow-list entr(ies). ` +
        'Escape on output; if raw HTML is truly needed, add "file:line" and a reason to ' +
        'scripts/template-allowlist.json.',
    );
    return 1;
  }
  console.log(
    'lint:templates: no unreviewed `safe`, `autoescape false`, markSafe, SafeString or ' + 'markedSafe under src/.',
  );
  return 0;
}

if (import.meta.main) {
  process.exitCode = await main();
}
