/**
 * Opening a partition: its segments from their file names, its producer
 * state from the latest snapshot plus the batch headers after it, and the
 * recovery of its last segment (Kafka's LogLoader and LogSegment.recover, in
 * the small): every batch of the last segment is checked (CRC, dense
 * offsets) and the file is cut at the first one that is not whole.
 *
 * Why cutting never loses an acknowledged record: an append is acknowledged
 * only after an fsync that started after its bytes were written, and one
 * fsync is in flight per partition, so only the groups written since the
 * last completed fsync (the one being synced, the one written meanwhile) can
 * be torn by a crash, and none of them was acknowledged. To tell such a torn tail from damage to acknowledged data
 * (a flipped byte), each batch header carries the partition's acknowledged
 * end when it was written (`durableOffset`). A bad batch at offset B is
 * damage, not a tear, when a whole batch after it says B was acknowledged
 * (durableOffset > B), or when the store had been closed cleanly (nothing was
 * in flight). Damage is never cut away: the damaged offsets are noted (reads
 * of them fail with DATA_LOSS, logged at error) and the scan resumes at the
 * next whole batch. When nothing whole follows damage, the end of the
 * partition cannot be known, so it opens refusing appends (DATA_LOSS) rather
 * than reuse offsets; reads before the damage still work.
 *
 * The limit: after a crash (no clean-shutdown mark), damage to the records
 * of the last group or two acknowledged just before it, with nothing whole
 * written after them, cannot be told from a torn write; they are cut like one
 * (logged at warn with the bytes cut). That needs a flipped byte and a crash
 * within an fsync or two of each other.
 *
 * After a crash the last segment's whole batches may still be only in the
 * page cache (the process died, the machine did not): they are fsync'd
 * before being declared durable, since readers and later appends build on
 * them (Kafka flushes what it recovered likewise). After a clean shutdown
 * everything was fsync'd before the mark was written.
 *
 * Sealed (non-last) segments are not read at open: a damaged batch in one is
 * found when read (DATA_LOSS), or when its index is built (segment.ts).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { BatchScanner } from './batch-scanner.js';
import type { BatchHeader } from './batch-format.js';
import type { DatasetFile, FileSystem } from './file-system.js';
import { parseSegmentFileName, parseSnapshotFileName, partitionDir, segmentFileName, snapshotFileName } from './layout.js';
import { OffsetIndex } from './offset-index.js';
import { ProducerStateTable, type ProducerLimits } from './producer-state.js';
import { Segment, type DamagedRange } from './segment.js';

export interface RecoveryContext {
  readonly fs: FileSystem;
  readonly logger: Logger;
  readonly dir: string;
  readonly dataset: string;
  readonly partition: number;
  readonly indexIntervalBytes: number;
  readonly producerLimits: ProducerLimits;
  readonly now: number;
  /** The store was closed cleanly: no append was in flight, so no tail can be torn. */
  readonly cleanShutdown: boolean;
}

export interface RecoveredPartition {
  readonly segments: Segment[];
  /** The last segment, open for appending. */
  readonly activeFile: DatasetFile;
  /** Its size in bytes (all durable now). */
  readonly activeBytes: number;
  /** The offset the next record gets. */
  readonly endOffset: number;
  readonly producers: ProducerStateTable;
  /** Set when damage at the end of the log leaves the end unknown: appends are refused. */
  readonly appendBlockedBy: DamagedRange | undefined;
  /** Offsets of the snapshot files present (the store removes old and stale ones). */
  readonly snapshots: number[];
}

