/**
 * How a map attempt reads a split whose records lie in an archived segment:
 * one ranged read (a ranged GET on S3) of the bytes the planner gave,
 * streamed, each batch checked against its CRC and its offsets against the
 * ones expected, the records before the split's start and from its end on
 * sliced off, as the master's own segment reads do (segment-reader.ts). The
 * master is not on this path. A damaged or short object is a DATA_LOSS
 * error naming dataset, partition and offset: never wrong data.
 */
import { describe, LaminateError } from '../common/errors.js';
import type { DatasetSplit } from '../common/input-split.js';
import type { DatasetRecordChunk } from '../storage/input-formats/dataset.js';
import { decodeBody } from '../storage/record-body.js';
import { locate } from '../storage/store-path.js';
import { checkBatchCrc, parseBatchHeader } from './batch-format.js';
import { takeRecords } from './segment-reader.js';

/** The bytes [start, end) of the object at `path`, in chunks of any size (tests cut them small). */
export type ReadRange = (path: string, start: number, end: number) => AsyncIterable<Buffer>;

async function* readStoreRange(path: string, start: number, end: number): AsyncIterable<Buffer> {
  const { store, key } = await locate(path);
  yield* store.readStream(key, start, end);
}

/** Records decoded per chunk yielded, in bytes of record bodies (the Dataset service's default read). */
const CHUNK_BYTES = 256 * 1024;

/**
 * The records of `split` (which has `archive` set) from the archive, in
 * chunks, in offset order. Called once per map attempt; leaving the
 * iteration early ends the read.
 */
export async function* readArchivedSplit(split: DatasetSplit, read: ReadRange = readStoreRange): AsyncGenerator<DatasetRecordChunk> {
  const range = split.archive;
  if (range === undefined) throw new LaminateError('INTERNAL', `Expected an archived split, got ${describe(split)}`);
  const { dataset, partition, startOffset, endOffset } = split;
  const dataLoss = (offset: number, why: string): LaminateError =>
    new LaminateError('DATA_LOSS', `Expected whole batches of offsets [${startOffset}, ${endOffset}) of dataset ${describe(dataset)} partition ${partition} in the archived segment ${range.path}, got ${why}`, { ids: { dataset, partition, offset } });
  let pending: Buffer = Buffer.alloc(0);
  // Chunks read while `pending` holds less than a whole batch: joined once there are `need` bytes, not at each
  // chunk (a 16 MiB batch arrives in hundreds of chunks; joining each time would copy it hundreds of times).
  const held: Buffer[] = [];
  let heldBytes = 0;
  let need = 0;
  /** Set by the first batch: the base offset of the next batch expected. */
  let expected: number | undefined;
  let next = startOffset;
  let parts: Buffer[] = [];
  let bytes = 0;
  let firstOffset = startOffset;
  const flush = (): DatasetRecordChunk => {
    const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const chunk = { firstOffset, records: decodeBody(body) };
    parts = [];
    bytes = 0;
    firstOffset = next;
    return chunk;
  };
  for await (const data of read(range.path, range.start, range.end)) {
    held.push(data);
    heldBytes += data.length;
    if (pending.length + heldBytes < need) continue;
    pending = pending.length === 0 && held.length === 1 ? data : Buffer.concat([pending, ...held]);
    held.length = 0;
    heldBytes = 0;
    need = 0;
    let pos = 0;
    while (next < endOffset) {
      const header = parseBatchHeader(pending, pos);
      if (header === 'short') break;
      if (header === 'invalid') throw dataLoss(expected ?? startOffset, `bytes that are not a batch header at byte ${range.start + pos}`);
      if (pos + header.batchBytes > pending.length) {
        need = header.batchBytes;
        break;
      }
      if (expected === undefined ? header.baseOffset > startOffset : header.baseOffset !== expected) {
        throw dataLoss(expected ?? startOffset, `a batch with base offset ${header.baseOffset} at byte ${range.start + pos}`);
      }
      if (!checkBatchCrc(pending, pos, header)) throw dataLoss(header.baseOffset, `a batch whose CRC does not match its bytes at byte ${range.start + pos}`);
      expected = header.baseOffset + header.count;
      if (expected > next) {
        const taken = takeRecords(pending, pos, header, next, endOffset, Number.POSITIVE_INFINITY, true);
        // A view of `pending`, which is only ever replaced, never written into; flush() copies once.
        parts.push(taken.body);
        bytes += taken.body.length;
        next += taken.count;
      }
      pos += header.batchBytes;
      if (bytes >= CHUNK_BYTES) yield flush();
    }
    pending = pending.subarray(pos);
    if (next >= endOffset) break;
  }
  if (parts.length > 0) yield flush();
  if (next < endOffset) throw dataLoss(next, `an object range [${range.start}, ${range.end}) that ends at offset ${next}`);
}
