// Gate: the layers of docs/architecture.md (ADR 0029) are enforced by `npm run lint`. Code is linted as if it were
// a file at a chosen place in src/, through the ESLint Node API with the project's own config; each planted
// violation must fail with the layers or the outbound rule, and the same code in its allowed place must pass.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { ESLint } from 'eslint';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Paths inside src/ that do not exist on disk; the project service types them with tsconfig.json. */
const PROBES = {
  feature: 'src/features/feedback/layers-probe.ts',
  platform: 'src/platform/layers-probe.ts',
  forms: 'src/platform/forms/layers-probe.ts',
  sessions: 'src/sessions/layers-probe.ts',
  config: 'src/config/layers-probe.ts',
  backends: 'src/backends/layers-probe.ts',
  egress: 'src/backends/egress.ts',
  redis: 'src/sessions/redis-store.ts',
} as const;
const VIRTUAL = [PROBES.feature, PROBES.platform, PROBES.forms, PROBES.sessions, PROBES.config, PROBES.backends];

let eslint: ESLint;

async function layerFindings(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  assert.ok(result);
  assert.deepEqual(
    result.messages.filter((m) => m.fatal === true),
    [],
    'the probe must parse',
  );
  return result.messages
    .filter((m) => m.ruleId?.startsWith('lpa/') === true)
    .map((m) => `${m.ruleId ?? ''}: ${m.message}`);
}