/** Opens (creating on first use) partition `ctx.partition`'s log. Called once per partition at store open or dataset creation. */
export async function recoverPartition(ctx: RecoveryContext): Promise<RecoveredPartition> {
  const { fs } = ctx;
  const dir = partitionDir(ctx.dir, ctx.dataset, ctx.partition);
  await fs.mkdir(dir);
  const names = await fs.list(dir);
  const bases = names.map(parseSegmentFileName).filter((b): b is number => b !== undefined).sort((a, b) => a - b);
  let snapshots = names.map(parseSnapshotFileName).filter((s): s is number => s !== undefined).sort((a, b) => a - b);
  if (bases.length === 0) {
    const file = await fs.open(join(dir, segmentFileName(0)), 'a+');
    await fs.syncDir(dir);
    return {
      segments: [new Segment(0, join(dir, segmentFileName(0)), 0, new OffsetIndex(ctx.indexIntervalBytes))],
      activeFile: file,
      activeBytes: 0,
      endOffset: 0,
      producers: new ProducerStateTable(ctx.producerLimits, ctx),
      appendBlockedBy: undefined,
      snapshots,
    };
  }
  const segments: Segment[] = [];
  for (let i = 0; i < bases.length - 1; i++) {
    const path = join(dir, segmentFileName(bases[i]!));
    segments.push(new Segment(bases[i]!, path, (await fs.fileSize(path)) ?? 0));
  }
  const lastBase = bases[bases.length - 1]!;
  const last = new Segment(lastBase, join(dir, segmentFileName(lastBase)), 0, new OffsetIndex(ctx.indexIntervalBytes));
  segments.push(last);

  // Producer state: the newest readable snapshot at or below the last segment's base, then the sealed segments after it.
  const producers = new ProducerStateTable(ctx.producerLimits, ctx);
  let replayFrom = bases[0]!;
  for (const offset of [...snapshots].reverse()) {
    if (offset > lastBase) continue;
    if (producers.loadSnapshot(await fs.readFile(join(dir, snapshotFileName(offset))), offset)) {
      replayFrom = offset;
      break;
    }
    ctx.logger.warn({ dataset: ctx.dataset, partition: ctx.partition, snapshot: offset }, 'unreadable producer snapshot skipped');
  }
  for (let i = 0; i < segments.length - 1; i++) {
    const seg = segments[i]!;
    if (segments[i + 1]!.baseOffset <= replayFrom) continue;
    await replaySealedSegment(fs, seg, segments[i + 1]!.baseOffset, producers, replayFrom, ctx);
  }

  const activeFile = await fs.open(last.path, 'a+');
  let recovered;
  try {
    recovered = await recoverLastSegment(activeFile, last, producers, replayFrom, ctx);
  } catch (err) {
    await activeFile.close();
    throw err;
  }
  producers.expire(ctx.now);
  // Snapshots past the recovered end describe records that are gone.
  const stale = snapshots.filter((s) => s > recovered.endOffset);
  for (const s of stale) await fs.remove(join(dir, snapshotFileName(s)));
  snapshots = snapshots.filter((s) => s <= recovered.endOffset);
  return { segments, activeFile, activeBytes: recovered.bytes, endOffset: recovered.endOffset, producers, appendBlockedBy: recovered.blockedBy, snapshots };
}

/** Feeds a sealed segment's batch headers at or after `from` to the producer table (no CRC: reads check it). */
async function replaySealedSegment(fs: FileSystem, seg: Segment, endOffset: number, producers: ProducerStateTable, from: number, ctx: RecoveryContext): Promise<void> {
  const file = await fs.open(seg.path, 'r');
  try {
    const scanner = new BatchScanner(file, { end: seg.durableBytes, expectedOffset: seg.baseOffset, verify: false });
    for (;;) {
      const step = await scanner.next();
      if (step.kind === 'batch') {
        if (step.header.baseOffset >= from) recordProducer(producers, step.header);
        continue;
      }
      if (step.kind === 'problem') {
        const found = await scanner.resync(step.position);
        ctx.logger.error({ dataset: ctx.dataset, partition: ctx.partition, segment: seg.path, position: step.position, reason: step.reason }, 'damaged batch in a sealed segment while rebuilding producer state');
        if (found !== undefined && found.header.baseOffset < endOffset) continue;
      }
      break;
    }
  } finally {
    await file.close();
  }
}

function recordProducer(producers: ProducerStateTable, h: BatchHeader): void {
  if (h.producerId !== undefined) producers.record(h.producerId, h.sequence, h.count, h.baseOffset, h.appendTime);
}

