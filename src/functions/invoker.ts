/**
 * The seam between the function catalog and invocation service (which run
 * events on workers) and the triggers (which decide what events there are).
 * The master builds one object implementing both interfaces and hands it to
 * each trigger; triggers never see workers, containers or retries.
 */
import type { FunctionConfig, InvocationOutcome, InvocationSource } from '../common/function-shapes.js';

/** A deployed function's live version. */
export interface DeployedFunction {
  readonly name: string;
  readonly version: number;
  readonly config: FunctionConfig;
}

export type FunctionChange =
  | { readonly type: 'deployed'; readonly fn: DeployedFunction }
  | { readonly type: 'deleted'; readonly name: string };

/** What triggers read of the catalog. */
export interface FunctionDirectory {
  /** The live version of every deployed function. */
  list(): readonly DeployedFunction[];
  /** The live version of `name`, undefined when it is not deployed: a map lookup (the HTTP trigger calls it per request). */
  live(name: string): DeployedFunction | undefined;
  /** Told after each deploy (a new live version) and delete; returns the unsubscribe. */
  subscribe(listener: (change: FunctionChange) => void): () => void;
}

/** How an event delivered with the asynchronous policy ended. */
export type DeliveryOutcome =
  | { readonly status: 'succeeded'; readonly attempts: number }
  /**
   * Every attempt failed (1 + the function's retries); the event and each
   * attempt's error were appended to its dead-letter dataset, if it has one.
   */
  | { readonly status: 'dead-lettered'; readonly attempts: number; readonly errors: readonly { code: string; message: string }[] }
  /** The function was deleted before the event could run: nothing ran, nothing was dead-lettered. */
  | { readonly status: 'function-deleted'; readonly attempts: number };

export interface FunctionInvoker {
  /**
   * One synchronous attempt on the live version (or `version`): no retries,
   * the error is the caller's. Waits in the function's queue when it is at
   * its concurrency (counted as a throttle), up to `maxWaitMs` (default: the
   * function's timeout), then fails THROTTLED. `jsonBytes`: the payload's
   * size as JSON when the caller has its text (an HTTP body, a client's
   * payload), so that it is not stringified again to check the limit.
   * @throws LaminateError NOT_FOUND for an unknown function or version.
   */
  invoke(name: string, payload: unknown, options: { readonly source: InvocationSource; readonly version?: number; readonly maxWaitMs?: number; readonly jsonBytes?: number }): Promise<InvocationOutcome>;
  /**
   * Runs an event with the asynchronous policy: retried with exponential
   * backoff after a failure (not after a throttle, which only waits), then
   * dead-lettered. `eventId` is passed to every attempt as ctx.eventId, and
   * is the same when the trigger delivers the event again after a restart.
   * Resolves once the event has settled; never rejects for the handler's
   * errors. A trigger that must keep order (dataset partitions) awaits it
   * before delivering the next event of that order.
   * @throws LaminateError NOT_FOUND for an unknown function.
   */
  deliver(name: string, event: unknown, options: { readonly eventId: string; readonly source: InvocationSource }): Promise<DeliveryOutcome>;
}
