// The misbehaviour a client must survive: a request budget with a backoff penalty (429 +
// Retry-After), added latency, random 5xx answers, dropped connections, and deterministic
// "fail (or hold) the next N requests" rules. All switchable per run and at runtime.

import { DEFAULT_FAULT_STATUSES, DEFAULT_INJECTED_RETRY_AFTER_SECONDS, LICENSE_PATH } from './fidelity.ts';
import type { RandomSource } from './random.ts';

export interface RateBudget {
  /** Requests allowed per window. */
  requests: number;
  windowMs: number;
  /** Backoff once the budget is exceeded; defaults to windowMs. */
  penaltyMs?: number | undefined;
}

/**
 * When an injected failure happens relative to the handler:
 * - 'before': the request never reaches the handler, so state is unchanged;
 * - 'after': the handler runs (a write lands and is persisted) and then the answer is replaced
 *   by the failure: the "write landed but the response was lost" case.
 */
export type FaultTiming = 'before' | 'after';

export interface FaultSettings {
  /** Added to every answer, in ms. */
  latencyMs: number;
  /** Extra random latency, uniform in [0, latencyJitterMs]. */
  latencyJitterMs: number;
  /** Share (0..1) of requests answered with one of faultStatuses. */
  faultRate: number;
  /** Statuses picked uniformly for random faults. */
  faultStatuses: number[];
  /** Share (0..1) of requests whose connection is destroyed without an answer. */
  dropRate: number;
  /** When random faults and drops happen. */
  faultTiming: FaultTiming;
  /** Request budget; null for none. */
  rate: RateBudget | null;
}

export const DEFAULT_FAULT_SETTINGS: FaultSettings = {
  latencyMs: 0,
  latencyJitterMs: 0,
  faultRate: 0,
  faultStatuses: [...DEFAULT_FAULT_STATUSES],
  dropRate: 0,
  faultTiming: 'before',
  rate: null,
};

export interface FailNextRule {
  /** How many matching requests fail (or are held); default 1. */
  count?: number;
  /**
   * HTTP status to answer (JSON error body), or 'drop' to destroy the connection. Left out (only
   * with `holdMs`), the request is answered as usual once the hold ends.
   */
  status?: number | 'drop' | undefined;
  /**
   * Hold each matching request this long before it goes on (authentication, the handler, the
   * answer; see fidelity.ts HELD_REQUESTS). A client that gave up meanwhile is not noticed: the
   * handler still runs, so a write lands late, after the client may have retried it.
   */
  holdMs?: number | undefined;
  /** Only requests to this path (exact, no query string) or matching this RegExp. */
  path?: string | RegExp;
  /** Only requests with this verb. */
  method?: string;
  /** Default 'before'. */
  when?: FaultTiming;
  /** Retry-After header for an injected 429 (default 1). */
  retryAfterSeconds?: number;
}

export type Fault = (
  | { kind: 'status'; status: number; when: FaultTiming; retryAfterSeconds?: number | undefined }
  | { kind: 'drop'; when: FaultTiming }
  /** Only held: answered as usual afterwards. */
  | { kind: 'hold'; when: 'after' }
) & {
  /** Ms to hold the request first (failNext holdMs). */
  holdMs?: number | undefined;
};

interface PendingRule {
  remaining: number;
  rule: FailNextRule;
}

