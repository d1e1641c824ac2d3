/**
 * One partition's log: appends with group commit, reads, and waits.
 *
 * Group commit: appends queue while a write+fsync is in flight; when it
 * completes, everything queued goes out as the next group, in one writev and
 * one fdatasync, and is acknowledged together. So one fsync is in flight per
 * partition, and an fsync serves every append that arrived meanwhile.
 * Offsets are given in queue order, so a partition's offsets are dense and in
 * acknowledgement order. Readers see a group's records only once its fsync
 * has returned (the durable end moves then).
 *
 * Rolling: when the next batch would take the active segment past
 * segmentBytes, the batches planned so far are written and fsync'd first,
 * then the new segment file is created and its folder fsync'd. So a crash
 * can tear only the last segment (recovery reads only that one), and the
 * producer state before the new segment's base is snapshotted (best effort).
 *
 * A failed write or fsync fails the partition: after a failed fsync the
 * page cache cannot be trusted to hold what was written (PostgreSQL's
 * "fsyncgate"), so every pending and later append is refused with
 * UNAVAILABLE until the store is reopened and recovery has read the disk.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import { describe, errorMessage, LaminateError } from '../common/errors.js';
import { BATCH_FIXED_HEADER_BYTES, encodeBatchHeader } from './batch-format.js';
import { writeFileAtomic, type DatasetFile, type FileSystem } from './file-system.js';
import { partitionDir, segmentFileName, snapshotFileName } from './layout.js';
import { OffsetIndex } from './offset-index.js';
import { OffsetWaiters } from './offset-waiters.js';
import { recoverPartition } from './partition-recovery.js';
import type { ProducerStateTable } from './producer-state.js';
import { buildSegmentIndex, IndexCache, Segment, type DamagedRange } from './segment.js';
import { readSegment } from './segment-reader.js';
import type { BatchMark } from './split-ranges.js';
import type { ResolvedDatasetStoreOptions } from './store-options.js';
import type { AppendBatch, AppendResult, PartitionDescription, ReadChunk } from './types.js';

/** Snapshots kept per partition: the newest, and one before it in case it is unreadable. */
const SNAPSHOTS_KEPT = 2;

interface PendingAppend {
  readonly batch: AppendBatch;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (err: unknown) => void;
}

export interface PartitionContext {
  readonly options: ResolvedDatasetStoreOptions;
  readonly indexCache: IndexCache;
  readonly dataset: string;
  readonly partition: number;
  readonly cleanShutdown: boolean;
}

export class PartitionLog {
  private readonly fs: FileSystem;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly dir: string;
  private readonly waiters = new OffsetWaiters();
  private queue: PendingAppend[] = [];
  private committing: Promise<void> | undefined;
  /** Set once appends are refused: a failed write, damage at the end found at open, or close. */
  private refusal: LaminateError | undefined;
  /** Offset the next planned batch gets (>= durableEnd while a group is in flight). */
  private nextOffset: number;
  /** Bytes in the active segment file, written or planned in the current group. */
  private activeBytes: number;
  private durableEndOffset: number;
  private writeFailed = false;
  /** Set when acknowledged records at the end are damaged (see partition-recovery.ts): reads and waits from there fail with it. */
  private damagedEnd: LaminateError | undefined;
  private fileClosed = false;

