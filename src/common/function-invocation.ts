/**
 * One attempt of a function invocation as the master and a worker speak of
 * it, in domain terms: the `invoke` command the master sends (run it in the
 * container it names), and the report the worker sends back. The fields are
 * the wire's (proto/laminate.proto InvokeFunction, InvocationReport), one for
 * one, so that src/protocol/wire-mapping.ts maps them without thought.
 */
import type { InvocationErrorCode, InvokeCommand } from './function-shapes.js';

/**
 * Run one attempt in container `containerId` (started first, a cold start,
 * if the worker has none by that id): the master's `invoke` command as is.
 */
export type FunctionInvocation = InvokeCommand;

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
