// The one error model. Every expected failure is a DescopeRunError with a stable snake_case code,
// a message that starts with the address or file it concerns, and an optional hint (what to do).
// Only the runner's error handler prints these and chooses the exit code.

export type ErrorCode =
  | 'usage'
  | 'config_not_found'
  | 'config_load'
  | 'config_invalid'
  | 'environment'
  | 'template'
  | 'plan'
  | 'api'
  | 'stale_plan'
  | 'lock_held'
  | 'user_abort'
  | 'io';

export interface DescopeRunErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class DescopeRunError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: DescopeRunErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DescopeRunError';
    this.code = code;
    this.hint = options.hint;
  }
}

/** Bad command-line arguments: unknown flag, missing value, unknown command. */
export class UsageError extends DescopeRunError {
  constructor(message: string, options: DescopeRunErrorOptions = {}) {
    super('usage', message, options);
    this.name = 'UsageError';
  }
}

/** The config file could not be found, bundled, imported or evaluated. */
export class ConfigLoadError extends DescopeRunError {
  constructor(message: string, options: DescopeRunErrorOptions = {}) {
    super('config_load', message, options);
    this.name = 'ConfigLoadError';
  }
}

/** The environment could not be resolved: unknown name, bad file, missing key variable. */
export class EnvironmentError extends DescopeRunError {
  constructor(message: string, options: DescopeRunErrorOptions = {}) {
    super('environment', message, options);
    this.name = 'EnvironmentError';
  }
}

/** One problem found by validation: where it is (file and config path) and what is wrong. */
export interface Issue {
  /** The file the problem is in (relative to the project root), when known. */
  file?: string;
  /** The config path, e.g. `tenants/acme.selfProvisioningDomains[1]`. */
  path: string;
  message: string;
  hint?: string;
}

/** Validation collects every issue before it throws this. */
export class ConfigValidationError extends DescopeRunError {
  readonly issues: readonly Issue[];

  constructor(issues: readonly Issue[], options: DescopeRunErrorOptions = {}) {
    const first = issues[0];
    const head = first ? formatIssue(first) : 'the config is invalid';
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super('config_invalid', `${head}${more}`, options);
    this.name = 'ConfigValidationError';
    this.issues = issues;
  }
}

/** A flow template could not be found, compiled, rendered or parsed, or its graph is broken. */
export class TemplateError extends DescopeRunError {
  constructor(message: string, options: DescopeRunErrorOptions = {}) {
    super('template', message, options);
    this.name = 'TemplateError';
  }
}

export interface ApiErrorOptions extends DescopeRunErrorOptions {
  /** The resource address the call concerned, e.g. `tenants/acme` (also the message prefix). */
  address: string;
  /** HTTP status of the answer; undefined when there was none (connection failure, timeout). */
  status?: number | undefined;
  /** Descope's error code, e.g. `E073307`, when the answer carried one. */
  errorCode?: string | undefined;
  /** Seconds the service asked us to wait (429 Retry-After), when it said so. */
  retryAfter?: number | undefined;
}

/** A Descope management call failed: carries the address, HTTP status, Descope code and Retry-After. */
export class ApiError extends DescopeRunError {
  readonly address: string;
  readonly status: number | undefined;
  readonly errorCode: string | undefined;
  readonly retryAfter: number | undefined;

  constructor(message: string, options: ApiErrorOptions) {
    super('api', message, options);
    this.name = 'ApiError';
    this.address = options.address;
    this.status = options.status;
    this.errorCode = options.errorCode;
    this.retryAfter = options.retryAfter;
  }
}

export function formatIssue(issue: Issue): string {
  const where = issue.file ? `${issue.file}: ${issue.path}` : issue.path;
  return `${where}: ${issue.message}`;
}

/**
 * Duck-typed check: errors can cross module copies (a bundled config, a spawned worker), so
 * `instanceof` alone is not trusted.
 */
export function isDescopeRunError(value: unknown): value is DescopeRunError {
  return (
    value instanceof DescopeRunError ||
    (value instanceof Error &&
      typeof (value as { code?: unknown }).code === 'string' &&
      (value as { name?: unknown }).name !== undefined &&
      String((value as { name: unknown }).name).endsWith('Error') &&
      'hint' in value)
  );
}

/** The plan cannot be made or carried out as asked: a protected resource, a bad target, a bad plan file. */
export class PlanError extends DescopeRunError {
  constructor(message: string, options: DescopeRunErrorOptions = {}) {
    super('plan', message, options);
    this.name = 'PlanError';
  }
}

/** A saved plan no longer matches the live project it was computed from. */
export class StalePlanError extends DescopeRunError {
  constructor(message: string, options: DescopeRunErrorOptions = {}) {
    super('stale_plan', message, options);
    this.name = 'StalePlanError';
  }
}

/** The user declined, or confirmation was needed where nobody can give it. */
export class UserAbortError extends DescopeRunError {
  constructor(message: string, options: DescopeRunErrorOptions = {}) {
    super('user_abort', message, options);
    this.name = 'UserAbortError';
  }
}

/** Another apply or rollback holds the lock of the project (src/runner/lock.ts). */
export class LockHeldError extends DescopeRunError {
  constructor(message: string, options: DescopeRunErrorOptions = {}) {
    super('lock_held', message, options);
    this.name = 'LockHeldError';
  }
}
