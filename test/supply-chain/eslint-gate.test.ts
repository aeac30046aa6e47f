// Gate: the project's ESLint config (eslint.config.js) rejects console in src/, eval, new Function and
// Nunjucks with autoescape off. Code is linted as if it were a file in src/ through the ESLint Node API.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { ESLint } from 'eslint';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** A path inside src/ that does not exist on disk; the project service types it with tsconfig.json. */
const PROBE = 'src/platform/lint-probe.ts';
const SCRIPT_PROBE = 'scripts/lint-probe.ts';

let eslint: ESLint;

async function ruleIds(code: string, filePath = PROBE): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  assert.ok(result);
  const fatal = result.messages.filter((m) => m.fatal === true);
  assert.deepEqual(fatal, [], 'the probe must parse with type information');
  return result.messages.map((m) => m.ruleId ?? '(none)');
}

describe('eslint gate', () => {
  before(() => {
    eslint = new ESLint({
      cwd: ROOT,
      overrideConfigFile: `${ROOT}eslint.config.js`,
      // Only the parser's file lookup is widened, so a file that is not on disk can be type-checked;
      // every rule comes from the project's own config.
      overrideConfig: {
        files: [PROBE, SCRIPT_PROBE],
        languageOptions: {
          parserOptions: {
            projectService: { allowDefaultProject: [PROBE, SCRIPT_PROBE], defaultProject: 'tsconfig.json' },
          },
        },
      },
    });
  });

  test('clean code passes', async () => {
    assert.deepEqual(await ruleIds('export function add(a: number, b: number): number {\n  return a + b;\n}\n'), []);
  });

  const planted: readonly [string, string, string][] = [
    ['console.log in src', "export function f(): void {\n  console.log('hi');\n}\n", 'no-console'],
    ['eval', 'export function f(s: string): unknown {\n  return eval(s);\n}\n', 'no-eval'],
    ['new Function', "export const f = new Function('return 1');\n", 'no-new-func'],
    ['string to setTimeout', "setTimeout('alert(1)', 1);\n", '@typescript-eslint/no-implied-eval'],
    [
      'new nunjucks.Environment with autoescape false',
      "import nunjucks from 'nunjucks';\nexport const env = new nunjucks.Environment([], { autoescape: false });\n",
      'no-restricted-syntax',
    ],
    [
      'nunjucks.configure with autoescape false',
      "import nunjucks from 'nunjucks';\nnunjucks.configure('views', { autoescape: false });\n",
      'no-restricted-syntax',
    ],
    [
      'Nunjucks options hidden in a variable',
      "import nunjucks from 'nunjucks';\nconst options = { autoescape: true };\nexport const " +
        'env = new nunjucks.Environment([], options);\n',
      'no-restricted-syntax',
    ],
    [
      'autoescape switched off at run time',
      "import nunjucks from 'nunjucks';\nconst env = new " +
        'nunjucks.Environment([]);\nenv.opts.autoescape = false;\n',
      'no-restricted-syntax',
    ],
    ['Math.random', 'export const token = Math.random().toString(36);\n', '@microsoft/sdl/no-insecure-random'],
    ['non-loopback http URL', "export const api = 'http://api.example.org/v2';\n", '@microsoft/sdl/no-insecure-url'],
    ['unsafe regex', 'export const re = /^(a+)+$/;\n', 'security/detect-unsafe-regex'],
    ['floating promise', 'async function g(): Promise<void> {}\ng();\n', '@typescript-eslint/no-floating-promises'],
    ['any', 'export function f(x: any): void {\n  void x;\n}\n', '@typescript-eslint/no-explicit-any'],
  ];
  for (const [name, code, rule] of planted) {
    test(`planted: ${name} fails with ${rule}`, async () => {
      assert.ok((await ruleIds(code)).includes(rule), `expected ${rule}`);
    });
  }

  test('autoescape: true and a plain Environment are fine', async () => {
    const code =
      "import nunjucks from 'nunjucks';\nexport const a = new nunjucks.Environment([], { " +
      'autoescape: true, throwOnUndefined: true });\nexport const b = new ' +
      'nunjucks.Environment([]);\n';
    assert.deepEqual(await ruleIds(code), []);
  });

  test('loopback http URLs are fine (tests and local development)', async () => {
    assert.deepEqual(await ruleIds("export const a = 'http://127.0.0.1:8005/ping';\n"), []);
  });

  test('scripts may print, src may not', async () => {
    const code = "console.log('done');\n";
    assert.deepEqual(await ruleIds(code, SCRIPT_PROBE), []);
    assert.deepEqual(await ruleIds(code), ['no-console']);
  });

  test('warnings are not allowed anywhere in the config: every enabled rule is an error', async () => {
    const config = (await eslint.calculateConfigForFile(PROBE)) as { rules: Record<string, unknown> };
    const warns = Object.entries(config.rules).filter(
      ([, v]) => (Array.isArray(v) ? v[0] : v) === 1 || (Array.isArray(v) ? v[0] : v) === 'warn',
    );
    assert.deepEqual(
      warns.map(([k]) => k),
      [],
    );
  });
});
