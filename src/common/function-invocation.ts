/**
 * One attempt of a function invocation as the master and a worker speak of
 * it, in domain terms: the `invoke` command the master sends (run it in the
 * container it names), and the report the worker sends back. The fields are
 * the wire's (proto/laminate.proto InvokeFunction, InvocationReport), one for
 * one, so that src/protocol/wire-mapping.ts maps them without thought.
 */
import type { InvocationErrorCode } from './function-shapes.js';

/** Run one attempt in container `containerId` (started first, a cold start, if the worker has none by that id). */
export interface FunctionInvocation {
  /** This attempt. */
  readonly requestId: string;
  /** The same on every attempt of one event. */
  readonly eventId: string;
  readonly function: string;
  readonly version: number;
  /** SHA-256 of the plain code, hex: the worker caches code by it. */
  readonly codeSha256: string;
  readonly containerId: string;
  readonly memoryMb: number;
  readonly timeoutMs: number;
  /** The event, msgpack. */
  readonly payload: Uint8Array;
  readonly env: Readonly<Record<string, string>>;
  /** ms since the epoch: the timeout's end as the master counts it (0: unknown). */
  readonly deadline: number;
}

/** One line a handler wrote during an attempt. */
export interface InvocationLogLine {
  readonly at: number;
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
}

/** How an attempt ended, as the worker reports it. */
export interface FunctionInvocationReport {
  readonly requestId: string;
  readonly workerId: string;
  readonly containerId: string;
  readonly ok: boolean;
  /** ok only: msgpack of the handler's JSON-compatible result (empty when it returned undefined). */
  readonly result: Uint8Array;
  /** not ok only. */
  readonly errorCode: InvocationErrorCode | '';
  readonly errorMessage: string;
  /** From the handler's start to its answer (or its end), ms; a cold start's init is not in it. */
  readonly durationMs: number;
  readonly coldStart: boolean;
  /** Cold start only: from spawning the process to the module loaded, ms. */
  readonly initMs: number;
  /** The container was stopped by this attempt's end (timeout, out of memory, exit): the master releases it. */
  readonly containerGone: boolean;
  readonly logs: readonly InvocationLogLine[];
  /** Peak resident memory of the container's process so far, MB. */
  readonly maxMemoryUsedMb: number;
}
