/**
 * scheduled-report: runs on a schedule and appends a report record; a real
 * one would read a view or a dataset first.
 *
 *   laminate function deploy index.ts --master HOST:PORT --name hourly-report \
 *     --trigger 'schedule:every 1h' --memory 128 --timeout 10s
 *   (or a cron expression in UTC: --trigger 'schedule:0 6 * * 1-5')
 */
import { defineFunction, type ScheduledEvent } from 'laminate';

export default defineFunction(async (event: ScheduledEvent, ctx) => {
  const report = {
    dueAt: new Date(event.scheduledAt).toISOString(),
    ranAt: new Date().toISOString(),
    schedule: event.expression,
    version: ctx.functionVersion,
  };
  ctx.log.info(`report due at ${report.dueAt}`);
  await ctx.emit(process.env.REPORT_DATASET ?? 'reports', report);
  return report;
});
