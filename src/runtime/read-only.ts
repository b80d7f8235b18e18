// Read-only mode: the API of a command that only reads (diff, drift, show, backup, import) refuses,
// before sending, every request that is not one of the read endpoints below. The runner's checks
// on base URLs are the first line; this is the second, so that no base URL, SDK change or code
// path can turn a read-only command into a write: a base URL ending in `/v1/mgmt/flow/delete?`
// once made `diff` send `POST /v1/mgmt/flow/delete` in place of `POST /v1/mgmt/flow/list`.
//
// A refused request is a bug in descope-run (or the SDK), never the user's input: it is a plain
// Error, which the CLI reports as a crash with its stack, naming the method and path.

/**
 * Every request a read-only command may send: `METHOD /path` (no query), relative to the base URL.
 * What the adapters' reads call (descope-api.md §2), plus the SDK's license handshake. POST is a
 * verb of reads too (list, search, export), which is why the list names paths and not verbs alone.
 */
export const READ_ENDPOINTS: ReadonlySet<string> = new Set([
  'GET /v1/mgmt/license', // the SDK's handshake, sent by the DescopeClient constructor
  'GET /v1/mgmt/tenant/all', // tenant.loadAll
  'GET /v1/mgmt/tenant', // tenant.load
  'GET /v1/mgmt/tenant/settings', // tenant.getSettings (POST on the same path writes)
  'GET /v2/mgmt/sso/settings', // sso.loadSettings (DELETE on the same path removes)
  'POST /v1/mgmt/role/search', // role.search
  'GET /v1/mgmt/permission/all', // permission.loadAll
  'POST /v1/mgmt/flow/list', // flow.list
  'POST /v1/mgmt/flow/export', // flow.export
  'POST /v1/mgmt/theme/export', // theme.export
  'GET /v1/mgmt/password/settings', // password.getSettings (POST on the same path writes)
  'POST /v1/mgmt/audit/search', // audit.search (drift's attribution)
]);

/** A request a read-only API refused to send. A bug: never caught as an expected error. */
export class ReadOnlyViolation extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    reason: string,
  ) {
    super(
      `read-only: refused to send ${method} ${path}: ${reason}. This command only reads, and only the read endpoints may be called (src/runtime/read-only.ts); nothing was sent`,
    );
    this.name = 'ReadOnlyViolation';
  }
}

function requestOf(input: string | URL | Request, init: RequestInit | undefined): { method: string; url: URL | undefined } {
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  try {
    return { method, url: new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url) };
  } catch {
    return { method, url: undefined };
  }
}

/**
 * `fetch`, refusing every request but READ_ENDPOINTS on `baseUrl` (undefined: the SDK's default,
 * which has no path). Checked before `fetch` is called, so a refused request is never queued,
 * counted or sent.
 */
export function readOnlyFetch(fetch: typeof globalThis.fetch, baseUrl: string | undefined): typeof globalThis.fetch {
  const base = baseUrl === undefined ? undefined : new URL(baseUrl);
  const basePath = base ? base.pathname.replace(/\/+$/, '') : '';
  return ((input: string | URL | Request, init?: RequestInit) => {
    const { method, url } = requestOf(input, init);
    if (!url) return Promise.reject(new ReadOnlyViolation(method, String(input), 'not a URL'));
    if (base && url.origin !== base.origin) {
      return Promise.reject(new ReadOnlyViolation(method, url.href.split('?')[0] ?? '', `it is not on the base URL ${base.origin}`));
    }
    const path = url.pathname.startsWith(`${basePath}/`) ? url.pathname.slice(basePath.length) : undefined;
    if (path === undefined || !READ_ENDPOINTS.has(`${method} ${path}`)) {
      return Promise.reject(new ReadOnlyViolation(method, url.pathname, 'it is not a read endpoint'));
    }
    return fetch(input, init);
  }) as typeof globalThis.fetch;
}
