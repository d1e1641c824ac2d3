/**
 * The shapes functions are described by, shared by the master (catalog,
 * invocations, triggers), the worker (containers) and the client. Plain data,
 * no behaviour: the limits are checked in one place (validateFunctionConfig,
 * written beside the catalog), and these are what crosses between modules.
 */

/** Lambda's bounds, kept here so that every layer says the same range. */
export const FUNCTION_LIMITS = {
  /** Memory of a function's container, MB. */
  minMemoryMb: 128,
  maxMemoryMb: 10_240,
  /** Timeout of one invocation, ms. */
  minTimeoutMs: 1_000,
  maxTimeoutMs: 900_000,
  /** A synchronous invocation's payload and result (JSON), bytes. */
  maxSyncPayloadBytes: 6 * 1024 * 1024,
  /** An asynchronous invocation's payload (JSON), bytes. */
  maxAsyncPayloadBytes: 256 * 1024,
  /** The environment: names and values together, bytes. */
  maxEnvBytes: 4 * 1024,
  /** Retries of an asynchronous event after its first attempt. */
  maxRetries: 2,
  /** Records per batch of a dataset trigger. */
  maxBatchSize: 10_000,
  /** Console output kept per invocation, bytes (the rest is cut, and says so). */
  maxLogBytesPerInvocation: 64 * 1024,
} as const;

/** Memory at which a container gets one full CPU's share (Lambda: 1,769 MB is one vCPU). */
export const MEMORY_MB_PER_CPU = 1_769;

/** What starts a function, parsed from `--trigger`. */
export type TriggerSpec =
  | { readonly kind: 'dataset'; readonly dataset: string; readonly batchSize: number }
  | { readonly kind: 'view'; readonly view: string }
  | { readonly kind: 'files'; readonly dir: string }
  | { readonly kind: 'http' }
  /** `every 1m` style rates, or a five-field cron expression (UTC). */
  | { readonly kind: 'schedule'; readonly expression: string };

/** A function's settings, fixed per version. */
export interface FunctionConfig {
  readonly memoryMb: number;
  readonly timeoutMs: number;
  /** Invocations of this function running at once, all versions together; more queue (and count as throttles). */
  readonly concurrency: number;
  /** Retries of an asynchronous event after its first attempt (default 2). */
  readonly retries: number;
  /** Dataset the events that failed every attempt are appended to, with each attempt's error; none: dropped (and logged). */
  readonly deadLetter?: string;
  readonly env: Readonly<Record<string, string>>;
  readonly triggers: readonly TriggerSpec[];
}

/** One immutable version of a function, as the catalog keeps it. */
export interface FunctionVersionInfo {
  readonly name: string;
  readonly version: number;
  /** SHA-256 of the plain code bundle, hex. */
  readonly codeSha256: string;
  readonly codeBytes: number;
  readonly config: FunctionConfig;
  /** ms since the epoch. */
  readonly createdAt: number;
}

export type InvocationErrorCode =
  /** The handler threw or rejected. */
  | 'HANDLER_ERROR'
  /** It ran past the function's timeout and was stopped. */
  | 'TIMEOUT'
  /** It outgrew the function's memory. */
  | 'OUT_OF_MEMORY'
  /** The handler's process exited (process.exit, a crash) before answering. */
  | 'PROCESS_EXITED'
  /** The result could not be serialised as JSON. */
  | 'RESULT_NOT_SERIALIZABLE'
  /** The module has no handler (no default export written with defineFunction). */
  | 'NO_HANDLER'
  /** The worker running it was lost. */
  | 'WORKER_LOST'
  /** The payload was over its limit. */
  | 'PAYLOAD_TOO_LARGE'
  /** No room to run it before the caller's deadline (concurrency or cluster capacity). */
  | 'THROTTLED';

/** How one attempt of an invocation ended. */
export type InvocationOutcome =
  | {
      readonly ok: true;
      /** The handler's result, JSON-compatible (undefined: none). */
      readonly result: unknown;
      readonly durationMs: number;
      readonly coldStart: boolean;
    }
  | {
      readonly ok: false;
      readonly code: InvocationErrorCode;
      readonly message: string;
      readonly durationMs: number;
      readonly coldStart: boolean;
    };