interface LastSegmentState {
  readonly bytes: number;
  readonly endOffset: number;
  readonly blockedBy: DamagedRange | undefined;
}

/** Verifies every batch of the last segment; cuts a torn tail; notes damage (see the file comment). */
async function recoverLastSegment(file: DatasetFile, seg: Segment, producers: ProducerStateTable, replayFrom: number, ctx: RecoveryContext): Promise<LastSegmentState> {
  const size = await file.size();
  const index = seg.index!;
  const scanner = new BatchScanner(file, { end: size, expectedOffset: seg.baseOffset, verify: true });
  let expected = seg.baseOffset;
  let validEnd = 0;
  const log = { dataset: ctx.dataset, partition: ctx.partition, segment: seg.path };
  for (;;) {
    const step = await scanner.next();
    if (step.kind === 'batch') {
      index.add(step.header.baseOffset, step.position);
      if (step.header.baseOffset >= replayFrom) recordProducer(producers, step.header);
      expected = step.header.baseOffset + step.header.count;
      validEnd = step.position + step.header.batchBytes;
      continue;
    }
    if (step.kind === 'end') break;
    // A bad batch at `expected`: a torn tail, or damage to acknowledged records?
    const after = await lookPastDamage(scanner, step.position, expected);
    if (!ctx.cleanShutdown && !after.acknowledged) {
      ctx.logger.warn({ ...log, offset: expected, position: step.position, bytes: size - step.position, reason: step.reason }, 'torn tail cut from the last segment (never acknowledged)');
      await file.truncate(step.position);
      await file.datasync();
      seg.durableBytes = step.position;
      return { bytes: step.position, endOffset: expected, blockedBy: undefined };
    }
    const range: DamagedRange = {
      fromOffset: expected,
      toOffset: after.next?.header.baseOffset ?? expected,
      position: step.position,
      reason: step.reason,
    };
    seg.damaged.push(range);
    ctx.logger.error({ ...log, ...range, cleanShutdown: ctx.cleanShutdown }, 'damaged acknowledged batch in the last segment: kept, its offsets fail reads with DATA_LOSS');
    if (after.next === undefined) {
      // Nothing whole after it: the log's end is unknown, so appends must not pick offsets.
      if (!ctx.cleanShutdown) await file.datasync();
      seg.durableBytes = validEnd;
      return { bytes: size, endOffset: expected, blockedBy: range };
    }
    index.add(after.next.header.baseOffset, after.next.position, true);
    scanner.seek(after.next.position, after.next.header.baseOffset);
  }
  // What was read may be page cache only (see the file comment): durable before it is declared so.
  if (!ctx.cleanShutdown) await file.datasync();
  seg.durableBytes = size;
  return { bytes: size, endOffset: expected, blockedBy: undefined };
}

/**
 * After a bad batch at `position` whose records would start at `badOffset`:
 * the first whole batch after it (found by resyncing on the batch magic),
 * and whether any whole batch after it proves `badOffset` was acknowledged
 * (its durableOffset is past it). Walks the rest of the file batch by batch,
 * resyncing again after each further problem; the caller then seeks.
 */
async function lookPastDamage(scanner: BatchScanner, position: number, badOffset: number): Promise<{ next: { position: number; header: BatchHeader } | undefined; acknowledged: boolean }> {
  let next: { position: number; header: BatchHeader } | undefined;
  let p = position;
  for (;;) {
    const found = await scanner.resync(p);
    if (found === undefined) return { next, acknowledged: false };
    if (found.header.baseOffset < badOffset) {
      // Not a batch of this log's future (stale or foreign bytes): look further.
      p = found.position;
      continue;
    }
    next ??= found;
    for (;;) {
      const step = await scanner.next();
      if (step.kind === 'batch') {
        if (step.header.durableOffset > badOffset) return { next, acknowledged: true };
        continue;
      }
      if (step.kind === 'end') return { next, acknowledged: false };
      p = step.position;
      break;
    }
  }
}
