/**
 * Every relative link and file path that docs/, README.md and the source under src/ cite must open (issue 16, point
 * 12): a reader following `src/platform/csrf.ts` or `[ADR 0017](adr/0017-….md)` must find it. Run by `npm test`.
 *
 * Checked: Markdown links (relative to their file), and path-like words in Markdown and in src/ files (comments and
 * all) whose first folder is one of this repository's top-level entries (`src/…`, `docs/…`, `test/…`), or that
 * start with `./` or `../` (relative to their file). Paths of other repositories (`service-front/…`) are not ours to
 * check. `docs/adr/0017` alone is accepted when exactly one file there starts with `0017-`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');

export interface Broken {
  readonly file: string;
  readonly line: number;
  readonly target: string;
}

/** Top-level entries of the repository as git knows them (so `dist/` and `node_modules/` are not among them). */
function topLevel(files: readonly string[]): Set<string> {
  return new Set(files.map((f) => f.split('/')[0] ?? ''));
}

/** A path git ignores (`./data`, `dist/`) is made by running the app: cited, but not in a checkout. */
function ignored(path: string): boolean {
  // As a folder too: `/data/` in .gitignore matches only folders, and a cited one may not exist yet.
  return [path, `${path}/`].some((p) => {
    try {
      execFileSync('git', ['check-ignore', '-q', '--no-index', p], { cwd: root, stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
}

function opens(path: string): boolean {
  if (existsSync(path)) return true;
  // A short reference to a numbered file: docs/adr/0017 → docs/adr/0017-….md, when exactly one matches.
  const dir = dirname(path);
  const stem = basename(path);
  if (!/^\d{3,}$/.test(stem) || !existsSync(dir)) return false;
  return readdirSync(dir).filter((n) => n.startsWith(`${stem}-`)).length === 1;
}

const MD_LINK = /\]\(([^)\s]+)\)/g;
const BARE_MD = /(?<![\w/.-])([\w.-]+\.md)\b/g;

/** The comments of a source file (what a reader reads as prose), other lines blanked so line numbers hold. */
export function commentsOf(text: string, njk: boolean): string {
  const pattern = njk ? /\{#[\s\S]*?#\}/g : /\/\*[\s\S]*?\*\/|\/\/[^\n]*/g;
  let out = text.replace(/[^\n]/g, ' ');
  for (const m of text.matchAll(pattern)) out = out.slice(0, m.index) + m[0] + out.slice(m.index + m[0].length);
  return out;
}
const PATH_WORD = /(?<![\w@:/.$-])([\w.-]+\/[\w./-]*\w)/g;

/** The relative targets a file cites, with their line numbers. */
export interface Citation {
  readonly line: number;
  readonly target: string;
  /** Relative to the citing file's folder (else to the repository root). */
  readonly fromFile: boolean;
  /** A bare Markdown file name: it must be one of the repository's files, wherever it is. */
  readonly bare?: true;
}

export function citations(text: string, markdown: boolean, roots: ReadonlySet<string>): Citation[] {
  const found: Citation[] = [];
  const lines = text.split('\n');
  lines.forEach((content, i) => {
    if (markdown) {
      for (const m of content.matchAll(MD_LINK)) {
        const target = (m[1] ?? '').replace(/#.*$/, '');
        if (target === '' || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // anchors, https:, mailto:
        found.push({ line: i + 1, target, fromFile: true });
      }
    }
    for (const m of content.matchAll(BARE_MD))
      found.push({ line: i + 1, target: m[1] ?? '', fromFile: false, bare: true });
    for (const m of content.matchAll(PATH_WORD)) {
      // a string in an example (`{% include "./x.njk" %}`), not a citation
      if (/["']/.test(content.charAt(m.index - 1))) continue;
      const word = (m[1] ?? '').replace(/[.,;:]+$/, '');
      const relativeToFile = word.startsWith('./') || word.startsWith('../');
      if (!relativeToFile && !roots.has(word.split('/')[0] ?? '')) continue;
      if (!relativeToFile && word.split('/')[0] === word.replace(/\/$/, '')) continue;
      found.push({ line: i + 1, target: word, fromFile: relativeToFile });
    }
  });
  return found;
}

export function checkLinks(): Broken[] {
  const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => f !== '');
  const roots = topLevel(tracked);
  roots.delete('README.md');
  const files = tracked.filter(
    (f) =>
      (f === 'README.md' || f.startsWith('docs/') || f.startsWith('src/')) &&
      /\.(md|ts|njk|mjs)$/.test(f) &&
      existsSync(join(root, f)),
  );
  const names = new Set(tracked.map((f) => basename(f)));
  const broken: Broken[] = [];
  for (const file of files) {
    const source = readFileSync(join(root, file), 'utf8');
    const markdown = file.endsWith('.md');
    const text = markdown ? source : commentsOf(source, file.endsWith('.njk'));
    for (const c of citations(text, markdown, roots)) {
      if (c.bare === true) {
        if (!names.has(c.target)) broken.push({ file, line: c.line, target: c.target });
        continue;
      }
      const path = join(c.fromFile ? join(root, dirname(file)) : root, c.target);
      if (!opens(path) && !ignored(path)) broken.push({ file, line: c.line, target: c.target });
    }
  }
  return broken;
}

if (import.meta.main) {
  const broken = checkLinks();
  for (const b of broken) process.stderr.write(`${b.file}:${String(b.line)}: ${b.target} does not open\n`);
  if (broken.length > 0) {
    process.stderr.write(
      `check-links: ${String(broken.length)} cited path(s) readers cannot open ` +
        `(${relative(process.cwd(), root) || '.'})\n`,
    );
    process.exit(1);
  }
  process.stdout.write('check-links: every relative link and path in docs/, README.md and src/ opens\n');
}
