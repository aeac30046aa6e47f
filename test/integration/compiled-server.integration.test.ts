/**
 * ADR 0058: production runs dist/server, the app compiled to JavaScript by scripts/build-server.ts, not the TypeScript.
 * The build is laid out as the image holds it (dist/server, dist/assets, package.json, node_modules; no src/), started
 * in production mode beside the source, and both must answer a table of requests alike: the same status, type and
 * body but for each response's nonce, CSRF token and cookies. A kit form's POST with errors goes through both.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { canConnect, freePort, startProcess } from '../helpers/services.ts';
import type { StartedProcess } from '../helpers/services.ts';
import { csrfTokenFrom } from '../helpers/http.ts';
import { productionServerEnv } from '../helpers/app.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SECRET = randomBytes(48).toString('base64');

interface Server {
  readonly origin: string;
  readonly host: string;
  readonly process: StartedProcess;
}

async function start(entry: string, cwd: string, dataDir: string): Promise<Server> {
  const port = await freePort();
  const host = `127.0.0.1:${String(port)}`;
  const process_ = await startProcess(process.execPath, [entry], {
    cwd,
    env: productionServerEnv(port, dataDir, SECRET),
    readyCheck: () => canConnect(port),
    name: entry,
    timeoutMs: 60_000,
  });
  return { origin: `http://${host}`, host, process: process_ };
}

/** What may differ between two responses to the same request: per-response secrets and ids. */
function normalise(body: string): string {
  return body
    .replace(/nonce="[^"]*"/g, 'nonce="N"')
    .replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf" value="T"')
    .replace(/"(timestamp|time|uptime)":[^,}]*/g, '"$1":0');
}

async function get(server: Server, path: string, cookie = ''): Promise<Response> {
  return fetch(server.origin + path, {
    redirect: 'manual',
    headers: { host: server.host, 'x-forwarded-proto': 'https', ...(cookie === '' ? {} : { cookie }) },
  });
}

function cookiesOf(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

describe('the compiled server (dist/server), as the image runs it', { timeout: 180_000 }, () => {
  let work = '';
  let source: Server | undefined;
  let compiled: Server | undefined;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'lpa-compiled-'));
    const image = join(work, 'app');
    mkdirSync(join(image, 'dist'), { recursive: true });
    execFileSync(process.execPath, [join(ROOT, 'scripts/build-server.ts'), '--out', join(image, 'dist/server')]);
    symlinkSync(join(ROOT, 'dist/assets'), join(image, 'dist/assets'));
    symlinkSync(join(ROOT, 'node_modules'), join(image, 'node_modules'));
    copyFileSync(join(ROOT, 'package.json'), join(image, 'package.json'));
    mkdirSync(join(work, 'data-source'));
    mkdirSync(join(work, 'data-compiled'));
    [source, compiled] = await Promise.all([
      start(join(ROOT, 'src/server.ts'), ROOT, join(work, 'data-source')),
      start(join(image, 'dist/server/server.js'), image, join(work, 'data-compiled')),
    ]);
  });

  after(async () => {
    await Promise.all([source?.process.stop(), compiled?.process.stop()]);
    rmSync(work, { recursive: true, force: true });
  });

  test('the build holds JavaScript and the files it reads, no TypeScript, tests or .ts imports', () => {
    const files = readdirSync(join(work, 'app/dist/server'), { recursive: true, encoding: 'utf8' });
    assert.ok(files.includes('server.js') && files.includes('app.js'));
    assert.ok(files.some((f) => f.endsWith('.njk')) && files.some((f) => f.endsWith('.json')));
    assert.deepEqual(
      files.filter((f) => f.endsWith('.ts') || f.includes('.test.')),
      [],
    );
    for (const file of files.filter((f) => f.endsWith('.js'))) {
      const text = readFileSync(join(work, 'app/dist/server', file), 'utf8');
      assert.doesNotMatch(text, /(?:from\s*|import\s*\(\s*)["']\.{1,2}\/[^"']*\.ts["']/, `${file} imports a .ts file`);
    }
  });

  test('form discovery finds compiled declarations (<name>.form.js)', () => {
    const server = join(work, 'app/dist/server');
    const probeDir = join(work, 'probe');
    mkdirSync(probeDir);
    const kit = pathToFileURL(join(server, 'platform/forms/index.js')).href;
    writeFileSync(
      join(probeDir, 'probe.form.js'),
      `import { defineForm } from ${JSON.stringify(kit)};\nexport const probe = defineForm({ path: '/probe' });\n`,
    );
    const forms = pathToFileURL(join(server, 'forms.js')).href;
    const found = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { discoverForms } = await import(${JSON.stringify(forms)});` +
          `process.stdout.write(String((await discoverForms(${JSON.stringify(probeDir)})).forms.length));`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(found, '1');
  });

  test('every page answers as the source does (status, type, body but nonces and tokens)', async () => {
    const [from, built] = [source, compiled];
    assert.ok(from !== undefined && built !== undefined);
    const paths = [
      '/',
      '/accessibility',
      '/cookies',
      '/terms',
      '/privacy-notice',
      '/contact',
      '/send-feedback',
      '/login',
      '/signup',
      '/forgot-password',
      '/user/dashboard',
      '/user/about-you',
      '/no-such-page',
      '/ping/elb',
    ];
    for (const path of paths) {
      const [a, b]: [Response, Response] = await Promise.all([get(from, path), get(built, path)]);
      assert.equal(b.status, a.status, path);
      assert.equal(b.headers.get('content-type'), a.headers.get('content-type'), path);
      assert.equal(b.headers.get('location'), a.headers.get('location'), path);
      assert.equal(normalise(await b.text()), normalise(await a.text()), path);
    }
  });

  test('a kit form posted with errors is re-rendered alike (CSRF checked, messages from the catalogue)', async () => {
    assert.ok(source !== undefined && compiled !== undefined);
    const bodies: string[] = [];
    for (const server of [source, compiled]) {
      const page = await get(server, '/send-feedback');
      const cookie = cookiesOf(page);
      const token = csrfTokenFrom(await page.text());
      const posted = await fetch(server.origin + '/send-feedback', {
        method: 'POST',
        redirect: 'manual',
        headers: {
          host: server.host,
          'x-forwarded-proto': 'https',
          origin: `https://${server.host}`,
          'content-type': 'application/x-www-form-urlencoded',
          cookie,
        },
        body: new URLSearchParams({ _csrf: token, rating: '', details: '<script>x</script>' }).toString(),
      });
      assert.equal(posted.status, 400);
      bodies.push(normalise(await posted.text()));
    }
    assert.match(bodies[0] ?? '', /govuk-error-summary/);
    assert.ok(!(bodies[0] ?? '').includes('<script>x</script>'), 'escaped');
    assert.equal(bodies[1], bodies[0]);
  });
});
