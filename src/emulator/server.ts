// The request pipeline (see fidelity.ts REQUEST_PIPELINE): latency, budget, injected faults,
// authentication, routing, body parsing, the handler, persistence, and the answer, which is
// ALWAYS a JSON body (`{}` when there is nothing to say), or a destroyed socket for a drop.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, errorBody, type ErrorBody } from './api-error.ts';
import type { EmulatorEventBus } from './events.ts';
import type { FaultInjector, Fault } from './faults.ts';
import {
  BAD_REQUEST,
  HELD_REQUEST_RUNS_WITHOUT_CLIENT,
  INTERNAL_ERROR,
  MAX_BODY_BYTES,
  NOT_SUPPORTED,
  PAYLOAD_TOO_LARGE,
  RATE_LIMITED,
  STATE_WRITE_FAILED,
  UNAUTHORIZED,
  injectedFaultKind,
} from './fidelity.ts';
import { appendAudit, buildAuditRecord } from './handlers/audit.ts';
import type { AuditOverrides, HandlerContext } from './handlers/context.ts';
import { FieldReader, isJsonObject, type JsonObject } from './json.ts';
import type { IdGenerator } from './random.ts';
import type { RequestLog, RequestLogEntry } from './request-log.ts';
import type { Router } from './router.ts';
import type { EmulatorState, RawAuditRecord } from './state.ts';

export interface ServerConfig {
  projectId: string;
  managementKey: string;
  actorId: string;
  bumpFlowVersion: boolean;
  clock: () => number;
}

/** Everything the pipeline needs; `state` is read on every request so reset() can swap it. */
export interface ServerCore {
  readonly config: ServerConfig;
  readonly router: Router;
  readonly faults: FaultInjector;
  readonly log: RequestLog;
  readonly events: EmulatorEventBus;
  readonly ids: IdGenerator;
  state(): EmulatorState;
  /** Persists the current state (no-op without a state file). */
  persist(): Promise<void>;
}

interface Answer {
  status: number;
  body: JsonObject | ErrorBody;
  headers?: Record<string, string>;
}

class BodyTooLarge extends Error {}
/** The client went away before its request body arrived: nobody is left to answer. */
class ClientGone extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    let ended = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => {
      ended = true;
      if (tooLarge) reject(new BodyTooLarge());
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', () => reject(new ClientGone()));
    req.on('close', () => {
      if (!ended) reject(new ClientGone());
    });
  });
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** undefined when the caller may proceed, otherwise the reason it may not. */
function checkAuthorization(header: string | undefined, config: ServerConfig): string | undefined {
  if (!header) return 'missing Authorization header; expected "Bearer <projectId>:<managementKey>"';
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!match?.[1]) return 'malformed Authorization header; expected "Bearer <projectId>:<managementKey>"';
  const token = match[1];
  const colon = token.indexOf(':');
  const projectId = colon < 0 ? token : token.slice(0, colon);
  const key = colon < 0 ? '' : token.slice(colon + 1);
  if (projectId !== config.projectId) return `unknown project ID "${projectId}"`;
  if (!key) return 'management key is missing';
  if (!sameSecret(key, config.managementKey)) return 'management key is invalid';
  return undefined;
}

function send(res: ServerResponse, answer: Answer): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...answer.headers,
  });
  res.end(text);
}

function faultAnswer(fault: Extract<Fault, { kind: 'status' }>): Answer {
  if (fault.status === 429) {
    const seconds = fault.retryAfterSeconds ?? 1;
    return {
      status: 429,
      body: errorBody(RATE_LIMITED, `rate limit exceeded (injected); retry after ${seconds}s`),
      headers: { 'retry-after': String(seconds) },
    };
  }
  const headers: Record<string, string> = {};
  if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
  return {
    status: fault.status,
    body: errorBody(injectedFaultKind(fault.status), `fault injected by the emulator (status ${fault.status})`),
    headers,
  };
}

function apiErrorAnswer(error: ApiError): Answer {
  return { status: error.status, body: error.toBody() };
}

/** Builds the node:http request listener. */
export function createRequestListener(core: ServerCore): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handleRequest(core, req, res).catch((error: unknown) => {
      // Last line of defence: never let a request crash the process.
      core.events.emit('error', error instanceof Error ? error : new Error(String(error)));
      send(res, apiErrorAnswer(new ApiError(INTERNAL_ERROR, 'internal emulator error')));
    });
  };
}

