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
// 4. Writes that must not be sent twice blindly (a create, a delete, a rename) come with a
//    `landed` read. After an attempt whose outcome is unknown, the write is not resent until that
//    read says it has not landed: checked once when Descope answered (a 5xx: it is done with the
//    request), and polled for the settle time when no answer came (a timeout, a dropped
//    connection, a gateway timeout), because the request may still be on its way and land late,
//    after a resend and after whatever the caller does next. Resending while such an attempt may
//    still land is reported to the caller (`onUnsettled`), so that nothing depends on it.
//
// The SDK retries 503/52x/530 itself (3 times over ~10 s, descope-api.md §1.5), unpaced and
// invisible. Our fetch turns those answers into a rejection before the SDK sees them, so the SDK
// never retries and this scheduler's policy is the only one. Non-JSON bodies (an HTML error page
// from a proxy) also become a rejection that carries the status, instead of the SDK's SyntaxError.
//
// Failures are worded for the person who has to act on them. A failure of the whole connection
// (the key rejected, the host not found or refusing, no answer, an outage, a rate limit that will
// not lift, a base URL that is not the Descope API) starts with `label` (e.g. `environment
// "prod"`) and says what to do; a failure about one resource starts with its address.
//
// Secrets: every text that came from a server (error descriptions, bodies, codes) passes through
// `redact` before it is put into a message or a wait's cause, and before any of it is cut short
// (./redact.ts). No error carries a server's raw answer as its cause.
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
  /**
   * How long a write that got no answer is watched (its `landed` read polled) before it is sent
   * again: the time it may still take to land. Default: the request timeout.
   */
  settleMs?: number;
  /** Takes every secret out of a text from a server (./redact.ts); applied before any cut. Default: none. */
  redact?: (text: string) => string;
  /** Pause when a 429 carries no usable Retry-After. Default: the budget's window. */
  rateLimitFallbackMs?: number;
  /**
   * What failures of the whole connection are about, the start of their message: e.g.
   * `environment "prod"`. Default `the Descope API`.
   */
  label?: string;
  /**
   * What to do when Descope rejects the management key (401/403), e.g. `check
   * DESCOPE_PROD_MANAGEMENT_KEY and that it is a key of project P2…`. Never the key itself.
   */
  authAction?: string;
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

export interface CallOptions<T = unknown> {
  /**
   * For a write that must not be sent twice blindly (a create, a delete, a rename): reads the live
   * project and says whether this write has taken effect. Asked after an attempt whose outcome is
   * unknown, before the write is sent again (see 4. above), and once more when a later attempt
   * fails (a resent create answering "already exists" because the first one landed after all).
   * When it says yes, the call resolves with `undefined` (no answer data: whatever the caller
   * needs from the answer, the read must keep). A read that fails counts as "not known"; its
   * answers never reset the failure streak.
   */
  landed?: () => Promise<boolean>;
  /**
   * Called once, when the call has ended (resolved or rejected), if an attempt that got no answer
   * may still reach Descope and land: it was not seen landing before the write was sent again, or
   * before the call gave up. Whatever must not be undone by it (a create after a delete) should
   * not go ahead.
   */
  onUnsettled?: () => void;
}

/** Statuses retried with backoff. The 52x/530 ones are what the SDK itself would retry. */
const RETRYABLE_STATUSES = new Set([500, 502, 503, 504, 520, 521, 522, 524, 530]);
/** Gateway timeouts: the gateway gave up waiting, the server behind it may still be working on the request. */
const GATEWAY_TIMEOUTS = new Set([504, 524]);
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
    /** Where the answer came from: `https://api.descope.com`. */
    readonly origin: string,
  ) {
    super(`HTTP ${status}`);
    this.name = 'HttpFailure';
  }
}

/** Why no answer came: what a person can do about it differs. */
type TransportReason = 'timeout' | 'refused' | 'dns' | 'other';

/** No answer: refused, reset, dropped, timed out, host not found. */
class TransportFailure extends Error {
  constructor(
    message: string,
    readonly reason: TransportReason,
    /** The system error code (ECONNREFUSED, ENOTFOUND, UND_ERR_SOCKET…), when there is one. */
    readonly errorCode: string | undefined,
    /** Where the request went: `https://api.descope.com`. */
    readonly origin: string,
    options: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'TransportFailure';
  }
}

