// The one way a handler refuses a request: throw an ApiError. The server turns it into the
// Descope error body `{errorCode, errorDescription, errorMessage}` with the kind's status.

import type { ErrorKind } from './fidelity.ts';
import {
  INVALID_ARGUMENTS,
  MISSING_ARGUMENTS,
} from './fidelity.ts';

export interface ErrorBody {
  errorCode: string;
  errorDescription: string;
  errorMessage: string;
}

export class ApiError extends Error {
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
  }

  get status(): number {
    return this.kind.status;
  }

  toBody(): ErrorBody {
    return errorBody(this.kind, this.message);
  }
}

export function errorBody(kind: ErrorKind, message: string): ErrorBody {
  return { errorCode: kind.code, errorDescription: kind.description, errorMessage: message };
}

export function missingArgument(field: string): ApiError {
  return new ApiError(MISSING_ARGUMENTS, `${field} is required`);
}

export function invalidArgument(message: string): ApiError {
  return new ApiError(INVALID_ARGUMENTS, message);
}