async function handleRequest(core: ServerCore, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = Date.now();
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', 'http://emulator.invalid');
  const path = url.pathname;
  const { route, allowed } = core.router.match(method, path);
  const entry: RequestLogEntry = {
    time: started,
    method,
    path,
    status: 0,
    write: route ? route.write : method !== 'GET' && method !== 'HEAD',
    applied: false,
    durationMs: 0,
  };

  const finish = (answer: Answer | 'drop', fault?: RequestLogEntry['fault']): void => {
    if (answer === 'drop') {
      req.socket.destroy();
      entry.fault = 'dropped';
    } else {
      send(res, answer);
      entry.status = answer.status;
      if (fault) entry.fault = fault;
    }
    entry.durationMs = Date.now() - started;
    core.log.record(entry);
    core.events.emit('request', { ...entry });
  };

  let bodyText: string;
  try {
    bodyText = await readBody(req);
  } catch (error) {
    if (error instanceof ClientGone) return;
    if (error instanceof BodyTooLarge) {
      finish({ status: PAYLOAD_TOO_LARGE.status, body: errorBody(PAYLOAD_TOO_LARGE, `request body exceeds ${MAX_BODY_BYTES} bytes`) });
      return;
    }
    throw error;
  }

  const latency = core.faults.latency();
  if (latency > 0) await sleep(latency);

  const backoffMs = core.faults.checkBudget(path);
  if (backoffMs !== undefined) {
    const seconds = Math.max(1, Math.ceil(backoffMs / 1000));
    finish(
      {
        status: RATE_LIMITED.status,
        body: errorBody(RATE_LIMITED, `request budget exhausted; retry after ${seconds}s`),
        headers: { 'retry-after': String(seconds) },
      },
      'rate-limited',
    );
    return;
  }

  const fault = core.faults.pick(method, path);
  if (fault?.holdMs) {
    await sleep(fault.holdMs);
    // A client that gave up meanwhile is not noticed, as by a real server (fidelity.ts).
    if (!HELD_REQUEST_RUNS_WITHOUT_CLIENT && req.socket.destroyed) return;
  }
  const failWith = (): void => {
    if (!fault || fault.kind === 'hold') return;
    if (fault.kind === 'drop') finish('drop');
    else finish(faultAnswer(fault), 'injected');
  };
  if (fault?.when === 'before') {
    failWith();
    return;
  }

  const answer = await answerRequest(core, req, method, path, url.searchParams, bodyText, route, allowed, entry);
  if (fault && fault.kind !== 'hold') failWith();
  else finish(answer, fault?.kind === 'hold' ? 'held' : undefined);
}

async function answerRequest(
  core: ServerCore,
  req: IncomingMessage,
  method: string,
  path: string,
  query: URLSearchParams,
  bodyText: string,
  route: ReturnType<Router['match']>['route'],
  allowed: readonly string[],
  entry: RequestLogEntry,
): Promise<Answer> {
  const unauthorized = checkAuthorization(req.headers.authorization, core.config);
  if (unauthorized) return apiErrorAnswer(new ApiError(UNAUTHORIZED, unauthorized));

  if (!route) {
    const message =
      allowed.length > 0
        ? `${method} ${path} is not supported by the emulator (it implements ${allowed.join(', ')} on this path)`
        : `${method} ${path} is not supported by the emulator`;
    return apiErrorAnswer(new ApiError(NOT_SUPPORTED, message));
  }

  let body: JsonObject = {};
  if (bodyText.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(bodyText);
    } catch (error) {
      return apiErrorAnswer(new ApiError(BAD_REQUEST, `malformed JSON body: ${(error as Error).message}`));
    }
    if (!isJsonObject(parsed)) return apiErrorAnswer(new ApiError(BAD_REQUEST, 'the request body must be a JSON object'));
    body = parsed;
  }

  const state = core.state();
  const pending: RawAuditRecord[] = [];
  const actor = {
    projectId: core.config.projectId,
    actorId: core.config.actorId,
    remoteAddress: req.socket.remoteAddress ?? '',
  };
  const ctx: HandlerContext = {
    state,
    body: new FieldReader(body),
    query,
    ids: core.ids,
    now: core.config.clock,
    projectId: core.config.projectId,
    bumpFlowVersion: core.config.bumpFlowVersion,
    audit(action: string, resource: string, tenants: string[] = [], overrides: AuditOverrides = {}) {
      pending.push(buildAuditRecord(actor, core.config.clock(), action, resource, tenants, path, overrides));
    },
  };

  let result: JsonObject;
  try {
    result = route.handle(ctx);
  } catch (error) {
    if (error instanceof ApiError) return apiErrorAnswer(error);
    core.events.emit('error', error instanceof Error ? error : new Error(String(error)));
    return apiErrorAnswer(new ApiError(INTERNAL_ERROR, `internal emulator error: ${(error as Error).message}`));
  }

  if (route.write) {
    appendAudit(state, pending);
    entry.applied = true;
    core.events.emit('write', { method, path, records: pending.map((record) => structuredClone(record)) });
    try {
      await core.persist();
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      core.events.emit('error', failure);
      return apiErrorAnswer(
        new ApiError(STATE_WRITE_FAILED, `the write was applied in memory but the state file could not be written: ${failure.message}`),
      );
    }
  }
  return { status: 200, body: result };
}