/** A request that no network could carry: the fetch refused it before sending (a bad header value). */
class RequestRejected extends Error {
  constructor(options: { cause: unknown }) {
    super('the request could not be sent', options);
    this.name = 'RequestRejected';
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
  | {
      kind: 'transient';
      /**
       * Whether the request may have landed: `not-sent` (refused, host not found, no connection
       * made), `answered` (a 5xx: the server is done with it), `no-answer` (a timeout, a dropped
       * connection, a gateway timeout: it may still be on its way).
       */
      delivery: 'not-sent' | 'answered' | 'no-answer';
      status: number | undefined;
      errorCode: string | undefined;
      cause: string;
      retryAfter: number | undefined;
      /** Set when there was no answer at all. */
      transport?: TransportFailure | undefined;
    }
  | { kind: 'final'; error: ApiError };

export class Scheduler {
  /** The fetch to build the SDK with: paced, paused on 429, never retried by the SDK. */
  readonly fetch: typeof fetch;
  readonly budget: Budget;
  /** Ms between request starts with `even` pacing. */
  readonly spacingMs: number;

  private readonly queue: PQueue;
  private readonly context = new AsyncLocalStorage<CallContext>();
  /** Set while a `landed` read runs: its answers say nothing about the write that failed. */
  private readonly probing = new AsyncLocalStorage<true>();
  private readonly options: Required<Omit<SchedulerOptions, 'onWait' | 'budget' | 'safetyMs' | 'rateLimitFallbackMs' | 'authAction' | 'settleMs'>> & {
    onWait: SchedulerOptions['onWait'];
    rateLimitFallbackMs: number;
    authAction: string | undefined;
    settleMs: number;
  };
  private readonly pacing: 'even' | 'window';
  private readonly windowMs: number;
  /** Requests sent and not yet answered (see settled). */
  private readonly inFlight = new Set<Promise<Response>>();
  /** The last N request slots, oldest first (reserved ones included). */
  private readonly history: Slot[] = [];
  private nextSlot = 0;
  private pausedUntil = 0;
  private pauseStartedAt = 0;
  private resumeTimer: NodeJS.Timeout | undefined;
  private consecutiveFailures = 0;
  private stopError: ApiError | undefined;
  /** Where the last request went (for messages about the connection). */
  private origin: string | undefined;
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
    const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.options = {
      concurrency: options.concurrency ?? 4,
      maxAttempts: options.maxAttempts ?? 5,
      maxRateLimitWaits: options.maxRateLimitWaits ?? 10,
      maxConsecutiveFailures: options.maxConsecutiveFailures ?? 8,
      backoffBaseMs: options.backoffBaseMs ?? 500,
      backoffMaxMs: options.backoffMaxMs ?? 15_000,
      requestTimeoutMs,
      settleMs: options.settleMs ?? requestTimeoutMs,
      redact: options.redact ?? ((text: string) => text),
      rateLimitFallbackMs: options.rateLimitFallbackMs ?? this.windowMs,
      pacing: this.pacing,
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      random: options.random ?? Math.random,
      label: options.label ?? 'the Descope API',
      authAction: options.authAction,
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
    const track = { unsettled: false };
    try {
      return await this.run(address, send, options, track);
    } finally {
      if (track.unsettled) {
        try {
          options.onUnsettled?.();
        } catch {
          // A callback must not change the outcome of the call.
        }
      }
    }
  }

  private async run<T>(
    address: string,
    send: () => Promise<SdkResult<T>>,
    options: CallOptions<T>,
    track: { unsettled: boolean },
  ): Promise<Unwrapped<T>> {
    // `attempt` counts tries that failed for a retryable reason (5xx, no answer); 429s are waited
    // out separately and do not use up attempts.
    let attempt = 0;
    let rateLimitWaits = 0;
    /** An attempt may have reached the server without our knowing whether it landed. */
    let uncertain = false;
    const probing = this.probing.getStore() === true;
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
          // A `landed` read that works says nothing of the write that keeps failing.
          if (!probing) this.consecutiveFailures = 0;
          return (result?.data ?? undefined) as Unwrapped<T>;
        case 'rate-limit': {
          rateLimitWaits += 1;
          if (rateLimitWaits > this.options.maxRateLimitWaits) throw this.rateLimitError(address, outcome);
          // The queue was paused when the 429 arrived (see send); the retry just queues behind it.
          attempt -= 1;
          continue;
        }
        case 'transient': {
          if (outcome.delivery !== 'not-sent') uncertain = true;
          this.counters.failures += 1;
          this.consecutiveFailures += 1;
          const noAnswer = outcome.delivery === 'no-answer';
          // A request that was out when another call stopped the scheduler ends with that stop.
          if (this.stopError) {
            if (noAnswer) track.unsettled = true;
            throw this.stopError;
          }
          if (this.consecutiveFailures >= this.options.maxConsecutiveFailures) {
            if (noAnswer) track.unsettled = true;
            const error = this.failureError('stop', address, this.consecutiveFailures, outcome);
            this.stop(error);
            throw error;
          }
          const ms = this.backoffMs(attempt, outcome.retryAfter);
          if (options.landed && outcome.delivery !== 'not-sent') {
            // Not resent blindly: first find out whether it landed (see 4. at the top).
            const window = noAnswer ? Math.max(ms, this.options.settleMs) : ms;
            const wait = noAnswer
              ? `; it may still land: checking for up to ${formatMs(window)} before sending it again`
              : '; checking whether it landed before sending it again';
            this.report({ reason: 'retry', ms: window, address, attempt, status: outcome.status, cause: `${outcome.cause}${wait}` });
            if (await this.settle(options.landed, ms, noAnswer ? window : 0)) {
              this.consecutiveFailures = 0;
              return undefined as Unwrapped<T>;
            }
            // Sent again (or given up) while this attempt may still land.
            if (noAnswer) track.unsettled = true;
            if (attempt >= this.options.maxAttempts) throw this.failureError('gave-up', address, attempt, outcome);
            continue;
          }
          if (attempt >= this.options.maxAttempts) throw this.failureError('gave-up', address, attempt, outcome);
          this.report({ reason: 'retry', ms, address, attempt, status: outcome.status, cause: outcome.cause });
          await sleep(ms);
          continue;
        }
        case 'final': {
          if (!probing) this.consecutiveFailures = 0;
          if (uncertain && options.landed) {
            // E.g. a resent create that answers "already exists": the earlier attempt landed after all.
            if (await this.probe(options.landed)) return undefined as Unwrapped<T>;
          }
          throw outcome.error;
        }
      }
    }
  }

