/**
 * The write side of one partition: group commit, rolling, producer checks.
 *
 * Group commit, pipelined: appends queue; the write loop takes everything
 * queued as one group, gives it offsets (in queue order, so offsets are
 * dense and in acknowledgement order), checks producer sequences, and writes
 * it with one writev. The sync loop runs one fdatasync at a time over
 * everything written before it started, then acknowledges those groups
 * together and moves the durable end (readers see nothing before). While an
 * fsync is in flight the next group is already being written, so the disk
 * is never idle between fsyncs, and one fsync serves every append that
 * arrived meanwhile. One fsync in flight per partition.
 *
 * Rolling: when the next batch would take the active segment past
 * segmentBytes, everything written to it is fsync'd first, then the new
 * segment file is created and its folder fsync'd. So a crash can tear only
 * the last segment (recovery reads only that one). The producer state before
 * the new segment's base is then snapshotted (best effort).
 *
 * A failed write or fsync fails the partition: after a failed fsync the page
 * cache cannot be trusted to hold what was written (PostgreSQL's
 * "fsyncgate"), so every pending and later append is refused with
 * UNAVAILABLE until the store is reopened and recovery has read the disk.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { describe, errorMessage, LaminateError } from '../common/errors.js';
import { BATCH_FIXED_HEADER_BYTES, encodeBatchHeader } from './batch-format.js';
import { writeFileAtomic, type DatasetFile } from './file-system.js';
import { segmentFileName, snapshotFileName } from './layout.js';
import { OffsetIndex } from './offset-index.js';
import type { ProducerStateTable } from './producer-state.js';
import { Segment, type IndexCache } from './segment.js';
import type { ResolvedDatasetStoreOptions } from './store-options.js';
import type { AppendBatch, AppendResult } from './types.js';
import { skipRecords } from '../storage/record-body.js';
import { fsyncSeconds } from './dataset-metrics.js';

/** Snapshots kept per partition: the newest, and one before it in case it is unreadable. */
const SNAPSHOTS_KEPT = 2;

interface PendingAppend {
  readonly batch: AppendBatch;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (err: unknown) => void;
}

/** A group written (or a part of one, cut by a roll), waiting for its fsync. */
interface WrittenGroup {
  readonly done: { readonly p: PendingAppend; readonly result: AppendResult }[];
  /** The offset after its last record, and the active segment's size after it. */
  readonly endOffset: number;
  readonly endBytes: number;
}

export interface PartitionWriterContext {
  readonly options: ResolvedDatasetStoreOptions;
  readonly indexCache: IndexCache;
  readonly dataset: string;
  readonly partition: number;
  readonly dir: string;
  readonly logger: Logger;
  /** Called after each fsync with the new durable end, once its appends are acknowledged. */
  readonly onDurable: (durableEnd: number) => void;
}

export class PartitionWriter {
  private queue: PendingAppend[] = [];
  private written: WrittenGroup[] = [];
  private writing: Promise<void> | undefined;
  private syncing: Promise<void> | undefined;
  /** Set once appends are refused (failure, damage found at open, close). */
  private refusal: LaminateError | undefined;
  private writeFailed = false;
  private fileClosed = false;
  /** Offset the next planned batch gets. */
  private nextOffset: number;
  /** Bytes of the active segment written (durable or not). */
  private activeBytes: number;
  private durable: number;

  constructor(
    private readonly ctx: PartitionWriterContext,
    /** Shared with the reader side; the writer appends to it on roll. */
    private readonly segments: Segment[],
    private activeFile: DatasetFile,
    activeBytes: number,
    endOffset: number,
    private readonly producers: ProducerStateTable,
    private readonly snapshots: number[],
  ) {
    this.activeBytes = activeBytes;
    this.nextOffset = endOffset;
    this.durable = endOffset;
  }

  get durableEnd(): number {
    return this.durable;
  }

  /** True once a write or fsync failed. */
  get failed(): boolean {
    return this.writeFailed;
  }

  /** Refuses every later append with `err` (damage at the end found at open). */
  refuse(err: LaminateError): void {
    this.refusal ??= err;
  }

  /** The sequence `producerId` must send next (0 for one not known). */
  nextSequence(producerId: string): number {
    return this.producers.nextSequence(producerId, this.ctx.options.clock.now());
  }

