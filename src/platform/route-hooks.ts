/**
 * Platform hooks attached per route, at registration, to the routes that need them (docs/adr/0014).
 *
 * A plugin adds an `onRoute` listener that decides, from the route's method and config, whether the route needs
 * its hook, and if so calls `addRouteHook`. Every route registered after the plugin is decided this way, so no
 * route can be left out; routes that cannot need the hook (a GET has no CSRF check, a page without a session
 * loads none) do not pay for a call that would do nothing.
 *
 * Platform hooks run in the order their plugins were registered, and before any hook a route declares itself.
 */
import type { RouteOptions } from 'fastify';

export type RouteHookName = 'onRequest' | 'preValidation' | 'preHandler' | 'onSend';

/** The type of one hook of a route's `name` list, as Fastify declares it. */
type RouteHook<K extends RouteHookName> = Extract<NonNullable<RouteOptions[K]>, readonly unknown[]>[number];

type AnyHook = (...args: never[]) => unknown;

const platformHooks = new WeakSet<AnyHook>();

/** A route's hook list (one hook, a list or none) as a new list with `hook` inserted after the platform hooks. */
function withHook<H extends AnyHook>(existing: H | H[] | undefined, hook: H): H[] {
  // A new array every time: Fastify copies a GET route's options, arrays shared, for its HEAD route.
  const hooks = existing === undefined ? [] : Array.isArray(existing) ? [...existing] : [existing];
  let at = 0;
  for (const h of hooks) {
    if (!platformHooks.has(h)) break;
    at++;
  }
  platformHooks.add(hook);
  hooks.splice(at, 0, hook);
  return hooks;
}

/**
 * Adds `hook` to the route's `name` hooks: after the platform hooks already there, before the route's own.
 * The name and the hook are one tuple, so each case below knows the hook's exact type and Fastify's own types
 * check the assignment (a hook with the wrong signature for `name` does not compile).
 */
export function addRouteHook(
  route: RouteOptions,
  ...[name, hook]:
    | ['onRequest', RouteHook<'onRequest'>]
    | ['preValidation', RouteHook<'preValidation'>]
    | ['preHandler', RouteHook<'preHandler'>]
    | ['onSend', RouteHook<'onSend'>]
): void {
  switch (name) {
    case 'onRequest':
      route.onRequest = withHook(route.onRequest, hook);
      break;
    case 'preValidation':
      route.preValidation = withHook(route.preValidation, hook);
      break;
    case 'preHandler':
      route.preHandler = withHook(route.preHandler, hook);
      break;
    case 'onSend':
      route.onSend = withHook(route.onSend, hook);
      break;
  }
}

/** The methods a route answers, as a list. */
export function routeMethods(route: RouteOptions): readonly string[] {
  return Array.isArray(route.method) ? route.method : [route.method];
}
