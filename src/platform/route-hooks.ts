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

export type RouteHookName = 'onRequest' | 'preValidation' | 'onSend';

type AnyHook = (...args: never[]) => unknown;

const platformHooks = new WeakSet<AnyHook>();

function asList(value: unknown): AnyHook[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? [...(value as AnyHook[])] : [value as AnyHook];
}

/** Adds `hook` to the route's `name` hooks: after the platform hooks already there, before the route's own. */
export function addRouteHook(route: RouteOptions, name: RouteHookName, hook: AnyHook): void {
  // A new array every time: Fastify copies a GET route's options, arrays shared, for its HEAD route.
  const hooks = asList(route[name]);
  let at = 0;
  for (const existing of hooks) {
    if (!platformHooks.has(existing)) break;
    at++;
  }
  platformHooks.add(hook);
  hooks.splice(at, 0, hook);
  (route as unknown as Record<RouteHookName, AnyHook[]>)[name] = hooks;
}

/** The methods a route answers, as a list. */
export function routeMethods(route: RouteOptions): readonly string[] {
  return Array.isArray(route.method) ? route.method : [route.method];
}
