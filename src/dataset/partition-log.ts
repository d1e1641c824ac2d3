/**
 * One partition's log: its segments, shared by the write side
 * (partition-writer.ts: group commit, rolls, producer sequences) and the
 * read side here (reads through the offset indexes, waits for records).
 * Readers see only what the writer has made durable.
 */
import type { Logger } from 'pino';
import { describe, LaminateError } from '../common/errors.js';
import type { FileSystem } from './file-system.js';
import { partitionDir } from './layout.js';
import type { OffsetIndex } from './offset-index.js';
import { OffsetWaiters } from './offset-waiters.js';
import { recoverPartition } from './partition-recovery.js';
import { PartitionWriter } from './partition-writer.js';
import { buildSegmentIndex, type IndexCache, type Segment } from './segment.js';
import { readSegment } from './segment-reader.js';
import type { BatchMark } from './split-ranges.js';
import type { SealedSegmentInfo } from './archive-manifest.js';
import type { ResolvedDatasetStoreOptions } from './store-options.js';
import type { AppendBatch, AppendResult, LocalSegmentRange, PartitionDescription, ReadChunk } from './types.js';

export interface PartitionContext {
  readonly options: ResolvedDatasetStoreOptions;
  readonly indexCache: IndexCache;
  readonly dataset: string;
  readonly partition: number;
  /** The store was closed cleanly before this open (see partition-recovery.ts). */
  readonly cleanShutdown: boolean;
}

export class PartitionLog {
  private readonly fs: FileSystem;
  private readonly logger: Logger;
  private readonly waiters = new OffsetWaiters();
  private readonly writer: PartitionWriter;
  /** Set when acknowledged records at the end are damaged (see partition-recovery.ts): reads and waits from there fail with it. */
  private readonly damagedEnd: LaminateError | undefined;

  private constructor(
    private readonly ctx: PartitionContext,
    /** Oldest first; the last is the active one. Shared with the writer, which appends on roll. */
    private readonly segments: Segment[],
    recovered: Awaited<ReturnType<typeof recoverPartition>>,
  ) {
    this.fs = ctx.options.fs;
    this.logger = ctx.options.logger.child({ dataset: ctx.dataset, partition: ctx.partition });
    this.writer = new PartitionWriter(
      {
        options: ctx.options,
        indexCache: ctx.indexCache,
        dataset: ctx.dataset,
        partition: ctx.partition,
        dir: partitionDir(ctx.options.dir, ctx.dataset, ctx.partition),
        logger: this.logger,
        onDurable: (end) => this.waiters.advance(end),
      },
      segments,
      recovered.activeFile,
      recovered.activeBytes,
      recovered.endOffset,
      recovered.producers,
      recovered.snapshots,
    );
    const blockedBy = recovered.appendBlockedBy;
    if (blockedBy !== undefined) {
      const ids = { dataset: ctx.dataset, partition: ctx.partition, offset: blockedBy.fromOffset };
      this.damagedEnd = new LaminateError(
        'DATA_LOSS',
        `Expected a whole batch at offset ${blockedBy.fromOffset} of dataset ${describe(ctx.dataset)} partition ${ctx.partition}, got ${blockedBy.reason}; records from there on cannot be read`,
        { ids },
      );
      this.writer.refuse(new LaminateError(
        'DATA_LOSS',
        `Expected to append to dataset ${describe(ctx.dataset)} partition ${ctx.partition}, but acknowledged records from offset ${blockedBy.fromOffset} are damaged (${blockedBy.reason}) and its end is unknown; appends are refused until the segment is repaired`,
        { ids },
      ));
    }
  }

  /** Opens (recovering, or creating on first use) a partition's log. */
  static async open(ctx: PartitionContext): Promise<PartitionLog> {
    const o = ctx.options;
    const r = await recoverPartition({
      fs: o.fs,
      logger: o.logger,
      dir: o.dir,
      dataset: ctx.dataset,
      partition: ctx.partition,
      indexIntervalBytes: o.indexIntervalBytes,
      producerLimits: { expirationMs: o.producerExpirationMs, maxProducers: o.maxProducersPerPartition },
      now: o.clock.now(),
      cleanShutdown: ctx.cleanShutdown,
    });
    return new PartitionLog(ctx, r.segments, r);
  }

  /** The offset the next record will get, among durable ones: readers' end. */
  get durableEnd(): number {
    return this.writer.durableEnd;
  }

  /** Appends one validated batch; resolves once it is durable (or was a duplicate of a stored one). */
  append(batch: AppendBatch): Promise<AppendResult> {
    return this.writer.append(batch);
  }

