/**
 * The process's Prometheus metrics (prom-client): one registry per process,
 * with Node's process metrics (CPU, memory, event-loop lag, GC), and the
 * metrics each component defines in a file of its own (master-metrics.ts,
 * worker-metrics.ts, ...). Names follow Prometheus' conventions: a
 * `laminate_` prefix, base units (seconds, bytes), `_total` on counters.
 *
 * A component may be built more than once in one process (the embedded
 * cluster runs two workers, say), so metrics are defined once per process
 * and shared: `metric()` returns the one already registered under a name.
 * Instances that must be told apart carry a label (worker, node).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type CounterConfiguration, type GaugeConfiguration, type HistogramConfiguration } from 'prom-client';

let registry: Registry | undefined;

/**
 * The process's registry, with Node's default metrics, created at first use.
 * The event-loop delay monitor keeps prom-client's 10 ms period, though its
 * timer wakes an idle process 100 times a second: Node's histogram records
 * the whole interval between samples, so every `nodejs_eventloop_lag_*`
 * gauge includes the period. At 100 ms an idle process read min 99.3-100.2
 * and mean 100.2-100.3 ms of "lag" (10.1 at 10 ms), and ten 50 ms stalls a
 * max of about 150 ms (about 63 at 10 ms): a node script with
 * monitorEventLoopDelay, 3 December.
 */
export function metricsRegistry(): Registry {
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
  }
  return registry;
}

function existing<T>(name: string): T | undefined {
  return metricsRegistry().getSingleMetric(name) as T | undefined;
}

/** A counter, registered once per process. */
export function counter<L extends string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
  return existing<Counter<L>>(config.name) ?? new Counter<L>({ ...config, registers: [metricsRegistry()] });
}

/** A gauge, registered once per process; `collect` (if any) of the first definition sets it at each scrape. */
export function gauge<L extends string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
  return existing<Gauge<L>>(config.name) ?? new Gauge<L>({ ...config, registers: [metricsRegistry()] });
}

/** A histogram, registered once per process. */
export function histogram<L extends string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
  return existing<Histogram<L>>(config.name) ?? new Histogram<L>({ ...config, registers: [metricsRegistry()] });
}

/** Buckets for latencies of local work, in seconds: 0.5 ms to 10 s. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Buckets for task attempts and builds, in seconds: 50 ms to 1 h. */
export const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/**
 * Gauges read from live state at each scrape rather than kept up to date
 * on every change: each source registers a callback that sets its values;
 * the callbacks run in `collectSources()` before the registry is read. A
 * source removes itself when its component stops.
 */
const sources = new Set<() => void>();

export function addMetricsSource(collect: () => void): () => void {
  sources.add(collect);
  return () => { sources.delete(collect); };
}

/** The exposition text, after every source has set its gauges. */
export async function metricsText(): Promise<string> {
  for (const s of sources) {
    try {
      s();
    } catch {
      // A source that fails leaves its gauges as they were; the scrape goes on.
    }
  }
  return metricsRegistry().metrics();
}

/** The exposition's content type. */
export function metricsContentType(): string {
  return metricsRegistry().contentType;
}
