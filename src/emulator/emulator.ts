// Starting, controlling and stopping one emulator: a node:http server on loopback that answers the
// management calls of @descope/node-sdk 2.13 for one project, with switchable misbehaviour.

import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { dirname } from 'node:path';
import { EmulatorEventBus, type EmulatorEventName, type EmulatorListener } from './events.ts';
import {
  DEFAULT_FAULT_SETTINGS,
  FaultInjector,
  type FailNextRule,
  type FaultSettings,
  type FaultTiming,
  type RateBudget,
} from './faults.ts';
import {
  BAD_REQUEST,
  DEFAULT_BUMP_FLOW_VERSION,
  DEFAULT_MANAGEMENT_KEY,
  DEFAULT_PROJECT_ID,
  DEFAULT_PROJECT_NAME,
  DEFAULT_RATE_LIMIT_TIER,
} from './fidelity.ts';
import { readSecretStatus } from './handlers/sso.ts';
import { createIdGenerator, createRandomStreams } from './random.ts';
import { DEFAULT_RECENT_LIMIT, RequestLog } from './request-log.ts';
import { createRouter } from './router.ts';
import { createRequestListener, type ServerConfig } from './server.ts';
import { EmulatorStateError, readStateFile, SECRET_DIGEST_PREFIX, StateFileWriter } from './state-file.ts';
import { createEmptyState, parseState, type EmulatorState } from './state.ts';

export interface EmulatorOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Default `P2emulator000000000000000000` (28 characters, so the SDK's region logic is inert). */
  projectId?: string;
  /** Default `emulator-management-key`. */
  managementKey?: string;
  /** Initial project name of a new state. */
  projectName?: string;
  /**
   * Persist the state here (JSON, mode 0600, rewritten atomically after every write); loaded on
   * start if present. Missing parent directories are created (mode 0700).
   */
  stateFile?: string;
  /** Used when there is no state file to load (deep-copied). */
  initialState?: EmulatorState;
  /** Request budget: N requests per window, then a penalty (default = window) of 429s. */
  rate?: RateBudget | null;
  /** Added latency per request, ms. */
  latencyMs?: number;
  /** Extra random latency in [0, latencyJitterMs]. */
  latencyJitterMs?: number;
  /** Share (0..1) of requests answered with a status from faultStatuses. */
  faultRate?: number;
  /** Default [500, 502, 503]. */
  faultStatuses?: number[];
  /** Share (0..1) of requests whose connection is dropped without an answer. */
  dropRate?: number;
  /** Whether random faults hit before the handler (default) or after it applied the write. */
  faultTiming?: FaultTiming;
  /** Makes generated ids and fault rolls reproducible. */
  seed?: number;
  /** Epoch-ms clock for timestamps in the data (createdTime, audit occurred); default Date.now. */
  clock?: () => number;
  /** Bump flow.version / flow.modifiedTime on every import (default false: exact round trip). */
  bumpFlowVersion?: boolean;
  /** Answer of the license handshake; default tier2. */
  rateLimitTier?: string;
  /** actorId in audit records; default derived from a hash of the management key. */
  actorId?: string;
  /** How many recent requests the log keeps; default 1000. */
  recentRequests?: number;
}

export interface SecretStatus {
  /** A non-empty OIDC client secret is stored. */
  set: boolean;
  /** Hex SHA-256 of the stored secret, to check WHICH secret was set; null when none. */
  sha256: string | null;
}

export interface RunningEmulator {
  /** Base URL for `DescopeClient({ baseUrl })`, e.g. http://127.0.0.1:43210 */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly projectId: string;
  readonly managementKey: string;
  readonly log: RequestLog;
  /** Stops listening, closes open connections and waits for pending state file writes. */
  close(): Promise<void>;
  /** Current misbehaviour settings. */
  faults(): FaultSettings;
  /** Changes misbehaviour at runtime; passing `rate` (or null) starts a fresh budget. */
  setFaults(changes: Partial<FaultSettings>): void;
  /** Makes the next matching request(s) fail deterministically. */
  failNext(rule: FailNextRule): void;
  clearFailNext(): void;
  /** failNext failures not consumed yet. */
  pendingFailures(): number;
  /** Deep copy of the state (what the state file holds). */
  snapshot(): EmulatorState;
  /** Replaces the state (default: empty) and persists it. Throws EmulatorStateError if invalid. */
  reset(state?: EmulatorState): Promise<void>;
  /** Whether an OIDC client secret is stored for a tenant's SSO configuration ('' = default). */
  secretStatus(tenantId: string, ssoId?: string): SecretStatus;
  /** Subscribes to 'request', 'write' or 'error'; returns the unsubscribe function. */
  on<K extends EmulatorEventName>(name: K, listener: EmulatorListener<K>): () => void;
  /** Resolves when every state file write issued so far is done. */
  flushed(): Promise<void>;
}

