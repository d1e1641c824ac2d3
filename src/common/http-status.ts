/**
 * The HTTP status of a LaminateError's code, for the master's HTTP port (the
 * function triggers' routes and the console's JSON API answer errors the
 * same way: `{ code, message }` with this status).
 */
import type { ErrorCode } from './errors.js';

const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  OUT_OF_RANGE: 400,
  UNAUTHENTICATED: 401,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 409,
  RESOURCE_EXHAUSTED: 429,
  UNAVAILABLE: 503,
  CANCELLED: 503,
  TIMEOUT: 504,
};

/** 500 for a code with no closer status (the error is then the server's, not the request's). */
export function httpStatusOfCode(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}