  private constructor(
    private readonly ctx: PartitionContext,
    private readonly segments: Segment[],
    private activeFile: DatasetFile,
    activeBytes: number,
    endOffset: number,
    private readonly producers: ProducerStateTable,
    private snapshots: number[],
    blockedBy: DamagedRange | undefined,
  ) {
    this.fs = ctx.options.fs;
    this.clock = ctx.options.clock;
    this.logger = ctx.options.logger.child({ dataset: ctx.dataset, partition: ctx.partition });
    this.dir = partitionDir(ctx.options.dir, ctx.dataset, ctx.partition);
    this.nextOffset = endOffset;
    this.durableEndOffset = endOffset;
    this.activeBytes = activeBytes;
    if (blockedBy !== undefined) {
      this.damagedEnd = new LaminateError(
        'DATA_LOSS',
        `Expected a whole batch at offset ${blockedBy.fromOffset} of dataset ${describe(ctx.dataset)} partition ${ctx.partition}, got ${blockedBy.reason}; records from there on cannot be read`,
        { ids: { dataset: ctx.dataset, partition: ctx.partition, offset: blockedBy.fromOffset } },
      );
      this.refusal = new LaminateError(
        'DATA_LOSS',
        `Expected to append to dataset ${describe(ctx.dataset)} partition ${ctx.partition}, but acknowledged records from offset ${blockedBy.fromOffset} are damaged (${blockedBy.reason}) and its end is unknown; appends are refused until the segment is repaired`,
        { ids: { dataset: ctx.dataset, partition: ctx.partition, offset: blockedBy.fromOffset } },
      );
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
    return new PartitionLog(ctx, r.segments, r.activeFile, r.activeBytes, r.endOffset, r.producers, r.snapshots, r.appendBlockedBy);
  }

  /** The offset the next record will get, among durable ones: readers' end. */
  get durableEnd(): number {
    return this.durableEndOffset;
  }

  /** Appends one validated batch; resolves once it is durable (or was a duplicate of a stored one). */
  append(batch: AppendBatch): Promise<AppendResult> {
    if (this.refusal !== undefined) return Promise.reject(this.refusal);
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ batch, resolve, reject });
      this.committing ??= this.commitLoop();
    });
  }

  private async commitLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      if (this.refusal !== undefined) {
        for (const p of group) p.reject(this.refusal);
        continue;
      }
      try {
        await this.commitGroup(group);
      } catch (err) {
        this.failWith(err, group);
      }
    }
    this.committing = undefined;
  }

  private async commitGroup(group: readonly PendingAppend[]): Promise<void> {
    const o = this.ctx.options;
    const now = this.clock.now();
    const durableAtStart = this.durableEndOffset;
    const active = (): Segment => this.segments[this.segments.length - 1]!;
    const done: { p: PendingAppend; result: AppendResult }[] = [];
    let buffers: Uint8Array[] = [];
    let planned = 0;
    for (const p of group) {
      const b = p.batch;
      if (b.producerId !== undefined) {
        let check;
        try {
          check = this.producers.check(b.producerId, b.sequence!, b.count, now);
        } catch (err) {
          p.reject(err);
          continue;
        }
        if (check.kind === 'duplicate') {
          done.push({ p, result: { partition: this.ctx.partition, firstOffset: check.firstOffset, count: b.count, duplicate: true } });
          continue;
        }
      }
      const batchBytes = BATCH_FIXED_HEADER_BYTES + (b.producerId === undefined ? 0 : Buffer.byteLength(b.producerId)) + b.body.byteLength;
      if (this.activeBytes + planned > 0 && this.activeBytes + planned + batchBytes > o.segmentBytes) {
        await this.writeAndSync(buffers, planned);
        buffers = [];
        planned = 0;
        await this.roll(now);
      }
      const header = encodeBatchHeader(
        { baseOffset: this.nextOffset, count: b.count, producerId: b.producerId, sequence: b.sequence ?? 0, appendTime: now, durableOffset: durableAtStart },
        b.body,
      );
      active().index!.add(this.nextOffset, this.activeBytes + planned);
      buffers.push(header, b.body);
      planned += header.length + b.body.byteLength;
      if (b.producerId !== undefined) this.producers.record(b.producerId, b.sequence!, b.count, this.nextOffset, now);
      done.push({ p, result: { partition: this.ctx.partition, firstOffset: this.nextOffset, count: b.count, duplicate: false } });
      this.nextOffset += b.count;
    }
    if (planned > 0) await this.writeAndSync(buffers, planned);
    this.durableEndOffset = this.nextOffset;
    for (const { p, result } of done) p.resolve(result);
    this.waiters.advance(this.durableEndOffset);
  }

  private async writeAndSync(buffers: readonly Uint8Array[], bytes: number): Promise<void> {
    await this.activeFile.writev(buffers, this.activeBytes);
    await this.activeFile.datasync();
    this.activeBytes += bytes;
    this.segments[this.segments.length - 1]!.durableBytes = this.activeBytes;
  }

  /** Seals the active segment (its bytes are fsync'd) and starts one at nextOffset. */
  private async roll(now: number): Promise<void> {
    const sealed = this.segments[this.segments.length - 1]!;
    const base = this.nextOffset;
    const path = join(this.dir, segmentFileName(base));
    const file = await this.fs.open(path, 'a+');
    await this.fs.syncDir(this.dir);
    const old = this.activeFile;
    this.activeFile = file;
    this.activeBytes = 0;
    this.segments.push(new Segment(base, path, 0, new OffsetIndex(this.ctx.options.indexIntervalBytes)));
    this.ctx.indexCache.touch(sealed);
    await old.close();
    this.logger.debug({ segment: path, baseOffset: base }, 'segment rolled');
    await this.snapshotProducers(base, now);
  }

  /** Writes the producer state before `offset` (the new segment's base); a failure only costs a longer rebuild. */
  private async snapshotProducers(offset: number, now: number): Promise<void> {
    try {
      this.producers.expire(now);
      await writeFileAtomic(this.fs, this.dir, snapshotFileName(offset), this.producers.encodeSnapshot(offset));
      this.snapshots.push(offset);
      while (this.snapshots.length > SNAPSHOTS_KEPT) await this.fs.remove(join(this.dir, snapshotFileName(this.snapshots.shift()!)));
    } catch (err) {
      this.logger.warn({ err, offset }, 'producer state snapshot not written; the next open replays more of the log');
    }
  }

  private failWith(err: unknown, group: readonly PendingAppend[]): void {
    this.writeFailed = true;
    this.refusal = new LaminateError(
      'UNAVAILABLE',
      `Expected to write dataset ${describe(this.ctx.dataset)} partition ${this.ctx.partition}, got ${errorMessage(err)}; its appends are refused until the store is reopened`,
      { cause: err, ids: { dataset: this.ctx.dataset, partition: this.ctx.partition } },
    );
    this.logger.error({ err }, 'partition write failed; appends refused until reopen');
    for (const p of group) p.reject(this.refusal);
    for (const p of this.queue.splice(0)) p.reject(this.refusal);
  }

  /**
   * Reads durable records from `from` on (see DatasetStore.read). `from` and
   * `endOffset` are checked integers; maxBytes within the store's bounds.
   */
  async read(from: number, endOffset: number | undefined, maxBytes: number): Promise<ReadChunk> {
    const durableEnd = this.durableEndOffset;
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

  /** See DatasetStore.waitForRecords. */
  waitForRecords(offset: number, signal?: AbortSignal): Promise<void> {
    if (this.damagedEnd !== undefined && offset >= this.durableEndOffset) return Promise.reject(this.damagedEnd);
    return this.waiters.wait(offset, this.durableEndOffset, signal);
  }

  /** The sequence the store expects next from `producerId` on this partition (0 when it does not know it). */
  nextSequence(producerId: string): number {
    return this.producers.nextSequence(producerId, this.clock.now());
  }

  describe(): PartitionDescription {
    let bytes = 0;
    for (const s of this.segments) bytes += s.durableBytes;
    return { partition: this.ctx.partition, endOffset: this.durableEndOffset, segments: this.segments.length, records: this.durableEndOffset, bytes };
  }

  /** True once a write or fsync failed: the store then leaves no clean-shutdown mark, so the next open recovers. */
  get failed(): boolean {
    return this.writeFailed;
  }

  /**
   * Lets queued appends finish, then refuses new ones and closes the file.
   * Waiters are rejected with UNAVAILABLE. Safe to call twice.
   */
  async close(): Promise<void> {
    while (this.committing !== undefined) await this.committing;
    this.refusal ??= new LaminateError('UNAVAILABLE', `Expected an open dataset store, got one closed (dataset ${describe(this.ctx.dataset)} partition ${this.ctx.partition})`);
    this.waiters.close(new LaminateError('UNAVAILABLE', 'The dataset store closed while waiting for records'));
    if (!this.fileClosed) {
      this.fileClosed = true;
      await this.activeFile.close();
    }
  }
}