  /**
   * Asks `landed` after `firstMs`, then (while `windowMs` since the start has not passed) again at
   * doubling intervals, the last one at the end of the window. True as soon as it says so.
   */
  private async settle(landed: () => Promise<boolean>, firstMs: number, windowMs: number): Promise<boolean> {
    const deadline = Date.now() + windowMs;
    let delay = firstMs;
    for (;;) {
      await sleep(Math.max(0, windowMs > 0 ? Math.min(delay, deadline - Date.now()) : delay));
      if (this.stopError) throw this.stopError;
      if (await this.probe(landed)) return true;
      if (Date.now() >= deadline) return false;
      delay = Math.min(delay * 2, this.options.backoffMaxMs);
    }
  }

  /** One `landed` read; a failed read is "not known" (a stopped scheduler still stops). */
  private async probe(landed: () => Promise<boolean>): Promise<boolean> {
    try {
      return (await this.probing.run(true, landed)) === true;
    } catch {
      if (this.stopError) throw this.stopError;
      return false;
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

  private fetchInSlot(address: string, input: string | URL | Request, init: RequestInit | undefined): Promise<Response> {
    // Tracked until answered: once stopped, `settled()` waits for what is still out, so a command
    // that returns leaves no request of its own behind (a caller may run the next one at once).
    const request = this.fetchNow(address, input, init);
    this.inFlight.add(request);
    const untrack = () => this.inFlight.delete(request);
    request.then(untrack, untrack);
    return request;
  }

  /** Resolves when no request is out any more (or after `maxMs`, whichever comes first). */
  async settled(maxMs = 5_000): Promise<void> {
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, maxMs)));
    await Promise.race([Promise.allSettled([...this.inFlight]).then(() => undefined), bound]);
    clearTimeout(timer);
  }

  private async fetchNow(address: string, input: string | URL | Request, init: RequestInit | undefined): Promise<Response> {
    if (this.stopError) throw this.stopError;
    const now = Date.now();
    this.counters.requests += 1;
    this.counters.firstRequestAt ??= now;
    this.counters.lastRequestAt = now;

    const origin = originOf(input);
    this.origin = origin;
    const timeout = AbortSignal.timeout(this.options.requestTimeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await this.options.fetch(input, { ...init, signal });
      text = await response.text();
    } catch (error) {
      // fetch rejects a request it cannot even build (a header value with a line break, say) with
      // a bare TypeError whose message quotes the value: never retried, never echoed.
      if (error instanceof TypeError && error.cause === undefined) throw new RequestRejected({ cause: error });
      const { message, reason, code } = describeTransportError(error, this.options.requestTimeoutMs);
      throw new TransportFailure(message, reason, code, origin, { cause: error });
    }

    const body = parseJsonObject(text);
    const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'));
    if (response.status === 429) {
      this.counters.rateLimited += 1;
      const ms =
        retryAfterSeconds !== undefined && retryAfterSeconds > 0
          ? retryAfterSeconds * 1000 + RETRY_AFTER_MARGIN_MS
          : this.options.rateLimitFallbackMs;
      this.pauseFor(ms, address, `429${codeSuffix(body, this.options.redact)}`);
    }
    if (RETRYABLE_STATUSES.has(response.status)) {
      throw new HttpFailure(response.status, body, text, retryAfterSeconds, origin);
    }
    // The SDK parses every body as JSON and crashes on anything else: hand it JSON, or fail here
    // with the status in hand. A 429 must reach the SDK whatever its body says.
    if (text.trim() === '' || (response.status === 429 && !isJson(text))) text = '{}';
    else if (body === undefined && !isJson(text)) throw new HttpFailure(response.status, undefined, text, retryAfterSeconds, origin);
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
    // A 404 that is not a Descope error (no error code) is a server that is not the Descope API.
    if (status === 404 && !error?.errorCode) return { kind: 'final', error: this.notTheApiError(address, 404, this.origin, undefined) };
    return {
      kind: 'final',
      error: apiErrorFromAnswer(address, status, error, { label: this.options.label, authAction: this.options.authAction, redact: this.options.redact }),
    };
  }

  private classifyThrown(address: string, error: unknown): Outcome {
    const redact = this.options.redact;
    if (error instanceof TransportFailure) {
      // Refused, not found, or no connection made in time: the request never left. Anything else
      // (our timeout, a reset) may have reached the server.
      const notSent = error.reason === 'refused' || error.reason === 'dns' || error.errorCode === 'UND_ERR_CONNECT_TIMEOUT';
      return {
        kind: 'transient',
        delivery: notSent ? 'not-sent' : 'no-answer',
        status: undefined,
        errorCode: error.errorCode,
        cause: redact(error.message),
        retryAfter: undefined,
        transport: error,
      };
    }
    if (error instanceof HttpFailure) {
      const errorCode = typeof error.body?.['errorCode'] === 'string' ? redact(error.body['errorCode']) : undefined;
      if (RETRYABLE_STATUSES.has(error.status)) {
        return {
          kind: 'transient',
          delivery: GATEWAY_TIMEOUTS.has(error.status) ? 'no-answer' : 'answered',
          status: error.status,
          errorCode,
          cause: `${error.status}${errorCode ? ` ${errorCode}` : ''}${describeBody(error.body, error.text, redact)}`,
          retryAfter: error.retryAfterSeconds,
        };
      }
      return { kind: 'final', error: this.notTheApiError(address, error.status, error.origin, error.text) };
    }
    if (error instanceof RequestRejected) {
      const label = this.options.label;
      return {
        kind: 'final',
        error: new ApiError(
          `${label}: the request for ${address} could not be sent: a header value is invalid (a line break or another character HTTP does not allow in the project id or the management key?)`,
          { address, hint: 'check the project id and the management key for stray spaces, quotes or line breaks' },
        ),
      };
    }
    if (error instanceof ApiError) return { kind: 'final', error };
    const message = error instanceof Error ? error.message : String(error);
    // Not its cause: an SDK error may hold the request or the answer. Only a TypeError (the SDK's
    // transform failing on an answer it cannot read) and the read-only guard's refusal are kept, for
    // api.ts to report them as what they are; it drops every cause on the way out.
    const keep = error instanceof TypeError || (error instanceof Error && error.name === 'ReadOnlyViolation');
    return { kind: 'final', error: new ApiError(`${address}: the Descope SDK call failed: ${redact(message)}`, { address, ...(keep ? { cause: error } : {}) }) };
  }

  // --- wording ---------------------------------------------------------------------------------

  /** An answer that did not come from the Descope API: the base URL points somewhere else. */
  private notTheApiError(address: string, status: number, origin: string | undefined, text: string | undefined): ApiError {
    const what = text === undefined ? '' : ` (${text.trim() === '' ? 'an empty body' : `not JSON: ${snippet(text, this.options.redact)}`})`;
    return new ApiError(
      `${this.options.label}: ${origin ?? 'the base URL'} answered ${status}${what} for ${address}, so it is not the Descope management API; check the base URL`,
      {
        address,
        status,
        hint: `set baseUrl in the environment file (or DESCOPE_BASE_URL) to the Descope API: https://api.descope.com unless your project is in another region`,
      },
    );
  }

  /** 429s that did not lift after `maxRateLimitWaits` pauses. */
  private rateLimitError(address: string, outcome: Extract<Outcome, { kind: 'rate-limit' }>): ApiError {
    const errorCode = outcome.error?.errorCode ? this.options.redact(outcome.error.errorCode) : undefined;
    const code = errorCode ? ` ${errorCode}` : '';
    const { requests, windowSeconds } = this.budget;
    return new ApiError(
      `${this.options.label}: still rate limited (429${code}) after waiting ${times(this.options.maxRateLimitWaits)} for ${address}: another client is using this project's rate limit; retry later`,
      {
        address,
        status: 429,
        errorCode,
        retryAfter: outcome.retryAfter,
        hint: `if nothing else uses the project, its limit is below this environment's budget (${requests} requests per ${windowSeconds} s): lower budget.requests in the environment file`,
      },
    );
  }

  /**
   * Retryable failures that did not go away: `stop` after failures in a row across calls (the
   * scheduler stops), `gave-up` after one call's attempts ran out. No answer at all is a problem
   * of the connection (its message names the host and what to check); a 5xx is Descope's.
   */
  private failureError(kind: 'stop' | 'gave-up', address: string, count: number, outcome: Extract<Outcome, { kind: 'transient' }>): ApiError {
    const label = this.options.label;
    const tries = kind === 'stop' ? `${times(count)} in a row` : `${times(count)} for ${address}`;
    const then = kind === 'stop' ? 'stopped, nothing more was sent' : 'gave up on it';
    const common = { address, status: outcome.status, errorCode: outcome.errorCode, retryAfter: outcome.retryAfter };
    const transport = outcome.transport;
    if (transport) {
      const origin = transport.origin;
      switch (transport.reason) {
        case 'dns':
          return new ApiError(
            `${label}: the host ${hostOf(origin)} of the base URL ${origin} was not found (${transport.errorCode ?? 'DNS'}, ${tries}); check the base URL`,
            {
              ...common,
              hint: 'set baseUrl in the environment file (or DESCOPE_BASE_URL) to the Descope API, https://api.descope.com by default; if it is right, check DNS and the network',
            },
          );
        case 'refused':
          return new ApiError(
            `${label}: ${origin} refused the connection (${transport.errorCode ?? 'ECONNREFUSED'}, ${tries}); check the base URL and that the service is up`,
            { ...common, hint: 'the base URL is baseUrl in the environment file, or DESCOPE_BASE_URL' },
          );
        case 'timeout':
          return new ApiError(
            `${label}: ${origin} gave no answer within ${formatMs(this.options.requestTimeoutMs)} (${tries}); ${then}; check the network and retry later`,
            {
              ...common,
              hint: `see https://status.descope.com; the time limit per request is ${this.options.requestTimeoutMs} ms (DESCOPE_RUN_REQUEST_TIMEOUT_MS)`,
            },
          );
        case 'other':
          return new ApiError(
            `${label}: the connection to ${origin} failed (${transport.errorCode ?? transport.message}, ${tries}); ${then}; check the network and retry later`,
            { ...common, hint: 'a proxy or firewall in between? see also https://status.descope.com' },
          );
      }
    }
    return new ApiError(`${label}: Descope failed ${tries} (last: ${outcome.cause}${kind === 'stop' ? `, for ${address}` : ''}); ${then}; retry later`, {
      ...common,
      hint: 'Descope may be having an outage (https://status.descope.com); running the command again redoes nothing that landed',
    });
  }
}