describe('layers lint', () => {
  before(() => {
    eslint = new ESLint({
      cwd: ROOT,
      overrideConfigFile: `${ROOT}eslint.config.js`,
      // Only the parser's file lookup is widened, so a file that is not on disk can be type-checked.
      overrideConfig: {
        files: VIRTUAL,
        languageOptions: {
          parserOptions: { projectService: { allowDefaultProject: VIRTUAL, defaultProject: 'tsconfig.json' } },
        },
      },
    });
  });

  const planted: readonly { name: string; at: string; code: string; rule: string }[] = [
    {
      name: 'a feature imports another feature',
      at: PROBES.feature,
      code: "export { createResolveUser } from '../sign-in/identity.ts';\n",
      rule: 'lpa/layers',
    },
    {
      name: 'the same, by a longer path',
      at: PROBES.feature,
      code:
        "import { createResolveUser } from '../../features/sign-in/identity.ts';\nexport const f " +
        '= createResolveUser;\n',
      rule: 'lpa/layers',
    },
    {
      name: 'a feature imports the app',
      at: PROBES.feature,
      code: "import type { Services } from '../../services.ts';\nexport type S = Services;\n",
      rule: 'lpa/layers',
    },
    {
      name: 'platform imports a feature',
      at: PROBES.platform,
      code:
        "import { createResolveUser } from '../features/sign-in/identity.ts';\nexport const f = " +
        'createResolveUser;\n',
      rule: 'lpa/layers',
    },
    {
      name: 'the form kit imports a feature',
      at: PROBES.forms,
      code: "export * from '../../features/feedback/feedback-schema.ts';\n",
      rule: 'lpa/layers',
    },
    {
      name: 'sessions import platform',
      at: PROBES.sessions,
      code: "import { HttpError } from '../platform/http-error.ts';\nexport const e = HttpError;\n",
      rule: 'lpa/layers',
    },
    {
      name: 'the Redis store imports platform (no exception left, ADR 0029)',
      at: PROBES.redis,
      code: "import { HttpError } from '../platform/http-error.ts';\nexport const e = HttpError;\n",
      rule: 'lpa/layers',
    },
    {
      name: 'sessions import paths',
      at: PROBES.sessions,
      code: "import { PATHS } from '../paths.ts';\nexport const p = PATHS;\n",
      rule: 'lpa/layers',
    },
    {
      name: 'config imports sessions',
      at: PROBES.config,
      code: "import { MemoryStore } from '../sessions/memory-store.ts';\nexport const m = " + 'MemoryStore;\n',
      rule: 'lpa/layers',
    },
    {
      name: 'backends import platform',
      at: PROBES.backends,
      code: "import { HttpError } from '../platform/http-error.ts';\nexport const e = HttpError;\n",
      rule: 'lpa/layers',
    },
    {
      name: 'a dynamic import of another feature',
      at: PROBES.feature,
      code: "export const m = import('../user/user-schema.ts');\n",
      rule: 'lpa/layers',
    },
    {
      name: 'fetch outside egress',
      at: PROBES.feature,
      code:
        'export async function f(): Promise<number> {\n  return (await ' +
        "fetch('https://api.example.test/')).status;\n}\n",
      rule: 'lpa/outbound',
    },
    {
      name: 'globalThis.fetch outside egress',
      at: PROBES.platform,
      code: 'export const f = globalThis.fetch;\n',
      rule: 'lpa/outbound',
    },
    {
      name: 'http.request outside egress',
      at: PROBES.platform,
      code: "import http from 'node:http';\nexport const r = " + "http.request('https://api.example.test/');\n",
      rule: 'lpa/outbound',
    },
    {
      name: 'https.request, named, outside egress',
      at: PROBES.backends,
      code: "import { request } from 'node:https';\nexport const r = request;\n",
      rule: 'lpa/outbound',
    },
    {
      name: 'a raw socket outside egress',
      at: PROBES.feature,
      code: "import { connect } from 'node:net';\nexport const s = connect;\n",
      rule: 'lpa/outbound',
    },
    {
      name: 'tls.connect by dynamic import',
      at: PROBES.platform,
      code: "export const t = import('node:tls');\n",
      rule: 'lpa/outbound',
    },
    {
      name: 'an HTTP client package',
      at: PROBES.feature,
      code: "export { request } from 'undici';\n",
      rule: 'lpa/outbound',
    },
    {
      name: 'a Redis client outside sessions/redis-store.ts',
      at: PROBES.sessions,
      code: "import { Redis } from 'ioredis';\nexport const r = Redis;\n",
      rule: 'lpa/outbound',
    },
    {
      name: 'a WebSocket',
      at: PROBES.feature,
      code: "export const w = new WebSocket('wss://example.test/');\n",
      rule: 'lpa/outbound',
    },
    {
      name: 'net.connect through a default import',
      at: PROBES.platform,
      code:
        "import net from 'node:net';\nexport const ok = net.isIP('::1');\nexport const s = " + 'net.connect(6379);\n',
      rule: 'lpa/outbound',
    },
    {
      name: 'a default import passed on whole',
      at: PROBES.platform,
      code: "import http from 'node:http';\nexport const h = http;\n",
      rule: 'lpa/outbound',
    },
  ];
  for (const p of planted) {
    test(`planted: ${p.name} fails with ${p.rule}`, async () => {
      const found = await layerFindings(p.code, p.at);
      assert.ok(
        found.some((f) => f.startsWith(`${p.rule}:`)),
        `expected ${p.rule}, got ${JSON.stringify(found)}`,
      );
    });
  }

  const allowed: readonly { name: string; at: string; code: string }[] = [
    {
      name: 'a feature imports platform, sessions, paths and its own files',
      at: PROBES.feature,
      code:
        "import { HttpError } from '../../platform/http-error.ts';\nimport { SESSION_KEYS } from " +
        "'../../sessions/session-store.ts';\nimport { PATHS } from '../../paths.ts';\nimport { " +
        "FeedbackBody } from './feedback-schema.ts';\nexport const all = [HttpError, SESSION_KEYS, " +
        'PATHS, FeedbackBody];\n',
    },
    {
      name: 'the form kit imports platform and paths',
      at: PROBES.forms,
      code:
        "import { PUBLIC_ROUTES } from '../../paths.ts';\nimport { HttpError } from " +
        "'../http-error.ts';\nexport const all = [PUBLIC_ROUTES, HttpError];\n",
    },
    {
      name: 'a server and address checks are not outbound',
      at: PROBES.platform,
      code:
        "import { createServer } from 'node:http';\nimport { isIP } from 'node:net';\nimport type " +
        "{ Agent } from 'node:http';\nexport const all = [createServer, isIP];\nexport type A = " +
        'Agent;\n',
    },
    {
      name: 'a default import used only for address checks',
      at: PROBES.platform,
      code:
        "import net from 'node:net';\nexport const list = new net.BlockList();\nexport const v = " +
        "net.isIP('::1');\n",
    },
    {
      name: 'a type-only Redis import',
      at: PROBES.sessions,
      code: "import type { Redis } from 'ioredis';\nexport type R = Redis;\n",
    },
    {
      name: 'a property or local named fetch',
      at: PROBES.feature,
      code:
        'const api = { fetch: (n: number): number => n };\nexport function g(fetch: (n: number) ' +
        '=> number): number {\n  return fetch(api.fetch(1));\n}\n',
    },
    {
      name: 'egress opens HTTP connections',
      at: PROBES.egress,
      code:
        "import http from 'node:http';\nimport https from 'node:https';\nimport net from " +
        "'node:net';\nexport const all = [http, https, net];\n",
    },
    {
      name: 'the Redis store opens Redis connections',
      at: PROBES.redis,
      code: "import { Redis } from 'ioredis';\nexport const r = Redis;\n",
    },
  ];
  for (const a of allowed) {
    test(`allowed: ${a.name}`, async () => {
      assert.deepEqual(await layerFindings(a.code, a.at), []);
    });
  }
});

