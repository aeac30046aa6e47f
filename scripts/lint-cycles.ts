// Import circles gate (ADR 0055), run by `npm run lint`: no two files import each other, directly or round a longer
// loop, anywhere in the repository's code. A circle makes two files one unit that must be read, tested and loaded
// together (and in ESM can meet a binding before it is initialised); what both need belongs in a third module.
// Every relative import counts: static, `export … from`, type-only, `import()` and `require()`. The layers rule
// (scripts/eslint-layers.js) sees one file at a time, so it cannot see a loop; this walks the whole graph once.
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The code of the repository: the app, its tests, scripts, bench, edge generator and browser assets. */
const FOLDERS = ['src', 'test', 'scripts', 'bench', 'deploy', 'assets'];
const CODE = /\.(?:ts|mts|cts|js|mjs|cjs)$/;
const SKIP = new Set(['node_modules', 'dist', 'fixtures']);

/** One circle: its files (repository paths, sorted) and the imports that close it, `from → to`. */
export interface ImportCircle {
  readonly files: readonly string[];
  readonly imports: readonly string[];
}

/** The relative import specifiers of one file, as written. */
export function importsOf(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node)) {
      const [first] = node.arguments;
      const dynamic =
        node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require');
      if (dynamic && first !== undefined && ts.isStringLiteralLike(first)) found.push(first.text);
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg) && ts.isStringLiteral(arg.literal)) found.push(arg.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found.filter((s) => s.startsWith('./') || s.startsWith('../'));
}

async function codeFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const e of entries) {
    if (SKIP.has(e.name)) continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) files.push(...(await codeFiles(full)));
    else if (e.isFile() && CODE.test(e.name)) files.push(full);
  }
  return files;
}

/** Strongly connected components of more than one file, or of a file that imports itself (Tarjan). */
function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string | undefined;
    do {
      w = stack.pop();
      if (w === undefined) break;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
  return found.sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''));
}

/** The import circles among the code files under `root` (default: the repository's code folders). */
export async function findImportCircles(root = ROOT, folders: readonly string[] = FOLDERS): Promise<ImportCircle[]> {
  const files = (await Promise.all(folders.map((f) => codeFiles(join(root, f))))).flat();
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = importsOf(file, await readFile(file, 'utf8'))
      .map((s) => resolve(dirname(file), s))
      .filter((t) => known.has(t));
    graph.set(file, [...new Set(targets)]);
  }
  const name = (f: string): string => relative(root, f).split(sep).join('/');
  return circles(graph).map((component) => {
    const members = new Set(component);
    return {
      files: component.map(name),
      imports: component.flatMap((f) =>
        (graph.get(f) ?? []).filter((t) => members.has(t)).map((t) => `${name(f)} → ${name(t)}`),
      ),
    };
  });
}

if (import.meta.main) {
  // `--root DIR`: another checkout (the gate's own test plants circles in a temporary one).
  const at = process.argv.indexOf('--root');
  const found = await findImportCircles(at > 0 ? resolve(process.argv[at + 1] ?? '.') : ROOT);
  for (const c of found) {
    process.stderr.write(
      `import circle of ${String(c.files.length)} files:\n${c.imports.map((i) => `  ${i}\n`).join('')}`,
    );
  }
  if (found.length > 0) {
    process.stderr.write('Move what the files share into a module of its own (docs/adr/0055).\n');
    process.exit(1);
  }
  process.stdout.write('lint:cycles: no two files import each other, directly or round a loop.\n');
}
