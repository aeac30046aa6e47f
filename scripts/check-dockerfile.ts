// Container recipe gate (ADR 0008 A05, A06, A08). No container engine runs here, so the production
// Dockerfile's properties are checked from its text:
//   - every base image is Node 24 (the engines major) pinned by @sha256 digest; at least two stages;
//   - production dependencies come from `npm ci --omit=dev` (never `npm install`), install scripts off;
//   - the final stage runs as a non-root USER with NODE_ENV=production, declares its data folder a VOLUME
//     (read-only root filesystem: the app writes only there and to /tmp), copies only named runtime files
//     (no `COPY . .`, no ADD), has a HEALTHCHECK on /ping/elb made with node itself (no curl or wget),
//     EXPOSEs 8005 and starts with CMD ["node", <NODE_MEMORY_FLAGS>, "dist/server/server.js"] (the compiled build,
//     ADR 0058).
// Used by test/supply-chain/dockerfile.test.ts; run alone with `node scripts/check-dockerfile.ts`.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

/** Splits a Dockerfile into instructions, joining `\` continuations and dropping comments. */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let buffer = '';
  let startLine = 0;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (buffer === '' && (line === '' || line.startsWith('#'))) return;
    if (buffer !== '' && line.startsWith('#')) return; // comment lines inside a continuation
    if (buffer === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      buffer += `${line.slice(0, -1)} `;
      return;
    }
    buffer += line;
    const match = /^(\S+)\s*([\s\S]*)$/.exec(buffer);
    if (match?.[1] !== undefined)
      instructions.push({ keyword: match[1].toUpperCase(), args: match[2] ?? '', line: startLine });
    buffer = '';
  });
  return instructions;
}

export interface DockerfileRules {
  /** The Node major the base image must carry (package.json engines). */
  readonly nodeMajor: number;
  readonly port: number;
  readonly healthPath: string;
  readonly cmd: readonly string[];
}

/**
 * V8 heap sizing for a worker (docs/adr/0032): a young generation of 2 x 8 MiB, and old-space growth of about 1.5x
 * live (a 768 MiB limit; 384 gave 1.35x, a third more full collections and about 10 % more CPU per request in the mixed
 * scenario).
 */
export const NODE_MEMORY_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=768'] as const;

export const DEFAULT_RULES: DockerfileRules = {
  nodeMajor: 24,
  port: 8005,
  healthPath: '/ping/elb',
  cmd: ['node', ...NODE_MEMORY_FLAGS, 'dist/server/server.js'],
};

function stageOf(from: string): { image: string; name?: string } {
  const parts = from.split(/\s+/).filter((p) => !p.startsWith('--'));
  const image = parts[0] ?? '';
  const asIndex = parts.findIndex((p) => p.toUpperCase() === 'AS');
  const name = asIndex >= 0 ? parts[asIndex + 1] : undefined;
  return name === undefined ? { image } : { image, name };
}

/** node:24, node:24-bookworm-slim, node:24.11.1-slim, docker.io/library/node:24... (digest already checked). */
function isNodeImage(image: string, major: number): boolean {
  const name = image.split('@')[0] ?? '';
  const repoAndTag = name.replace(/^docker\.io\//, '').replace(/^library\//, '');
  if (!repoAndTag.startsWith('node:')) return false;
  const tagMajor = /^\d+/.exec(repoAndTag.slice('node:'.length))?.[0];
  return tagMajor === String(major);
}

function envKeys(args: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) {
    if (match[1] !== undefined) map.set(match[1], (match[2] ?? '').replace(/^"|"$/g, ''));
  }
  if (map.size === 0) {
    const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s+(.+)$/.exec(args); // ENV KEY value
    if (legacy?.[1] !== undefined && legacy[2] !== undefined) map.set(legacy[1], legacy[2].trim());
  }
  return map;
}

