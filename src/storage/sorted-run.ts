/**
 * Sorted runs: readers of records sorted by key (record-codec.ts framing),
 * the inputs of the merger. A run is held in memory (a fetched map output
 * partition) or read from a byte range of a file (a spill, a merged run, a
 * partition of a map output) through one bounded buffer. (Not to be confused
 * with the segment files of a dataset's log, src/dataset/.)
 */
import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { LaminateError } from '../common/errors.js';
import { grow } from './byte-sink.js';
import { decodeValueAt, parseRecord, type RecordFrame } from './record-codec.js';

/**
 * A cursor over the records of a sorted run. Before the first `next()` there
 * is no current record. The current record's bytes are `buf[recordStart,
 * valueEnd)`, its key `buf[keyStart, keyEnd)` and its value (tag and payload)
 * `buf[valueStart, valueEnd)`; they stay valid until the next call to
 * `next()`. Used by one consumer at a time (the merger).
 */
export interface SortedRun {
  /**
   * Moves to the next record: true if there is one, false at the end. Returns
   * a plain boolean whenever the record is already buffered, and a promise
   * only when it has to read; callers await only thenables to keep the
   * in-memory path fast.
   */
  next(): boolean | Promise<boolean>;
  readonly buf: Buffer;
  readonly recordStart: number;
  readonly keyStart: number;
  readonly keyEnd: number;
  readonly valueStart: number;
  readonly valueEnd: number;
  /** The current key, decoded (allocates a string). */
  key(): string;
  /** The current key's bytes (a view, valid until next()). */
  keyBytes(): Buffer;
  /** The current value's bytes, tag included (a view, valid until next()). */
  valueBytes(): Buffer;
  /** The current value, decoded. */
  value(): unknown;
  /** Releases the file, if any. Safe to call twice, and before the end. */
  close(): Promise<void>;
}

abstract class SortedRunBase implements SortedRun, RecordFrame {
  buf: Buffer;
  recordStart = 0;
  keyStart = 0;
  keyEnd = 0;
  valueStart = 0;
  valueEnd = 0;
  needed = 0;

  constructor(buf: Buffer, protected readonly name: string) {
    this.buf = buf;
  }

  abstract next(): boolean | Promise<boolean>;
  abstract close(): Promise<void>;

  key(): string {
    return this.buf.toString('utf8', this.keyStart, this.keyEnd);
  }

  keyBytes(): Buffer {
    return this.buf.subarray(this.keyStart, this.keyEnd);
  }

  valueBytes(): Buffer {
    return this.buf.subarray(this.valueStart, this.valueEnd);
  }

  value(): unknown {
    return decodeValueAt(this.buf, this.valueStart, this.valueEnd);
  }

  protected truncated(at: number, have: number, need: number): LaminateError {
    return new LaminateError('INTERNAL', `Expected a record of at least ${need} bytes at byte ${at} of ${this.name}, got the end of the run after ${have} bytes`);
  }
}

class BufferRun extends SortedRunBase {
  private pos: number;

  constructor(buf: Buffer, name: string, private readonly limit: number) {
    super(buf, name);
    this.pos = 0;
  }

