/**
 * How a map attempt reads a split whose records lie in an archived segment:
 * one ranged read (a ranged GET on S3) of the bytes the planner gave,
 * streamed, each batch checked against its CRC and its offsets against the
 * ones expected, the records before the split's start and from its end on
 * sliced off, as the master's own segment reads do (segment-reader.ts). The
 * master is not on this path. A damaged or short object is a DATA_LOSS
 * error naming dataset, partition and offset: never wrong data. The same
 * reader serves a map's host-local reads of the master's segment files
 * (src/worker/dataset-reader.ts).
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

const EMPTY = Buffer.alloc(0);

/** Drops the first `n` bytes of `chunks` (views of what is left stay). */
function dropFront(chunks: Buffer[], n: number): void {
  while (n > 0) {
    const first = chunks[0]!;
    if (first.length <= n) {
      n -= first.length;
      chunks.shift();
    } else {
      chunks[0] = first.subarray(n);
      n = 0;
    }
  }
}

/** Records decoded per chunk yielded, in bytes of record bodies (the Dataset service's default read). */
const CHUNK_BYTES = 256 * 1024;

/**
 * The records of `split` (which has `archive` set) from the archive, in
 * chunks, in offset order. Called once per map attempt; leaving the
 * iteration early ends the read. Also the reader of a map's host-local
 * reads of the master's segment files (src/worker/dataset-reader.ts, `read`
 * over the open file, `what` naming it in errors). Only a batch across two
 * chunks is copied (and a whole chunk when the cut falls inside a batch's
 * header, which is rare); the rest of each chunk is parsed, checked and
 * decoded in place.
 */
export async function* readArchivedSplit(split: DatasetSplit, read: ReadRange = readStoreRange, what = 'archived segment'): AsyncGenerator<DatasetRecordChunk> {
  const range = split.archive;
  if (range === undefined) throw new LaminateError('INTERNAL', `Expected an archived split, got ${describe(split)}`);
  const { dataset, partition, startOffset, endOffset } = split;
  const dataLoss = (offset: number, why: string): LaminateError =>
    new LaminateError('DATA_LOSS', `Expected whole batches of offsets [${startOffset}, ${endOffset}) of dataset ${describe(dataset)} partition ${partition} in the ${what} ${range.path}, got ${why}`, { ids: { dataset, partition, offset } });
  /** The bytes read and not yet parsed: from a batch start on. */
  let pending: Buffer = EMPTY;
  /** Bytes of the range before pending[0], for the positions errors name. */
  let consumed = 0;
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
    // Each part is one batch's record bodies, decoded in place: no copy of the bytes into one body.
    const records = parts.length === 1 ? decodeBody(parts[0]!) : parts.flatMap((part) => decodeBody(part));
    const chunk = { firstOffset, records };
    parts = [];
    bytes = 0;
    firstOffset = next;
    return chunk;
  };
  /**
   * Takes the whole batches of `buf` (which starts at a batch start) up to
   * endOffset; returns the position of the first batch not whole in it (and
   * sets `need` to its length when its header is there).
   */
  function* parse(buf: Buffer): Generator<DatasetRecordChunk, number> {
    let pos = 0;
    while (next < endOffset) {
      const header = parseBatchHeader(buf, pos);
      if (header === 'short') break;
      const at = range!.start + consumed + pos;
      if (header === 'invalid') throw dataLoss(expected ?? startOffset, `bytes that are not a batch header at byte ${at}`);
      if (pos + header.batchBytes > buf.length) {
        need = header.batchBytes;
        break;
      }
      if (expected === undefined ? header.baseOffset > startOffset : header.baseOffset !== expected) {
        throw dataLoss(expected ?? startOffset, `a batch with base offset ${header.baseOffset} at byte ${at}`);
      }
      if (!checkBatchCrc(buf, pos, header)) throw dataLoss(header.baseOffset, `a batch whose CRC does not match its bytes at byte ${at}`);
      expected = header.baseOffset + header.count;
      if (expected > next) {
        const taken = takeRecords(buf, pos, header, next, endOffset, Number.POSITIVE_INFINITY, true);
        // A view of `buf`, which is never written into.
        parts.push(taken.body);
        bytes += taken.body.length;
        next += taken.count;
      }
      pos += header.batchBytes;
      if (bytes >= CHUNK_BYTES) yield flush();
    }
    return pos;
  }
  for await (const data of read(range.path, range.start, range.end)) {
    held.push(data);
    heldBytes += data.length;
    if (pending.length + heldBytes < need) continue;
    if (need > 0 && pending.length > 0) {
      // The batch across chunks: join its bytes only, and go on in place in the chunk it ends in.
      const joined = Buffer.concat([pending, ...held], need);
      dropFront(held, need - pending.length);
      heldBytes -= need - pending.length;
      need = 0;
      const pos = yield* parse(joined);
      consumed += pos;
      pending = joined.subarray(pos);
      if (next >= endOffset) break;
      if (held.length === 0) continue;
    }
    pending = pending.length === 0 && held.length === 1 ? held[0]! : Buffer.concat([pending, ...held]);
    held.length = 0;
    heldBytes = 0;
    need = 0;
    const pos = yield* parse(pending);
    consumed += pos;
    pending = pending.subarray(pos);
    if (next >= endOffset) break;
  }
  if (parts.length > 0) yield flush();
  if (next < endOffset) throw dataLoss(next, `an object range [${range.start}, ${range.end}) that ends at offset ${next}`);
}
