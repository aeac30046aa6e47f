// Words gate for templates (ADR 0030), run by `npm run lint`: the kit's templates (src/views/kit/), every template
// of a page on the kit (one that extends "kit/..."), the features moved onto it, and the layout with its fragments
// take each word a person reads from the catalogue, `t("ns:key")`.
// Found: text between tags, words in the attributes a person hears (aria-label, alt, title, placeholder, value), and
// string literals inside {{ }} / {% %} that read as words. Class lists, ids, paths, URLs and keys are not words.
// The same check for TypeScript is the ESLint rule lpa-words/words-from-catalogue (scripts/eslint-words.js).
import { readFile, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface WordFinding {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const KIT_TEMPLATES = 'src/views/kit';
const FEATURES = 'src/features';
/**
 * Besides pages on the kit: every template of the features moved onto it (issue 19; add one when it moves), and
 * the layout and its fragments (the chrome), whose words come from the catalogue too.
 */
export const ALL_WORDS_FROM_CATALOGUE: readonly string[] = [
  'src/features/feedback/',
  'src/features/sign-in/',
  'src/features/user/dashboard.njk',
  'src/features/user/about-you.njk',
  'src/features/evidence/',
  'src/views/layouts/',
  'src/views/fragments/',
];
const OTHER_TEMPLATES = ['src/views/layouts', 'src/views/fragments'];

const WORD = /[A-Za-z]{2,}/;
const WORDS = /[A-Za-z]{2,}[ \t]+[A-Za-z]{2,}|^[A-Z][a-z]{2,}/;
const KEY = /^[a-z][\w-]*:[\w.-]+$/;
const HEARD = /\b(?:aria-label|alt|title|placeholder|value)\s*=\s*"([^"{]*)"/g;

/** A string literal inside a Nunjucks tag that is not a word: a key, a template, a class list, an id, a URL. */
function notWords(literal: string): boolean {
  if (KEY.test(literal) || literal.endsWith('.njk') || /^(?:https?:\/\/|\/|#)/.test(literal)) return true;
  return literal.split(/\s+/).every((token) => token === '' || /^[a-z0-9][a-z0-9_!-]*$/.test(token));
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

/** Findings in one template's text; positions are kept by blanking what is not checked instead of cutting it out. */
export function scanTemplate(file: string, text: string): WordFinding[] {
  const findings: WordFinding[] = [];
  const blank = (s: string): string => s.replace(/[^\n]/g, ' ');
  let rest = text.replace(/\{#[\s\S]*?#\}/g, blank);
  rest = rest.replace(/\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g, (tag, at: number) => {
    for (const m of tag.matchAll(/"([^"\\]*)"|'([^'\\]*)'/g)) {
      const literal = m[1] ?? m[2] ?? '';
      if (WORDS.test(literal) && !notWords(literal))
        findings.push({ file, line: lineOf(text, at + m.index), text: literal });
    }
    return blank(tag);
  });
  for (const m of rest.matchAll(HEARD)) {
    const value = m[1] ?? '';
    if (WORD.test(value) && !notWords(value)) findings.push({ file, line: lineOf(text, m.index), text: value });
  }
  rest = rest.replace(/<[^>]*>/g, blank);
  for (const m of rest.matchAll(/[^\s][^\n]*/g)) {
    if (WORD.test(m[0])) findings.push({ file, line: lineOf(text, m.index), text: m[0].trim() });
  }
  return findings;
}

/** Whether a template is a page on the kit (or one of the kit's own). */
export function onTheKit(path: string, text: string): boolean {
  return (
    path.startsWith(`${KIT_TEMPLATES}/`) ||
    ALL_WORDS_FROM_CATALOGUE.some((dir) => path.startsWith(dir)) ||
    /\{%-?\s*extends\s+["']kit\//.test(text)
  );
}

async function templates(dir: string): Promise<string[]> {
  const names = await readdir(join(ROOT, dir), { recursive: true });
  return names.filter((n) => n.endsWith('.njk')).map((n) => `${dir}/${n.split(sep).join('/')}`);
}

export async function lintWords(): Promise<WordFinding[]> {
  const findings: WordFinding[] = [];
  for (const file of [
    ...(await templates(KIT_TEMPLATES)),
    ...(await templates(FEATURES)),
    ...(await Promise.all(OTHER_TEMPLATES.map(templates))).flat(),
  ]) {
    const text = await readFile(join(ROOT, file), 'utf8');
    if (onTheKit(file, text))
      findings.push(...scanTemplate(relative(ROOT, join(ROOT, file)).split(sep).join('/'), text));
  }
  return findings;
}

if (import.meta.main) {
  const findings = await lintWords();
  for (const f of findings)
    process.stderr.write(
      `${f.file}:${String(f.line)}: user-facing text ${JSON.stringify(f.text)} belongs in the ` +
        `catalogue (t("ns:key"))\n`,
    );
  if (findings.length > 0) process.exitCode = 1;
  else process.stdout.write("lint:words: every word of the kit's templates comes from the catalogue.\n");
}
