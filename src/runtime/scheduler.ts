// The one scheduler every Descope request goes through. It owns three things:
//
// 1. Pacing. Every HTTP request the SDK makes (the license handshake, each call, each retry) passes
//    through `scheduler.fetch`, which the SDK is built with. A p-queue holds the requests; each
//    one, when dequeued, waits for its slot under two rules. The window rule: request k starts no
//    earlier than W after request k-N was ANSWERED; the server counted k-N before answering it, so
//    no sliding window of W on the server ever holds more than N, whatever the network or our
//    event loop did to arrival times (start-time spacing alone cannot promise that: a stall that
//    delays a few early requests bunches them at the server). Even pacing (the default): starts
//    are also spread one every (W + safety) / N ms, so the server never sees a burst. Bursting N
//    at once (`pacing: 'window'`, the window rule alone) is kept for comparison in the benchmark.
// 2. The 429 pause. When any answer is a 429, the whole queue pauses until Retry-After (plus a small
//    margin) has passed; no request starts while paused, and the call that got the 429 is retried
//    first when it lifts. Waits are reported through `onWait`.
// 3. Retries. 500/502/503/504 (and Cloudflare's 52x/530) answers and connection failures are retried
//    with exponential backoff and jitter, a bounded number of times per call; after
//    `maxConsecutiveFailures` failed attempts in a row across all calls, the scheduler stops for good
//    and every pending and later call fails with one clear ApiError.
//
// The SDK retries 503/52x/530 itself (3 times over ~10 s, descope-api.md §1.5), unpaced and
// invisible. Our fetch turns those answers into a rejection before the SDK sees them, so the SDK
// never retries and this scheduler's policy is the only one. Non-JSON bodies (an HTML error page
// from a proxy) also become a rejection that carries the status, instead of the SDK's SyntaxError.
//
// Nothing here prints: waits go to `onWait`, failures are ApiErrors.

import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import PQueue from 'p-queue';
import { ApiError } from '../errors.ts';

export interface Budget {
  /** Requests allowed per window. */
  readonly requests: number;
  /** Window length in seconds. */
  readonly windowSeconds: number;
}

/** Descope's documented generic limit: 100 requests per 60 s, with a 60 s backoff once exceeded. */
export const DEFAULT_BUDGET: Budget = Object.freeze({ requests: 100, windowSeconds: 60 });

export type WaitReason = 'rate-limit' | 'retry';

export interface WaitEvent {
  /** `rate-limit`: the whole queue is paused for Retry-After; `retry`: one call backs off. */
  readonly reason: WaitReason;
  /** How long the wait is, from now. */
  readonly ms: number;
  /** The address of the call that caused it (`license` for the SDK's handshake). */
  readonly address: string;
  /** Retries: the attempt that failed (1-based). */
  readonly attempt?: number;
  /** The HTTP status that caused the wait; undefined for a connection failure. */
  readonly status?: number;
  /** Short description of the cause, e.g. `429 E130429` or `connection failed (ECONNRESET)`. */
  readonly cause: string;
}

export interface SchedulerOptions {
  /** Default 100 requests per 60 s. */
  budget?: Budget;
  /**
   * Extra ms added to the window when pacing, to stay a little under the budget (clock granularity,
   * a server that counts a little differently). Default max(10 ms, 1 % of the window).
   */
  safetyMs?: number;
  /** `even` (default): one start every (W + safety) / N ms. `window`: only the window rule, bursts of N allowed. */
  pacing?: 'even' | 'window';
  /** Requests in flight at once. Default 4. */
  concurrency?: number;
  /** Attempts per call for 5xx answers and connection failures (the first included). Default 5. */
  maxAttempts?: number;
  /** 429s one call may wait out before it gives up. Default 10. */
  maxRateLimitWaits?: number;
  /** Failed attempts in a row, across calls, after which the scheduler stops. Default 8. */
  maxConsecutiveFailures?: number;
  /** First retry delay; doubles per attempt. Default 500 ms. */
  backoffBaseMs?: number;
  /** Largest retry delay. Default 15 000 ms. */
  backoffMaxMs?: number;
  /** A request with no answer after this long is abandoned (and retried). Default 30 000 ms. */
  requestTimeoutMs?: number;
  /** Pause when a 429 carries no usable Retry-After. Default: the budget's window. */
  rateLimitFallbackMs?: number;
  /** Called whenever a wait starts (or a rate-limit pause is extended). Must not throw. */
  onWait?: (event: WaitEvent) => void;
  /** The fetch that reaches the network. Default globalThis.fetch. */
  fetch?: typeof fetch;
  /** Source of jitter in [0, 1). Default Math.random. */
  random?: () => number;
}

