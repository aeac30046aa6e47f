// ESLint flat config: the static-analysis gate of ADR 0008 (A03 injection, A05 misconfiguration,
// A08 integrity). Run as `npm run lint` (eslint --max-warnings 0, then the template scan).
//
// Layers, in order (later entries win):
//   1. typescript-eslint strict-type-checked + stylistic-type-checked, typed through the project service.
//   2. eslint-plugin-security recommended, raised from "warn" to "error".
//   3. @microsoft/eslint-plugin-sdl "common" and "node" configs. Its "recommended" export is not used:
//      in 1.1.0 it bundles the React/Angular/Electron configs and re-registers the `security` plugin with
//      its own old copy (1.4.0), which clashes with eslint-plugin-security 4; its "typescript" export is
//      wired to the React config by mistake (lib/index.js), so the TypeScript part is restated here.
//   4. Project rules: no console in src/, no eval/new Function, Nunjucks autoescape may never be turned off.
//   5. Layers (ADR 0029, scripts/eslint-layers.js): who may import whom, and who may open outbound connections;
//      the form kit's words come from the catalogue (ADR 0030, scripts/eslint-words.js).
import js from '@eslint/js';
import sdl from '@microsoft/eslint-plugin-sdl';
import { defineConfig, globalIgnores } from 'eslint/config';
import security from 'eslint-plugin-security';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import lpaLayers from './scripts/eslint-layers.js';
import lpaWords from './scripts/eslint-words.js';

/** eslint-plugin-security ships its rules as warnings; a security finding must fail the build. */
const securityAsErrors = Object.fromEntries(
  Object.keys(security.configs.recommended.rules).map((name) => [name, 'error']),
);

/**
 * sdl/no-insecure-url, with its default exceptions plus loopback (local development talks plain HTTP to
 * 127.0.0.1) and the reserved names that can never resolve on the internet (RFC 2606, RFC 6761).
 */
const insecureUrlExceptions = [
  ...sdl.rules['no-insecure-url'].defaultExceptions.map((re) => re.source),
  '^http://127\\.0\\.0\\.1([:/]|$)',
  '^http://\\[::1\\]([:/]|$)',
  '^http://localhost([:/]|$)',
  '^http://[^/]*\\.(test|invalid|example|localhost)([:/]|$)',
];

/**
 * Nunjucks must escape on output (the team's STYLE.md #15, outside this repository). Nunjucks defaults to autoescape:
 * true, so the only way to
 * lose it is to say so: forbid any `autoescape` property or assignment whose value is not the literal `true`,
 * and forbid passing Nunjucks options through a variable, where the lint could not see them.
 * `| safe` and `{% autoescape false %}` inside templates are caught by scripts/lint-templates.ts.
 */
const nunjucksEscaping = [
  {
    selector: "Property[key.name='autoescape']:not([value.value=true])",
    message: 'Nunjucks autoescape must stay on: write `autoescape: true` or leave it out (ADR 0008 A03).',
  },
  {
    selector: "Property[key.value='autoescape']:not([value.value=true])",
    message: 'Nunjucks autoescape must stay on: write `autoescape: true` or leave it out (ADR 0008 A03).',
  },
  {
    selector: "AssignmentExpression[left.property.name='autoescape']",
    message: 'Do not change Nunjucks autoescape at run time (ADR 0008 A03).',
  },
  {
    selector:
      "NewExpression:matches([callee.name='Environment'], " +
      "[callee.property.name='Environment'])[arguments.length>1]:not([arguments.1.type='ObjectExpression'])",
    message: 'Pass Nunjucks Environment options as an inline object literal so the autoescape check can see them.',
  },
  {
    selector:
      "CallExpression[callee.object.name='nunjucks'][callee.property.name='configure'][arguments.length>1]:not([arguments.1.type='ObjectExpression'])",
    message: 'Pass nunjucks.configure options as an inline object literal so the autoescape check can see them.',
  },
];

/**
 * What each layer of src/ may import besides itself (docs/architecture.md has the same picture). `feature` is any
 * src/features/<name>/; a feature never imports another feature, whatever this table says. Imports of packages and
 * node: built-ins are not layers (the outbound rule below covers the ones that open connections).
 */
