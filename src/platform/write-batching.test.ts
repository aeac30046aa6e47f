import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import writeBatching, { writeAtEndOfTurn } from './write-batching.ts';

test('the response is handed back to be written only once the current turn is over, unchanged', async () => {
  const payload = Buffer.from('page');
  const calls: unknown[][] = [];
  writeAtEndOfTurn(undefined as never, undefined as never, payload, (...args) => {
    calls.push(args);
  });
  assert.equal(calls.length, 0, 'not in the same turn');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(calls, [[null, payload]]);
  assert.equal(calls[0]?.[1], payload, 'the same payload object');
});

test('requests handled in one turn are all handled before the first response is written', async (t) => {
  const app = Fastify();
  t.after(() => app.close());
  await app.register(writeBatching);
  const events: string[] = [];
  app.addHook('onResponse', (request, _reply, done) => {
    events.push(`written ${request.url}`);
    done();
  });
  app.get('/:n', (request, reply) => {
    events.push(`handled ${request.url}`);
    return reply.send('ok');
  });
  // inject() dispatches each request on its own tick; the writes still wait for the turn to end.
  const responses = await Promise.all(['/1', '/2', '/3'].map(async (url) => app.inject({ url })));
  assert.deepEqual(
    responses.map((r) => r.body),
    ['ok', 'ok', 'ok'],
  );
  assert.deepEqual(events.slice(0, 3), ['handled /1', 'handled /2', 'handled /3'], events.join(', '));
});
