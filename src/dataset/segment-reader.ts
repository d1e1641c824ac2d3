/**
 * Reads records of one segment from an offset: seeks through the offset
 * index, reads whole batches (one pread for most reads), checks each batch
 * it returns records from against its CRC, and slices the records before
 * `from` and from `end` on out of the batches' bodies. A damaged batch is a
 * DATA_LOSS error naming dataset, partition and offset: never wrong data.
 */
import { describe, LaminateError } from '../common/errors.js';
import { checkBatchCrc, parseBatchHeader, type BatchHeader } from './batch-format.js';
import type { FileSystem } from './file-system.js';
import type { OffsetIndex } from './offset-index.js';
import { RECORD_HEADER_BYTES } from '../storage/record-body.js';
import type { Segment } from './segment.js';

export interface SegmentRead {
  readonly dataset: string;
  readonly partition: number;
  readonly segment: Segment;
  readonly index: OffsetIndex;
  /** First offset wanted; at least the segment's base offset. */
  readonly from: number;
  /** Offset to stop before: at most the durable end of the segment's records. */
  readonly end: number;
  /** Soft cap on the bytes of records returned; at least one record is. */
  readonly maxBytes: number;
  /** Bytes read ahead of `from` at most (the index interval), to size the first read. */
  readonly slackBytes: number;
}

export interface SegmentReadResult {
  readonly count: number;
  /** Record body pieces, in order (views of the read buffers). */
  readonly parts: readonly Buffer[];
}

/** Reads records [from, end) of a segment, up to about maxBytes. Called per ReadChunk; no shared state. */
export async function readSegment(fs: FileSystem, req: SegmentRead): Promise<SegmentReadResult> {
  const { segment, from, end } = req;
  const dataLoss = (offset: number, position: number, reason: string): LaminateError =>
    new LaminateError(
      'DATA_LOSS',
      `Expected a whole batch at offset ${offset} of dataset ${describe(req.dataset)} partition ${req.partition}, got ${reason} (byte ${position} of ${segment.path})`,
      { ids: { dataset: req.dataset, partition: req.partition, offset } },
    );
  for (const range of segment.damaged) {
    if (from >= range.fromOffset && from < range.toOffset) throw dataLoss(range.fromOffset, range.position, range.reason);
  }
  const start = req.index.floor(from) ?? { offset: segment.baseOffset, position: 0 };
  const limit = segment.durableBytes;
  const chunkBytes = req.maxBytes + req.slackBytes + 4096;
  const file = await fs.open(segment.path, 'r');
  const parts: Buffer[] = [];
  let count = 0;
  let bytes = 0;
  try {
    let chunk = Buffer.alloc(0);
    let chunkPos = start.position;
    const refill = async (pos: number, atLeast: number): Promise<void> => {
      const want = Math.min(limit - pos, Math.max(chunkBytes, atLeast));
      chunk = Buffer.allocUnsafe(want);
      let got = 0;
      while (got < want) {
        const n = await file.read(chunk, got, want - got, pos + got);
        if (n === 0) break;
        got += n;
      }
      chunk = chunk.subarray(0, got);
      chunkPos = pos;
    };
    let pos = start.position;
    let expected = start.offset;
    // Damage met after some records were taken ends the chunk there; the next read, starting at it, reports it.
    let damage: LaminateError | undefined;
    while (pos < limit && expected < end) {
      let header = parseBatchHeader(chunk, pos - chunkPos);
      if (header === 'short') {
        await refill(pos, 0);
        header = parseBatchHeader(chunk, 0);
      }
      // Checked after the refill above too: a batch larger than a read's chunk (a producer's maxBatchBytes above
      // the read size) is known only once its header is read, and needs a read of its own size. Before, the first
      // batch of a read was reported cut short (DATA_LOSS) whenever it was larger than the chunk.
      if (typeof header !== 'string' && pos - chunkPos + header.batchBytes > chunk.length && expected + header.count > from) {
        await refill(pos, header.batchBytes);
        header = parseBatchHeader(chunk, 0);
      }
      if (header === 'short' || header === 'invalid') {
        damage = dataLoss(expected, pos, header === 'short' ? 'a batch cut short' : 'bytes that are not a batch header');
        break;
      }
      if (header.baseOffset !== expected) {
        damage = dataLoss(expected, pos, `a batch with base offset ${header.baseOffset}`);
        break;
      }
      const batchEnd = header.baseOffset + header.count;
      if (batchEnd <= from) {
        // Before the wanted offset: skipped on its header alone.
        pos += header.batchBytes;
        expected = batchEnd;
        continue;
      }
      const rel = pos - chunkPos;
      if (rel + header.batchBytes > chunk.length) {
        damage = dataLoss(expected, pos, 'a batch cut short');
        break;
      }
      if (!checkBatchCrc(chunk, rel, header)) {
        damage = dataLoss(expected, pos, 'a batch whose CRC does not match its bytes');
        break;
      }
      const taken = takeRecords(chunk, rel, header, from, end, req.maxBytes - bytes, count === 0);
      if (taken.count > 0) {
        parts.push(taken.body);
        count += taken.count;
        bytes += taken.body.length;
      }
      if (taken.count < Math.min(end, batchEnd) - Math.max(from, header.baseOffset)) break; // out of room
      pos += header.batchBytes;
      expected = batchEnd;
      if (bytes >= req.maxBytes) break;
    }
    if (count === 0 && from < end) throw damage ?? dataLoss(expected, pos, `the end of the segment's ${limit} bytes`);
  } finally {
    await file.close();
  }
  return { count, parts };
}

/**
 * The records of a verified batch between offsets from and end, within
 * `room` bytes (or at least one record when `mustTakeOne`). A batch taken
 * whole is its body, as is, with no walk over its records.
 */
export function takeRecords(
  buf: Buffer,
  rel: number,
  header: BatchHeader,
  from: number,
  end: number,
  room: number,
  mustTakeOne: boolean,
): { count: number; body: Buffer } {
  const bodyStart = rel + header.headerBytes;
  const bodyEnd = bodyStart + header.bodyLength;
  const first = Math.max(from, header.baseOffset);
  const last = Math.min(end, header.baseOffset + header.count);
  if (first === header.baseOffset && last === header.baseOffset + header.count && header.bodyLength <= room) {
    return { count: header.count, body: buf.subarray(bodyStart, bodyEnd) };
  }
  let p = bodyStart;
  for (let o = header.baseOffset; o < first; o++) p += RECORD_HEADER_BYTES + buf.readUInt32LE(p);
  const sliceStart = p;
  let count = 0;
  for (let o = first; o < last; o++) {
    const size = RECORD_HEADER_BYTES + buf.readUInt32LE(p);
    if (p + size - sliceStart > room && !(mustTakeOne && count === 0)) break;
    p += size;
    count++;
  }
  if (p > bodyEnd) throw new RangeError('record lengths run past the batch body');
  return { count, body: buf.subarray(sliceStart, p) };
}