export const LAYER_IMPORTS = {
  server: ['app', 'services', 'config', 'platform', 'paths'],
  app: ['services', 'forms', 'config', 'platform', 'feature', 'backends', 'sessions', 'i18n', 'paths'],
  forms: ['platform', 'feature', 'i18n', 'paths'], // src/forms.ts: finds the kit's declarations in features/
  services: ['config', 'platform', 'feature', 'backends', 'sessions', 'i18n', 'paths'],
  feature: ['platform', 'backends', 'sessions', 'config', 'i18n', 'paths'],
  platform: ['backends', 'sessions', 'config', 'i18n', 'paths'],
  backends: ['sessions', 'config', 'paths'],
  i18n: [],
  sessions: [],
  config: [],
  paths: [],
};

/**
 * LAYER_EXCEPTIONS: imports that break the table, each with a TODO naming the change that removes it; `{ from, to }`
 * matches one importing file and one imported file exactly. None today: keep it that way.
 */
const LAYER_EXCEPTIONS = [];

/**
 * OUTBOUND_OWNERS: the one module allowed to open each kind of outbound connection (ADR 0029). Everything else in
 * src/ that imports a client API (node:http request/get/Agent, node:net connect, node:tls connect, undici, ioredis)
 * or calls fetch/WebSocket/EventSource fails the lint. Later adapters get their own entry and module:
 * clamd (virus scan, tcp), s3 (uploads, http via egress or its own client), otlp (trace exporter).
 */
const OUTBOUND_OWNERS = {
  http: ['src/backends/egress.ts'],
  // egress dials the address it resolved and checked itself (ADR 0010); clamd.ts speaks INSTREAM to the configured
  // CLAMD_ADDRESS (ADR 0033), the only other raw socket.
  tcp: ['src/backends/egress.ts', 'src/backends/clamd.ts'],
  redis: ['src/sessions/redis-store.ts'],
  udp: [],
  clamd: ['src/backends/clamd.ts'],
  s3: ['src/backends/s3-file-storage.ts'],
  otlp: [],
};

