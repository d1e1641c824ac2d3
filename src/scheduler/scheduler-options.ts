/**
 * The scheduler's options: what a user may pass, compiled once into a
 * complete, validated, readonly set with every default filled.
 */
import { LaminateError } from '../common/errors.js';
import type { SpeculationOptions } from './speculation.js';

export interface SchedulerOptions {
  /** A worker silent this long is lost. Default 10 000 ms. */
  heartbeatTimeoutMs?: number;
  /**
   * An attempt a worker's heartbeat has not listed this long after its launch
   * was lost on the way and runs again. Default 10 000 ms.
   */
  reconcileGraceMs?: number;
  /** Failed attempts of one task before its job fails. Default 4 (Hadoop's). */
  maxAttempts?: number;
  /**
   * Attempts of one task, since it last succeeded, that were each the only
   * attempt running on a worker that died, before its job fails. Default 10:
   * higher than maxAttempts because the worker may have died of something else.
   */
  maxCrashes?: number;
  /** Backoff before retry n is base * 2^(n-1), capped. Defaults 200 ms and 5 000 ms. */
  retryBackoffMs?: number;
  maxRetryBackoffMs?: number;
  /** Failed attempts of a job on one worker before that worker gets no more of the job's tasks. Default 3. */
  maxFailuresPerWorker?: number;
  speculation?: Partial<SpeculationOptions>;
}

export interface ResolvedSchedulerOptions {
  readonly heartbeatTimeoutMs: number;
  readonly reconcileGraceMs: number;
  readonly maxAttempts: number;
  readonly maxCrashes: number;
  readonly retryBackoffMs: number;
  readonly maxRetryBackoffMs: number;
  readonly maxFailuresPerWorker: number;
  readonly speculation: SpeculationOptions;
}

function positive(name: string, v: number | undefined, dflt: number): number {
  const value = v ?? dflt;
  if (!Number.isFinite(value) || value <= 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected scheduler option ${name} to be a positive number, got ${String(v)}`);
  }
  return value;
}

export function resolveSchedulerOptions(o: SchedulerOptions = {}): ResolvedSchedulerOptions {
  return {
    heartbeatTimeoutMs: positive('heartbeatTimeoutMs', o.heartbeatTimeoutMs, 10_000),
    reconcileGraceMs: positive('reconcileGraceMs', o.reconcileGraceMs, 10_000),
    maxAttempts: positive('maxAttempts', o.maxAttempts, 4),
    maxCrashes: positive('maxCrashes', o.maxCrashes, 10),
    retryBackoffMs: positive('retryBackoffMs', o.retryBackoffMs, 200),
    maxRetryBackoffMs: positive('maxRetryBackoffMs', o.maxRetryBackoffMs, 5_000),
    maxFailuresPerWorker: positive('maxFailuresPerWorker', o.maxFailuresPerWorker, 3),
    speculation: {
      quantile: positive('speculation.quantile', o.speculation?.quantile, 0.75),
      multiplier: positive('speculation.multiplier', o.speculation?.multiplier, 2),
      minRuntimeMs: positive('speculation.minRuntimeMs', o.speculation?.minRuntimeMs, 1_000),
    },
  };
}
