/**
 * Per-function metrics, kept by the invocation service: invocations, errors,
 * throttles, cold starts (and their init time), duration p50 and p99 over
 * the newest attempts, and for dataset triggers the iterator age the trigger
 * reports. Read by `function list` and status output now, and by the
 * console and metrics endpoints later (FunctionMetricsSource).
 */

import type { FunctionMetrics } from '../common/function-shapes.js';

export type { FunctionMetrics };

/** What the console and metrics endpoints read. */
export interface FunctionMetricsSource {
  /** Every function with metrics (deployed now, or invoked since the start). */
  allMetrics(): FunctionMetrics[];
  /** One function's, or undefined when it has none. */
  metrics(name: string): FunctionMetrics | undefined;
}

export class MetricsCounter {
  invocations = 0;
  errors = 0;
  throttles = 0;
  coldStarts = 0;
  deadLetters = 0;
  private initMsTotal = 0;
  private readonly durations: number[] = [];
  private next = 0;

  constructor(private readonly durationsKept = 1_000) {}

  attemptEnded(ok: boolean, durationMs: number, coldStart: boolean, initMs: number): void {
    this.invocations++;
    if (!ok) this.errors++;
    if (coldStart) {
      this.coldStarts++;
      this.initMsTotal += initMs;
    }
    if (this.durations.length < this.durationsKept) this.durations.push(durationMs);
    else this.durations[this.next] = durationMs;
    this.next = (this.next + 1) % this.durationsKept;
  }

  /** `iteratorAgeMs`: the function's dataset triggers' largest, asked of them now; undefined without one. */
  snapshot(name: string, live: { running: number; queued: number; containers: number }, iteratorAgeMs?: number): FunctionMetrics {
    const sorted = [...this.durations].sort((a, b) => a - b);
    const at = (q: number): number => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!);
    return {
      name, invocations: this.invocations, errors: this.errors, throttles: this.throttles, coldStarts: this.coldStarts,
      initMsMean: this.coldStarts === 0 ? 0 : this.initMsTotal / this.coldStarts,
      durationP50Ms: at(0.5), durationP99Ms: at(0.99), deadLetters: this.deadLetters, ...live,
      ...(iteratorAgeMs !== undefined ? { iteratorAgeMs } : {}),
    };
  }
}