describe('the one render seam (ADR 0043)', () => {
  test(
    'a feature calling reply.staticView fails the lint; the same through reply.view and route ' + 'config passes',
    async () => {
      const seam = new ESLint({
        cwd: ROOT,
        overrideConfigFile: `${ROOT}eslint.config.js`,
        overrideConfig: {
          files: [PROBES.feature],
          languageOptions: {
            parserOptions: {
              projectService: { allowDefaultProject: [PROBES.feature], defaultProject: 'tsconfig.json' },
            },
          },
        },
      });
      const findings = async (code: string): Promise<string[]> => {
        const [result] = await seam.lintText(code, { filePath: PROBES.feature });
        assert.ok(result);
        return result.messages.filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => m.message);
      };
      const route = (call: string): string =>
        `import type { FastifyInstance } from 'fastify';\nexport function r(app: ` +
        `FastifyInstance): void {\n  app.get('/x', { config: { render: 'prerendered' } }, (_q, ` +
        `reply) => ${call});\n}\n`;
      assert.match((await findings(route("reply.staticView('content/start.njk')"))).join(), /render: 'prerendered'/);
      assert.deepEqual(await findings(route("reply.view('content/start.njk', Object.freeze({}))")), []);
    },
  );
});

describe('the layers picture in docs/architecture.md', () => {
  test(
    'matches the lint rule: every arrow is allowed, every allowed import is an arrow or a ' + 'path of arrows',
    async () => {
      const { LAYER_IMPORTS } = (await import(`${ROOT}eslint.config.js`)) as {
        LAYER_IMPORTS: Record<string, readonly string[]>;
      };
      const { readFileSync } = await import('node:fs');
      const doc = readFileSync(`${ROOT}docs/architecture.md`, 'utf8');
      const chart = /```mermaid\n([\s\S]*?)```/.exec(doc)?.[1] ?? assert.fail('no mermaid picture');
      // Mermaid node ids are the layer names, except these.
      const layer = (id: string): string => (({ features: 'feature' }) as Record<string, string>)[id] ?? id;
      // `a --> b` or `a[label] --> b[label]`: the ids are the first word on each side of the arrow.
      const arrows = chart
        .split('\n')
        .filter((l) => l.includes('-->'))
        .map((l) => {
          const [left = '', right = ''] = l.split('-->');
          return [layer(/\w+/.exec(left)?.[0] ?? ''), layer(/\w+/.exec(right)?.[0] ?? '')] as const;
        });
      assert.ok(arrows.length > 10);
      for (const [from, to] of arrows)
        assert.ok(LAYER_IMPORTS[from]?.includes(to), `picture: ${from} --> ${to} is not in LAYER_IMPORTS`);
      const reach = (from: string, to: string, seen = new Set<string>()): boolean => {
        if (seen.has(from)) return false;
        seen.add(from);
        return arrows.some(([a, b]) => a === from && (b === to || reach(b, to, seen)));
      };
      for (const [from, allowed] of Object.entries(LAYER_IMPORTS)) {
        for (const to of allowed)
          assert.ok(reach(from, to), `LAYER_IMPORTS: ${from} may import ${to}, but the picture has no path`);
      }
    },
  );
});
