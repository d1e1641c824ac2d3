/**
 * Records of one partition read ahead of the batches a dataset trigger forms
 * from them, so that the store is read in pieces of about `readBytes`
 * rather than once per batch.
 *
 * Why: a store read costs about the same whatever it returns (a file open, a
 * pread sized by its byte budget, a CRC of each whole stored batch it takes
 * records from, a close). A producer's stored batches are 256 KiB, a
 * trigger's batch of 1,000 small records ~50 KB: reading per trigger batch
 * read and checked each stored batch five times or more, and most of what
 * the master did while a trigger worked off a backlog was that.
 *
 * The buffer holds whole record bodies (record-body.ts: a length prefix and
 * the msgpack of each record) in offset order, views of the store's read
 * buffers. A batch taken from it is views too; nothing is copied. Memory:
 * at most one read of `readBytes` (or of what one batch still needs, if
 * more) beyond the batch being formed, per partition.
 *
 * Who calls it: the dataset trigger, one per partition, from its partition
 * loop only (no concurrent calls).
 */
import type { ReadChunk } from '../../common/dataset-shapes.js';
import { readLength, RECORD_HEADER_BYTES } from '../../storage/record-body.js';

/** Reads durable records from `from`, about `maxBytes` of them (at least one when there is one). */
export type ReadRecords = (from: number, maxBytes: number) => Promise<ReadChunk>;

export interface TakeLimits {
  /** Most records in the batch. */
  readonly count: number;
  /** Soft cap on the batch's record bytes (length prefixes included; Infinity for none): the batch always has its first record. */
  readonly maxBytes: number;
}

export interface TakenBatch {
  /** Record bodies holding the batch's records, in order. */
  readonly bodies: Uint8Array[];
  readonly count: number;
  readonly bytes: number;
}

interface Piece {
  readonly body: Uint8Array;
  /** Offset of the record at byte `pos`. */
  offset: number;
  pos: number;
}

export class RecordReadAhead {
  /** Buffered bodies, in offset order and contiguous; the first one's record at `pos` is the first buffered. */
  private pieces: Piece[] = [];
  /** Offset after the last buffered record. */
  private end = 0;

  constructor(private readonly read: ReadRecords, private readonly readBytes: number) {}

  /** Records buffered from the first one on. */
  get buffered(): number {
    const first = this.pieces[0];
    return first === undefined ? 0 : this.end - first.offset;
  }

  /**
   * The records from `from` on, up to the limits, taken from the buffer and
   * from reads of the store when it runs out. Stops early, with fewer
   * records, when the store has no more durable ones (never waits: an empty
   * batch means none is durable at `from` yet). Records before `from` are
   * dropped from the buffer; the batch's own stay until a later take starts
   * past them (a batch delivered again starts at the same `from`).
   */
  async take(from: number, limits: TakeLimits): Promise<TakenBatch> {
    this.dropBefore(from);
    const bodies: Uint8Array[] = [];
    let count = 0;
    let bytes = 0;
    let i = 0;
    let offset = from;
    let pos = this.pieces[0]?.pos ?? 0;
    for (;;) {
      if (i === this.pieces.length) {
        if (count === limits.count) break;
        // A read's worth: the rest of this batch, and the next batches' records ahead (a batch that needs more reads again).
        const chunk = await this.read(offset, this.readBytes);
        if (chunk.count === 0) break;
        if (chunk.firstOffset !== offset) throw new Error(`Expected records from offset ${offset}, the store read from ${chunk.firstOffset}`);
        this.pieces.push({ body: chunk.body, offset, pos: 0 });
        this.end = chunk.nextOffset;
        pos = 0;
      }
      const piece = this.pieces[i]!;
      const body = piece.body;
      const start = pos;
      while (pos < body.byteLength && count < limits.count) {
        const size = RECORD_HEADER_BYTES + readLength(body, pos);
        if (count > 0 && bytes + size > limits.maxBytes) break;
        pos += size;
        bytes += size;
        count++;
        offset++;
      }
      if (pos > start) bodies.push(body.subarray(start, pos));
      if (pos < body.byteLength) break; // the batch is full
      i++;
      pos = 0;
    }
    return { bodies, count, bytes };
  }

  /** Forgets the records before `from`; the whole buffer when `from` is not in it (a batch out of its order). */
  private dropBefore(from: number): void {
    const first = this.pieces[0];
    if (first === undefined || from < first.offset || from > this.end) {
      this.pieces = [];
      this.end = from;
      return;
    }
    while (this.pieces.length > 0) {
      const piece = this.pieces[0]!;
      while (piece.offset < from && piece.pos < piece.body.byteLength) {
        piece.pos += RECORD_HEADER_BYTES + readLength(piece.body, piece.pos);
        piece.offset++;
      }
      if (piece.pos < piece.body.byteLength) return;
      this.pieces.shift();
    }
  }
}
