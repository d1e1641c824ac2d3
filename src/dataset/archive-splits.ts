/**
 * Which part of a dataset job's splits the maps read from the archive:
 * a split over archived offsets is cut at the archived segments' bounds
 * (and at the archived end), and each piece inside one archived segment
 * gets that object's byte range, so that its map reads it from the store.
 * Pieces past the archived end keep coming through the master. The pieces
 * of a split tile it, so every record before the cut is still read exactly
 * once, whichever path it takes.
 */
import type { ArchivedRange, DatasetSplit, InputSplit } from '../common/input-split.js';
import type { ArchivedSegment } from './archive-manifest.js';

/** What planning asks of the archiver and the store. */
export interface ArchiveLookup {
  /** The partition's archived segments, in order, from offset 0 (archiver.ts). */
  archivedSegments(dataset: string, partition: number): readonly ArchivedSegment[];
  segmentPath(dataset: string, partition: number, baseOffset: number): string;
  /** Bytes of a sealed segment a reader of [from, end) needs (LogDatasetStore.sealedByteRange). */
  sealedByteRange(dataset: string, partition: number, baseOffset: number, from: number, end: number): Promise<{ start: number; end: number }>;
}

/** A piece of a split: within one archived segment (`segment` set), or wholly past the archived end. Pure. */
export interface SplitPiece {
  readonly startOffset: number;
  readonly endOffset: number;
  readonly segment?: ArchivedSegment;
}

/**
 * `[start, end)` cut at the bounds of `segments` (in order, tiling [0, archived end)). Pure.
 * Pieces tile [start, end) in order; none is empty.
 */
export function cutAtSegments(start: number, end: number, segments: readonly ArchivedSegment[]): SplitPiece[] {
  const pieces: SplitPiece[] = [];
  let at = start;
  for (const s of segments) {
    if (at >= end) break;
    if (s.endOffset <= at) continue;
    const to = Math.min(end, s.endOffset);
    pieces.push({ startOffset: at, endOffset: to, segment: s });
    at = to;
  }
  if (at < end) pieces.push({ startOffset: at, endOffset: end });
  return pieces;
}

/**
 * The splits with those over archived records cut and pointed at the
 * archive (see the file comment). File splits and splits past the archived
 * end are returned as they are. Called by the master once per submission of
 * a dataset job when it has an archive; reads only (offset indexes).
 */
export async function withArchivedRanges(splits: readonly InputSplit[], lookup: ArchiveLookup): Promise<InputSplit[]> {
  const out: InputSplit[] = [];
  for (const split of splits) {
    if (split.kind !== 'dataset') {
      out.push(split);
      continue;
    }
    const { dataset, partition } = split;
    for (const piece of cutAtSegments(split.startOffset, split.endOffset, lookup.archivedSegments(dataset, partition))) {
      const base: DatasetSplit = { kind: 'dataset', dataset, partition, startOffset: piece.startOffset, endOffset: piece.endOffset };
      if (piece.segment === undefined) {
        out.push(base);
        continue;
      }
      const bytes = await lookup.sealedByteRange(dataset, partition, piece.segment.baseOffset, piece.startOffset, piece.endOffset);
      const archive: ArchivedRange = { path: lookup.segmentPath(dataset, partition, piece.segment.baseOffset), start: bytes.start, end: bytes.end };
      out.push({ ...base, archive });
    }
  }
  return out;
}