/** One line a handler wrote, kept per invocation. */
export interface FunctionLogLine {
  readonly at: number;
  readonly function: string;
  readonly version: number;
  readonly requestId: string;
  readonly eventId: string;
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
}

/** What an invocation was started by, for logs and metrics. */
export type InvocationSource = 'api' | 'http' | 'dataset' | 'view' | 'files' | 'schedule';

/**
 * The master's command to run one attempt of an invocation in a container
 * (the InvokeFunction message in domain terms): the worker cold-starts the
 * container when it has none by that id.
 */
export interface InvokeCommand {
  readonly requestId: string;
  readonly eventId: string;
  readonly function: string;
  readonly version: number;
  readonly codeSha256: string;
  readonly containerId: string;
  readonly memoryMb: number;
  readonly timeoutMs: number;
  /** The event, msgpack. */
  readonly payload: Buffer;
  readonly env: Readonly<Record<string, string>>;
  /** ms since the epoch: the timeout's end as the master counts it. */
  readonly deadline: number;
}

/** One line a handler wrote, as its worker reports it. */
export interface ReportedLogLine {
  readonly at: number;
  readonly level: FunctionLogLine['level'];
  readonly message: string;
}

/** A worker's report of one invocation attempt (ReportInvocation), in domain terms. */
export interface InvocationReport {
  readonly requestId: string;
  readonly workerId: string;
  readonly containerId: string;
  readonly outcome:
    | { readonly ok: true; /** msgpack of the handler's result; empty: undefined. */ readonly result: Buffer }
    | { readonly ok: false; readonly code: InvocationErrorCode; readonly message: string };
  readonly durationMs: number;
  readonly coldStart: boolean;
  /** Cold starts only: process start and module load, ms. */
  readonly initMs: number;
  /** The container ended with this attempt (timeout, out of memory, exit): its reservation is released. */
  readonly containerGone: boolean;
  readonly logs: readonly ReportedLogLine[];
  readonly maxMemoryUsedMb: number;
}

/** A version's code as GetFunctionCode gives it: encrypted, with its data key. */
export interface FunctionCode {
  readonly ciphertext: Buffer;
  readonly iv: Buffer;
  readonly authTag: Buffer;
  readonly dataKey: Buffer;
  readonly codeSha256: string;
}

export const INVOCATION_ERROR_CODES: readonly InvocationErrorCode[] = [
  'HANDLER_ERROR', 'TIMEOUT', 'OUT_OF_MEMORY', 'PROCESS_EXITED', 'RESULT_NOT_SERIALIZABLE', 'NO_HANDLER', 'WORKER_LOST', 'PAYLOAD_TOO_LARGE', 'THROTTLED',
];

/** One function's metrics since the master started. */
export interface FunctionMetrics {
  readonly name: string;
  /** Attempts that ended (a retry is another invocation, as Lambda counts them). */
  readonly invocations: number;
  /** Attempts that ended in an error (any code but success). */
  readonly errors: number;
  /** Invocations that had to wait for the function's concurrency or the cluster's capacity. */
  readonly throttles: number;
  readonly coldStarts: number;
  /** Mean process start and module load time of the cold starts, ms (0: none yet). */
  readonly initMsMean: number;
  /** Over the newest attempts (see durationsKept), ms; 0 before the first. */
  readonly durationP50Ms: number;
  readonly durationP99Ms: number;
  /** Events that failed every attempt and went to the dead-letter dataset (or were dropped without one). */
  readonly deadLetters: number;
  /** Attempts running now, and waiting for room. */
  readonly running: number;
  readonly queued: number;
  /** Containers of this function alive now (idle or busy). */
  readonly containers: number;
  /** Dataset triggers: how far behind the log end the slowest partition is, ms (as the trigger reports it); absent for others. */
  readonly iteratorAgeMs?: number;
}

/** A function as `function list` shows it: its live version and its metrics. */
export interface FunctionSummary {
  readonly live: FunctionVersionInfo;
  readonly metrics: FunctionMetrics;
}