function checkShare(name: string, value: number): void {
  if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be between 0 and 1, got ${value}`);
}

function checkNonNegative(name: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`${name} must be a number >= 0, got ${value}`);
}

function checkStatus(status: number): void {
  if (!(Number.isInteger(status) && status >= 400 && status <= 599)) {
    throw new RangeError(`fault status must be an integer in 400..599, got ${status}`);
  }
}

export function validateRateBudget(rate: RateBudget): RateBudget {
  if (!(Number.isInteger(rate.requests) && rate.requests >= 1)) {
    throw new RangeError(`rate.requests must be an integer >= 1, got ${rate.requests}`);
  }
  if (!(Number.isFinite(rate.windowMs) && rate.windowMs > 0)) {
    throw new RangeError(`rate.windowMs must be > 0, got ${rate.windowMs}`);
  }
  if (rate.penaltyMs !== undefined) checkNonNegative('rate.penaltyMs', rate.penaltyMs);
  return { requests: rate.requests, windowMs: rate.windowMs, penaltyMs: rate.penaltyMs };
}

export function validateFaultSettings(settings: FaultSettings): FaultSettings {
  checkNonNegative('latencyMs', settings.latencyMs);
  checkNonNegative('latencyJitterMs', settings.latencyJitterMs);
  checkShare('faultRate', settings.faultRate);
  checkShare('dropRate', settings.dropRate);
  if (settings.faultRate > 0 && settings.faultStatuses.length === 0) {
    throw new RangeError('faultStatuses must not be empty when faultRate > 0');
  }
  settings.faultStatuses.forEach(checkStatus);
  if (settings.faultTiming !== 'before' && settings.faultTiming !== 'after') {
    throw new RangeError(`faultTiming must be 'before' or 'after', got ${String(settings.faultTiming)}`);
  }
  return {
    ...settings,
    faultStatuses: [...settings.faultStatuses],
    rate: settings.rate === null ? null : validateRateBudget(settings.rate),
  };
}

/**
 * A sliding-window request budget. Once a request would exceed it, a backoff starts: every
 * request during it is refused (and not counted); when it ends the window starts empty.
 */
export class RequestBudget {
  readonly budget: RateBudget;
  private readonly clock: () => number;
  private arrivals: number[] = [];
  private penaltyUntil = 0;

  constructor(budget: RateBudget, clock: () => number = Date.now) {
    this.budget = budget;
    this.clock = clock;
  }

  /** undefined if the request may go ahead; otherwise the ms left until the backoff ends. */
  take(): number | undefined {
    const now = this.clock();
    if (this.penaltyUntil > now) return this.penaltyUntil - now;
    if (this.penaltyUntil !== 0) {
      this.penaltyUntil = 0;
      this.arrivals = [];
    }
    const windowStart = now - this.budget.windowMs;
    let firstInWindow = 0;
    while (firstInWindow < this.arrivals.length && (this.arrivals[firstInWindow] ?? 0) <= windowStart) firstInWindow += 1;
    if (firstInWindow > 0) this.arrivals.splice(0, firstInWindow);
    if (this.arrivals.length >= this.budget.requests) {
      const penalty = this.budget.penaltyMs ?? this.budget.windowMs;
      this.arrivals = [];
      if (penalty <= 0) return undefined;
      this.penaltyUntil = now + penalty;
      return penalty;
    }
    this.arrivals.push(now);
    return undefined;
  }
}

export class FaultInjector {
  private current: FaultSettings;
  private budget: RequestBudget | null;
  private rules: PendingRule[] = [];
  private readonly random: RandomSource;

  constructor(settings: FaultSettings, random: RandomSource) {
    this.current = validateFaultSettings(settings);
    this.budget = this.current.rate ? new RequestBudget(this.current.rate) : null;
    this.random = random;
  }

  settings(): FaultSettings {
    return {
      ...this.current,
      faultStatuses: [...this.current.faultStatuses],
      rate: this.current.rate ? { ...this.current.rate } : null,
    };
  }

  /** Changes some settings; giving `rate` (even the same one) starts a fresh budget. */
  update(changes: Partial<FaultSettings>): void {
    const next = validateFaultSettings({ ...this.current, ...changes });
    this.current = next;
    if ('rate' in changes) this.budget = next.rate ? new RequestBudget(next.rate) : null;
  }

  failNext(rule: FailNextRule): void {
    const count = rule.count ?? 1;
    if (!(Number.isInteger(count) && count >= 1)) throw new RangeError(`failNext count must be an integer >= 1, got ${count}`);
    if (rule.holdMs !== undefined) checkNonNegative('holdMs', rule.holdMs);
    if (rule.status === undefined) {
      if (!(rule.holdMs !== undefined && rule.holdMs > 0)) throw new RangeError('failNext needs a status, or holdMs > 0 to only hold requests');
    } else if (rule.status !== 'drop') checkStatus(rule.status);
    if (rule.when !== undefined && rule.when !== 'before' && rule.when !== 'after') {
      throw new RangeError(`failNext when must be 'before' or 'after', got ${String(rule.when)}`);
    }
    if (rule.retryAfterSeconds !== undefined) checkNonNegative('retryAfterSeconds', rule.retryAfterSeconds);
    this.rules.push({ remaining: count, rule: { ...rule } });
  }

  clearFailNext(): void {
    this.rules = [];
  }

  /** Failures still queued by failNext. */
  pendingFailures(): number {
    return this.rules.reduce((sum, pending) => sum + pending.remaining, 0);
  }

  /** Latency to add to this request, in ms. */
  latency(): number {
    const { latencyMs, latencyJitterMs } = this.current;
    return latencyMs + (latencyJitterMs > 0 ? this.random() * latencyJitterMs : 0);
  }

  /** undefined if within budget; otherwise the ms of backoff left. The license handshake is exempt. */
  checkBudget(path: string): number | undefined {
    if (!this.budget || path === LICENSE_PATH) return undefined;
    return this.budget.take();
  }

  /** The failure for this request, if any: a matching failNext rule first, then random rolls. */
  pick(method: string, path: string): Fault | undefined {
    const index = this.rules.findIndex(({ rule }) => ruleMatches(rule, method, path));
    const pending = index >= 0 ? this.rules[index] : undefined;
    if (pending) {
      pending.remaining -= 1;
      if (pending.remaining <= 0) this.rules.splice(index, 1);
      const when = pending.rule.when ?? 'before';
      const hold = pending.rule.holdMs ? { holdMs: pending.rule.holdMs } : {};
      if (pending.rule.status === undefined) return { kind: 'hold', when: 'after', ...hold };
      if (pending.rule.status === 'drop') return { kind: 'drop', when, ...hold };
      return {
        ...hold,
        kind: 'status',
        status: pending.rule.status,
        when,
        retryAfterSeconds:
          pending.rule.status === 429
            ? (pending.rule.retryAfterSeconds ?? DEFAULT_INJECTED_RETRY_AFTER_SECONDS)
            : pending.rule.retryAfterSeconds,
      };
    }
    if (path === LICENSE_PATH) return undefined;
    const { dropRate, faultRate, faultStatuses, faultTiming } = this.current;
    if (dropRate > 0 && this.random() < dropRate) return { kind: 'drop', when: faultTiming };
    if (faultRate > 0 && this.random() < faultRate) {
      const status = faultStatuses[Math.floor(this.random() * faultStatuses.length)] ?? 500;
      return {
        kind: 'status',
        status,
        when: faultTiming,
        retryAfterSeconds: status === 429 ? DEFAULT_INJECTED_RETRY_AFTER_SECONDS : undefined,
      };
    }
    return undefined;
  }
}

function ruleMatches(rule: FailNextRule, method: string, path: string): boolean {
  if (rule.method !== undefined && rule.method.toUpperCase() !== method) return false;
  if (rule.path === undefined) return path !== LICENSE_PATH;
  if (typeof rule.path === 'string') return rule.path === path;
  rule.path.lastIndex = 0;
  return rule.path.test(path);
}