export interface SchedulerStats {
  /** HTTP requests sent (the license handshake and every retry included). */
  requests: number;
  /** 429 answers. */
  rateLimited: number;
  /** 5xx answers and connection failures (the retryable kind). */
  failures: number;
  /** Attempts repeated after a 429, a 5xx or a connection failure. */
  retries: number;
  /** Total time the queue spent paused for Retry-After, ms. */
  pausedMs: number;
  /** Epoch ms of the first and last request sent; undefined before the first. */
  firstRequestAt: number | undefined;
  lastRequestAt: number | undefined;
}

/** What the SDK resolves with (core-js-sdk `SdkResponse`), as far as the scheduler reads it. */
export interface SdkResult<T> {
  ok: boolean;
  code?: number | undefined;
  data?: T | undefined;
  error?:
    | { errorCode?: string; errorDescription?: string; errorMessage?: string; retryAfter?: unknown }
    | undefined;
}

/** `never` (the SDK's type for "no data") becomes void, so callers can await it normally. */
export type Unwrapped<T> = [T] extends [never] ? void : T;

export interface CallOptions<T> {
  /**
   * Called when the call finally fails after an earlier attempt may have reached the server (a 5xx
   * or a lost connection): e.g. a retried create that now answers "already exists". Return
   * `{ value }` when the failure is the earlier attempt's own echo (verify by reading), undefined
   * to let the error stand.
   */
  recover?: (error: ApiError) => Promise<{ value: Unwrapped<T> } | undefined>;
}

/** Statuses retried with backoff. The 52x/530 ones are what the SDK itself would retry. */
const RETRYABLE_STATUSES = new Set([500, 502, 503, 504, 520, 521, 522, 524, 530]);
/** Added to every Retry-After: the header is whole seconds and our clock is not the server's. */
const RETRY_AFTER_MARGIN_MS = 50;

/** One request's place in the pacing history. */
class Slot {
  /** When the answer (or the failure) came; undefined while the request is out. */
  doneAt: number | undefined;
  readonly done: Promise<void>;
  private resolveDone: () => void = () => undefined;

  constructor(readonly startAt: number) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  finish(): void {
    if (this.doneAt !== undefined) return;
    this.doneAt = Date.now();
    this.resolveDone();
  }
}

/** A retryable or unreadable HTTP answer, thrown from our fetch so the SDK never sees it. */
class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown> | undefined,
    readonly text: string,
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(`HTTP ${status}`);
    this.name = 'HttpFailure';
  }
}

/** No answer: refused, reset, dropped, timed out. */
class TransportFailure extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'TransportFailure';
  }
}

interface CallContext {
  address: string;
  /** Retried attempts jump the queue, so a paused call resumes before fresh ones. */
  retry: boolean;
}

type Outcome =
  | { kind: 'ok' }
  | { kind: 'rate-limit'; retryAfter: number | undefined; error: SdkResult<unknown>['error'] }
  | { kind: 'transient'; status: number | undefined; errorCode: string | undefined; cause: string; retryAfter: number | undefined; error: unknown }
  | { kind: 'final'; error: ApiError };

export class Scheduler {
  /** The fetch to build the SDK with: paced, paused on 429, never retried by the SDK. */
  readonly fetch: typeof fetch;
  readonly budget: Budget;
  /** Ms between request starts with `even` pacing. */
  readonly spacingMs: number;

