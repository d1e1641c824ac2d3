/**
 * Functions as users define them (`defineFunction`): a handler run once per
 * event, in a container of its own with a memory limit and a timeout, as AWS
 * Lambda runs one. The handler is the module's default export:
 *
 *   export default defineFunction(async (event, ctx) => { ... return result; });
 *
 * What an event looks like depends on the function's trigger (see the
 * *Event types below); a direct invocation passes the caller's payload as is.
 */

/** What a handler is given beside its event. */
export interface FunctionContext {
  /** This attempt's id: new on every attempt, retries included. */
  readonly requestId: string;
  /**
   * The event's id: the same on every attempt to deliver one event (retries,
   * a re-run after a lost worker), so that a handler can be idempotent.
   */
  readonly eventId: string;
  readonly functionName: string;
  readonly functionVersion: number;
  /** The container's memory limit, in MB. */
  readonly memoryLimitMb: number;
  /** Milliseconds left before the invocation's timeout stops it. */
  getRemainingTimeInMillis(): number;
  /**
   * Appends a record to a dataset, resolving once it is durable. A record
   * emitted by an attempt that later fails stays appended (at least once):
   * use `eventId` in the record to recognise repeats.
   */
  emit(dataset: string, record: unknown): Promise<void>;
  /** Lines written here (and to the console) are kept with the invocation's request id. */
  readonly log: FunctionLogger;
}

export interface FunctionLogger {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** A handler: returns (or resolves to) a JSON-serialisable result, or throws. */
export type FunctionHandler<E = any, R = unknown> = (event: E, ctx: FunctionContext) => R | Promise<R>;

/** The default export of a function module, written with defineFunction. */
export interface FunctionDefinition<E = any, R = unknown> {
  readonly kind: 'laminate-function';
  readonly handler: FunctionHandler<E, R>;
}

/** Event of a `dataset:NAME` trigger: `records[i]` has offset `firstOffset + i` in `partition`. */
export interface DatasetEvent<R = unknown> {
  readonly dataset: string;
  readonly partition: number;
  readonly firstOffset: number;
  readonly records: readonly R[];
}

/** Event of a `view:NAME` trigger: a version was published; the counts of keys against the version before it. */
export interface ViewPublishedEvent {
  readonly view: string;
  readonly version: number;
  readonly cut: readonly number[];
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
}

/** Event of a `files:DIR` trigger: one per file created in or removed from the folder. */
export interface FileEvent {
  readonly type: 'created' | 'removed';
  readonly path: string;
  readonly size: number;
}

/** Event of a `schedule:` trigger. */
export interface ScheduledEvent {
  readonly type: 'schedule';
  /** The time the run was due, ms since the epoch (not when it started). */
  readonly scheduledAt: number;
  readonly expression: string;
}

/** Event of an `http` trigger (POST /functions/NAME/invoke): the request's JSON body. */
export type HttpEvent = unknown;

/**
 * Defines a function. The handler runs in a child process of a worker with
 * the function's memory limit, environment and timeout; it may keep state in
 * module scope between invocations of one warm container, but must not rely
 * on it (a container is stopped when idle, and several run at once up to the
 * function's concurrency).
 */
export function defineFunction<E = any, R = unknown>(handler: FunctionHandler<E, R>): FunctionDefinition<E, R> {
  if (typeof handler !== 'function') {
    throw new TypeError(`defineFunction expects a handler function (event, ctx) => result, got ${handler === null ? 'null' : typeof handler}`);
  }
  return { kind: 'laminate-function', handler };
}

/** True for a module's default export written with defineFunction (or a bare handler function). */
export function isFunctionDefinition(value: unknown): value is FunctionDefinition {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'laminate-function'
    && typeof (value as { handler?: unknown }).handler === 'function';
}
