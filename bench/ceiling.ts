/**
 * The ceiling: a bare node:http server that writes, for every request, byte for byte the status, headers
 * and body lpa-front sent for one URL (captured by bench/run.ts). Same number of processes as the app
 * (node:cluster), pinned by the caller to the same cores. Node adds Date, Connection and Keep-Alive
 * itself, exactly as it does for Fastify; keepAliveTimeout matches src/app.ts so those are identical too.
 *
 *   node bench/ceiling.ts <response.json> <port> <processes>
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import http from 'node:http';

interface Saved {
  status: number;
  headers: [string, string][];
  body: string;
}

const [file, portArg, procsArg] = process.argv.slice(2);
if (file === undefined || portArg === undefined)
  throw new Error('usage: node bench/ceiling.ts <response.json> <port> [processes]');
const processes = Number(procsArg ?? '1');

if (cluster.isPrimary && processes > 1) {
  for (let i = 0; i < processes; i++) cluster.fork();
  process.once('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const saved = JSON.parse(readFileSync(file, 'utf8')) as Saved;
  const body = Buffer.from(saved.body, 'base64');
  const headers = saved.headers.flat();
  const server = http.createServer((_req, res) => {
    res.writeHead(saved.status, headers);
    res.end(body);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(Number(portArg), '127.0.0.1');
  process.once('SIGTERM', () => {
    server.close();
    process.exit(0);
  });
}