  private readonly queue: PQueue;
  private readonly context = new AsyncLocalStorage<CallContext>();
  private readonly options: Required<Omit<SchedulerOptions, 'onWait' | 'budget' | 'safetyMs' | 'rateLimitFallbackMs'>> & {
    onWait: SchedulerOptions['onWait'];
    rateLimitFallbackMs: number;
  };
  private readonly pacing: 'even' | 'window';
  private readonly windowMs: number;
  /** The last N request slots, oldest first (reserved ones included). */
  private readonly history: Slot[] = [];
  private nextSlot = 0;
  private pausedUntil = 0;
  private pauseStartedAt = 0;
  private resumeTimer: NodeJS.Timeout | undefined;
  private consecutiveFailures = 0;
  private stopError: ApiError | undefined;
  private readonly counters: SchedulerStats = {
    requests: 0,
    rateLimited: 0,
    failures: 0,
    retries: 0,
    pausedMs: 0,
    firstRequestAt: undefined,
    lastRequestAt: undefined,
  };

  constructor(options: SchedulerOptions = {}) {
    const budget = options.budget ?? DEFAULT_BUDGET;
    if (!(Number.isInteger(budget.requests) && budget.requests >= 1)) {
      throw new RangeError(`budget.requests must be an integer >= 1, got ${budget.requests}`);
    }
    if (!(Number.isFinite(budget.windowSeconds) && budget.windowSeconds > 0)) {
      throw new RangeError(`budget.windowSeconds must be > 0, got ${budget.windowSeconds}`);
    }
    this.budget = budget;
    this.windowMs = budget.windowSeconds * 1000;
    const safetyMs = options.safetyMs ?? Math.max(10, this.windowMs * 0.01);
    this.pacing = options.pacing ?? 'even';
    this.spacingMs = (this.windowMs + safetyMs) / budget.requests;
    this.options = {
      concurrency: options.concurrency ?? 4,
      maxAttempts: options.maxAttempts ?? 5,
      maxRateLimitWaits: options.maxRateLimitWaits ?? 10,
      maxConsecutiveFailures: options.maxConsecutiveFailures ?? 8,
      backoffBaseMs: options.backoffBaseMs ?? 500,
      backoffMaxMs: options.backoffMaxMs ?? 15_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      rateLimitFallbackMs: options.rateLimitFallbackMs ?? this.windowMs,
      pacing: this.pacing,
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      random: options.random ?? Math.random,
      onWait: options.onWait,
    };
    this.queue = new PQueue({ concurrency: this.options.concurrency });
    this.fetch = ((input: string | URL | Request, init?: RequestInit) => this.send(input, init)) as typeof fetch;
  }

