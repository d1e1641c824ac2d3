/**
 * The master's archive of sealed dataset segments (`laminate master
 * --archive s3://bucket/prefix/`, or a local folder): checks the store at
 * start, so a missing bucket or denied access stops the master with a clear
 * error rather than failing in the background, then runs the archiver
 * (src/dataset/archiver.ts) and gives job planning its lookup of archived
 * segments (src/dataset/archive-splits.ts). Made once per master start.
 */
import type { Logger } from 'pino';
import type { ArchiveLookup } from '../dataset/archive-splits.js';
import { SegmentArchiver, type ArchiveStep } from '../dataset/archiver.js';
import type { LogDatasetStore } from '../dataset/log-dataset-store.js';
import { locateChecked } from '../storage/store-path.js';

export interface DatasetArchiveOptions {
  /** Where sealed segments go: `s3://bucket/prefix/` or a local folder. */
  readonly path: string;
  /** How often the archiver looks for newly sealed segments. Default 5000 ms. */
  readonly intervalMs?: number;
  /** Crash tests only: called after each step of a segment's archiving. */
  readonly onStep?: (step: ArchiveStep) => void;
}

export interface DatasetArchive {
  readonly lookup: ArchiveLookup;
  stop(): Promise<void>;
}

/**
 * Checks the archive's store and starts archiving `store`'s sealed segments.
 *
 * @throws LaminateError from the store's check (NOT_FOUND for a missing
 *   bucket, UNAUTHENTICATED when access is denied), with the archive named.
 */
export async function startDatasetArchive(o: DatasetArchiveOptions, store: LogDatasetStore, logger: Logger): Promise<DatasetArchive> {
  const { store: archive, key } = await locateChecked(o.path, 'dataset archive', '--archive');
  const archiver = new SegmentArchiver({
    store, archive, prefix: key, logger, ...(o.intervalMs === undefined ? {} : { intervalMs: o.intervalMs }), ...(o.onStep ? { onStep: o.onStep } : {}),
  });
  archiver.start();
  return {
    lookup: {
      archivedSegments: (dataset, partition) => archiver.archivedSegments(dataset, partition),
      segmentPath: (dataset, partition, baseOffset) => archiver.segmentPath(dataset, partition, baseOffset),
      sealedByteRange: (dataset, partition, baseOffset, from, end) => store.sealedByteRange(dataset, partition, baseOffset, from, end),
    },
    stop: () => archiver.stop(),
  };
}
