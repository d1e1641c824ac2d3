/**
 * Map output records held encoded, as they will be spilled (Hadoop's
 * kvbuffer): the sort buffer of a map attempt without a combiner (or after
 * adaptive combining stopped it) writes each record's bytes here at emit and
 * keeps only its location (the spill sorts by the key bytes here:
 * record-key-sort.ts), so the emitted values (a
 * view's ~100-character strings, msgpack of objects) die young instead of
 * being held, promoted and copied by the garbage collector until the spill:
 * the serving benchmark's map spent 1.0-1.6 s of 2.3-2.9 CPU-s in GC pauses
 * with the values held (bench/README.md, serving). The spill then copies each
 * record's bytes in key order; the encoding is record-codec.ts's.
 *
 * Bytes live in chunks of CHUNK_BYTES (one record never straddles two), kept
 * for reuse after a spill: the memory is the sort buffer's, whose estimate
 * counts every byte written here.
 */
import { LaminateError } from '../common/errors.js';
import type { ByteSink } from './byte-sink.js';
import { appendRecord } from './record-codec.js';

/** Bytes of one chunk; a larger record gets a chunk of its own size. */
export const CHUNK_BYTES = 1024 * 1024;

/** A record's location: chunk index * LOCATION_STRIDE + start (chunks are smaller than 4 GiB). */
const LOCATION_STRIDE = 2 ** 32;

/**
 * Encoded records of one spill window. Use: `add` per record (sync), then
 * `keyAt` to sort and `recordAt` for each location in the order to write,
 * then `reset()` after the spill. Not shared between attempts.
 */
export class EncodedRecords implements ByteSink {
  /** The chunk being written (ByteSink's buffer). */
  buf: Buffer;
  /** Where the next byte goes in `buf` (ByteSink's position). */
  pos = 0;
  private chunks: Buffer[] = [];
  /** Index of `buf` in `chunks`. */
  private current = 0;
  /** Start of the record being added, in `buf`: kept whole when it moves to a new chunk. */
  private recordStart = 0;
  /** Bytes of the records added since the last reset (their chunks' used bytes). */
  private used = 0;

  constructor(private readonly chunkBytes = CHUNK_BYTES) {
    this.buf = Buffer.allocUnsafe(chunkBytes);
    this.chunks.push(this.buf);
  }

  /** Bytes of the records added since the last reset. */
  get bytes(): number {
    return this.used;
  }

  /**
   * ByteSink: room for `n` more bytes of the record being added. When the
   * chunk has none, the record so far moves to the next chunk (reused, or new
   * and large enough), so that a record's bytes stay contiguous.
   */
  reserve(n: number): Buffer {
    if (this.pos + n <= this.buf.length) return this.buf;
    const partial = this.pos - this.recordStart;
    const needed = partial + n;
    let next = this.chunks[this.current + 1];
    if (next === undefined || next.length < needed) {
      next = Buffer.allocUnsafe(Math.max(this.chunkBytes, needed));
      // A reused chunk too small for this record is replaced (and its successors kept).
      if (this.current + 1 < this.chunks.length) this.chunks[this.current + 1] = next;
      else this.chunks.push(next);
    }
    this.buf.copy(next, 0, this.recordStart, this.pos);
    this.current++;
    this.buf = next;
    this.recordStart = 0;
    this.pos = partial;
    return next;
  }

  /** Key and value bytes (framing excluded) of the record last added: what MAP_OUTPUT_BYTES counts. */
  lastBytes = 0;

  /**
   * Encodes one record (record-codec.ts's framing) and returns its location,
   * for recordAt. Called by the collector once per buffered record.
   */
  add(key: string, value: unknown): number {
    this.recordStart = this.pos;
    this.lastBytes = appendRecord(this, key, value);
    // reserve() may have moved the record to the start of a new chunk.
    this.used += this.pos - this.recordStart;
    return this.current * LOCATION_STRIDE + this.recordStart;
  }

  /**
   * The chunk and byte range of the key of the record at `location`,
   * written to `out` (no allocation per record): [chunk, start, end), its
   * UTF-8 bytes as the spill holds them (a lone surrogate as U+FFFD). The
   * sort reads keys here (record-key-sort.ts).
   */
  keyAt(location: number, out: RecordRange): void {
    const index = Math.floor(location / LOCATION_STRIDE);
    const chunk = this.chunks[index];
    if (chunk === undefined) throw new LaminateError('INTERNAL', `Expected a buffered record in chunk ${index}, got ${this.chunks.length} chunks`);
    let p = location - index * LOCATION_STRIDE;
    let keyLength = 0;
    for (let shift = 1; ; shift *= 128) {
      const b = chunk[p++]!;
      keyLength += (b & 0x7f) * shift;
      if (b < 0x80) break;
    }
    out.chunk = chunk;
    out.start = p;
    out.end = p + keyLength;
  }

  /**
   * The chunk and byte range of the record at `location`, written to `out`
   * (no allocation per record): [chunk, start, end]. Parses the record's two
   * varint lengths.
   */
  recordAt(location: number, out: RecordRange): void {
    const index = Math.floor(location / LOCATION_STRIDE);
    const start = location - index * LOCATION_STRIDE;
    const chunk = this.chunks[index];
    if (chunk === undefined) throw new LaminateError('INTERNAL', `Expected a buffered record in chunk ${index}, got ${this.chunks.length} chunks`);
    let p = start;
    let keyLength = 0;
    for (let shift = 1; ; shift *= 128) {
      const b = chunk[p++]!;
      keyLength += (b & 0x7f) * shift;
      if (b < 0x80) break;
    }
    p += keyLength;
    let valueLength = 0;
    for (let shift = 1; ; shift *= 128) {
      const b = chunk[p++]!;
      valueLength += (b & 0x7f) * shift;
      if (b < 0x80) break;
    }
    out.chunk = chunk;
    out.start = start;
    out.end = p + valueLength;
  }

  /** Forgets the records (keeping the chunks for the next window). Called after each spill. */
  reset(): void {
    this.current = 0;
    this.buf = this.chunks[0]!;
    this.pos = 0;
    this.recordStart = 0;
    this.used = 0;
  }

  /** Drops the chunks (the attempt is done). */
  release(): void {
    this.chunks = [Buffer.allocUnsafe(0)];
    this.reset();
  }
}

/** Where recordAt puts a record's bytes: chunk[start, end). */
export interface RecordRange {
  chunk: Buffer;
  start: number;
  end: number;
}
