/**
 * One error type for the whole engine. Every error that crosses a module or a
 * process boundary is a LaminateError with a code from a closed union, so that
 * a client can rethrow exactly the error the master raised (see
 * src/protocol/status-codes.ts for the mapping to gRPC status codes).
 */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  | 'TIMEOUT'
  | 'OUT_OF_MEMORY'
  | 'WORKER_LOST'
  | 'FETCH_FAILED'
  | 'TASK_FAILED'
  | 'JOB_FAILED'
  | 'USER_CODE_ERROR'
  | 'NON_RETRYABLE'
  | 'KILLED'
  | 'CANCELLED'
  | 'UNAUTHENTICATED'
  | 'OUT_OF_RANGE'
  | 'OUT_OF_ORDER_SEQUENCE'
  | 'DATA_LOSS'
  | 'INTERNAL';

export const ERROR_CODES: readonly ErrorCode[] = [
  'INVALID_ARGUMENT', 'NOT_FOUND', 'ALREADY_EXISTS', 'FAILED_PRECONDITION', 'RESOURCE_EXHAUSTED',
  'UNAVAILABLE', 'TIMEOUT', 'OUT_OF_MEMORY', 'WORKER_LOST', 'FETCH_FAILED', 'TASK_FAILED',
  'JOB_FAILED', 'USER_CODE_ERROR', 'NON_RETRYABLE', 'KILLED', 'CANCELLED', 'UNAUTHENTICATED',
  'OUT_OF_RANGE', 'OUT_OF_ORDER_SEQUENCE', 'DATA_LOSS', 'INTERNAL',
];

export function isErrorCode(s: string): s is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(s);
}

/** Ids an error concerns; all optional, filled where known. */
export interface ErrorIds {
  readonly jobId?: string;
  readonly taskId?: string;
  readonly attemptId?: string;
  readonly workerId?: string;
  readonly dataset?: string;
  readonly partition?: number;
  readonly offset?: number;
  readonly view?: string;
  readonly version?: number;
}

export class LaminateError extends Error {
  readonly code: ErrorCode;
  readonly ids: ErrorIds;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; ids?: ErrorIds } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LaminateError';
    this.code = code;
    this.ids = options.ids ?? {};
  }
}

/**
 * Thrown by user code (map, reduce, combine) to fail the whole job at once,
 * without the usual retries: for input the job can never process.
 */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

/** Describes a value for an error message: `'ten'`, `-1`, `undefined`, `an object`. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** The message of anything thrown, for causes recorded across processes. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
