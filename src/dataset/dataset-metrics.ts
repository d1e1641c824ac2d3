/**
 * The dataset store's metrics: records and bytes appended (new ones, not
 * duplicates a retrying producer sent again), per dataset; and how long each
 * group commit's fdatasync took, the floor under every append's latency.
 */
import { counter, histogram, LATENCY_BUCKETS } from '../common/metrics.js';

export function appendedRecords() {
  return counter({ name: 'laminate_dataset_appended_records_total', help: 'Records appended durably, per dataset (duplicates not counted)', labelNames: ['dataset'] as const });
}

export function appendedBytes() {
  return counter({ name: 'laminate_dataset_appended_bytes_total', help: 'Bytes of record bodies appended durably, per dataset (duplicates not counted)', labelNames: ['dataset'] as const });
}

export function fsyncSeconds() {
  return histogram({ name: 'laminate_dataset_fsync_duration_seconds', help: 'fdatasync of a partition\'s active segment, one per group commit', buckets: LATENCY_BUCKETS });
}