function jsonArray(args: string): string[] | undefined {
  try {
    const value: unknown = JSON.parse(args);
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Returns the problems found; an empty list means the Dockerfile passes. */
export function checkDockerfile(text: string, rules: DockerfileRules = DEFAULT_RULES): string[] {
  const problems: string[] = [];
  const instructions = parseDockerfile(text);
  const froms = instructions.filter((i) => i.keyword === 'FROM');
  if (froms.length < 2) problems.push('use a multi-stage build (dependencies/build stages, then a runtime stage)');

  const stageNames = new Set<string>();
  for (const from of froms) {
    const { image, name } = stageOf(from.args);
    if (stageNames.has(image)) {
      // FROM an earlier stage: fine.
    } else if (!/@sha256:[0-9a-f]{64}$/.test(image)) {
      problems.push(`line ${from.line}: base image "${image}" must be pinned by @sha256 digest`);
    } else if (!isNodeImage(image, rules.nodeMajor)) {
      problems.push(`line ${from.line}: base image "${image}" must be the Node ${rules.nodeMajor} image`);
    }
    if (name !== undefined) stageNames.add(name);
  }

  for (const i of instructions) {
    if (i.keyword === 'ADD') problems.push(`line ${i.line}: use COPY, not ADD (ADD fetches URLs and unpacks archives)`);
    if (i.keyword === 'RUN' && /\bnpm\s+(?:install|i|add)\b/.test(i.args))
      problems.push(`line ${i.line}: use npm ci (the lockfile), not npm install`);
    if (i.keyword === 'ARG' && /SECRET|TOKEN|PASSWORD|KEY/i.test(i.args))
      problems.push(`line ${i.line}: no secrets as build args (they stay in the image history)`);
  }
  const npmCi = instructions.filter((i) => i.keyword === 'RUN' && /\bnpm\s+ci\b/.test(i.args));
  if (!npmCi.some((i) => /--omit=dev\b/.test(i.args)))
    problems.push('install production dependencies with npm ci --omit=dev');
  for (const i of npmCi) {
    if (!/--ignore-scripts\b/.test(i.args))
      problems.push(`line ${i.line}: npm ci in the image must use --ignore-scripts`);
  }

  // The final stage: everything after the last FROM.
  const lastFrom = froms.at(-1);
  const final = lastFrom === undefined ? [] : instructions.slice(instructions.indexOf(lastFrom) + 1);
  const users = final.filter((i) => i.keyword === 'USER');
  const user = users.at(-1)?.args.trim();
  if (user === undefined) problems.push('the final stage must set a non-root USER');
  else if (/^(?:root|0)(?::|$)/.test(user))
    problems.push(`the final stage runs as "${user}": use a non-root USER (node)`);

  const env = new Map<string, string>();
  for (const i of final.filter((x) => x.keyword === 'ENV')) for (const [k, v] of envKeys(i.args)) env.set(k, v);
  if (env.get('NODE_ENV') !== 'production') problems.push('the final stage must set ENV NODE_ENV=production');
  const dataDir = env.get('DATA_DIR');
  const volumes = final.filter((i) => i.keyword === 'VOLUME').flatMap((i) => jsonArray(i.args) ?? i.args.split(/\s+/));
  if (dataDir === undefined) problems.push('the final stage must set ENV DATA_DIR (the only writable folder)');
  else if (!volumes.includes(dataDir))
    problems.push(`DATA_DIR ${dataDir} must be a VOLUME so the root filesystem can be read-only`);

  for (const i of final.filter((x) => x.keyword === 'COPY')) {
    const sources = i.args
      .split(/\s+/)
      .filter((p) => !p.startsWith('--'))
      .slice(0, -1);
    if (!i.args.includes('--from=') && sources.some((s) => s === '.' || s === './' || s === '*')) {
      problems.push(`line ${i.line}: the final stage must copy named runtime files, not the whole build context`);
    }
  }

  const health = final.filter((i) => i.keyword === 'HEALTHCHECK').at(-1);
  if (health === undefined || /^NONE\b/i.test(health.args)) problems.push('the final stage needs a HEALTHCHECK');
  else {
    if (!health.args.includes(rules.healthPath)) problems.push(`the HEALTHCHECK must request ${rules.healthPath}`);
    if (/\b(?:curl|wget)\b/.test(health.args))
      problems.push('the HEALTHCHECK must use node itself (no curl or wget in the image)');
    if (!/\bCMD\s+\[\s*"node"/.test(health.args))
      problems.push('the HEALTHCHECK must run node in exec form: CMD ["node", ...]');
  }

  if (
    !final.some(
      (i) => i.keyword === 'EXPOSE' && i.args.split(/\s+/).some((p) => p.replace(/\/tcp$/, '') === String(rules.port)),
    )
  ) {
    problems.push(`the final stage must EXPOSE ${rules.port}`);
  }
  const cmd = final.filter((i) => i.keyword === 'CMD').at(-1);
  const cmdArgs = cmd === undefined ? undefined : jsonArray(cmd.args);
  if (cmdArgs === undefined || JSON.stringify(cmdArgs) !== JSON.stringify(rules.cmd)) {
    problems.push(`the final stage must start with CMD ${JSON.stringify(rules.cmd)} (exec form, no shell, no npm)`);
  }
  if (final.some((i) => i.keyword === 'ENTRYPOINT')) problems.push('no ENTRYPOINT: CMD starts node directly');
  return problems;
}

/** .dockerignore must deny everything first and never re-allow secrets, git metadata, installed modules or data. */
export function checkDockerignore(text: string): string[] {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const problems: string[] = [];
  if (lines[0] !== '*' && lines[0] !== '**')
    problems.push('.dockerignore must start with "*" (deny all) and then allow what the build needs');
  for (const line of lines.filter((l) => l.startsWith('!'))) {
    if (/^!(?:\*\*\/)?(?:\.env|\.git|node_modules|data|\.stack|.*\.(?:pem|key))(?:\/|\b|$)/.test(line)) {
      problems.push(`.dockerignore must not re-include ${line.slice(1)}`);
    }
  }
  return problems;
}

async function main(): Promise<number> {
  const text = await readFile(fileURLToPath(new URL('../Dockerfile', import.meta.url)), 'utf8');
  const ignore = await readFile(fileURLToPath(new URL('../.dockerignore', import.meta.url)), 'utf8');
  const problems = [...checkDockerfile(text), ...checkDockerignore(ignore)];
  for (const p of problems) console.error(`Dockerfile: ${p}`);
  if (problems.length > 0) return 1;
  console.log('check-dockerfile: Dockerfile passes');
  return 0;
}

if (import.meta.main) {
  process.exitCode = await main();
}
