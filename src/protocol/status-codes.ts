/**
 * The one table between LaminateError codes and gRPC status codes. A server
 * sends the Laminate code in the trailing metadata, so that the client
 * rethrows exactly the error the peer raised; the gRPC code is for anyone
 * else listening.
 */
import * as grpc from '@grpc/grpc-js';
import { isErrorCode, LaminateError, type ErrorCode } from '../common/errors.js';

const TO_GRPC: Record<ErrorCode, grpc.status> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  NOT_FOUND: grpc.status.NOT_FOUND,
  ALREADY_EXISTS: grpc.status.ALREADY_EXISTS,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  TIMEOUT: grpc.status.DEADLINE_EXCEEDED,
  OUT_OF_MEMORY: grpc.status.RESOURCE_EXHAUSTED,
  WORKER_LOST: grpc.status.UNAVAILABLE,
  FETCH_FAILED: grpc.status.UNAVAILABLE,
  TASK_FAILED: grpc.status.ABORTED,
  JOB_FAILED: grpc.status.ABORTED,
  USER_CODE_ERROR: grpc.status.ABORTED,
  NON_RETRYABLE: grpc.status.ABORTED,
  KILLED: grpc.status.CANCELLED,
  CANCELLED: grpc.status.CANCELLED,
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  OUT_OF_RANGE: grpc.status.OUT_OF_RANGE,
  OUT_OF_ORDER_SEQUENCE: grpc.status.FAILED_PRECONDITION,
  DATA_LOSS: grpc.status.DATA_LOSS,
  INTERNAL: grpc.status.INTERNAL,
};

const FROM_GRPC: Partial<Record<grpc.status, ErrorCode>> = {
  [grpc.status.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
  [grpc.status.NOT_FOUND]: 'NOT_FOUND',
  [grpc.status.ALREADY_EXISTS]: 'ALREADY_EXISTS',
  [grpc.status.FAILED_PRECONDITION]: 'FAILED_PRECONDITION',
  [grpc.status.RESOURCE_EXHAUSTED]: 'RESOURCE_EXHAUSTED',
  [grpc.status.UNAVAILABLE]: 'UNAVAILABLE',
  [grpc.status.DEADLINE_EXCEEDED]: 'TIMEOUT',
  [grpc.status.CANCELLED]: 'CANCELLED',
  [grpc.status.UNAUTHENTICATED]: 'UNAUTHENTICATED',
  [grpc.status.OUT_OF_RANGE]: 'OUT_OF_RANGE',
  [grpc.status.DATA_LOSS]: 'DATA_LOSS',
};

const CODE_KEY = 'laminate-code';

/** Turns anything a handler threw into a ServiceError carrying its Laminate code. */
export function toServiceError(err: unknown): Partial<grpc.ServiceError> {
  const metadata = new grpc.Metadata();
  if (err instanceof LaminateError) {
    metadata.set(CODE_KEY, err.code);
    return { code: TO_GRPC[err.code], details: err.message, metadata };
  }
  metadata.set(CODE_KEY, 'INTERNAL');
  return { code: grpc.status.INTERNAL, details: err instanceof Error ? err.message : String(err), metadata };
}

/** Turns a gRPC error received by a client back into the LaminateError the peer raised. */
export function fromServiceError(err: unknown, what: string): LaminateError {
  if (err instanceof LaminateError) return err;
  const e = err as Partial<grpc.ServiceError>;
  const sent = e.metadata?.get(CODE_KEY)[0];
  const code: ErrorCode = typeof sent === 'string' && isErrorCode(sent)
    ? sent
    : FROM_GRPC[e.code ?? grpc.status.UNKNOWN] ?? 'INTERNAL';
  const details = e.details ?? (err instanceof Error ? err.message : String(err));
  const message = code === 'UNAVAILABLE' && !sent ? `${what}: peer unavailable (${details})` : details;
  return new LaminateError(code, message, { cause: err });
}
