// The runtime layer: the only code that talks to Descope (through @descope/node-sdk). It builds the
// API client behind one paced scheduler, maps SDK records to the canonical model and back (one
// adapter per kind), and reads the live state a config manages. It never prints, reads argv or
// exits: it reports through return values, ApiErrors and the onWait callback.

export { createDescopeApi } from './api.ts';
export type { DescopeApi, DescopeApiOptions, Management } from './api.ts';
export { DEFAULT_BUDGET, Scheduler, apiErrorFromAnswer } from './scheduler.ts';
export type {
  Budget,
  CallOptions,
  SchedulerOptions,
  SchedulerStats,
  SdkResult,
  Unwrapped,
  WaitEvent,
  WaitReason,
} from './scheduler.ts';
export { readLiveState, scopeOf } from './live-state.ts';
export type { LiveHandles, LiveScope, LiveSnapshot } from './live-state.ts';
export * from './model.ts';
export * from './adapters/tenants.ts';
export * from './adapters/tenant-settings.ts';
export * from './adapters/tenant-sso.ts';
export * from './adapters/roles.ts';
export * from './adapters/permissions.ts';
export * from './adapters/flows.ts';
export * from './adapters/theme.ts';
export * from './adapters/password-policy.ts';
export * from './audit-trail.ts';
export { isDuplicate, isNotFound, MAX_BATCH } from './adapters/common.ts';