  /**
   * Runs one SDK call to completion: unwraps `{ok, data}` into the value, retries what is
   * retryable, and turns everything else into an ApiError that starts with `address`.
   */
  async call<T>(address: string, send: () => Promise<SdkResult<T>>, options: CallOptions<T> = {}): Promise<Unwrapped<T>> {
    // `attempt` counts tries that failed for a retryable reason (5xx, no answer); 429s are waited
    // out separately and do not use up attempts.
    let attempt = 0;
    let rateLimitWaits = 0;
    let uncertain = false;
    for (;;) {
      if (this.stopError) throw this.stopError;
      attempt += 1;
      const retry = attempt > 1 || rateLimitWaits > 0;
      if (retry) this.counters.retries += 1;
      let result: SdkResult<T> | undefined;
      let outcome: Outcome;
      try {
        result = await this.context.run({ address, retry }, send);
        outcome = this.classifyResult(address, result);
      } catch (error) {
        if (error === this.stopError) throw error;
        outcome = this.classifyThrown(address, error);
      }

      switch (outcome.kind) {
        case 'ok':
          this.consecutiveFailures = 0;
          return (result?.data ?? undefined) as Unwrapped<T>;
        case 'rate-limit': {
          rateLimitWaits += 1;
          if (rateLimitWaits > this.options.maxRateLimitWaits) {
            throw new ApiError(
              `${address}: still rate limited (429) after waiting ${this.options.maxRateLimitWaits} times; stopped`,
              {
                address,
                status: 429,
                errorCode: outcome.error?.errorCode,
                retryAfter: outcome.retryAfter,
                hint: 'Another client may be using the same budget; lower the environment budget or retry later',
              },
            );
          }
          // The queue was paused when the 429 arrived (see send); the retry just queues behind it.
          attempt -= 1;
          continue;
        }
        case 'transient': {
          uncertain = true;
          this.counters.failures += 1;
          this.consecutiveFailures += 1;
          const last = outcome.cause;
          if (this.consecutiveFailures >= this.options.maxConsecutiveFailures) {
            const error = new ApiError(
              `${address}: the Descope API failed ${this.consecutiveFailures} times in a row (last: ${last}); stopped instead of hammering it; retry later`,
              {
                address,
                status: outcome.status,
                errorCode: outcome.errorCode,
                retryAfter: outcome.retryAfter,
                cause: outcome.error,
                hint: 'Descope may be having an outage (https://status.descope.com); nothing after this point was sent',
              },
            );
            this.stop(error);
            throw error;
          }
          if (attempt >= this.options.maxAttempts) {
            throw new ApiError(`${address}: the Descope API failed ${attempt} times for this call (last: ${last}); gave up`, {
              address,
              status: outcome.status,
              errorCode: outcome.errorCode,
              retryAfter: outcome.retryAfter,
              cause: outcome.error,
              hint: 'Retry later; if it persists, check https://status.descope.com',
            });
          }
          const ms = this.backoffMs(attempt, outcome.retryAfter);
          this.report({ reason: 'retry', ms, address, attempt, status: outcome.status, cause: last });
          await sleep(ms);
          continue;
        }
        case 'final': {
          this.consecutiveFailures = 0;
          if (uncertain && options.recover) {
            let recovered: { value: Unwrapped<T> } | undefined;
            try {
              recovered = await options.recover(outcome.error);
            } catch (error) {
              if (error === this.stopError) throw error;
              // The verifying read failed: the original answer is the one to report.
            }
            if (recovered) return recovered.value;
          }
          throw outcome.error;
        }
      }
    }
  }

  stats(): SchedulerStats {
    const pausedNow = this.pausedUntil > Date.now() ? Date.now() - this.pauseStartedAt : 0;
    return { ...this.counters, pausedMs: this.counters.pausedMs + Math.max(0, pausedNow) };
  }

  /** Whether the queue is paused for a 429 right now. */
  get paused(): boolean {
    return this.pausedUntil > Date.now();
  }

  /** Stops for good: pending and later calls reject with `error`. */
  stop(error: ApiError): void {
    if (this.stopError) return;
    this.stopError = error;
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
    this.pausedUntil = 0;
    // Let queued requests run: each one finds the stop error and fails at once, unsent.
    this.queue.start();
  }

  // --- the paced fetch -------------------------------------------------------------------------

  private send(input: string | URL | Request, init: RequestInit | undefined): Promise<Response> {
    const context = this.context.getStore();
    const address = context?.address ?? 'license';
    return this.queue.add(() => this.sendNow(address, input, init), { priority: context?.retry ? 1 : 0 });
  }

  private async sendNow(address: string, input: string | URL | Request, init: RequestInit | undefined): Promise<Response> {
    if (this.stopError) throw this.stopError;
    const slot = await this.acquireSlot();
    try {
      return await this.fetchInSlot(address, input, init);
    } finally {
      slot.finish();
    }
  }