  next(): boolean {
    const pos = this.pos;
    if (pos >= this.limit) return false;
    const end = parseRecord(this.buf, pos, this.limit, this);
    if (end < 0) throw this.truncated(pos, this.limit - pos, this.needed);
    this.recordStart = pos;
    this.pos = end;
    return true;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * A sorted run over all of `buf`: records must fill it exactly.
 * Called by the reduce side for partitions fetched into memory, and by tests.
 */
export function bufferRun(buf: Buffer, name = 'an in-memory run'): SortedRun {
  return new BufferRun(buf, name, buf.length);
}

/**
 * A run held as the chunks it was fetched in, in order: records are read
 * in place in each chunk, and only a record that runs across chunks is
 * joined into a buffer of its own (about one per chunk boundary). Joining
 * the whole run into one buffer first (Buffer.concat) copied every byte
 * into fresh memory: on a machine whose page faults are dear (some 11 us a
 * 4 KiB page on the shared VMs the benchmarks run on, where a second write
 * of the same 16 MB takes 0.8 ms and the first 45 ms) that concat was the
 * largest self-time item of a profiled view build's container thread
 * (bench/README.md, serving).
 */
class ChunksRun extends SortedRunBase {
  /** The chunk read now, and the position in it of the next record. */
  private c = 0;
  private pos = 0;
  /** Bytes of the chunks before chunk c (for the byte offsets errors name). */
  private base = 0;

  constructor(private readonly chunks: readonly Buffer[], name: string) {
    super(chunks[0] ?? Buffer.alloc(0), name);
  }

  next(): boolean {
    for (;;) {
      const chunk = this.chunks[this.c];
      if (chunk === undefined) return false;
      if (this.pos >= chunk.length) {
        this.base += chunk.length;
        this.c++;
        this.pos = 0;
        continue;
      }
      const end = parseRecord(chunk, this.pos, chunk.length, this);
      if (end < 0) return this.join(chunk);
      this.buf = chunk;
      this.recordStart = this.pos;
      this.pos = end;
      return true;
    }
  }

  /** The record at `pos` of `chunk` runs past it: its bytes joined from the chunks after, as many as it needs. */
  private join(chunk: Buffer): boolean {
    const start = this.pos;
    let parts: Buffer[] = [chunk.subarray(start)];
    let have = chunk.length - start;
    let c = this.c + 1;
    let at = 0;
    for (;;) {
      const need = this.needed;
      while (have < need) {
        const next = this.chunks[c];
        if (next === undefined) throw this.truncated(this.base + start, have, need);
        const take = Math.min(need - have, next.length - at);
        parts.push(next.subarray(at, at + take));
        have += take;
        at += take;
        if (at === next.length) {
          c++;
          at = 0;
        }
      }
      const record = Buffer.concat(parts, have);
      const end = parseRecord(record, 0, have, this);
      if (end >= 0) {
        if (end !== have) throw new LaminateError('INTERNAL', `Expected a record of ${have} bytes at byte ${this.base + start} of ${this.name}, got one of ${end}`);
        this.buf = record;
        this.recordStart = 0;
        for (let k = this.c; k < c; k++) this.base += this.chunks[k]!.length;
        this.c = c;
        this.pos = at;
        return true;
      }
      parts = [record];
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * A sorted run over `chunks` taken one after the other: their records must
 * fill them exactly (a record may span chunks). Called by the reduce side
 * for partitions fetched into memory, with the chunks as they arrived.
 */
export function chunksRun(chunks: readonly Buffer[], name = 'an in-memory run'): SortedRun {
  return new ChunksRun(chunks, name);
}

class FileRun extends SortedRunBase {
  private fh: FileHandle | undefined;
  private closed = false;
  /** Bytes of buf holding data; [pos, filled) is not consumed yet. */
  private filled = 0;
  private pos = 0;
  /** The file offset of the next byte to read, and how many are left to read. */
  private readAt: number;
  private unread: number;

  constructor(
    private readonly path: string,
    offset: number,
    length: number,
    private readonly bufferSize: number,
    private readonly openFile: () => Promise<FileHandle>,
    private readonly syncReads: boolean,
  ) {
    // The buffer is allocated on the first read, so idle runs cost nothing.
    super(Buffer.alloc(0), `'${path}' (run at ${offset}, ${length} bytes)`);
    this.readAt = offset;
    this.unread = length;
  }

  next(): boolean | Promise<boolean> {
    const pos = this.pos;
    if (pos < this.filled) {
      const end = parseRecord(this.buf, pos, this.filled, this);
      if (end >= 0) {
        this.recordStart = pos;
        this.pos = end;
        return true;
      }
    } else if (this.unread === 0) {
      return this.finish();
    }
    return this.syncReads && this.fh !== undefined ? this.refillSync(this.fh) : this.refill();
  }

  private async finish(): Promise<boolean> {
    await this.close();
    return false;
  }

  private async refill(): Promise<boolean> {
    if (this.closed) throw this.notOpen();
    if (this.fh === undefined) {
      this.fh = await this.openFile();
      this.buf = Buffer.allocUnsafe(Math.min(this.bufferSize, Math.max(this.unread, 1)));
      if (this.syncReads) return this.refillSync(this.fh);
    }
    for (;;) {
      const want = this.makeRoom();
      if (want === 0) return this.finish();
      if (this.took((await this.fh.read(this.buf, this.filled, want, this.readAt)).bytesRead)) return true;
    }
  }

  /** refill() with blocking reads, once the file is open: a promise only at the run's end (its close). */
  private refillSync(fh: FileHandle): boolean | Promise<boolean> {
    if (this.closed) throw this.notOpen();
    for (;;) {
      const want = this.makeRoom();
      if (want === 0) return this.finish();
      if (this.took(readSync(fh.fd, this.buf, this.filled, want, this.readAt))) return true;
    }
  }

  private notOpen(): LaminateError {
    return new LaminateError('FAILED_PRECONDITION', `Expected an open run, got a closed one: ${this.name}`);
  }

  /**
   * Moves the bytes not consumed yet to the buffer's start (growing it for
   * a record larger than the buffer) and returns how many bytes to read
   * after them; 0 when the run has ended with nothing left over.
   * @throws LaminateError (truncated) when the run ended inside a record.
   */
  private makeRoom(): number {
    const leftover = this.filled - this.pos;
    const need = leftover > 0 ? this.needed : 0;
    if (this.unread === 0) {
      if (leftover === 0) return 0;
      throw this.truncated(this.readAt - leftover, leftover, need);
    }
    if (need > this.buf.length || leftover === this.buf.length) {
      this.buf = grow(this.buf.subarray(this.pos, this.filled), leftover, Math.max(need, leftover + 1));
    } else if (this.pos > 0 && leftover > 0) {
      this.buf.copyWithin(0, this.pos, this.filled);
    }
    this.pos = 0;
    this.filled = leftover;
    return Math.min(this.buf.length - leftover, this.unread);
  }

  /** Takes `bytesRead` bytes just read after the leftover; true when they complete a record, now the current one. */
  private took(bytesRead: number): boolean {
    if (bytesRead === 0) {
      throw new LaminateError('INTERNAL', `Expected ${this.unread} more bytes at offset ${this.readAt} of '${this.path}', got the end of the file`);
    }
    this.filled += bytesRead;
    this.readAt += bytesRead;
    this.unread -= bytesRead;
    const end = parseRecord(this.buf, 0, this.filled, this);
    if (end < 0) return false;
    this.recordStart = 0;
    this.pos = end;
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }
}

/** Options of fileRun. */
export interface FileRunOptions {
  /**
   * Read with a blocking pread on the calling thread instead of through
   * libuv's thread pool. Default true: runs are read by task attempts, each
   * in a container thread of its own (src/worker/container-main.ts) with
   * nothing else to serve, and their files were just written (spills, map
   * outputs), so they are in the page cache, where a pread is a copy from
   * memory, while waiting on thread-pool round trips left a reduce attempt
   * idle 18-30% of its time (109-248 ms of 0.62-0.84 s: a profile of the
   * serving benchmark, 3 December; bench/README.md, serving). Set false on
   * an event loop that serves others (a blocking read that goes to the disk
   * would stall them).
   */
  readonly syncReads?: boolean;
}

/**
 * A sorted run over `length` bytes of `path` from `offset`, read through one
 * buffer of `bufferSize` bytes (grown only for a record bigger than it). The
 * file is opened on the first `next()` (by `openFile` if given: the reduce
 * side's host-local reads check it is the file they were told of) and closed
 * at the end or on `close()`. Called by the map-side merge (one per spill and
 * partition), by multi-pass merges, and by the reduce side for partitions
 * fetched to disk or read where their map wrote them.
 */
export function fileRun(path: string, offset: number, length: number, bufferSize = 64 * 1024, openFile?: () => Promise<FileHandle>, options: FileRunOptions = {}): SortedRun {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a non-negative offset and length for a run of '${path}', got ${offset} and ${length}`);
  }
  if (!Number.isSafeInteger(bufferSize) || bufferSize <= 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a positive buffer size for a run of '${path}', got ${bufferSize}`);
  }
  return new FileRun(path, offset, length, bufferSize, openFile ?? (() => open(path, 'r')), options.syncReads ?? true);
}
