// Public API of the Descope management API emulator. It stands alone: nothing here imports the
// DSL, runtime or runner, and nothing prints; watch it through `log` and `on(...)` instead.

export { startEmulator } from './emulator.ts';
export type { EmulatorOptions, RunningEmulator, SecretStatus } from './emulator.ts';
export { parseRate } from './rate.ts';
export type { ParsedRate } from './rate.ts';
export type { FailNextRule, FaultSettings, FaultTiming, RateBudget } from './faults.ts';
export { RequestLog } from './request-log.ts';
export type { RequestLogEntry, RouteCount } from './request-log.ts';
export type { EmulatorEvents, EmulatorEventName, WriteEvent } from './events.ts';
export { EmulatorStateError } from './state-file.ts';
export { createEmptyState, STATE_FORMAT_VERSION } from './state.ts';
export type {
  EmulatorState,
  RawAuditRecord,
  StoredFlow,
  StoredPermission,
  StoredRole,
  StoredSsoConfig,
  StoredTenant,
} from './state.ts';
export type { Json, JsonObject } from './json.ts';
export { DEFAULT_MANAGEMENT_KEY, DEFAULT_PROJECT_ID } from './fidelity.ts';