  private async fetchInSlot(address: string, input: string | URL | Request, init: RequestInit | undefined): Promise<Response> {
    if (this.stopError) throw this.stopError;
    const now = Date.now();
    this.counters.requests += 1;
    this.counters.firstRequestAt ??= now;
    this.counters.lastRequestAt = now;

    const timeout = AbortSignal.timeout(this.options.requestTimeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await this.options.fetch(input, { ...init, signal });
      text = await response.text();
    } catch (error) {
      throw new TransportFailure(describeTransportError(error, this.options.requestTimeoutMs), { cause: error });
    }

    const body = parseJsonObject(text);
    const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'));
    if (response.status === 429) {
      this.counters.rateLimited += 1;
      const ms =
        retryAfterSeconds !== undefined && retryAfterSeconds > 0
          ? retryAfterSeconds * 1000 + RETRY_AFTER_MARGIN_MS
          : this.options.rateLimitFallbackMs;
      this.pauseFor(ms, address, `429${codeSuffix(body)}`);
    }
    if (RETRYABLE_STATUSES.has(response.status)) {
      throw new HttpFailure(response.status, body, text, retryAfterSeconds);
    }
    // The SDK parses every body as JSON and crashes on anything else: hand it JSON, or fail here
    // with the status in hand. A 429 must reach the SDK whatever its body says.
    if (text.trim() === '' || (response.status === 429 && !isJson(text))) text = '{}';
    else if (body === undefined && !isJson(text)) throw new HttpFailure(response.status, undefined, text, retryAfterSeconds);
    const headers = new Headers(response.headers);
    headers.delete('content-length');
    headers.delete('content-encoding');
    const status = response.status === 204 || response.status === 205 ? 200 : response.status;
    return new Response(text, { status, statusText: response.statusText, headers });
  }

  /**
   * Waits for this request's start slot. Two rules, both kept:
   * - the window rule: request k starts no earlier than W after request k-N was
   *   ANSWERED. The server counted k-N before it answered it, so however late it arrived there
   *   (network jitter, a stalled event loop), no window of W on the server holds more than N;
   * - even pacing (default): starts lie on a grid of (W + safety) / N, so there are no bursts.
   *   The grid moves on from where a slot actually started, so a late timer costs one slot
   *   nothing and the rate never exceeds the budget.
   * A pause for a 429 that begins while waiting forfeits the slot (it is counted as spent).
   */
  private async acquireSlot(): Promise<Slot> {
    const n = this.budget.requests;
    for (;;) {
      if (this.stopError) throw this.stopError;
      const now = Date.now();
      if (this.pausedUntil > now) {
        await sleep(this.pausedUntil - now);
        continue;
      }
      const nth = this.history.length >= n ? this.history[this.history.length - n] : undefined;
      if (nth && nth.doneAt === undefined) {
        await nth.done;
        continue;
      }
      // Exact, not padded: the rule is already conservative (an answer comes after the arrival).
      const windowFloor = nth?.doneAt !== undefined ? nth.doneAt + this.windowMs : now;
      const startAt =
        this.pacing === 'even'
          ? Math.max(now, this.nextSlot, windowFloor)
          : Math.max(now, this.history.at(-1)?.startAt ?? now, windowFloor);
      if (this.pacing === 'even') this.nextSlot = startAt + this.spacingMs;
      const slot = new Slot(startAt);
      this.history.push(slot);
      if (this.history.length > n) this.history.splice(0, this.history.length - n);
      if (startAt > now) await sleep(Math.ceil(startAt - now));
      if (this.pausedUntil > Date.now()) {
        slot.finish();
        continue;
      }
      return slot;
    }
  }

