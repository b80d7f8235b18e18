// The Descope management API as the rest of descope-run sees it: the only place the SDK client is
// built. Every call goes through the scheduler (pacing, the 429 pause, retries) and comes back as
// a value or an ApiError that starts with the resource address, or, when the whole connection
// failed (key rejected, host unreachable, outage), with the environment and what to check.
//
// Secrets never leave this module in a message. One redactor (./redact.ts) per API knows every
// secret value the run holds: the management key from the start, and each secret a caller
// registers (`addSecret`: apply does so for every OIDC client secret before its write is sent).
// The scheduler cleans server texts with it before they are cut or put into a message or a wait's
// cause; every error the API hands out is cleaned once more (message, hint, code) on its way out.
//
// Answers are untrusted: a call given a `shape` (./answers.ts) has its answer checked before the
// adapter reads it, and an answer the SDK itself cannot read is reported the same way, as one
// ApiError saying the answer is malformed. A read-only API (`readOnly`) refuses, before sending,
// every request that is not a read (./read-only.ts).
//
// Tuning for tests and slow links, read from the environment variables the caller passes
// (`processEnv`); explicit options win:
//   DESCOPE_RUN_REQUEST_TIMEOUT_MS   a request with no answer after this long is abandoned (default 30000)
//   DESCOPE_RUN_SETTLE_MS            how long a create, delete or rename that got no answer is watched for
//                                    landing before it is sent again (default: the request timeout)
//   DESCOPE_RUN_BACKOFF_BASE_MS      first retry delay, doubled per attempt (default 500)
//   DESCOPE_RUN_BACKOFF_MAX_MS       largest retry delay (default 15000)
//   DESCOPE_RUN_MAX_RATE_LIMIT_WAITS 429 pauses one call waits out before it gives up (default 10)

import DescopeClient from '@descope/node-sdk';
import type { ResponseData, SdkResponse } from '@descope/node-sdk';
import { baseUrlProblem, shownBaseUrl } from '../dsl/base-url.ts';
import { ApiError, EnvironmentError, isDescopeRunError } from '../errors.ts';
import { checkAnswer, malformedAnswer, type AnswerShape, type AnswerSource } from './answers.ts';
import { readOnlyFetch, ReadOnlyViolation } from './read-only.ts';
import { Redactor } from './redact.ts';
import {
  Scheduler,
  type Budget,
  type CallOptions,
  type SchedulerOptions,
  type SchedulerStats,
  type Unwrapped,
} from './scheduler.ts';

export type DescopeClientInstance = ReturnType<typeof DescopeClient>;
/** The SDK's management client (`sdk.management`); only adapters touch it, inside `api.call`. */
export type Management = DescopeClientInstance['management'];

export interface DescopeApiOptions extends Omit<SchedulerOptions, 'budget'> {
  projectId: string;
  managementKey: string;
  /** Default: the SDK's (https://api.descope.com, or the project's region). */
  baseUrl?: string | undefined;
  /** The environment's request budget; default 100 per 60 s. */
  budget?: Budget | undefined;
  /**
   * The environment this API is for, so that failures of the whole connection name it and the
   * variable the key came from: `environment "prod": Descope rejected the management key …;
   * check DESCOPE_PROD_MANAGEMENT_KEY and that it is a key of project P2…`.
   */
  environment?: { name: string; keyVariable?: string | undefined } | undefined;
  /** Where the DESCOPE_RUN_* tuning variables are read from; none when absent. */
  processEnv?: NodeJS.ProcessEnv | undefined;
  /**
   * Only reads: any request that is not one of READ_ENDPOINTS is refused before it is sent, with a
   * ReadOnlyViolation (a bug, not an ApiError). The runner builds every command's API this way
   * except apply's and rollback's.
   */
  readOnly?: boolean | undefined;
}

/** Options of one call: the scheduler's, plus the shape its answer must have. */
export interface ApiCallOptions<T> extends CallOptions<T> {
  /** Checked before the answer is returned: a malformed one rejects with an ApiError. */
  shape?: AnswerShape | undefined;
}