function faultSettingsFrom(options: EmulatorOptions): FaultSettings {
  return {
    latencyMs: options.latencyMs ?? DEFAULT_FAULT_SETTINGS.latencyMs,
    latencyJitterMs: options.latencyJitterMs ?? DEFAULT_FAULT_SETTINGS.latencyJitterMs,
    faultRate: options.faultRate ?? DEFAULT_FAULT_SETTINGS.faultRate,
    faultStatuses: options.faultStatuses ?? [...DEFAULT_FAULT_SETTINGS.faultStatuses],
    dropRate: options.dropRate ?? DEFAULT_FAULT_SETTINGS.dropRate,
    faultTiming: options.faultTiming ?? DEFAULT_FAULT_SETTINGS.faultTiming,
    rate: options.rate ?? null,
  };
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const projectId = options.projectId ?? DEFAULT_PROJECT_ID;
  const managementKey = options.managementKey ?? DEFAULT_MANAGEMENT_KEY;
  const host = options.host ?? '127.0.0.1';
  if (!projectId) throw new TypeError('emulator: projectId must not be empty');
  if (!managementKey) throw new TypeError('emulator: managementKey must not be empty');

  const writer = options.stateFile ? new StateFileWriter(options.stateFile) : undefined;
  let state: EmulatorState | undefined = options.stateFile ? await readStateFile(options.stateFile) : undefined;
  if (!state && options.initialState) {
    const parsed = parseState(structuredClone(options.initialState));
    if (!parsed.ok) throw new EmulatorStateError('initialState', `invalid emulator state:\n${parsed.problems}`);
    state = parsed.state;
  }
  state ??= createEmptyState(options.projectName ?? DEFAULT_PROJECT_NAME);
  if (writer && options.stateFile) {
    try {
      await mkdir(dirname(options.stateFile), { recursive: true, mode: 0o700 });
      await writer.write(state);
    } catch (error) {
      throw new EmulatorStateError(options.stateFile, `cannot write the emulator state file (${(error as Error).message})`, {
        cause: error,
      });
    }
  }

  const streams = createRandomStreams(options.seed);
  const faults = new FaultInjector(faultSettingsFrom(options), streams.faults);
  const log = new RequestLog(options.recentRequests ?? DEFAULT_RECENT_LIMIT);
  const events = new EmulatorEventBus();
  const config: ServerConfig = {
    projectId,
    managementKey,
    actorId: options.actorId ?? `mgmt-key-${createHash('sha256').update(managementKey).digest('hex').slice(0, 12)}`,
    bumpFlowVersion: options.bumpFlowVersion ?? DEFAULT_BUMP_FLOW_VERSION,
    clock: options.clock ?? Date.now,
  };
  const persist = (): Promise<void> => (writer && state ? writer.write(state) : Promise.resolve());

  const server = createServer(
    createRequestListener({
      config,
      router: createRouter({ rateLimitTier: options.rateLimitTier ?? DEFAULT_RATE_LIMIT_TIER }),
      faults,
      log,
      events,
      ids: createIdGenerator(streams.ids),
      state: () => state as EmulatorState,
      persist,
    }),
  );
  // Malformed HTTP never reaches the listener; still answer with a JSON body when possible.
  server.on('clientError', (_error: Error, socket: Socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const text = JSON.stringify({ errorCode: BAD_REQUEST.code, errorDescription: BAD_REQUEST.description, errorMessage: 'malformed HTTP request' });
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  });

  const address = await listen(server, options.port ?? 0, host);
  const urlHost = address.address.includes(':') ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${urlHost}:${address.port}`,
    host: address.address,
    port: address.port,
    projectId,
    managementKey,
    log,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => writer?.flushed());
      return closing;
    },
    faults: () => faults.settings(),
    setFaults: (changes) => faults.update(changes),
    failNext: (rule) => faults.failNext(rule),
    clearFailNext: () => faults.clearFailNext(),
    pendingFailures: () => faults.pendingFailures(),
    snapshot: () => structuredClone(state as EmulatorState),
    async reset(next) {
      if (next === undefined) {
        state = createEmptyState(options.projectName ?? DEFAULT_PROJECT_NAME);
      } else {
        const parsed = parseState(structuredClone(next));
        if (!parsed.ok) throw new EmulatorStateError('reset()', `invalid emulator state:\n${parsed.problems}`);
        state = parsed.state;
      }
      await persist();
    },
    secretStatus(tenantId, ssoId = '') {
      const found = readSecretStatus(state as EmulatorState, tenantId, ssoId);
      if (!found?.secret) return { set: false, sha256: null };
      // A state loaded from a file holds the digest (state-file.ts), not the secret.
      if (found.secret.startsWith(SECRET_DIGEST_PREFIX)) return { set: true, sha256: found.secret.slice(SECRET_DIGEST_PREFIX.length) };
      return { set: true, sha256: createHash('sha256').update(found.secret).digest('hex') };
    },
    on: (name, listener) => events.on(name, listener),
    flushed: () => writer?.flushed() ?? Promise.resolve(),
  };
}