  /** Appends one validated batch; resolves once it is durable (or answers a duplicate once its original is). */
  append(batch: AppendBatch): Promise<AppendResult> {
    if (this.refusal !== undefined) return Promise.reject(this.refusal);
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ batch, resolve, reject });
      this.kickWrites();
    });
  }

  /*
   * The two loops are started through these, and restart themselves when work
   * arrived as they ended. (Setting the field inside the loop would not do: a
   * loop that finishes without awaiting anything, such as a sync of
   * duplicates only, ends before `this.x ??= loop()` assigns its promise.)
   */
  private kickWrites(): void {
    if (this.writing !== undefined) return;
    this.writing = this.writeLoop().finally(() => {
      this.writing = undefined;
      if (this.queue.length > 0) this.kickWrites();
    });
  }

  private kickSync(): void {
    if (this.syncing !== undefined) return;
    this.syncing = this.syncLoop().finally(() => {
      this.syncing = undefined;
      if (this.written.length > 0 && !this.writeFailed) this.kickSync();
    });
  }

  private async writeLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      if (this.refusal !== undefined) {
        for (const p of group) p.reject(this.refusal);
        continue;
      }
      try {
        await this.writeGroup(group);
      } catch (err) {
        this.failWith(err, group);
      }
    }
  }

  private async writeGroup(group: readonly PendingAppend[]): Promise<void> {
    const o = this.ctx.options;
    const now = o.clock.now();
    // The acknowledged end now: every batch written below records it (see batch-format.ts).
    const durableAtWrite = this.durable;
    let done: WrittenGroup['done'] = [];
    let buffers: Uint8Array[] = [];
    let planned = 0;
    for (const p of group) {
      let b = p.batch;
      let skipped = 0;
      if (b.producerId !== undefined) {
        let check;
        try {
          check = this.producers.check(b.producerId, b.sequence!, b.count, now, b.replay === true);
        } catch (err) {
          p.reject(err);
          continue;
        }
        if (check.kind === 'duplicate') {
          // Acknowledged with this group, so never before its original is durable.
          done.push({ p, result: { partition: this.ctx.partition, firstOffset: check.firstOffset, count: b.count - check.skip, duplicate: true, skipped: check.skip } });
          continue;
        }
        if (check.skip > 0) {
          // A replay whose head was stored by an earlier run: store its tail, numbered on from there.
          skipped = check.skip;
          b = { ...b, body: skipRecords(b.body, skipped), count: b.count - skipped, sequence: b.sequence! + skipped };
        }
      }
      const batchBytes = BATCH_FIXED_HEADER_BYTES + (b.producerId === undefined ? 0 : Buffer.byteLength(b.producerId)) + b.body.byteLength;
      if (this.activeBytes + planned > 0 && this.activeBytes + planned + batchBytes > o.segmentBytes) {
        await this.write(buffers, planned, done);
        buffers = [];
        planned = 0;
        done = [];
        await this.roll(now);
      }
      const header = encodeBatchHeader(
        { baseOffset: this.nextOffset, count: b.count, producerId: b.producerId, sequence: b.sequence ?? 0, appendTime: now, durableOffset: durableAtWrite },
        b.body,
      );
      this.segments[this.segments.length - 1]!.index!.add(this.nextOffset, this.activeBytes + planned);
      buffers.push(header, b.body);
      planned += header.length + b.body.byteLength;
      if (b.producerId !== undefined) this.producers.record(b.producerId, b.sequence!, b.count, this.nextOffset, now);
      done.push({ p, result: { partition: this.ctx.partition, firstOffset: this.nextOffset, count: b.count, duplicate: false, skipped } });
      this.nextOffset += b.count;
    }
    await this.write(buffers, planned, done);
  }

  /** Writes planned batches to the active segment and hands them to the sync loop. */
  private async write(buffers: readonly Uint8Array[], bytes: number, done: WrittenGroup['done']): Promise<void> {
    // An fsync may have failed before or during this writev: the file is not trusted any more, so
    // neither write more into it nor hand the sync loop (which has stopped) appends it would never settle.
    // The throw reaches writeLoop, whose failWith rejects the whole group.
    if (this.writeFailed) throw this.refusal!;
    if (bytes > 0) await this.activeFile.writev(buffers, this.activeBytes);
    if (this.writeFailed) throw this.refusal!;
    this.activeBytes += bytes;
    if (done.length === 0) return;
    this.written.push({ done, endOffset: this.nextOffset, endBytes: this.activeBytes });
    this.kickSync();
  }

  private async syncLoop(): Promise<void> {
    while (this.written.length > 0 && !this.writeFailed) {
      const groups = this.written;
      this.written = [];
      const last = groups[groups.length - 1]!;
      try {
        // A group of duplicates only (no new bytes) needs no fsync of its own.
        if (last.endOffset > this.durable || last.endBytes > this.segments[this.segments.length - 1]!.durableBytes) {
          const t0 = performance.now();
          await this.activeFile.datasync();
          fsyncSeconds().observe((performance.now() - t0) / 1000);
        }
      } catch (err) {
        this.failWith(err, groups.flatMap((g) => g.done.map((d) => d.p)));
        break;
      }
      this.durable = last.endOffset;
      this.segments[this.segments.length - 1]!.durableBytes = last.endBytes;
      for (const g of groups) for (const { p, result } of g.done) p.resolve(result);
      this.ctx.onDurable(this.durable);
    }
    // Defensive: whatever was handed over after a failure is never fsync'd, so refuse it rather than leave it waiting.
    if (this.writeFailed) for (const g of this.written.splice(0)) for (const d of g.done) d.p.reject(this.refusal);
  }

  /** Waits until everything written is durable (before a roll or a close). */
  private async drainSync(): Promise<void> {
    while (this.syncing !== undefined) await this.syncing;
    if (this.writeFailed) throw this.refusal;
  }

  /** Seals the active segment once its bytes are fsync'd, and starts one at nextOffset. */
  private async roll(now: number): Promise<void> {
    await this.drainSync();
    const sealed = this.segments[this.segments.length - 1]!;
    const base = this.nextOffset;
    const path = join(this.ctx.dir, segmentFileName(base));
    const file = await this.ctx.options.fs.open(path, 'a+');
    await this.ctx.options.fs.syncDir(this.ctx.dir);
    const old = this.activeFile;
    this.activeFile = file;
    this.activeBytes = 0;
    this.segments.push(new Segment(base, path, 0, new OffsetIndex(this.ctx.options.indexIntervalBytes)));
    this.ctx.indexCache.touch(sealed);
    await old.close();
    this.ctx.logger.debug({ segment: path, baseOffset: base }, 'segment rolled');
    await this.snapshotProducers(base, now);
  }

  /** Writes the producer state before `offset` (the new segment's base); a failure only costs a longer rebuild at open. */
  private async snapshotProducers(offset: number, now: number): Promise<void> {
    const fs = this.ctx.options.fs;
    try {
      this.producers.expire(now);
      await writeFileAtomic(fs, this.ctx.dir, snapshotFileName(offset), this.producers.encodeSnapshot(offset));
      this.snapshots.push(offset);
      while (this.snapshots.length > SNAPSHOTS_KEPT) await fs.remove(join(this.ctx.dir, snapshotFileName(this.snapshots.shift()!)));
    } catch (err) {
      this.ctx.logger.warn({ err, offset }, 'producer state snapshot not written; the next open replays more of the log');
    }
  }

  private failWith(err: unknown, pending: readonly PendingAppend[]): void {
    if (!this.writeFailed) {
      this.writeFailed = true;
      this.refusal = new LaminateError(
        'UNAVAILABLE',
        `Expected to write dataset ${describe(this.ctx.dataset)} partition ${this.ctx.partition}, got ${errorMessage(err)}; its appends are refused until the store is reopened`,
        { cause: err, ids: { dataset: this.ctx.dataset, partition: this.ctx.partition } },
      );
      this.ctx.logger.error({ err }, 'partition write failed; appends refused until reopen');
    }
    const refusal = this.refusal!;
    for (const p of pending) p.reject(refusal);
    for (const p of this.queue.splice(0)) p.reject(refusal);
    for (const g of this.written.splice(0)) for (const d of g.done) d.p.reject(refusal);
  }

  /** Lets queued appends finish, then refuses new ones and closes the file. Safe to call twice. */
  async close(): Promise<void> {
    while (this.writing !== undefined || this.syncing !== undefined) {
      await this.writing;
      await this.syncing;
    }
    this.refusal ??= new LaminateError('UNAVAILABLE', `Expected an open dataset store, got one closed (dataset ${describe(this.ctx.dataset)} partition ${this.ctx.partition})`);
    if (!this.fileClosed) {
      this.fileClosed = true;
      await this.activeFile.close();
    }
  }
}
