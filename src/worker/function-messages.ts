/**
 * The messages between a worker and one of its function containers (a child
 * process, function-main.ts), over the child's IPC channel with the
 * 'advanced' (structured clone) serialization.
 */
import type { InvocationLogLine } from '../common/function-invocation.js';

/** Worker -> container. */
export type ToFunctionContainer =
  /**
   * Load the function's code (sent once, first), with the environment the
   * handler is to see (the process starts with none: it may be started before
   * its function is known).
   */
  | { readonly type: 'load'; readonly code: string; readonly env: Readonly<Record<string, string>> }
  | {
    readonly type: 'invoke';
    readonly requestId: string;
    readonly eventId: string;
    /** The event, msgpack (decoded in the container, not in the worker). */
    readonly payload: Uint8Array;
    readonly timeoutMs: number;
    /** Bytes of console output kept for this invocation. */
    readonly maxLogBytes: number;
    /** Bytes of JSON result allowed. */
    readonly maxResultBytes: number;
  }
  /** The answer to an `emit` of the running invocation: '' when appended, else why not. */
  | { readonly type: 'emitted'; readonly id: number; readonly error: string };

export type LoadFailureCode = 'NO_HANDLER' | 'HANDLER_ERROR';

/** A handler's failure the container itself can tell (the others it cannot report: it is gone). */
export type ContainerErrorCode = 'HANDLER_ERROR' | 'RESULT_NOT_SERIALIZABLE' | 'PAYLOAD_TOO_LARGE';

/** Container -> worker. */
export type FromFunctionContainer =
  /** The runtime is imported: the process is ready for a `load`. */
  | { readonly type: 'booted' }
  | { readonly type: 'loaded' }
  | { readonly type: 'loadFailed'; readonly code: LoadFailureCode; readonly message: string }
  /** Console lines of invocation `requestId` so far (the rest come with its result). */
  | { readonly type: 'logs'; readonly requestId: string; readonly lines: readonly InvocationLogLine[] }
  /** `ctx.emit(dataset, record)` of invocation `requestId`; answered with `emitted` and the same id. */
  | { readonly type: 'emit'; readonly requestId: string; readonly id: number; readonly dataset: string; readonly record: unknown }
  | {
    readonly type: 'result';
    readonly requestId: string;
    readonly durationMs: number;
    /**
     * The process's peak resident size so far, kB (getrusage's ru_maxrss): a
     * system call in the child, where the worker would read /proc on the
     * invocation's return path.
     */
    readonly maxRssKb: number;
    readonly logs: readonly InvocationLogLine[];
    /** ok: msgpack of the result as JSON would give it back (empty for undefined). */
    readonly outcome: { readonly ok: true; readonly result: Uint8Array } | { readonly ok: false; readonly code: ContainerErrorCode; readonly message: string };
  };
