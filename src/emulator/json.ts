// JSON value types and a small reader that pulls typed fields out of a request body, refusing
// with the documented "missing arguments" / "invalid arguments" errors. `null` counts as absent,
// as it does for a Go/protobuf server.

import { invalidArgument, missingArgument } from './api-error.ts';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function cloneJson<T extends Json>(value: T): T {
  return structuredClone(value);
}

/** Reads fields of one JSON object; `where` prefixes field names in messages (e.g. `roles[2].`). */
export class FieldReader {
  readonly object: JsonObject;
  private readonly where: string;

  constructor(object: JsonObject, where = '') {
    this.object = object;
    this.where = where;
  }

  private name(key: string): string {
    return `${this.where}${key}`;
  }

  private raw(key: string): Json | undefined {
    const value = this.object[key];
    return value === null ? undefined : value;
  }

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  optionalString(key: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw invalidArgument(`${this.name(key)} must be a string`);
    return value;
  }

  /** Absent, null and '' are all "missing". */
  requiredString(key: string): string {
    const value = this.optionalString(key);
    if (value === undefined || value === '') throw missingArgument(this.name(key));
    return value;
  }

  optionalBoolean(key: string): boolean | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw invalidArgument(`${this.name(key)} must be a boolean`);
    return value;
  }

  optionalNumber(key: string): number | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw invalidArgument(`${this.name(key)} must be a number`);
    }
    return value;
  }

  optionalStringArray(key: string): string[] | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
      throw invalidArgument(`${this.name(key)} must be an array of strings`);
    }
    return [...(value as string[])];
  }

  requiredStringArray(key: string): string[] {
    const value = this.optionalStringArray(key);
    if (value === undefined) throw missingArgument(this.name(key));
    return value;
  }

  optionalObject(key: string): JsonObject | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (!isJsonObject(value)) throw invalidArgument(`${this.name(key)} must be an object`);
    return value;
  }

  requiredObject(key: string): JsonObject {
    const value = this.optionalObject(key);
    if (value === undefined) throw missingArgument(this.name(key));
    return value;
  }

  optionalArray(key: string): Json[] | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) throw invalidArgument(`${this.name(key)} must be an array`);
    return value;
  }

  requiredArray(key: string): Json[] {
    const value = this.optionalArray(key);
    if (value === undefined) throw missingArgument(this.name(key));
    return value;
  }

  /** Readers for each element of an array of objects. */
  objectArray(key: string, required: boolean): FieldReader[] | undefined {
    const items = required ? this.requiredArray(key) : this.optionalArray(key);
    if (items === undefined) return undefined;
    return items.map((item, index) => {
      if (!isJsonObject(item)) throw invalidArgument(`${this.name(key)}[${index}] must be an object`);
      return new FieldReader(item, `${this.name(key)}[${index}].`);
    });
  }

  /** A string that must be one of `allowed`; undefined when absent. */
  optionalEnum(key: string, allowed: readonly string[]): string | undefined {
    const value = this.optionalString(key);
    if (value !== undefined && !allowed.includes(value)) {
      throw invalidArgument(`${this.name(key)} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    }
    return value;
  }
}

/** Drops duplicates, keeping the first occurrence (set-like arrays sent by clients). */
export function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
