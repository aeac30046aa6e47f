/**
 * Builds dist/assets: GOV.UK Frontend's CSS, JS, fonts and images plus our own JS, each renamed with a
 * content hash (served with `immutable` caching), with brotli and gzip variants of the text files made
 * once here, and a manifest mapping logical names to URLs. CSS url()s, JS imports and the web manifest's
 * icons are rewritten to the hashed names. Source maps are not published.
 *
 * Run by `npm run build` (and so by `npm start` and `npm test`). Output is deterministic.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { ASSET_PREFIX } from '../src/paths.ts';
import { buildOutput, moveIntoPlace } from './build-output.ts';

const root = join(import.meta.dirname, '..');
const govuk = join(root, 'node_modules/govuk-frontend/dist/govuk');
// `--out <dir>` (tests) builds somewhere else than dist/assets; built beside it, then moved into place.
const { target, out } = buildOutput(join(root, 'dist/assets'));
const PREFIX = ASSET_PREFIX;
const COMPRESSIBLE = new Set(['.css', '.js', '.mjs', '.svg', '.json', '.ico', '.txt']);

const manifest: Record<string, string> = {};

function hashed(logical: string, content: Buffer): string {
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 10);
  const ext = extname(logical);
  const name = `${dirname(logical) === '.' ? '' : `${dirname(logical)}/`}${basename(logical, ext)}-${hash}${ext}`;
  const file = join(out, name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  if (COMPRESSIBLE.has(ext)) {
    writeFileSync(
      `${file}.br`,
      brotliCompressSync(content, {
        params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: content.length },
      }),
    );
    writeFileSync(`${file}.gz`, gzipSync(content, { level: 9 }));
  }
  manifest[logical] = PREFIX + name;
  return PREFIX + name;
}

function stripSourceMap(text: string): string {
  return text.replace(/\n?\/[/*][#@] sourceMappingURL=[^\n]*$/m, '');
}

// 1. Fonts and images, referenced by the CSS and the web manifest.
for (const dir of ['fonts', 'images']) {
  for (const f of readdirSync(join(govuk, 'assets', dir)).sort()) {
    hashed(`${dir}/${f}`, readFileSync(join(govuk, 'assets', dir, f)));
  }
}

// 2. CSS with url()s rewritten to hashed names; unknown references fail the build.
let css = stripSourceMap(readFileSync(join(govuk, 'govuk-frontend.min.css'), 'utf8'));
css = css.replace(/url\((\/assets\/[^)]+)\)/g, (_m, ref: string) => {
  const logical = ref.slice(PREFIX.length);
  const url = manifest[logical];
  if (url === undefined) throw new Error(`CSS references ${ref}, which is not an asset`);
  return `url(${url})`;
});
// Our few rules follow govuk-frontend's in the same file (assets/css/application.css), so they win ties.
css += `\n${readFileSync(join(root, 'assets/css/application.css'), 'utf8')}`;
hashed('css/govuk-frontend.min.css', Buffer.from(css));

// 3. GOV.UK Frontend's ES module, then our own modules with their imports rewritten.
const govukJs = hashed(
  'js/govuk-frontend.min.js',
  Buffer.from(stripSourceMap(readFileSync(join(govuk, 'govuk-frontend.min.js'), 'utf8'))),
);
const ownDir = join(root, 'assets/js');
for (const f of readdirSync(ownDir)
  .filter((n) => n.endsWith('.mjs'))
  .sort()) {
  const source = readFileSync(join(ownDir, f), 'utf8').replace(
    /(from\s+['"])\.\/govuk-frontend\.min\.js(['"])/g,
    `$1${govukJs}$2`,
  );
  if (/from\s+['"]\.\//.test(source)) throw new Error(`${f}: only ./govuk-frontend.min.js may be imported`);
  hashed(`js/${f}`, Buffer.from(source));
}

// 4. The web manifest, pointing at hashed icons.
const webManifest = JSON.parse(readFileSync(join(govuk, 'assets/manifest.json'), 'utf8')) as {
  icons: { src: string }[];
};
for (const icon of webManifest.icons) {
  const url = manifest[icon.src];
  if (url === undefined) throw new Error(`manifest icon ${icon.src} missing`);
  icon.src = url;
}
hashed(
  'manifest.json',
  Buffer.from(JSON.stringify({ name: 'Make a lasting power of attorney', short_name: 'Make an LPA', ...webManifest })),
);

writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
moveIntoPlace(out, target);
process.stdout.write(`assets: ${String(Object.keys(manifest).length)} files built into ${relative(root, target)}\n`);
