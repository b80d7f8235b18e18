// Shared by the adapters: recognising Descope's "already exists" / "not found" answers, and
// splitting batches.

import type { ApiError } from '../../errors.ts';

/**
 * "Already exists" answers. The live status is unverified (descope-api.md §4.3): the codes are the
 * ones the .NET SDK's mocks use, and the emulator answers them with 409.
 */
const DUPLICATE_CODES = new Set(['E073307', 'E024209', 'E024104', 'E111605']);
/** "Not found" answers (same caveat; the emulator uses 404). */
const NOT_FOUND_CODES = new Set(['E111104', 'E111403', 'E111303', 'E103003', 'E111604']);

export function isDuplicate(error: ApiError): boolean {
  return error.status === 409 || (error.errorCode !== undefined && DUPLICATE_CODES.has(error.errorCode));
}

export function isNotFound(error: ApiError): boolean {
  return error.status === 404 || (error.errorCode !== undefined && NOT_FOUND_CODES.has(error.errorCode));
}

/** The largest batch sent in one request (Descope documents no limit; this keeps bodies modest). */
export const MAX_BATCH = 100;

export function chunks<T>(items: readonly T[], size = MAX_BATCH): T[][] {
  const out: T[][] = [];
  for (let index = 0; index < items.length; index += size) out.push(items.slice(index, index + size));
  return out;
}

/** A batch address for messages: `roles (3: roles/A, roles/B, roles/C)`. */
export function batchAddress(kind: string, addresses: readonly string[]): string {
  if (addresses.length === 1) return addresses[0] as string;
  const shown = addresses.slice(0, 3).join(', ');
  const more = addresses.length > 3 ? `, +${addresses.length - 3} more` : '';
  return `${kind} (${addresses.length}: ${shown}${more})`;
}