/** How a scheduler words failures of the whole connection (see SchedulerOptions). */
export interface ErrorWording {
  label?: string | undefined;
  authAction?: string | undefined;
  /** Takes secrets out of the answer's texts (./redact.ts). */
  redact?: ((text: string) => string) | undefined;
}

/**
 * The ApiError for a Descope error answer (anything but 429 and the retryable statuses). A 401 or
 * 403 is about the key, not the resource: it starts with the label and says what to check.
 */
export function apiErrorFromAnswer(
  address: string,
  status: number | undefined,
  error: SdkResult<unknown>['error'],
  wording: ErrorWording = {},
): ApiError {
  // Texts from the server: they may echo what was sent (a secret in a request body).
  const redact = wording.redact ?? ((text: string) => text);
  const code = typeof error?.errorCode === 'string' ? redact(error.errorCode) : undefined;
  const parts = [error?.errorDescription, error?.errorMessage]
    .map((part) => (typeof part === 'string' ? redact(part) : part))
    .filter((part, index, all): part is string => typeof part === 'string' && part !== '' && all.indexOf(part) === index);
  const what = parts.length > 0 ? `: ${parts.join(': ')}` : '';
  const answer = `${status ?? '?'}${code ? ` ${code}` : ''}${what}`;
  const options = { address, status, errorCode: code, retryAfter: toSeconds(error?.retryAfter) };
  if (status === 401) {
    // The key itself was refused: nothing will work with it, so the message is about the connection.
    return new ApiError(`${wording.label ?? 'the Descope API'}: Descope rejected the management key (${answer}); ${authAction(wording)}`, {
      ...options,
      hint: 'a management key is made in the Descope console (company settings); descope-run never prints it',
    });
  }
  if (status === 403) {
    // The key was accepted but may not do this (a key of another project, or limited to some
    // tenants or roles): about this resource, so it starts with the address.
    const whose = wording.label ? `the management key of ${wording.label}` : 'the management key';
    return new ApiError(`${address}: Descope answered ${answer}: ${whose} may not do this; ${authAction(wording)}`, {
      ...options,
      hint: 'a key limited to some tenants or to read-only roles cannot manage the whole project',
    });
  }
  return new ApiError(`${address}: Descope answered ${answer}`, options);
}

