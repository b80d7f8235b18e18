// What the emulator answered: counts per `METHOD /path` and per status, plus a bounded list of
// the most recent requests. Tests and benchmarks read it; nothing here prints.

export interface RequestLogEntry {
  /** Epoch ms when the request arrived. */
  time: number;
  method: string;
  /** Path without the query string. */
  path: string;
  /** HTTP status sent, or 0 when the connection was dropped without an answer. */
  status: number;
  /** The route changes state (POST/DELETE management writes), whatever the outcome. */
  write: boolean;
  /** The write was applied to the state (true even if the response was then lost). */
  applied: boolean;
  /** Why the emulator answered as it did, when it was not the handler's own answer (`held`: its own answer, late). */
  fault?: 'rate-limited' | 'injected' | 'dropped' | 'held' | undefined;
  /** Time from arrival to answer, latency included. */
  durationMs: number;
}

export interface RouteCount {
  total: number;
  /** Keyed by status as a string; '0' means dropped. */
  byStatus: Record<string, number>;
}

export const DEFAULT_RECENT_LIMIT = 1000;

export class RequestLog {
  private readonly limit: number;
  private entries: RequestLogEntry[] = [];
  private routes = new Map<string, RouteCount>();
  private statuses = new Map<number, number>();
  private totalCount = 0;
  private appliedCount = 0;

  constructor(limit = DEFAULT_RECENT_LIMIT) {
    this.limit = Math.max(1, limit);
  }

  record(entry: RequestLogEntry): void {
    this.totalCount += 1;
    if (entry.applied) this.appliedCount += 1;
    const key = `${entry.method} ${entry.path}`;
    const route = this.routes.get(key) ?? { total: 0, byStatus: {} };
    route.total += 1;
    route.byStatus[String(entry.status)] = (route.byStatus[String(entry.status)] ?? 0) + 1;
    this.routes.set(key, route);
    this.statuses.set(entry.status, (this.statuses.get(entry.status) ?? 0) + 1);
    this.entries.push(entry);
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
  }

  /** Every request since the last reset, including dropped ones. */
  get total(): number {
    return this.totalCount;
  }

  /** Writes applied to the state since the last reset. */
  get appliedWrites(): number {
    return this.appliedCount;
  }

  /** Requests to `METHOD /path` (e.g. count('POST', '/v1/mgmt/tenant/create')), optionally with one status. */
  count(method: string, path: string, status?: number): number {
    const route = this.routes.get(`${method.toUpperCase()} ${path}`);
    if (!route) return 0;
    return status === undefined ? route.total : (route.byStatus[String(status)] ?? 0);
  }

  /** Requests answered with `status` (0 = dropped). */
  countStatus(status: number): number {
    return this.statuses.get(status) ?? 0;
  }

  /** Copy of the per-route counts, keyed `METHOD /path`. */
  byRoute(): Record<string, RouteCount> {
    const out: Record<string, RouteCount> = {};
    for (const [key, value] of this.routes) out[key] = { total: value.total, byStatus: { ...value.byStatus } };
    return out;
  }

  /** Copy of the per-status counts, keyed by status as a string. */
  byStatus(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [status, count] of [...this.statuses].sort((a, b) => a[0] - b[0])) out[String(status)] = count;
    return out;
  }

  /** The most recent entries, oldest first (at most `n`, and at most the configured limit). */
  recent(n?: number): RequestLogEntry[] {
    const slice = n === undefined ? this.entries : this.entries.slice(Math.max(0, this.entries.length - n));
    return slice.map((entry) => ({ ...entry }));
  }

  reset(): void {
    this.entries = [];
    this.routes = new Map();
    this.statuses = new Map();
    this.totalCount = 0;
    this.appliedCount = 0;
  }
}