/** The DESCOPE_RUN_* variables and the scheduler option each sets. */
const TUNING = {
  DESCOPE_RUN_REQUEST_TIMEOUT_MS: 'requestTimeoutMs',
  DESCOPE_RUN_SETTLE_MS: 'settleMs',
  DESCOPE_RUN_BACKOFF_BASE_MS: 'backoffBaseMs',
  DESCOPE_RUN_BACKOFF_MAX_MS: 'backoffMaxMs',
  DESCOPE_RUN_MAX_RATE_LIMIT_WAITS: 'maxRateLimitWaits',
} as const satisfies Record<string, keyof SchedulerOptions>;

/** Scheduler options from the DESCOPE_RUN_* variables that are set; a bad value is an error. */
export function schedulerTuningFromEnv(processEnv: NodeJS.ProcessEnv): Partial<SchedulerOptions> {
  const out: Partial<Record<(typeof TUNING)[keyof typeof TUNING], number>> = {};
  for (const [variable, option] of Object.entries(TUNING) as [keyof typeof TUNING, (typeof TUNING)[keyof typeof TUNING]][]) {
    const raw = processEnv[variable];
    if (raw === undefined || raw.trim() === '') continue;
    const value = Number(raw.trim());
    if (!(Number.isInteger(value) && value >= (option === 'maxRateLimitWaits' ? 0 : 1))) {
      throw new EnvironmentError(`${variable}: "${raw}" is not a whole number${option === 'maxRateLimitWaits' ? '' : ' of milliseconds above 0'}`, {
        hint: `set it to e.g. ${option === 'maxRateLimitWaits' ? '10' : '30000'}, or unset it`,
      });
    }
    out[option] = value;
  }
  return out;
}

/** Characters fetch refuses in a header value (it would quote the value, key and all, in its error). */
const INVALID_HEADER_CHARACTER = /[^\t\x20-\x7e\x80-\xff]/;

export interface DescopeApi {
  readonly projectId: string;
  readonly budget: Budget;
  /**
   * Runs one management call through the scheduler. `send` makes exactly one SDK call; it may be
   * invoked again on a retry. Resolves with the SDK's `data`, or rejects with an ApiError.
   */
  call<T extends ResponseData>(
    address: string,
    send: (management: Management) => Promise<SdkResponse<T>>,
    options?: ApiCallOptions<T>,
  ): Promise<Unwrapped<T>>;
  /**
   * Registers a secret value the run holds (an OIDC client secret about to be sent): from now on it
   * is taken out of every message, hint, code and wait cause, in every form (./redact.ts).
   */
  addSecret(value: string): void;
  /**
   * `text` with every secret the API knows taken out (./redact.ts): for a message built outside
   * `call` from what Descope answered (a check of an answer's shape that quotes it).
   */
  redact(text: string): string;
  /** Whether this API only reads (see DescopeApiOptions.readOnly). */
  readonly readOnly: boolean;
  /** Requests sent, 429s, failures, retries and pause time so far. */
  stats(): SchedulerStats;
  /** Whether the queue is paused for a 429 right now. */
  readonly paused: boolean;
  /** Stops the scheduler (pending and later calls reject) and waits for the requests still out. */
  close(): Promise<void>;
}

