/**
 * Builds dist/server: the app's JavaScript, compiled from src/ with the types removed, beside copies of the files the
 * code reads next to itself (templates, words, fixtures). Production runs it (`npm start`, the Dockerfile's CMD), so
 * no worker loads Node's TypeScript stripper, whose WebAssembly memory a worker would otherwise keep (ADR 0058).
 * Tests and scripts still run the TypeScript directly.
 *
 * Run by `npm run build` (and so by `npm start` and `npm test`). Each file is transpiled alone (no type check: that
 * is `npm run typecheck`), its relative `.ts` imports rewritten to `.js`. Output is deterministic.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { buildOutput, moveIntoPlace } from './build-output.ts';

const root = join(import.meta.dirname, '..');
const source = join(root, 'src');
// `--out <dir>` (tests) builds somewhere else than dist/server; built beside it, then moved into place.
const { target, out } = buildOutput(join(root, 'dist/server'));

/** Files that are not code but that the code reads from its own folder (import.meta.dirname). */
const RESOURCE = /\.(njk|json|txt)$/;
const SKIP = /\.test\.ts$|\.md$/;

const compilerOptions: ts.CompilerOptions = {
  module: ts.ModuleKind.ESNext,
  target: ts.ScriptTarget.ES2024,
  verbatimModuleSyntax: true,
  rewriteRelativeImportExtensions: true,
  removeComments: true,
  newLine: ts.NewLineKind.LineFeed,
};

function* filesUnder(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(full);
    else if (entry.isFile()) yield full;
  }
}

let compiled = 0;
let copied = 0;
for (const file of filesUnder(source)) {
  const rel = relative(source, file);
  if (SKIP.test(rel)) continue;
  if (rel.endsWith('.ts')) {
    const result = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions,
      fileName: file,
      reportDiagnostics: true,
    });
    const problems = result.diagnostics ?? [];
    if (problems.length > 0) {
      const text = problems.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n');
      throw new Error(`build-server: ${rel}: ${text}`);
    }
    mkdirSync(dirname(join(out, rel)), { recursive: true });
    writeFileSync(join(out, rel.replace(/\.ts$/, '.js')), result.outputText);
    compiled++;
  } else if (RESOURCE.test(rel)) {
    mkdirSync(dirname(join(out, rel)), { recursive: true });
    writeFileSync(join(out, rel), readFileSync(file));
    copied++;
  }
}

moveIntoPlace(out, target);
process.stdout.write(`build-server: ${String(compiled)} modules and ${String(copied)} templates and data files\n`);
