/**
 * The functions' metrics in Prometheus' form, from the invocation service's
 * per-function counts and the dataset triggers' iterator ages, read at each
 * scrape. Counts the service keeps as running totals become counters here
 * (increased by what was added since the last scrape).
 */
import { addMetricsSource, counter, gauge } from '../common/metrics.js';
import type { FunctionMetricsSource } from '../functions/function-metrics.js';
import type { IteratorAge } from '../functions/triggers/trigger-manager.js';

const COUNTS = [
  ['invocations', 'laminate_function_invocations_total', 'Function attempts that ended (a retry is another)'],
  ['errors', 'laminate_function_errors_total', 'Function attempts that ended in an error'],
  ['throttles', 'laminate_function_throttles_total', 'Invocations that waited for the function\'s concurrency or the cluster\'s capacity'],
  ['coldStarts', 'laminate_function_cold_starts_total', 'Function containers started for an invocation'],
  ['deadLetters', 'laminate_function_dead_letters_total', 'Events that failed every attempt (dead-lettered, or dropped without a dead-letter dataset)'],
] as const;

export function addFunctionMetrics(service: FunctionMetricsSource, iteratorAges: () => readonly IteratorAge[]): () => void {
  const counters = COUNTS.map(([field, name, help]) => ({ field, c: counter({ name, help, labelNames: ['function'] as const }) }));
  const duration = gauge({ name: 'laminate_function_duration_seconds', help: 'Function attempts\' duration over the newest 1,000, by quantile', labelNames: ['function', 'quantile'] as const });
  const running = gauge({ name: 'laminate_function_running', help: 'Function attempts running now', labelNames: ['function'] as const });
  const queued = gauge({ name: 'laminate_function_queued', help: 'Function invocations waiting for room', labelNames: ['function'] as const });
  const containers = gauge({ name: 'laminate_function_containers', help: 'Function containers alive (idle or busy)', labelNames: ['function'] as const });
  const age = gauge({ name: 'laminate_function_iterator_age_seconds', help: 'Dataset triggers: age of the oldest record not yet delivered', labelNames: ['function', 'dataset', 'partition'] as const });
  const seen = new Map<string, number>();
  return addMetricsSource(() => {
    for (const a of iteratorAges()) {
      age.set({ function: a.function, dataset: a.dataset, partition: String(a.partition) }, a.ageMs / 1000);
    }
    for (const m of service.allMetrics()) {
      const fn = { function: m.name };
      for (const { field, c } of counters) {
        const key = `${m.name}\0${field}`;
        const delta = m[field] - (seen.get(key) ?? 0);
        if (delta > 0) c.inc(fn, delta);
        seen.set(key, m[field]);
      }
      duration.set({ function: m.name, quantile: '0.5' }, m.durationP50Ms / 1000);
      duration.set({ function: m.name, quantile: '0.99' }, m.durationP99Ms / 1000);
      running.set(fn, m.running);
      queued.set(fn, m.queued);
      containers.set(fn, m.containers);
    }
  });
}
