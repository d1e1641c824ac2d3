/**
 * A small fake of the function service (FunctionDirectory & FunctionInvoker,
 * src/functions/invoker.ts) for trigger tests: a catalog changed by hand,
 * deliveries recorded (and answered as each test tells), invocations run by
 * an in-process handler. Waits are on events (a delivery arriving), never
 * on time.
 */
import { LaminateError } from '../../src/common/errors.js';
import type { FunctionConfig, InvocationOutcome, InvocationSource, TriggerSpec } from '../../src/common/function-shapes.js';
import type { DeliveryOutcome, DeployedFunction, FunctionChange, FunctionDirectory, FunctionInvoker } from '../../src/functions/invoker.js';

export interface Delivery {
  readonly name: string;
  readonly event: unknown;
  readonly eventId: string;
  readonly source: InvocationSource;
}

export function config(triggers: readonly TriggerSpec[], more: Partial<FunctionConfig> = {}): FunctionConfig {
  return { memoryMb: 128, timeoutMs: 3000, concurrency: 1, retries: 2, env: {}, triggers, ...more };
}

export class FakeFunctions implements FunctionDirectory, FunctionInvoker {
  private readonly fns = new Map<string, DeployedFunction>();
  private readonly listeners = new Set<(c: FunctionChange) => void>();
  readonly deliveries: Delivery[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];
  /** How a delivery settles; default: succeeded at once. */
  settle: (d: Delivery) => Promise<DeliveryOutcome> | DeliveryOutcome = () => ({ status: 'succeeded', attempts: 1 });
  /** What a synchronous invocation does; default: echoes the payload. */
  handler: (name: string, payload: unknown) => Promise<InvocationOutcome> | InvocationOutcome = (_n, payload) => ({ ok: true, result: payload, durationMs: 1, coldStart: false });
  readonly invocations: { name: string; payload: unknown; source: InvocationSource }[] = [];

  deploy(name: string, triggers: readonly TriggerSpec[], more: Partial<FunctionConfig> = {}): DeployedFunction {
    const fn: DeployedFunction = { name, version: (this.fns.get(name)?.version ?? 0) + 1, config: config(triggers, more) };
    this.fns.set(name, fn);
    for (const l of this.listeners) l({ type: 'deployed', fn });
    return fn;
  }

  remove(name: string): void {
    this.fns.delete(name);
    for (const l of this.listeners) l({ type: 'deleted', name });
  }

  list(): readonly DeployedFunction[] {
    return [...this.fns.values()];
  }

  live(name: string): DeployedFunction | undefined {
    return this.fns.get(name);
  }

  subscribe(listener: (change: FunctionChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async invoke(name: string, payload: unknown, options: { readonly source: InvocationSource }): Promise<InvocationOutcome> {
    if (!this.fns.has(name)) throw new LaminateError('NOT_FOUND', `No function '${name}'`);
    this.invocations.push({ name, payload, source: options.source });
    return this.handler(name, payload);
  }

  async deliver(name: string, event: unknown, options: { readonly eventId: string; readonly source: InvocationSource }): Promise<DeliveryOutcome> {
    if (!this.fns.has(name)) throw new LaminateError('NOT_FOUND', `No function '${name}'`);
    const d: Delivery = { name, event, eventId: options.eventId, source: options.source };
    this.deliveries.push(d);
    this.waiters = this.waiters.filter((w) => {
      if (this.deliveries.length < w.n) return true;
      w.resolve();
      return false;
    });
    return this.settle(d);
  }

  /** Resolves once `n` deliveries in all have arrived. */
  async waitForDeliveries(n: number): Promise<Delivery[]> {
    if (this.deliveries.length < n) await new Promise<void>((resolve) => this.waiters.push({ n, resolve }));
    return this.deliveries.slice(0, n);
  }
}

/** A promise with its resolve, for holding a delivery until a test lets it go. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}