export default defineConfig(
  globalIgnores(['node_modules/', 'dist/', 'data/', '.stack/', '.tmp/', 'coverage/', 'bench/results/', 'assets/dist/']),
  {
    linterOptions: {
      reportUnusedDisableDirectives: 'error',
      reportUnusedInlineConfigs: 'error',
    },
  },

  // 1. Language rules.
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.strictTypeChecked, tseslint.configs.stylisticTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Fastify plugins and handlers are async by contract (returning a promise is how they signal completion),
      // so an async function with no await is normal here. Floating and misused promises stay errors.
      '@typescript-eslint/require-await': 'off',
      // Numbers in template strings (ports, status codes, counts) are routine and safe.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowAny: false, allowBoolean: false, allowNullish: false, allowRegExp: false },
      ],
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // node:test's test()/describe() return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after'] },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-import-type-side-effects': 'error',
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { ...globals.node } },
  },
  // Prettier lays code out to 120 columns (ADR 0051) but leaves comments alone: no line over 120 either way. Only a
  // literal that cannot be broken without changing what it says (a regex, an embedded PHP or SQL snippet, a
  // template of expressions, a string) may run past it.
  {
    rules: {
      'max-len': [
        'error',
        {
          code: 120,
          tabWidth: 2,
          ignoreUrls: true,
          ignoreStrings: true,
          ignoreTemplateLiterals: true,
          ignoreRegExpLiterals: true,
        },
      ],
    },
  },

  // 2. eslint-plugin-security, every rule an error.
  {
    plugins: { security },
    rules: {
      ...securityAsErrors,
      // Flags every `obj[key]` with a variable key. TypeScript (strict, noUncheckedIndexedAccess) types those
      // accesses, and untrusted input reaches us as TypeBox-validated objects, so this rule is noise, not signal.
      'security/detect-object-injection': 'off',
    },
  },

  // 3. Microsoft SDL: the "common" and "node" configs (see the header for why not "recommended").
  ...sdl.configs.common,
  ...sdl.configs.node,
  {
    files: ['**/*.ts'],
    rules: {
      // what sdl's (mis-wired) "typescript" config intends: the type-aware rule replaces the core one.
      'no-implied-eval': 'off',
      '@typescript-eslint/no-implied-eval': 'error',
    },
  },
  {
    rules: {
      '@microsoft/sdl/no-insecure-random': 'error',
      '@microsoft/sdl/no-insecure-url': ['error', { exceptions: insecureUrlExceptions }],
    },
  },

  // 4. Project rules.
  {
    rules: {
      'no-eval': 'error',
      'no-implied-eval': 'error',
      'no-new-func': 'error',
      'no-script-url': 'error',
      'no-proto': 'error',
      'no-extend-native': 'error',
      'no-restricted-syntax': ['error', ...nunjucksEscaping],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'binding', message: 'process.binding is internal and unsafe.' },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      'no-implied-eval': 'off', // replaced by @typescript-eslint/no-implied-eval (type-aware)
    },
  },
  {
    // Application code logs through the pino logger it is given (the team's STYLE.md #16, outside this repository).
    files: ['src/**'],
    rules: {
      'no-console': 'error',
    },
  },
  {
    // Browser code we ship.
    files: ['assets/js/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Scripts and tests print, spawn processes and read files by computed paths on the developer's own
    // machine: those rules guard request handling, which src/ does.
    files: ['scripts/**', 'test/**', 'bench/**', 'deploy/**', '**/*.test.ts', 'eslint.config.js'],
    rules: {
      'no-console': 'off',
      'security/detect-child-process': 'off',
      'security/detect-non-literal-fs-filename': 'off',
    },
  },
  {
    // Tests feed hostile input on purpose (javascript: URLs, __proto__ keys, plain-HTTP and metadata-service
    // URLs) to prove the code refuses it, and seed fuzzers with Math.random. Those literals are the test.
    // Benchmarks only ever target servers they start on loopback, by URLs built at run time.
    files: ['test/**', '**/*.test.ts', 'bench/**'],
    rules: {
      'no-script-url': 'off',
      'no-proto': 'off',
      '@microsoft/sdl/no-insecure-url': 'off',
      '@microsoft/sdl/no-insecure-random': 'off',
    },
  },

  // 5. Layers. Application code only: tests and scripts reach across layers on purpose, to build the real app.
  {
    files: ['src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    plugins: { lpa: lpaLayers },
    rules: {
      'lpa/layers': ['error', { root: import.meta.dirname, allow: LAYER_IMPORTS, exceptions: LAYER_EXCEPTIONS }],
      'lpa/outbound': ['error', { root: import.meta.dirname, owners: OUTBOUND_OWNERS }],
    },
  },
  {
    // The one render seam (ADR 0036, ADR 0043): a feature says how its pages render in the route's config
    // (`render: 'prerendered'`) and calls reply.view; only views.ts chooses the pre-rendered path.
    files: ['src/features/**/*.ts', 'src/forms.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...nunjucksEscaping,
        {
          selector: "MemberExpression[property.name='staticView']",
          message: "Declare `config: { render: 'prerendered' }` on the route and call reply.view (ADR 0043).",
        },
      ],
    },
  },
  {
    // The form kit and the forms on it take every word from the catalogue (ADR 0030); templates: scripts/lint-words.ts.
    // Features moved onto the kit (issue 19: feedback, sign-in) have their handlers and schemas checked too; add a
    // feature here when it moves (about-you next).
    files: [
      'src/platform/forms/**/*.ts',
      'src/features/**/*.form.ts',
      'src/features/**/*.journey.ts',
      'src/forms.ts',
      'src/features/{feedback,sign-in}/*-{routes,schema}.ts',
      'src/features/evidence/*-{routes,service}.ts',
    ],
    ignores: ['**/*.test.ts'],
    plugins: { 'lpa-words': lpaWords },
    rules: { 'lpa-words/words-from-catalogue': 'error' },
  },
);
