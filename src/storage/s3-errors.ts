/**
 * What the S3 backend does with a store's errors: the ones that may pass
 * (throttling, 5xx, a connection reset or refused) are retried with
 * exponential backoff and jitter, as the AWS SDKs' standard retry mode and
 * Hadoop's S3A retry policy do; the ones that cannot (no such bucket, access
 * denied) become a LaminateError that names the bucket and what to check.
 * Pure apart from the timers of `withRetry`.
 */
import { errorMessage, LaminateError } from '../common/errors.js';

/** The fields of an AWS SDK v3 error (S3ServiceException) and of a node network error that the mapping reads. */
interface StoreErrorShape {
  readonly name?: string;
  readonly code?: string;
  readonly Code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequests', 'RequestTimeout', 'RequestTimeTooSkewed', 'InternalError', 'ServiceUnavailable']);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'TimeoutError', 'NetworkingError', 'UND_ERR_SOCKET']);
const DENIED = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'CredentialsProviderError', 'AccountProblem', 'AllAccessDisabled']);

function shape(err: unknown): StoreErrorShape {
  return (typeof err === 'object' && err !== null ? err : {}) as StoreErrorShape;
}

/** The S3 error code ('NoSuchBucket', 'SlowDown', ...) or node error code of `err`. */
export function storeErrorName(err: unknown): string {
  const e = shape(err);
  return e.Code ?? e.code ?? e.name ?? '';
}

export function httpStatusOf(err: unknown): number | undefined {
  return shape(err).$metadata?.httpStatusCode;
}

/** Whether a try again may succeed: throttling, a 5xx, a broken or refused connection. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof LaminateError) return false;
  const name = storeErrorName(err);
  const status = httpStatusOf(err);
  if (THROTTLING.has(name) || NETWORK.has(name)) return true;
  if (status !== undefined) return status >= 500 || status === 429;
  // A connection that failed before any answer carries no status, and often only a cause.
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause !== undefined && cause !== err && isRetryable(cause);
}

/** Whether the server says it does not implement the request (some S3-compatible servers lack ListMultipartUploads). */
export function isNotImplemented(err: unknown): boolean {
  const name = storeErrorName(err);
  return name === 'NotImplemented' || name === 'MethodNotAllowed' || httpStatusOf(err) === 501 || httpStatusOf(err) === 405;
}

/** Whether `err` says the object (or upload) is missing, as opposed to the bucket. */
export function isNoSuchKey(err: unknown): boolean {
  const name = storeErrorName(err);
  return name === 'NoSuchKey' || name === 'NoSuchUpload' || (name === 'NotFound' && httpStatusOf(err) === 404);
}

/**
 * The LaminateError for an S3 error that retrying will not mend, naming the
 * bucket (and key) and what to check. `what` says what was being done
 * ("listing s3://b/in/").
 */
export function storeError(err: unknown, bucket: string, what: string): LaminateError {
  if (err instanceof LaminateError) return err;
  const name = storeErrorName(err);
  const status = httpStatusOf(err);
  const detail = `${name || 'error'}${status === undefined ? '' : ` (HTTP ${status})`}: ${errorMessage(err)}`;
  if (name === 'NoSuchBucket') {
    return new LaminateError('NOT_FOUND', `Expected S3 bucket '${bucket}' to exist while ${what}, got no such bucket (create it, or check AWS_ENDPOINT_URL_S3 and AWS_REGION)`, { cause: err });
  }
  if (DENIED.has(name) || status === 403) {
    return new LaminateError('UNAUTHENTICATED', `Access to S3 bucket '${bucket}' denied while ${what}: ${detail} (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or the profile, and the bucket's policy)`, { cause: err });
  }
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || status === 301) {
    return new LaminateError('FAILED_PRECONDITION', `S3 bucket '${bucket}' is in another region than the one configured, while ${what}: ${detail} (set AWS_REGION)`, { cause: err });
  }
  if (isNoSuchKey(err)) return new LaminateError('NOT_FOUND', `Expected an object in S3 bucket '${bucket}' while ${what}, got none: ${detail}`, { cause: err });
  if (name === 'Region is missing' || /region is missing/i.test(errorMessage(err))) {
    return new LaminateError('FAILED_PRECONDITION', `No AWS region configured while ${what}: set AWS_REGION or a region in the shared config file`, { cause: err });
  }
  if (isRetryable(err)) return new LaminateError('UNAVAILABLE', `S3 did not answer ${what} after retries: ${detail}`, { cause: err });
  return new LaminateError('INTERNAL', `S3 failed ${what} on bucket '${bucket}': ${detail}`, { cause: err });
}

/** How withRetry backs off. */
export interface RetryPolicy {
  /** Tries in all, the first included. Default 6. */
  readonly attempts: number;
  /** The first wait; each next one doubles, with full jitter. Default 50 ms. */
  readonly baseDelayMs: number;
  /** The longest wait. Default 2000 ms. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 50, maxDelayMs: 2000 };

/**
 * Runs `op` until it succeeds, retrying what isRetryable accepts with
 * exponential backoff and full jitter; throws storeError of the last error
 * otherwise. `op` must be safe to repeat (every S3 request the backend makes
 * is: a part uploaded twice is replaced, a GET reads the same bytes).
 */
export async function withRetry<T>(op: () => Promise<T>, bucket: string, what: string, policy: RetryPolicy = DEFAULT_RETRY): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!isRetryable(err) || attempt >= policy.attempts) throw storeError(err, bucket, what);
      const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
    }
  }
}
