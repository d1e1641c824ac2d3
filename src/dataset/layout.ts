/**
 * Where a dataset's files live, and the one formatter and parser of each
 * file name (STYLE.md: ids are never built by hand).
 *
 *   <dir>/.clean-shutdown                 present only between a clean close and the next open
 *   <dir>/<dataset>/dataset.json          the catalog entry (catalog.ts)
 *   <dir>/<dataset>/p-0003/               partition 3
 *   <dir>/<dataset>/p-0003/00000000000000001200.log       segment whose first offset is 1200
 *   <dir>/<dataset>/p-0003/00000000000000001200.snapshot  producer state before offset 1200
 *
 * Segment and snapshot names carry their offset in 20 digits, as Kafka's do,
 * so that names sort as offsets do.
 */
import { join } from 'node:path';

export const CLEAN_SHUTDOWN_FILE = '.clean-shutdown';
export const DATASET_FILE = 'dataset.json';

const OFFSET_DIGITS = 20;
const SEGMENT_RE = /^(\d{20})\.log$/;
const SNAPSHOT_RE = /^(\d{20})\.snapshot$/;

export function datasetDir(dir: string, dataset: string): string {
  return join(dir, dataset);
}

export function partitionDirName(partition: number): string {
  return `p-${String(partition).padStart(4, '0')}`;
}

export function partitionDir(dir: string, dataset: string, partition: number): string {
  return join(dir, dataset, partitionDirName(partition));
}

export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(OFFSET_DIGITS, '0')}.log`;
}

export function snapshotFileName(offset: number): string {
  return `${String(offset).padStart(OFFSET_DIGITS, '0')}.snapshot`;
}

/** The base offset a segment file name carries, or undefined for another file. */
export function parseSegmentFileName(name: string): number | undefined {
  return parseOffset(SEGMENT_RE.exec(name)?.[1]);
}

/** The offset a snapshot file name carries, or undefined for another file. */
export function parseSnapshotFileName(name: string): number | undefined {
  return parseOffset(SNAPSHOT_RE.exec(name)?.[1]);
}

function parseOffset(digits: string | undefined): number | undefined {
  if (digits === undefined) return undefined;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : undefined;
}