export function createDescopeApi(options: DescopeApiOptions): DescopeApi {
  const { projectId, managementKey, baseUrl, budget, environment, processEnv, readOnly = false, ...explicit } = options;
  const label = environment ? `environment "${environment.name}"` : `project ${projectId || '(none)'}`;
  const keyVariable = environment?.keyVariable;
  if (!projectId) {
    throw new ApiError(`${label}: the Descope project id is empty`, {
      address: 'project',
      hint: 'Set projectId in the environment file or DESCOPE_PROJECT_ID',
    });
  }
  if (!managementKey) {
    throw new ApiError(`${label}: the management key is empty`, {
      address: 'project',
      hint: `Set ${keyVariable ?? 'the environment variable that holds the management key (default DESCOPE_MANAGEMENT_KEY)'}`,
    });
  }
  // Checked before anything is sent: fetch would refuse the header and quote it in its error.
  for (const [what, value] of [['the management key', managementKey], ['the project id', projectId]] as const) {
    if (INVALID_HEADER_CHARACTER.test(value)) {
      const where = what === 'the management key' ? (keyVariable ?? 'the management key variable') : 'the project id';
      throw new ApiError(`${label}: ${what} contains a line break or a character that cannot be sent in an HTTP header; check ${where}`, {
        address: 'project',
        hint: 'a key copied from a file often ends with a line break: strip it',
      });
    }
  }
  // The runner checks base URLs where they come from; this keeps every other caller to the same rule.
  const baseUrlIssue = baseUrl ? baseUrlProblem(baseUrl) : undefined;
  if (baseUrl && baseUrlIssue) {
    throw new ApiError(`${label}: the base URL ${shownBaseUrl(baseUrl)} cannot be used: ${baseUrlIssue}`, {
      address: 'project',
      hint: 'use an http(s) origin with an optional path, e.g. https://api.descope.com',
    });
  }
  const redactor = new Redactor();
  // As sent: `Authorization: Bearer <project>:<key>`; base64 of `<project>:<key>` as in a Basic header.
  redactor.add(managementKey, { base64Prefixes: [`${projectId}:`] });
  const redact = (text: string): string => redactor.clean(text);
  const schedulerOptions: SchedulerOptions = {
    ...(processEnv ? schedulerTuningFromEnv(processEnv) : {}),
    ...explicit,
    redact,
    label,
    authAction: `check ${keyVariable ?? 'the management key'} and that it is a key of project ${projectId}`,
    ...(budget ? { budget } : {}),
  };
  const scheduler = new Scheduler(schedulerOptions);
  // No logger: the SDK then prints nothing (runtime never prints). Its license handshake goes
  // through the scheduler's fetch like everything else and takes the first slot.
  const client = DescopeClient({
    projectId,
    managementKey,
    ...(baseUrl ? { baseUrl } : {}),
    fetch: readOnly ? readOnlyFetch(scheduler.fetch, baseUrl || undefined) : scheduler.fetch,
  });
  const management = client.management;
  const source = { baseUrl: baseUrl || undefined };

  return {
    projectId,
    budget: scheduler.budget,
    readOnly,
    call: async (address, send, callOptions = {}) => {
      const { shape, ...schedulerOptions } = callOptions;
      let data;
      try {
        data = await scheduler.call(address, () => send(management), schedulerOptions);
        if (shape) checkAnswer(address, shape, data, source);
      } catch (error) {
        throw redactError(unwrapCallError(error, address, source), redact);
      }
      return data;
    },
    addSecret: (value) => redactor.add(value),
    redact,
    stats: () => scheduler.stats(),
    get paused() {
      return scheduler.paused;
    },
    async close() {
      scheduler.stop(new ApiError('project: the Descope API client was closed', { address: 'project' }));
      await scheduler.settled();
    },
  };
}

/**
 * What a failed call is really about, when the scheduler could only wrap it: a request the
 * read-only guard refused is the bug itself (rethrown as is), and a TypeError from inside the SDK
 * is its transform failing on an answer it cannot read (`data.tenants` of `null`, a SAML
 * groupsMapping item without its role): a malformed answer, like those the shapes catch. The
 * scheduler keeps those two causes (and no other) for this.
 */
function unwrapCallError(error: unknown, address: string, source: AnswerSource): unknown {
  if (!(error instanceof ApiError)) return error;
  const cause = error.cause;
  if (cause instanceof ReadOnlyViolation) return cause;
  if (cause instanceof TypeError && error.status === undefined) {
    return malformedAnswer(address, `the Descope SDK could not read it (${cause.message})`, source);
  }
  return error;
}

/**
 * The error with every secret taken out of its message, hint and code, and without its cause (a
 * library's error may quote the request or the answer). The scheduler already cleaned what came
 * from the server; this is the last pass for everything else. Anything that is not one of our
 * errors (a bug) keeps only its message, cleaned.
 */
function redactError(error: unknown, clean: (text: string) => string): unknown {
  if (!(error instanceof ApiError)) {
    // Our other errors carry no server text (the read-only guard's names a method and a path); a
    // bug's error keeps only its (cleaned) message.
    if (!(error instanceof Error) || isDescopeRunError(error) || error instanceof ReadOnlyViolation) return error;
    const message = clean(error.message);
    return message === error.message && error.cause === undefined ? error : new Error(message);
  }
  const message = clean(error.message);
  const hint = error.hint === undefined ? undefined : clean(error.hint);
  const errorCode = error.errorCode === undefined ? undefined : clean(error.errorCode);
  if (message === error.message && hint === error.hint && errorCode === error.errorCode && error.cause === undefined) return error;
  return new ApiError(message, {
    address: error.address,
    status: error.status,
    errorCode,
    retryAfter: error.retryAfter,
    ...(hint === undefined ? {} : { hint }),
  });
}
