/**
 * The dataset store's metrics: records and bytes appended (new ones, not
 * duplicates a retrying producer sent again), per dataset; and how long each
 * group commit's fdatasync took, the floor under every append's latency.
 * The archive's: segments and bytes archived, and the lag (sealed, not yet
 * archived); and the records the Dataset service streamed to readers.
 */
import { counter, gauge, histogram, LATENCY_BUCKETS } from '../common/metrics.js';

export function appendedRecords() {
  return counter({ name: 'laminate_dataset_appended_records_total', help: 'Records appended durably, per dataset (duplicates not counted)', labelNames: ['dataset'] as const });
}

export function appendedBytes() {
  return counter({ name: 'laminate_dataset_appended_bytes_total', help: 'Bytes of record bodies appended durably, per dataset (duplicates not counted)', labelNames: ['dataset'] as const });
}

export function fsyncSeconds() {
  return histogram({ name: 'laminate_dataset_fsync_duration_seconds', help: 'fdatasync of a partition\'s active segment, one per group commit', buckets: LATENCY_BUCKETS });
}

/** Records the Dataset service streamed to readers (Read calls): a batch job's archived part never passes here. */
export function servedRecords() {
  return counter({ name: 'laminate_dataset_served_records_total', help: 'Records streamed by the master\'s Dataset service to readers, per dataset', labelNames: ['dataset'] as const });
}

export function archivedSegmentsTotal() {
  return counter({ name: 'laminate_dataset_archived_segments_total', help: 'Sealed segments copied to the archive and recorded in its manifest, per dataset', labelNames: ['dataset'] as const });
}

export function archivedBytesTotal() {
  return counter({ name: 'laminate_dataset_archived_bytes_total', help: 'Bytes of sealed segments copied to the archive and recorded, per dataset', labelNames: ['dataset'] as const });
}

export function archiveLagSegments() {
  return gauge({ name: 'laminate_dataset_archive_lag_segments', help: 'Sealed segments not archived yet, per dataset', labelNames: ['dataset'] as const });
}

export function archiveLagBytes() {
  return gauge({ name: 'laminate_dataset_archive_lag_bytes', help: 'Bytes of sealed segments not archived yet, per dataset', labelNames: ['dataset'] as const });
}
