/**
 * The dataset store's metrics: records and bytes appended (new ones, not
 * duplicates a retrying producer sent again), per dataset; and how long each
 * group commit's fdatasync took, the floor under every append's latency,
 * and how long each Append call took in the store.
 * The archive's: segments and bytes archived, and the lag (sealed, not yet
 * archived); and the records the Dataset service streamed to readers.
 */
import { counter, gauge, histogram } from '../common/metrics.js';

export function appendedRecords() {
  return counter({ name: 'laminate_dataset_appended_records_total', help: 'Records appended durably, per dataset (duplicates not counted)', labelNames: ['dataset'] as const });
}

export function appendedBytes() {
  return counter({ name: 'laminate_dataset_appended_bytes_total', help: 'Bytes of record bodies appended durably, per dataset (duplicates not counted)', labelNames: ['dataset'] as const });
}

/**
 * Buckets of the append path's histograms, in seconds: finer than LATENCY_BUCKETS between 1 and 50 ms,
 * where a group commit's latency lives and where an ingest p99 target (20 ms) falls.
 */
const APPEND_PATH_BUCKETS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * An Append call in the store, from its arrival to its answer: validation, the wait for room in
 * maxInFlightBytes, the write, and the group commit's fsync (waiting first for the one in flight).
 * Set beside a client's round trip, it tells the store's part from the network's and the client's.
 */
export function appendSeconds() {
  return histogram({ name: 'laminate_dataset_append_duration_seconds', help: 'An Append call in the dataset store, arrival to acknowledgement (budget wait, write, group commit)', buckets: APPEND_PATH_BUCKETS });
}

export function fsyncSeconds() {
  return histogram({ name: 'laminate_dataset_fsync_duration_seconds', help: 'fdatasync of a partition\'s active segment, one per group commit', buckets: APPEND_PATH_BUCKETS });
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
