/**
 * A file written through big buffers, so writing records costs no syscall per
 * record: the sink of spills, merged map outputs and part files.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { describe, LaminateError } from '../common/errors.js';
import type { ByteSink } from './byte-sink.js';

/** Options of BufferedFileWriter.open. */
export interface BufferedFileWriterOptions {
  /** Flush once this many bytes are buffered. Default 1 MiB; at least 64 KiB. */
  readonly flushBytes?: number;
  /** The open flag: 'w' (default) truncates, 'wx' refuses an existing file. */
  readonly flag?: 'w' | 'wx';
}

const DEFAULT_FLUSH_BYTES = 1024 * 1024;
const MIN_FLUSH_BYTES = 64 * 1024;
/** The first buffer's size (capped by the full size). */
const INITIAL_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/**
 * Appends bytes to a new file. Writers append with `reserve`/`pos` (sync, may
 * grow the buffer) and, between records, call `flush()` when `needsFlush()`.
 * A flush hands the full buffer to the OS and keeps filling a second one, so
 * encoding and writing overlap; at most one write is in flight.
 */
export class BufferedFileWriter implements ByteSink {
  /** Empty until the first `reserve`; grows from 64 KiB up to the full size (flushBytes * 1.25). */
  buf: Buffer = EMPTY;
  pos = 0;
  /** The other buffer of the pair once there has been a flush (it may be being written). */
  private spare: Buffer | undefined;
  private fileOffset = 0;
  private inFlight: Promise<void> | undefined;
  private closed = false;
  private readonly fullBytes: number;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    private readonly flushBytes: number,
  ) {
    // Buffers are allocated as bytes come, so a small file (an empty spill of
    // a no-op map, a small part file) costs no megabytes of buffers.
    this.fullBytes = Math.floor(flushBytes + flushBytes / 4);
  }

  /** Creates (or truncates) `path`. Called once per output file. */
  static async open(path: string, options: BufferedFileWriterOptions = {}): Promise<BufferedFileWriter> {
    const flushBytes = options.flushBytes ?? DEFAULT_FLUSH_BYTES;
    if (!Number.isSafeInteger(flushBytes) || flushBytes < MIN_FLUSH_BYTES) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected flushBytes to be an integer >= ${MIN_FLUSH_BYTES}, got ${describe(flushBytes)}`);
    }
    const fh = await open(path, options.flag ?? 'w');
    return new BufferedFileWriter(fh, path, flushBytes);
  }

  /** Bytes written so far, buffered or not: the file offset of the next byte. */
  get position(): number {
    return this.fileOffset + this.pos;
  }

  reserve(n: number): Buffer {
    if (this.pos + n > this.buf.length) this.enlarge(this.pos + n);
    return this.buf;
  }

  /**
   * Replaces `buf` by a bigger one holding at least `needed` bytes, keeping
   * what it holds: doubling from 64 KiB (or from the other buffer's size, once
   * a flush showed the output is big) up to the full size, beyond that only
   * for a record bigger than the buffer.
   */
  private enlarge(needed: number): void {
    let size = Math.max(this.buf.length * 2, this.spare?.length ?? 0, INITIAL_BYTES);
    if (size > this.fullBytes) size = this.fullBytes;
    while (size < needed) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    if (this.pos > 0) this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  /** Appends `src[start, end)`. Sync; may grow the buffer. */
  writeBytes(src: Buffer, start = 0, end = src.length): void {
    const buf = this.reserve(end - start);
    this.pos += src.copy(buf, this.pos, start, end);
  }

  /** True when enough is buffered that the caller should await flush(). */
  needsFlush(): boolean {
    return this.pos >= this.flushBytes;
  }

  /** Starts writing the buffered bytes; waits for the previous write only. Safe to call any time. */
  async flush(): Promise<void> {
    if (this.inFlight !== undefined) {
      const previous = this.inFlight;
      this.inFlight = undefined;
      await previous;
    }
    if (this.pos === 0) return;
    const full = this.buf;
    const length = this.pos;
    this.buf = this.spare ?? EMPTY;
    this.spare = full;
    this.pos = 0;
    const write = writeAll(this.fh, full, length, this.fileOffset);
    this.fileOffset += length;
    // Awaited by the next flush or close; the no-op handler only stops an
    // unhandled-rejection crash in between.
    write.catch(() => undefined);
    this.inFlight = write;
  }

  /**
   * Writes what is buffered and closes the file; with `fsync`, also waits for
   * the data to reach the disk. Returns the file's size. Calling it twice
   * returns the same size without writing again.
   */
  async close(options: { fsync?: boolean } = {}): Promise<number> {
    if (this.closed) return this.fileOffset;
    try {
      await this.flush();
      await this.flush();
      if (options.fsync === true) await this.fh.sync();
    } finally {
      this.closed = true;
      await this.fh.close();
    }
    return this.fileOffset;
  }

  /** Closes the file without flushing, for a writer abandoned after an error. Safe to call twice. */
  async abandon(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.inFlight?.catch(() => undefined);
    await this.fh.close();
  }
}

async function writeAll(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await fh.write(buf, done, length - done, position + done);
    done += bytesWritten;
  }
}
