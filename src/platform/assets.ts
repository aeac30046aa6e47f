/**
 * Static assets: the content-hashed files built by scripts/build-assets.ts, held in memory.
 *
 * A request is answered only when its exact path is a key of the built manifest, so no path, encoded or
 * not, can reach the file system (no traversal by construction). Files are immutable (their names change
 * with their content) and served with the pre-compressed brotli or gzip variant the client accepts.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ASSET_PREFIX, pathOf } from '../paths.ts';
import { negotiateEncoding } from './accept-encoding.ts';

const TYPES: Readonly<Record<string, string>> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
};

export interface Asset {
  readonly type: string;
  readonly identity: Buffer;
  readonly br: Buffer | undefined;
  readonly gzip: Buffer | undefined;
}

export interface AssetCatalogue {
  /** Logical name (e.g. `css/govuk-frontend.min.css`) to URL path. */
  readonly urls: Readonly<Record<string, string>>;
  readonly files: ReadonlyMap<string, Asset>;
  url(logical: string): string;
  /**
   * The Subresource Integrity value (`sha384-…`) of the bytes served for a logical name, for the `integrity` attribute
   * of scripts and stylesheets (docs/adr/0024). Optional so that a test's stand-in catalogue need not have one.
   */
  integrity?(logical: string): string;
}

/* eslint-disable security/detect-non-literal-fs-filename --
   `dir` is the build output folder fixed in code (services.ts), never request data */
export function loadAssets(dir: string): AssetCatalogue {
  let urls: Record<string, string>;
  try {
    urls = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, string>;
  } catch {
    throw new Error('dist/assets is missing: run `npm run build` first');
  }
  const files = new Map<string, Asset>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) {
        walk(full);
        continue;
      }
      const ext = extname(name);
      const type = TYPES[ext];
      if (type === undefined) continue; // .br / .gz variants and the manifest itself
      const rel = relative(dir, full).split(sep).join('/');
      const read = (suffix: string): Buffer | undefined => {
        try {
          return readFileSync(full + suffix);
        } catch {
          return undefined;
        }
      };
      files.set(ASSET_PREFIX + rel, { type, identity: readFileSync(full), br: read('.br'), gzip: read('.gz') });
    }
  };
  walk(dir);
  files.delete(`${ASSET_PREFIX}manifest.json`);
  // Computed here, from the very bytes served (the uncompressed ones: SRI checks the decoded body), not trusted from
  // the build. Content-hashed names never change their bytes, so each value holds for the life of the process.
  const integrities = new Map<string, string>();
  for (const [logical, u] of Object.entries(urls)) {
    const asset = files.get(u);
    if (asset !== undefined)
      integrities.set(logical, `sha384-${createHash('sha384').update(asset.identity).digest('base64')}`);
  }
  const url = (logical: string): string => {
    const u = urls[logical];
    if (u === undefined) throw new Error(`unknown asset ${logical}`);
    return u;
  };
  return {
    urls,
    files,
    url,
    integrity(logical: string): string {
      const value = integrities.get(logical);
      if (value === undefined) throw new Error(`unknown asset ${logical}`);
      return value;
    },
  };
}

/* eslint-enable security/detect-non-literal-fs-filename */

/** Which encoding to send, from the variants this asset has (the one negotiator: accept-encoding.ts). */
export function chooseEncoding(
  acceptEncoding: string | undefined,
  asset: { br?: Buffer | undefined; gzip?: Buffer | undefined },
): 'br' | 'gzip' | 'identity' {
  return negotiateEncoding(acceptEncoding, { br: asset.br !== undefined, gzip: asset.gzip !== undefined });
}

async function assets(app: FastifyInstance, options: { catalogue: AssetCatalogue }): Promise<void> {
  const { files } = options.catalogue;
  // Never shed (load-shedding.ts): served from memory, they cost next to nothing, and a page without them is broken.
  app.get(
    `${ASSET_PREFIX}*`,
    { config: { session: false, loadShedding: false } },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const path = pathOf(request.url);
      const asset = files.get(path);
      if (asset === undefined) {
        reply.callNotFound();
        return reply;
      }
      const encoding = chooseEncoding(request.headers['accept-encoding'], asset);
      reply
        .header('content-type', asset.type)
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('vary', 'Accept-Encoding');
      if (encoding === 'identity') return reply.send(asset.identity);
      reply.header('content-encoding', encoding);
      return reply.send(encoding === 'br' ? asset.br : asset.gzip);
    },
  );
}

export default fp(assets, { name: 'lpa-assets' });
