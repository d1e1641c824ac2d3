/**
 * dataset-alerts: reads batches of newly appended log records and appends an
 * alert when a batch holds more server errors than a threshold.
 *
 *   laminate function deploy index.ts --master HOST:PORT --name error-alerts \
 *     --trigger dataset:logs --batch-size 100 --memory 128 --timeout 3s --env ALERT_THRESHOLD=10
 *
 * ctx.eventId is the same on every retry of a batch: the alert carries it, so
 * a reader can drop repeats (delivery is at least once).
 */
import { defineFunction, type DatasetEvent } from 'laminate';

interface LogRecord {
  readonly status?: number;
  readonly path?: string;
}

export default defineFunction(async (event: DatasetEvent<LogRecord>, ctx) => {
  const threshold = Number(process.env.ALERT_THRESHOLD ?? '10');
  const errors = event.records.filter((r) => (r.status ?? 0) >= 500);
  if (errors.length > threshold) {
    ctx.log.warn(`${errors.length} server errors in partition ${event.partition} from offset ${event.firstOffset}`);
    await ctx.emit(process.env.ALERT_DATASET ?? 'alerts', {
      at: Date.now(), eventId: ctx.eventId, dataset: event.dataset, partition: event.partition, firstOffset: event.firstOffset, errors: errors.length,
    });
  }
  return { checked: event.records.length, errors: errors.length };
});