function authAction(wording: ErrorWording): string {
  return wording.authAction ?? 'check the management key and that it is a key of this project';
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

function codeSuffix(body: Record<string, unknown> | undefined, redact: (text: string) => string): string {
  return typeof body?.['errorCode'] === 'string' ? ` ${redact(body['errorCode'])}` : '';
}

function describeBody(body: Record<string, unknown> | undefined, text: string, redact: (text: string) => string): string {
  if (body) {
    const message = body['errorMessage'] ?? body['errorDescription'];
    return typeof message === 'string' && message !== '' ? ` ${redact(message)}` : '';
  }
  return text.trim() === '' ? '' : ` (not JSON: ${snippet(text, redact)})`;
}

/**
 * The start of a body, on one line. Redacted before the cut (cut first, and a prefix of a secret
 * would survive that no longer matches the whole) and after it (a part at the cut point).
 */
function snippet(text: string, redact: (text: string) => string): string {
  const flat = redact(text).replace(/\s+/g, ' ').trim();
  return flat.length > 80 ? redact(`${flat.slice(0, 77)}...`) : flat === '' ? 'empty' : flat;
}

function describeTransportError(error: unknown, timeoutMs: number): { message: string; reason: TransportReason; code: string | undefined } {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return { message: `no answer within ${formatMs(timeoutMs)}`, reason: 'timeout', code: undefined };
  }
  const code = errorCodeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const reason: TransportReason =
    code === 'ECONNREFUSED' ? 'refused' : code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' ? 'dns' : code === 'UND_ERR_CONNECT_TIMEOUT' ? 'timeout' : 'other';
  return { message: `connection failed (${code ?? message})`, reason, code };
}

/** The system error code of a fetch failure: on the cause, or on the first of an AggregateError's errors. */
function errorCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    const inner: unknown = current instanceof AggregateError ? current.errors[0] : current.cause;
    current = inner;
  }
  return undefined;
}

function originOf(input: string | URL | Request): string {
  try {
    return new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url).origin;
  } catch {
    return 'the base URL';
  }
}

function hostOf(origin: string): string {
  try {
    return new URL(origin).hostname;
  } catch {
    return origin;
  }
}

function times(n: number): string {
  return n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(1))} s`;
}
