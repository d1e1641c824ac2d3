/**
 * A segment: one file of a partition's log, holding the batches from its
 * base offset (in its name) to the next segment's. Only the last segment of
 * a partition is written to; the others are sealed and never change.
 *
 * Its offset index is complete for the active segment (kept as batches are
 * written) and built on first read for a sealed one, by walking its batch
 * headers, then kept in a store-wide bounded cache (IndexCache).
 */
import type { Logger } from 'pino';
import { BatchScanner } from './batch-scanner.js';
import type { FileSystem } from './file-system.js';
import { OffsetIndex } from './offset-index.js';

/**
 * Offsets a read cannot serve because their batch is damaged, found while
 * walking a segment (recovery or index building). Reads into it report
 * DATA_LOSS; the walk resumed at the next whole batch.
 */
export interface DamagedRange {
  readonly fromOffset: number;
  /** The first offset of the next whole batch. */
  readonly toOffset: number;
  readonly position: number;
  readonly reason: string;
}

export class Segment {
  /** Bytes readers may read: for the active segment, what has been fsync'd. */
  durableBytes: number;
  /** Undefined for a sealed segment whose index is not built or was evicted. */
  index: OffsetIndex | undefined;
  /** Set while a sealed segment's index is being built, so concurrent reads share the walk. */
  indexBuilding: Promise<OffsetIndex> | undefined;
  readonly damaged: DamagedRange[] = [];

  constructor(
    readonly baseOffset: number,
    readonly path: string,
    durableBytes: number,
    index?: OffsetIndex,
  ) {
    this.durableBytes = durableBytes;
    this.index = index;
  }
}

/** Store-wide bound on the offset indexes of sealed segments kept in memory (least recently used dropped). */
export class IndexCache {
  private readonly used = new Map<Segment, true>();

  constructor(private readonly max: number) {}

  /** Marks `segment`'s index as just used; drops the least recently used past the bound. */
  touch(segment: Segment): void {
    this.used.delete(segment);
    this.used.set(segment, true);
    while (this.used.size > this.max) {
      const oldest = this.used.keys().next().value as Segment;
      this.used.delete(oldest);
      oldest.index = undefined;
    }
  }
}

export interface IndexBuildContext {
  readonly fs: FileSystem;
  readonly logger: Logger;
  readonly intervalBytes: number;
  /** The next segment's base offset: where this one's batches must end. */
  readonly endOffset: number;
}

/**
 * The index of a sealed segment, built by walking its batch headers (no
 * CRC: reads check it). A damaged batch is skipped by resyncing at the next
 * whole batch, and noted in `segment.damaged` (logged once at error) so that
 * reads of later offsets still work and reads of its offsets say DATA_LOSS.
 */
export async function buildSegmentIndex(segment: Segment, ctx: IndexBuildContext): Promise<OffsetIndex> {
  const index = new OffsetIndex(ctx.intervalBytes);
  const file = await ctx.fs.open(segment.path, 'r');
  try {
    const scanner = new BatchScanner(file, { end: segment.durableBytes, expectedOffset: segment.baseOffset, verify: false });
    let expected = segment.baseOffset;
    segment.damaged.length = 0;
    for (;;) {
      const step = await scanner.next();
      if (step.kind === 'batch') {
        index.add(step.header.baseOffset, step.position);
        expected = step.header.baseOffset + step.header.count;
        continue;
      }
      if (step.kind === 'end') {
        if (expected !== ctx.endOffset) {
          noteDamage(segment, ctx, { fromOffset: expected, toOffset: ctx.endOffset, position: step.position, reason: `the segment ends at offset ${expected}, the next one starts at ${ctx.endOffset}` });
        }
        break;
      }
      const found = await scanner.resync(step.position);
      const toOffset = found === undefined ? ctx.endOffset : found.header.baseOffset;
      noteDamage(segment, ctx, { fromOffset: expected, toOffset, position: step.position, reason: step.reason });
      if (found === undefined || found.header.baseOffset < expected) break;
      index.add(found.header.baseOffset, found.position, true);
    }
  } finally {
    await file.close();
  }
  return index;
}

function noteDamage(segment: Segment, ctx: IndexBuildContext, range: DamagedRange): void {
  segment.damaged.push(range);
  ctx.logger.error({ segment: segment.path, ...range }, 'damaged batch in a sealed segment: its offsets will fail reads with DATA_LOSS');
}
