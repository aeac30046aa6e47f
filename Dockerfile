# Production image for lpa-front (ADR 0008 A05, A06, A08).
# - Base: Node 24 LTS on Debian bookworm-slim, pinned by digest (a tag can be re-pointed; a digest cannot).
#   Renovate updates the digest (renovate.json, "pinDigests"). Keep the major in step with package.json engines.
# - Three stages: production dependencies only, the build (assets, compiled server), and a runtime stage holding
#   nothing else.
# - Runs as the unprivileged `node` user with a read-only root filesystem: it writes only to $DATA_DIR
#   (a volume) and /tmp. Run with: docker run --read-only --tmpfs /tmp -v lpa-data:/data -p 8005:8005 ...
# - No install scripts run (npm ci --ignore-scripts): production dependencies have none to run.
# test/supply-chain/dockerfile.test.ts checks these properties, since no container engine runs in CI here.

# 1. Production dependencies, exactly as locked.
FROM node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 2. Build: hashed, compressed static assets, and the server compiled to JavaScript (ADR 0058). TypeScript is a
#    development dependency, so this stage installs them all; none of it reaches the runtime stage.
FROM node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY scripts/build-assets.ts scripts/build-server.ts scripts/build-output.ts ./scripts/
COPY assets ./assets
COPY src ./src
RUN node scripts/build-assets.ts && node scripts/build-server.ts

# 3. Runtime: the compiled server with its templates and words, its dependencies and the assets (no TypeScript).
FROM node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d AS runtime
# The package managers are not needed at run time: less to patch, less to abuse.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
    && mkdir -p /data && chown node:node /data
WORKDIR /app
# MALLOC_ARENA_MAX=2: glibc's per-thread malloc arenas let RSS creep under load while the V8 heap stays flat
# (bench soak: 20 MiB per 100,000 requests without it, 2 MiB with it; docs/adr/0006).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8005 \
    DATA_DIR=/data \
    MALLOC_ARENA_MAX=2
COPY --chown=root:root package.json ./
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
VOLUME ["/data"]
USER node
EXPOSE 8005
# The probe reaches the app by address (Host 127.0.0.1:8005): /ping/elb is one of the paths the production Host check
# lets through (HOST_CHECK_EXEMPT in src/platform/limits.ts).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT ?? '8005') + '/ping/elb').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# V8 heap sizing (docs/adr/0032): on a large host V8 lets one worker's young generation grow to 2 x 64 MiB and its old
# space to 4x the live heap before collecting; these keep a worker near 150 MiB RSS. Cluster workers inherit them.
CMD ["node", "--max-semi-space-size=8", "--max-old-space-size=768", "dist/server/server.js"]
