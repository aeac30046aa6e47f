// Gate: the production Dockerfile's properties, checked from the file (no container engine runs here).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import {
  DEFAULT_RULES,
  NODE_MEMORY_FLAGS,
  checkDockerfile,
  checkDockerignore,
  parseDockerfile,
} from '../../scripts/check-dockerfile.ts';
import { HOST_CHECK_EXEMPT } from '../../src/platform/limits.ts';

const ROOT = new URL('../../', import.meta.url);
const dockerfile = await readFile(new URL('Dockerfile', ROOT), 'utf8');
const dockerignore = await readFile(new URL('.dockerignore', ROOT), 'utf8');
const pkg = JSON.parse(await readFile(new URL('package.json', ROOT), 'utf8')) as {
  engines?: { node?: string };
  scripts?: Record<string, string>;
};

const DIGEST = `@sha256:${'a'.repeat(64)}`;
const GOOD_CMD = `CMD ${JSON.stringify(DEFAULT_RULES.cmd)}`;
const GOOD = `
FROM node:24-bookworm-slim${DIGEST} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts
FROM node:24-bookworm-slim${DIGEST}
WORKDIR /app
ENV NODE_ENV=production DATA_DIR=/data
COPY --from=deps /app/node_modules ./node_modules
COPY src ./src
VOLUME ["/data"]
USER node
EXPOSE 8005
HEALTHCHECK CMD ["node", "-e", "fetch('http://127.0.0.1:8005/ping/elb').then((r) => process.exit(r.ok ? 0 : 1))"]
${GOOD_CMD}
`;

describe('the repository Dockerfile', () => {
  test('npm start runs the worker with the same V8 memory flags as the image (docs/adr/0032)', () => {
    assert.ok(
      (pkg.scripts?.start ?? '').endsWith(` node ${NODE_MEMORY_FLAGS.join(' ')} dist/server/server.js`),
      pkg.scripts?.start,
    );
  });

  test('passes every rule, with the base image major taken from package.json engines', () => {
    const major = Number(/^>=\s*(\d+)\./.exec(pkg.engines?.node ?? '')?.[1]);
    assert.equal(major, 24);
    assert.deepEqual(checkDockerfile(dockerfile, { ...DEFAULT_RULES, nodeMajor: major }), []);
  });

  test(
    'the HEALTHCHECK path is one the production Host check lets through (the probe reaches ' +
      'the container by address)',
    () => {
      assert.ok(
        HOST_CHECK_EXEMPT.has(DEFAULT_RULES.healthPath),
        `${DEFAULT_RULES.healthPath} is refused for a Host other than PUBLIC_ORIGIN's`,
      );
    },
  );

  test('.dockerignore denies everything first and keeps secrets, .git, node_modules and data out', () => {
    assert.deepEqual(checkDockerignore(dockerignore), []);
  });
});

describe('checkDockerfile', () => {
  test('the reference Dockerfile passes', () => {
    assert.deepEqual(checkDockerfile(GOOD), []);
  });

  test('continuations and comments are parsed', () => {
    const parsed = parseDockerfile('# c\nRUN a \\\n  # inner\n  && b\nUSER node\n');
    assert.deepEqual(
      parsed.map((i) => [i.keyword, i.line]),
      [
        ['RUN', 2],
        ['USER', 5],
      ],
    );
    assert.match(parsed[0]?.args ?? '', /a\s+&& b/);
  });

  const planted: readonly [string, string, RegExp][] = [
    ['a base image by tag only', GOOD.replaceAll(DIGEST, ''), /must be pinned by @sha256 digest/],
    ['an older Node base', GOOD.replaceAll('node:24-', 'node:20-'), /must be the Node 24 image/],
    ['a single stage', GOOD.replace(/^FROM[^\n]*AS deps\n[\s\S]*?(?=FROM)/m, ''), /multi-stage/],
    [
      'npm install',
      GOOD.replace('npm ci --omit=dev --ignore-scripts', 'npm install --omit=dev --ignore-scripts'),
      /not npm install/,
    ],
    ['dev dependencies in the image', GOOD.replace(' --omit=dev', ''), /npm ci --omit=dev/],
    ['install scripts on', GOOD.replace(' --ignore-scripts', ''), /--ignore-scripts/],
    ['running as root', GOOD.replace('USER node', 'USER root'), /non-root USER/],
    ['no USER', GOOD.replace('USER node\n', ''), /must set a non-root USER/],
    ['no NODE_ENV', GOOD.replace('NODE_ENV=production ', ''), /NODE_ENV=production/],
    ['a writable data dir without a volume', GOOD.replace('VOLUME ["/data"]\n', ''), /must be a VOLUME/],
    ['the whole context copied', GOOD.replace('COPY src ./src', 'COPY . .'), /not the whole build context/],
    ['ADD', GOOD.replace('COPY src ./src', 'ADD https://example.org/x.tgz /app/'), /not ADD/],
    [
      'a curl health check',
      GOOD.replace(/HEALTHCHECK[^\n]*/, 'HEALTHCHECK CMD curl -f http://127.0.0.1:8005/ping/elb'),
      /no curl or wget/,
    ],
    ['a health check on the wrong path', GOOD.replace('/ping/elb', '/'), /must request \/ping\/elb/],
    ['no health check', GOOD.replace(/HEALTHCHECK[^\n]*\n/, ''), /needs a HEALTHCHECK/],
    ['the wrong port', GOOD.replace('EXPOSE 8005', 'EXPOSE 3000'), /EXPOSE 8005/],
    [
      'npm start as CMD',
      GOOD.replace(GOOD_CMD, 'CMD npm start'),
      /CMD \["node","--max-semi-space-size=8",.*"dist\/server\/server\.js"\]/,
    ],
    ['node without the memory flags', GOOD.replace(GOOD_CMD, 'CMD ["node", "dist/server/server.js"]'), /exec form/],
    [
      'a secret build arg',
      GOOD.replace('WORKDIR /app\nENV', 'WORKDIR /app\nARG NPM_TOKEN\nENV'),
      /no secrets as build args/,
    ],
  ];
  for (const [name, text, expected] of planted) {
    test(`planted: ${name} is rejected`, () => {
      const problems = checkDockerfile(text);
      assert.ok(
        problems.some((p) => expected.test(p)),
        `expected ${String(expected)} in:\n${problems.join('\n')}`,
      );
    });
  }
});

describe('checkDockerignore', () => {
  test('planted: allow-by-default or re-including .env is rejected', () => {
    assert.match(checkDockerignore('node_modules\n').join(), /must start with "\*"/);
    assert.match(checkDockerignore('*\n!src\n!.env\n').join(), /must not re-include \.env/);
    assert.match(checkDockerignore('*\n!node_modules\n').join(), /must not re-include node_modules/);
  });
});
