// What an API base URL may be, wherever it comes from (an environment file's baseUrl,
// DESCOPE_BASE_URL). The SDK builds every request as `${baseUrl}/${path}` by string concatenation,
// so anything after the path changes which endpoint a call reaches: a base URL ending in
// `/v1/mgmt/flow/delete?` turned the read `POST /v1/mgmt/flow/list` into a delete, and one ending
// in `#` sends every call to the path before it. So only an http(s) origin with an optional path
// of plain segments is accepted: no query, no fragment, no credentials, nothing percent-encoded,
// no `.`/`..` segments, no blanks or control characters. Pure: imported by the DSL schema and the runner.

const PATH = /^(?:\/[A-Za-z0-9._~-]+)*\/?$/;

/** The example every message gives. */
export const BASE_URL_EXAMPLE = 'https://api.descope.com';

/** Why `raw` cannot be an API base URL (a phrase, e.g. `it has a query string (?…)`), or undefined when it can. */
export function baseUrlProblem(raw: string): string | undefined {
  // The URL parser drops tabs and line breaks and trims blanks; the SDK's concatenation would not.
  if (/[\s\x00-\x1f\x7f]/.test(raw)) return 'it contains a blank or a control character';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'it is not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `it is a ${url.protocol} URL, not http: or https:`;
  if (url.username !== '' || url.password !== '' || raw.includes('@')) {
    return 'it holds a user name or password (user:password@); the management key is the only credential descope-run sends';
  }
  if (raw.includes('?')) return 'it has a query string (?…), which would change the path of every call';
  if (raw.includes('#')) return 'it has a fragment (#…), which would cut the path off every call';
  if (raw.includes('\\') || raw.includes('%')) return 'its path holds a backslash or a percent-encoded character';
  const rawPath = raw.slice(raw.indexOf('//') + 2).replace(/^[^/]*/, '');
  if (rawPath.split('/').some((segment) => segment === '.' || segment === '..')) return 'its path holds a "." or ".." segment';
  if (!PATH.test(url.pathname)) return 'its path may hold only letters, digits and "-", "_", ".", "~" between slashes';
  return undefined;
}

/** `raw` as messages show it: a user name and password (refused, but still a secret) masked. */
export function shownBaseUrl(raw: string): string {
  return JSON.stringify(raw.replace(/\/\/[^/?#]*@/, '//…@'));
}

/**
 * The form the SDK is given and base URLs are compared in: origin plus path, no trailing slash
 * (`HTTPS://API.Descope.com/` is `https://api.descope.com`). Only for a URL baseUrlProblem accepts.
 */
export function normalizeBaseUrl(raw: string): string {
  const url = new URL(raw);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