  private pauseFor(ms: number, address: string, cause: string): void {
    if (this.stopError) return;
    const now = Date.now();
    const until = now + ms;
    if (until <= this.pausedUntil) return;
    // An extension keeps the original start: the whole pause is counted once, when it lifts.
    if (this.pausedUntil <= now) this.pauseStartedAt = now;
    this.pausedUntil = until;
    this.queue.pause();
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = undefined;
      this.counters.pausedMs += Date.now() - this.pauseStartedAt;
      this.queue.start();
    }, ms);
    this.report({ reason: 'rate-limit', ms, address, status: 429, cause });
  }

  private backoffMs(attempt: number, retryAfterSeconds: number | undefined): number {
    const exponential = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** (attempt - 1));
    // "Equal jitter": at least half the delay, so retries never bunch up at zero.
    const jittered = exponential / 2 + this.options.random() * (exponential / 2);
    const asked = retryAfterSeconds !== undefined && retryAfterSeconds > 0 ? retryAfterSeconds * 1000 : 0;
    return Math.round(Math.max(jittered, asked));
  }

  private report(event: WaitEvent): void {
    try {
      this.options.onWait?.(event);
    } catch {
      // A reporting callback must not break the run.
    }
  }

  // --- classification --------------------------------------------------------------------------

  private classifyResult(address: string, result: SdkResult<unknown>): Outcome {
    if (result.ok) return { kind: 'ok' };
    const status = result.code;
    const error = result.error;
    if (status === 429) {
      return { kind: 'rate-limit', retryAfter: toSeconds(error?.retryAfter), error };
    }
    return { kind: 'final', error: apiErrorFromAnswer(address, status, error) };
  }

  private classifyThrown(address: string, error: unknown): Outcome {
    if (error instanceof TransportFailure) {
      return { kind: 'transient', status: undefined, errorCode: undefined, cause: error.message, retryAfter: undefined, error };
    }
    if (error instanceof HttpFailure) {
      const errorCode = typeof error.body?.['errorCode'] === 'string' ? error.body['errorCode'] : undefined;
      if (RETRYABLE_STATUSES.has(error.status)) {
        return {
          kind: 'transient',
          status: error.status,
          errorCode,
          cause: `${error.status}${errorCode ? ` ${errorCode}` : ''}${describeBody(error.body, error.text)}`,
          retryAfter: error.retryAfterSeconds,
          error,
        };
      }
      return {
        kind: 'final',
        error: new ApiError(
          `${address}: Descope answered ${error.status} with a body that is not JSON (${snippet(error.text)})`,
          {
            address,
            status: error.status,
            hint: 'Is the base URL right? It should point at the Descope API (https://api.descope.com)',
          },
        ),
      };
    }
    if (error instanceof ApiError) return { kind: 'final', error };
    const message = error instanceof Error ? error.message : String(error);
    return {
      kind: 'final',
      error: new ApiError(`${address}: the Descope SDK call failed: ${message}`, { address, cause: error }),
    };
  }
}

/** The ApiError for a Descope error answer (anything but 429 and the retryable statuses). */
export function apiErrorFromAnswer(address: string, status: number | undefined, error: SdkResult<unknown>['error']): ApiError {
  const code = error?.errorCode;
  const parts = [error?.errorDescription, error?.errorMessage].filter(
    (part, index, all): part is string => typeof part === 'string' && part !== '' && all.indexOf(part) === index,
  );
  const what = parts.length > 0 ? `: ${parts.join(': ')}` : '';
  return new ApiError(`${address}: Descope answered ${status ?? '?'}${code ? ` ${code}` : ''}${what}`, {
    address,
    status,
    errorCode: code,
    retryAfter: toSeconds(error?.retryAfter),
    hint: status === 401 || status === 403 ? 'Check the project id and the management key' : undefined,
  });
}

function toSeconds(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value);
  return undefined;
}

function parseRetryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number.parseInt(header, 10);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, Math.ceil((date - Date.now()) / 1000)) : undefined;
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function codeSuffix(body: Record<string, unknown> | undefined): string {
  return typeof body?.['errorCode'] === 'string' ? ` ${body['errorCode']}` : '';
}

function describeBody(body: Record<string, unknown> | undefined, text: string): string {
  if (body) {
    const message = body['errorMessage'] ?? body['errorDescription'];
    return typeof message === 'string' && message !== '' ? ` ${message}` : '';
  }
  return text.trim() === '' ? '' : ` (not JSON: ${snippet(text)})`;
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat === '' ? 'empty' : flat;
}

function describeTransportError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  }
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return `connection failed (${code ?? message})`;
}
