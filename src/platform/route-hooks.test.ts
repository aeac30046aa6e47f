import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { addRouteHook, routeMethods } from './route-hooks.ts';

test("platform route hooks run once each, in plugin order, before the route's own, on GET and its HEAD", async (t) => {
  const app = Fastify();
  t.after(() => app.close());
  const calls: string[] = [];
  const hook = (name: string) =>
    function named(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
      calls.push(`${name} ${request.method}`);
      done();
    };
  const first = hook('first');
  const second = hook('second');
  app.addHook('onRoute', (route) => {
    if (route.url !== '/bare') addRouteHook(route, 'onRequest', first);
  });
  app.addHook('onRoute', (route) => {
    if (routeMethods(route).includes('POST')) addRouteHook(route, 'onRequest', second);
  });
  // The route's own hooks as an array: Fastify's HEAD route shares the GET route's array.
  app.route({ method: ['GET', 'POST'], url: '/page', onRequest: [hook('own')], handler: () => 'ok' });
  app.get('/bare', () => 'ok');
  await app.ready();

  for (const method of ['GET', 'HEAD', 'POST'] as const) {
    calls.length = 0;
    assert.equal((await app.inject({ method, url: '/page' })).statusCode, 200);
    assert.deepEqual(
      calls,
      method === 'POST' || method === 'GET'
        ? [`first ${method}`, `second ${method}`, `own ${method}`]
        : [`first ${method}`, `own ${method}`],
    );
  }
  calls.length = 0;
  await app.inject({ method: 'GET', url: '/bare' });
  await app.inject({ method: 'GET', url: '/nowhere' });
  assert.deepEqual(calls, [], 'a route the listener skips, and an unknown path, run none');
});
