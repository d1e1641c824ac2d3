/**
 * A speed process's metrics, read from its engine's report at each scrape
 * (the same report its heartbeat carries, so `laminate speed-status` and
 * the metrics agree): per view and partition, the lag (records durable in
 * the log but not folded yet), the freshness (time since the fold last
 * reached the log end it had seen), whether the partition stopped on a
 * record its map threw on, and its last checkpoint's duration and size.
 */
import type { SpeedViewReport } from '../common/speed-shapes.js';
import { addMetricsSource, gauge } from '../common/metrics.js';

const lag = () => gauge({ name: 'laminate_speed_lag_records', help: 'Records durable in the log but not folded yet, per view and partition', labelNames: ['node', 'view', 'partition'] as const });
const freshness = () => gauge({
  name: 'laminate_speed_freshness_seconds', help: 'Time since the fold last reached the log end it had seen, per view and partition (NaN before it ever did)',
  labelNames: ['node', 'view', 'partition'] as const,
});
const stopped = () => gauge({ name: 'laminate_speed_partition_stopped', help: '1 when a partition\'s fold stopped at a record the view\'s map threw on', labelNames: ['node', 'view', 'partition'] as const });

const checkpointDuration = () => gauge({
  name: 'laminate_speed_last_checkpoint_duration_seconds', help: 'How long the last checkpoint of a partition took to write (encode and durable write), per view and partition',
  labelNames: ['node', 'view', 'partition'] as const,
});
const checkpointSize = () => gauge({
  name: 'laminate_speed_last_checkpoint_size_bytes', help: 'Size of the last checkpoint of a partition, per view and partition', labelNames: ['node', 'view', 'partition'] as const,
});

/** Registers the process's speed gauges; returns the removal, for its stop. */
export function addSpeedMetrics(node: () => string, report: () => readonly SpeedViewReport[], now: () => number = Date.now): () => void {
  const l = lag();
  const f = freshness();
  const s = stopped();
  const cd = checkpointDuration();
  const cs = checkpointSize();
  type Labels = { node: string; view: string; partition: string };
  let shown: Labels[] = [];
  const remove = (labels: readonly Labels[]): void => {
    for (const labelSet of labels) for (const g of [l, f, s, cd, cs]) g.remove(labelSet);
  };
  const removeSource = addMetricsSource(() => {
    const id = node();
    const t = now();
    const next: Labels[] = [];
    for (const v of report()) {
      for (const p of v.partitions) {
        const labels = { node: id, view: v.view, partition: String(p.partition) };
        next.push(labels);
        l.set(labels, Math.max(0, p.end - p.applied));
        f.set(labels, p.caughtUpAt > 0 ? Math.max(0, t - p.caughtUpAt) / 1000 : Number.NaN);
        s.set(labels, p.stopped ? 1 : 0);
        // Before its first checkpoint here a partition has no figure: absent, not zero.
        if (p.lastCheckpoint !== undefined) {
          cd.set(labels, p.lastCheckpoint.durationMs / 1000);
          cs.set(labels, p.lastCheckpoint.bytes);
        } else {
          cd.remove(labels);
          cs.remove(labels);
        }
      }
    }
    // A partition that moved to another process must not keep showing its last values here.
    const kept = new Set(next.map((x) => `${x.view}\0${x.partition}`));
    remove(shown.filter((x) => !kept.has(`${x.view}\0${x.partition}`)));
    shown = next;
  });
  return () => {
    removeSource();
    remove(shown);
  };
}