  /**
   * Reads durable records from `from` on (see DatasetStore.read). `from` and
   * `endOffset` are checked integers; maxBytes within the store's bounds.
   */
  async read(from: number, endOffset: number | undefined, maxBytes: number): Promise<ReadChunk> {
    const durableEnd = this.writer.durableEnd;
    const ids = { dataset: this.ctx.dataset, partition: this.ctx.partition, offset: from };
    const where = `dataset ${describe(this.ctx.dataset)} partition ${this.ctx.partition}`;
    if (from > durableEnd) {
      throw new LaminateError('OUT_OF_RANGE', `Expected an offset of ${where} from 0 to its end ${durableEnd}, got ${from}`, { ids });
    }
    if (endOffset !== undefined && endOffset < from) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected an end offset at or after the start ${from}, got ${endOffset} (${where})`, { ids });
    }
    if (this.damagedEnd !== undefined && from >= durableEnd && (endOffset === undefined || endOffset > from)) throw this.damagedEnd;
    const end = Math.min(endOffset ?? durableEnd, durableEnd);
    const empty: ReadChunk = { partition: this.ctx.partition, firstOffset: from, count: 0, body: new Uint8Array(0), nextOffset: from, endOffset: durableEnd };
    if (from >= end) return empty;
    const i = this.segmentIndexFor(from);
    const segment = this.segments[i]!;
    const segmentEnd = i + 1 < this.segments.length ? this.segments[i + 1]!.baseOffset : durableEnd;
    const index = await this.indexOf(segment, i);
    const result = await readSegment(this.fs, {
      dataset: this.ctx.dataset,
      partition: this.ctx.partition,
      segment,
      index,
      from,
      end: Math.min(end, segmentEnd),
      maxBytes,
      slackBytes: this.ctx.options.indexIntervalBytes,
    });
    const body = result.parts.length === 1 ? result.parts[0]! : Buffer.concat(result.parts);
    return { partition: this.ctx.partition, firstOffset: from, count: result.count, body, nextOffset: from + result.count, endOffset: durableEnd };
  }

  /** The position in `segments` of the segment holding `offset` (the last whose base is at or below it). */
  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.segments[mid]!.baseOffset <= offset) lo = mid + 1;
      else hi = mid;
    }
    return Math.max(0, lo - 1);
  }

  private async indexOf(segment: Segment, i: number): Promise<OffsetIndex> {
    const isActive = i === this.segments.length - 1;
    if (!isActive) this.ctx.indexCache.touch(segment);
    if (segment.index !== undefined) return segment.index;
    segment.indexBuilding ??= buildSegmentIndex(segment, {
      fs: this.fs,
      logger: this.logger,
      intervalBytes: this.ctx.options.indexIntervalBytes,
      endOffset: this.segments[i + 1]!.baseOffset,
    }).finally(() => {
      segment.indexBuilding = undefined;
    });
    const index = await segment.indexBuilding;
    segment.index = index;
    return index;
  }

  /**
   * Batch starts below `end` with their byte positions counted over the
   * segments in order (each segment's start, and its offset index's
   * entries), and the position where record `end` starts or a bound past it.
   * For split planning (split-ranges.ts); builds the index of a sealed
   * segment not in the cache, as a read would. `end` is at most the durable end.
   */
  async batchMarks(end: number): Promise<{ marks: BatchMark[]; endPosition: number }> {
    const marks: BatchMark[] = [];
    let base = 0;
    for (let i = 0; i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      if (segment.baseOffset >= end) return { marks, endPosition: base };
      marks.push({ offset: segment.baseOffset, position: base });
      for (const e of (await this.indexOf(segment, i)).batchStarts()) {
        if (e.offset >= end) return { marks, endPosition: base + e.position };
        marks.push({ offset: e.offset, position: base + e.position });
      }
      base += segment.durableBytes;
    }
    return { marks, endPosition: base };
  }

  /**
   * The sealed segments, oldest first: every segment but the active one.
   * For the archiver (archiver.ts), once per pass; reads nothing.
   */
  sealedSegments(): SealedSegmentInfo[] {
    const sealed: SealedSegmentInfo[] = [];
    for (let i = 0; i + 1 < this.segments.length; i++) {
      const s = this.segments[i]!;
      sealed.push({ baseOffset: s.baseOffset, endOffset: this.segments[i + 1]!.baseOffset, bytes: s.durableBytes, path: s.path });
    }
    return sealed;
  }

  /**
   * Bytes of the sealed segment based at `baseOffset` that a reader of
   * records [from, end) needs: from the batch start at or before `from` to
   * the first batch start at or after `end` (or the segment's end), both
   * from its offset index (built if not cached, as a read does). For planning
   * splits over the archived copy of the segment.
   */
  async sealedByteRange(baseOffset: number, from: number, end: number): Promise<{ start: number; end: number }> {
    const i = this.segments.findIndex((s) => s.baseOffset === baseOffset);
    if (i < 0 || i === this.segments.length - 1) {
      throw new LaminateError('INTERNAL', `Expected a sealed segment of dataset ${describe(this.ctx.dataset)} partition ${this.ctx.partition} at offset ${baseOffset}, got none`);
    }
    return this.byteRange(i, from, end);
  }

  /** Bytes of segment `i` a reader of records [from, end) needs (see sealedByteRange); the active segment's up to its durable bytes. */
  private async byteRange(i: number, from: number, end: number): Promise<{ start: number; end: number }> {
    const segment = this.segments[i]!;
    const index = await this.indexOf(segment, i);
    const start = index.floor(from)?.position ?? 0;
    let endPosition = segment.durableBytes;
    for (const e of index.batchStarts()) {
      if (e.offset >= end) {
        endPosition = e.position;
        break;
      }
    }
    return { start, end: endPosition };
  }

  /**
   * Where durable records [from, end) are on this disk: per segment they
   * touch, its file and the bytes a reader needs (whole batches: see
   * sealedByteRange), with the records of the range it holds. For a map on
   * this host to read them from the files (host-local dataset reads,
   * src/worker/dataset-reader.ts); the bytes are checked batch by batch there
   * as here. Reads offset indexes (building a sealed segment's by scanning
   * it if it is not cached, as a read does).
   * @throws LaminateError OUT_OF_RANGE when `end` is past the durable end; INVALID_ARGUMENT when end < from.
   */
  async localRanges(from: number, end: number): Promise<LocalSegmentRange[]> {
    const durableEnd = this.writer.durableEnd;
    const ids = { dataset: this.ctx.dataset, partition: this.ctx.partition, offset: end };
    if (end > durableEnd) {
      throw new LaminateError('OUT_OF_RANGE', `Expected an end offset of dataset ${describe(this.ctx.dataset)} partition ${this.ctx.partition} up to its end ${durableEnd}, got ${end}`, { ids });
    }
    if (end < from) throw new LaminateError('INVALID_ARGUMENT', `Expected an end offset at or after the start ${from}, got ${end}`, { ids });
    const ranges: LocalSegmentRange[] = [];
    for (let i = from >= end ? this.segments.length : this.segmentIndexFor(from); i < this.segments.length; i++) {
      const segment = this.segments[i]!;
      const segmentEnd = i + 1 < this.segments.length ? this.segments[i + 1]!.baseOffset : durableEnd;
      const fromOffset = Math.max(from, segment.baseOffset);
      const toOffset = Math.min(end, segmentEnd);
      if (fromOffset >= toOffset) break;
      const bytes = await this.byteRange(i, fromOffset, toOffset);
      ranges.push({ path: segment.path, start: bytes.start, end: bytes.end, fromOffset, toOffset });
    }
    return ranges;
  }

  /** See DatasetStore.waitForRecords. */
  waitForRecords(offset: number, signal?: AbortSignal): Promise<void> {
    if (this.damagedEnd !== undefined && offset >= this.writer.durableEnd) return Promise.reject(this.damagedEnd);
    return this.waiters.wait(offset, this.writer.durableEnd, signal);
  }

  /** The sequence the store expects next from `producerId` on this partition (0 when it does not know it). */
  nextSequence(producerId: string): number {
    return this.writer.nextSequence(producerId);
  }

  describe(): PartitionDescription {
    let bytes = 0;
    for (const s of this.segments) bytes += s.durableBytes;
    const end = this.writer.durableEnd;
    return { partition: this.ctx.partition, endOffset: end, segments: this.segments.length, records: end, bytes };
  }

  /** True once a write or fsync failed: the store then leaves no clean-shutdown mark, so the next open recovers. */
  get failed(): boolean {
    return this.writer.failed;
  }

  /**
   * Lets queued appends finish, then refuses new ones and closes the file.
   * Waiters are rejected with UNAVAILABLE. Safe to call twice.
   */
  async close(): Promise<void> {
    await this.writer.close();
    this.waiters.close(new LaminateError('UNAVAILABLE', 'The dataset store closed while waiting for records'));
  }
}
