// The route table: every (verb, path) the emulator implements. Anything else is "not supported".

import type { Method, Route } from './handlers/context.ts';
import { auditRoutes } from './handlers/audit.ts';
import { flowRoutes } from './handlers/flows.ts';
import { permissionRoutes } from './handlers/permissions.ts';
import { projectRoutes } from './handlers/project.ts';
import { roleRoutes } from './handlers/roles.ts';
import { ssoRoutes } from './handlers/sso.ts';
import { tenantRoutes } from './handlers/tenants.ts';

export interface RouteMatch {
  route: Route | undefined;
  /** Verbs implemented for this path (empty when the path is unknown). */
  allowed: Method[];
}

export interface Router {
  match(method: string, path: string): RouteMatch;
  readonly routes: readonly Route[];
}

export function createRouter(options: { rateLimitTier: string }): Router {
  const routes: Route[] = [
    ...projectRoutes(options.rateLimitTier),
    ...tenantRoutes,
    ...flowRoutes,
    ...roleRoutes,
    ...permissionRoutes,
    ...ssoRoutes,
    ...auditRoutes,
  ];
  const byKey = new Map<string, Route>();
  const byPath = new Map<string, Method[]>();
  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    if (byKey.has(key)) throw new Error(`emulator route registered twice: ${key}`);
    byKey.set(key, route);
    byPath.set(route.path, [...(byPath.get(route.path) ?? []), route.method]);
  }
  return {
    routes,
    match(method, path) {
      return { route: byKey.get(`${method} ${path}`), allowed: byPath.get(path) ?? [] };
    },
  };
}
