/**
 * Summarises a V8 CPU profile (node --cpu-prof): the functions with the most self time, and the most
 * inclusive time, so the top costs on the request path stand out.
 *
 *   node bench/profile.ts bench/results/profiles/<file>.cpuprofile [top=30]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: node bench/profile.ts <file.cpuprofile> [top]');
const top = Number(topArg ?? '30');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const name = (n: ProfileNode): string => {
  const url = n.callFrame.url.replace(/.*node_modules\//, '~/').replace(/.*\/(src|bench|test)\//, '$1/');
  return `${n.callFrame.functionName === '' ? '(anonymous)' : n.callFrame.functionName} ${url}:${String(n.callFrame.lineNumber + 1)}`;
};

const timePerNode = new Map<number, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  timePerNode.set(id, (timePerNode.get(id) ?? 0) + dt);
  total += dt;
});

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, t] of timePerNode) {
  const node = byId.get(id);
  if (node === undefined) continue;
  self.set(name(node), (self.get(name(node)) ?? 0) + t);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur);
    if (n === undefined) break;
    const key = name(n);
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + t);
  }
}

const show = (title: string, map: Map<string, number>): void => {
  process.stdout.write(`--- ${title} (of ${(total / 1e6).toFixed(1)} s sampled)\n`);
  for (const [k, t] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}\n`);
  }
};
show('self time', self);
show('inclusive time', inclusive);

/**
 * Busy time (idle left out) by phase of a request: each sample goes to the first phase, in this order, that a frame
 * of its stack matches, so a render inside a handler counts as the render (how ADR 0057's figures were made).
 */
const PHASES: readonly (readonly [string, RegExp])[] = [
  ['whole-page render (reply.view)', /^renderPerRequest /],
  ['response write (headers, body, socket)', /^onSendEnd /],
  ['LPA list (backend)', /^listLpas /],
  ['Redis replies (ioredis)', /ioredis\/built\/(DataHandler|redis\/event|resp)/],
  ['Redis commands (ioredis, pipelined write)', /(executeAutoPipeline|sendCommand|Pipeline)/],
  ['access log', /(logging\.ts|sonic-boom|pino)/],
  ['PHP session decode', /decodeSession|plainData/],
  ['identity check', /identity\.ts/],
  ['CSRF', /csrf\.ts/],
  ['security headers', /security-headers\.ts/],
  ['dashboard handler (content render, splice)', /^show src\/features/],
  ['start-up (compile, load)', /(compileAllTemplates|buildApp|wrapSafe|compileFunction|_compile src)/],
  ['HTTP parsing', /(parserOnHeadersComplete|parserOnIncoming|_http_server|_http_common)/],
  ['Fastify (routing, hooks)', /fastify\/lib/],
  ['sockets', /(stream_base_commons|node:net|afterWrite|onStreamRead)/],
];
const phases = new Map<string, number>();
let busy = 0;
for (const [id, t] of timePerNode) {
  const node = byId.get(id);
  if (node === undefined || node.callFrame.functionName === '(idle)') continue;
  busy += t;
  const stack: string[] = [];
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur);
    if (n !== undefined) stack.push(name(n));
  }
  const phase =
    node.callFrame.functionName === '(garbage collector)'
      ? 'garbage collector'
      : (PHASES.find(([, re]) => stack.some((f) => re.test(f)))?.[0] ?? 'other');
  phases.set(phase, (phases.get(phase) ?? 0) + t);
}
process.stdout.write(`--- by phase (of ${(busy / 1e6).toFixed(1)} s busy)\n`);
for (const [k, t] of [...phases].sort((a, b) => b[1] - a[1]))
  process.stdout.write(`${((100 * t) / busy).toFixed(1).padStart(5)}%  ${k}\n`);
