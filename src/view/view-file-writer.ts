/**
 * Writes one view file (layout in view-file-format.ts) in one streaming
 * pass, as LevelDB's TableBuilder does: a reduce task adds its keys in
 * order, each data block is closed, checksummed and handed to the file as
 * soon as it reaches its target size, and finish() appends the index, the
 * footer and the tail. Memory: the block being filled, the index (one entry
 * per block) and the file buffer (`flushBytes`, double-buffered).
 *
 * The file is written under a temporary name beside its final path
 * (`<path>.<random>.tmp`), fsync'd, and renamed into place by finish(): a
 * crash or an abort leaves no file at the final path, only a `.tmp` that
 * abort() (or the version folder's leftover cleanup) removes.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { pack } from 'msgpackr';
import { describe, LaminateError } from '../common/errors.js';
import type { OutputFileSummary } from '../common/task-attempt.js';
import { BufferedFileWriter } from '../storage/buffered-file-writer.js';
import { writeUtf8 } from '../storage/byte-sink.js';
import { CRC32_RESIDUE, crc32Combine } from './crc32-combine.js';
import { syncFolder } from '../storage/atomic-file.js';
import { BlockBuilder } from './view-block.js';
import { BLOCK_TRAILER_BYTES, encodeFooterAndTail, isWellFormed, MAX_KEY_BYTES, MAX_VALUE_BYTES } from './view-file-format.js';

/** Options of ViewFileWriter.create. */
export interface ViewFileWriterOptions {
  /**
   * Target payload bytes of a data block; a block is closed before the entry
   * that would take it past this (a single larger entry makes a block of its
   * own). Between 4 KiB and 16 MiB. Default 16 KiB, from bench/view-file.ts
   * --sweep (1M keys, ~100-byte values, 16 MiB cache, on 2 shared cores):
   * a Get that misses the cache reads and checks one block, so smaller
   * blocks serve more Gets (uniform keys: 4 KiB ~84k/s, 16 KiB ~65k/s,
   * 32 KiB ~49k/s, 64 KiB ~26k/s) and hold more hot keys per cached byte
   * (zipfian keys: ~127k, 87k, 48k, 22k/s); scans pay per block (a read, a
   * CRC call, an array), so they drop below 8 KiB (4 KiB ~2.9M entries/s,
   * 16 KiB and up ~4.5M/s); load-and-verify pays per block too (about 34
   * against 28 ms per million keys at 32 KiB, median). 16 KiB keeps scans
   * and load near their best at most of the Get rate of small blocks.
   * LevelDB's 4 KiB was chosen for disk seeks; here blocks come from the page
   * cache, where the per-block overheads dominate.
   */
  readonly blockBytes?: number;
  /** Entries between restart points (whole keys). Default 16, as LevelDB's; 1 to 1024. */
  readonly restartInterval?: number;
  /** Bytes buffered before a write to the file (see needsFlush). Default 256 KiB; at least 64 KiB. */
  readonly flushBytes?: number;
  /** fsync the folder after the rename, so the file's name is durable too. Default true. */
  readonly syncDir?: boolean;
}

/**
 * What finish() reports: what the manifest records of the file (the reduce
 * attempt sends those fields with its outcome: OutputFileSummary), and its
 * data blocks.
 */
export interface ViewFileSummary extends OutputFileSummary {
  /** Data blocks in the file. */
  readonly blocks: number;
}

export const DEFAULT_BLOCK_BYTES = 16 * 1024;
export const DEFAULT_RESTART_INTERVAL = 16;
const DEFAULT_FLUSH_BYTES = 256 * 1024;

function resolveInteger(name: string, value: number | undefined, dflt: number, min: number, max: number): number {
  const v = value ?? dflt;
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${name} to be an integer from ${min} to ${max}, got ${describe(v)}`);
  }
  return v;
}

/** A key for an error message: JSON-quoted (so odd characters show), cut at 100 characters. */
function showKey(key: string): string {
  const shown = JSON.stringify(key.length > 100 ? key.slice(0, 100) : key);
  return key.length > 100 ? `${shown}... (${key.length} characters)` : shown;
}

type State = 'open' | 'failed' | 'finished' | 'aborted';

/**
 * One writer per view file; not shared. `add` is sync (a reducer's emit
 * calls it); the caller awaits `flush()` when `needsFlush()` says so,
 * between adds, and `finish()` once at the end, or `abort()` after a
 * failure.
 */
export class ViewFileWriter {
  private readonly data: BlockBuilder;
  private readonly index: BlockBuilder;
  /** UTF-8 of the key being added and of the one before it; swapped on each add. */
  private keyBuf = Buffer.allocUnsafe(256);
  private lastKeyBuf = Buffer.allocUnsafe(256);
  private lastKeyLength = 0;
  private lastIndexKey = Buffer.alloc(0);
  private firstKey: string | undefined;
  private lastKey: string | undefined;
  private records = 0;
  private blocks = 0;
  private fileCrc = 0;
  /** An index entry's value: two varints of up to 10 bytes each (as LevelDB's BlockHandle::kMaxEncodedLength). */
  private readonly handle = Buffer.allocUnsafe(20);
  private readonly trailer = Buffer.allocUnsafe(BLOCK_TRAILER_BYTES);
  private state: State = 'open';
  private failure: LaminateError | undefined;
  private summary: ViewFileSummary | undefined;

  private constructor(
    private readonly out: BufferedFileWriter,
    /** The final path, which the file takes at finish(). */
    readonly path: string,
    /** Where the file is written until then. */
    readonly tempPath: string,
    private readonly blockBytes: number,
    private readonly syncDir: boolean,
    restartInterval: number,
  ) {
    this.data = new BlockBuilder(restartInterval, blockBytes + (blockBytes >> 2));
    this.index = new BlockBuilder(restartInterval, 4096);
  }

  /**
   * Starts a view file that will appear at `path` on finish(). Called once
   * per reduce attempt; two writers of the same path do not collide (each
   * has its own temporary name, and the last rename wins).
   */
  static async create(path: string, options: ViewFileWriterOptions = {}): Promise<ViewFileWriter> {
    const blockBytes = resolveInteger('blockBytes', options.blockBytes, DEFAULT_BLOCK_BYTES, 4096, 16 * 1024 * 1024);
    const restartInterval = resolveInteger('restartInterval', options.restartInterval, DEFAULT_RESTART_INTERVAL, 1, 1024);
    const flushBytes = resolveInteger('flushBytes', options.flushBytes, DEFAULT_FLUSH_BYTES, 64 * 1024, 1024 * 1024 * 1024);
    const tempPath = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const out = await BufferedFileWriter.open(tempPath, { flushBytes, flag: 'wx' });
    return new ViewFileWriter(out, path, tempPath, blockBytes, options.syncDir ?? true, restartInterval);
  }

  /** Entries added so far. */
  get count(): number {
    return this.records;
  }

  /**
   * Adds one entry: `key` (an engine-encoded key) and its value as msgpack
   * bytes, copied at once. Keys must come in strictly ascending UTF-8 byte
   * order (compareKeys in src/storage/key-order.ts). Sync.
   *
   * @throws LaminateError INVALID_ARGUMENT for a key not after the one
   *   before it (naming both), a key with a lone surrogate (it has no
   *   UTF-8 form and would not read back), a key or value over its size
   *   limit. The writer is then failed: every later call throws
   *   FAILED_PRECONDITION, finish() too, and abort() removes the file.
   */
  add(key: string, value: Uint8Array): void {
    if (this.state !== 'open') throw this.notOpen('add');
    if (typeof key !== 'string') this.fail(`Expected a key that is a string, got ${describe(key)}`);
    if (!(value instanceof Uint8Array)) this.fail(`Expected the value of key ${showKey(key)} as msgpack bytes (a Uint8Array), got ${describe(value)}`);
    if (key.length * 3 > this.keyBuf.length) {
      if (key.length > MAX_KEY_BYTES) this.fail(`Expected a key of at most ${MAX_KEY_BYTES} bytes of UTF-8, got ${key.length} characters: ${showKey(key)}`);
      this.keyBuf = Buffer.allocUnsafe(Math.max(key.length * 3, this.keyBuf.length * 2));
    }
    const kb = this.keyBuf;
    const length = writeUtf8(kb, key, 0);
    if (length > MAX_KEY_BYTES) this.fail(`Expected a key of at most ${MAX_KEY_BYTES} bytes of UTF-8, got ${length} bytes: ${showKey(key)}`);
    if (value.length > MAX_VALUE_BYTES) this.fail(`Expected a value of at most ${MAX_VALUE_BYTES} bytes, got ${value.length} bytes for key ${showKey(key)}`);
    // A key of as many bytes as UTF-16 units is ASCII: only the others can hold a lone surrogate.
    if (length !== key.length && !isWellFormed(key)) this.fail(`Expected a key of well-formed UTF-16, got one with a lone surrogate: ${showKey(key)}`);

    // Shared prefix with the previous key; its end decides the order too.
    const prev = this.lastKeyBuf;
    const prevLength = this.lastKeyLength;
    const n = length < prevLength ? length : prevLength;
    let shared = 0;
    while (shared < n && kb[shared] === prev[shared]) shared++;
    if (this.records > 0) {
      const ascending = shared < n ? kb[shared]! > prev[shared]! : length > prevLength;
      if (!ascending) {
        const what = shared === length && length === prevLength ? 'a duplicate key' : 'out of order';
        this.fail(`Expected keys in strictly ascending UTF-8 byte order, got ${showKey(key)} after ${showKey(this.lastKey!)} (${what})`);
      }
    }

    if (this.data.entries > 0 && this.data.sizeWith(length, value.length) > this.blockBytes) {
      this.closeBlock();
      shared = 0;
    }
    this.data.add(kb, length, shared, value);
    this.keyBuf = prev;
    this.lastKeyBuf = kb;
    this.lastKeyLength = length;
    if (this.records === 0) this.firstKey = key;
    this.lastKey = key;
    this.records++;
  }

  /**
   * Adds one entry whose value is packed here with msgpackr's defaults (as
   * src/storage/record-codec.ts packs values). Throws what add() throws,
   * and INVALID_ARGUMENT for a value msgpack cannot encode.
   */
  addValue(key: string, value: unknown): void {
    if (this.state !== 'open') throw this.notOpen('add');
    let bytes: Uint8Array;
    try {
      bytes = pack(value);
    } catch (err) {
      this.fail(`Expected a value msgpack can encode for key ${showKey(key)}, got ${describe(value)}: ${(err as Error).message}`);
    }
    this.add(key, bytes);
  }

  /** True when enough is buffered that the caller should await flush(). */
  needsFlush(): boolean {
    return this.out.needsFlush();
  }

  /** Hands buffered blocks to the OS; at most one write in flight. Safe to call any time. */
  async flush(): Promise<void> {
    if (this.state !== 'open') throw this.notOpen('flush');
    await this.out.flush();
  }

  /**
   * Closes the last block, writes index, footer and tail, fsyncs the file,
   * renames it to its final path and (by default) fsyncs the folder.
   * Called once, after the last add(); a second call returns the same
   * summary. On an I/O error the temporary file is removed and the error
   * rethrown.
   *
   * @throws LaminateError FAILED_PRECONDITION after an add() failed, or after abort().
   */
  async finish(): Promise<ViewFileSummary> {
    if (this.state === 'finished') return this.summary!;
    if (this.state !== 'open') {
      const err = this.notOpen('finish');
      await this.abort();
      throw err;
    }
    try {
      if (this.data.entries > 0) this.closeBlock();
      const indexOffset = this.out.position;
      const indexLength = this.writeBlock(this.index.finish());
      const empty = Buffer.alloc(0);
      const footer = encodeFooterAndTail({
        records: this.records,
        indexOffset,
        indexLength,
        blocks: this.blocks,
        firstKey: this.records === 0 ? empty : Buffer.from(this.firstKey!, 'utf8'),
        lastKey: this.records === 0 ? empty : this.lastKeyBuf.subarray(0, this.lastKeyLength),
      });
      this.out.writeBytes(footer);
      this.fileCrc = crc32(footer, this.fileCrc);
      const bytes = await this.out.close({ fsync: true });
      await rename(this.tempPath, this.path);
      if (this.syncDir) await syncFolder(dirname(this.path));
      this.state = 'finished';
      this.summary = { records: this.records, bytes, checksum: this.fileCrc, firstKey: this.firstKey, lastKey: this.lastKey, blocks: this.blocks };
      return this.summary;
    } catch (err) {
      this.state = 'failed';
      await this.abort();
      throw err;
    }
  }

  /**
   * Abandons the file: closes it and removes the temporary file. Called by
   * the reduce runner after any failure (the writer's or its own). Safe to
   * call twice, and after finish() (then it does nothing: the file is the
   * caller's to remove).
   */
  async abort(): Promise<void> {
    if (this.state === 'finished' || this.state === 'aborted') return;
    this.state = 'aborted';
    await this.out.abandon();
    await rm(this.tempPath, { force: true });
  }

  /** Writes the data block being filled and records it in the index. */
  private closeBlock(): void {
    const offset = this.out.position;
    const length = this.writeBlock(this.data.finish());
    this.data.reset();
    // Index entry: the block's last key, then its handle (varint offset, varint length).
    let p = writeHandleVarint(this.handle, 0, offset);
    p = writeHandleVarint(this.handle, p, length);
    const key = this.lastKeyBuf;
    const keyLength = this.lastKeyLength;
    const prev = this.lastIndexKey;
    const n = Math.min(keyLength, prev.length);
    let shared = 0;
    while (shared < n && key[shared] === prev[shared]) shared++;
    this.index.add(key, keyLength, shared, this.handle.subarray(0, p));
    this.lastIndexKey = Buffer.from(key.subarray(0, keyLength));
    this.blocks++;
  }

  /** Appends a payload and its CRC trailer; returns the payload's length. */
  private writeBlock(payload: Buffer): number {
    const crc = crc32(payload);
    this.trailer.writeUInt32LE(crc, 0);
    this.out.writeBytes(payload);
    this.out.writeBytes(this.trailer);
    // A payload followed by its CRC has CRC32_RESIDUE as its CRC: the whole
    // file's CRC grows without a second pass over the bytes.
    this.fileCrc = crc32Combine(this.fileCrc, CRC32_RESIDUE, payload.length + BLOCK_TRAILER_BYTES);
    return payload.length;
  }

  private fail(message: string): never {
    this.state = 'failed';
    this.failure = new LaminateError('INVALID_ARGUMENT', `View file '${this.path}': ${message}`);
    throw this.failure;
  }

  private notOpen(op: string): LaminateError {
    const why = this.state === 'failed' ? `an earlier call failed (${this.failure?.message ?? 'an I/O error'})` : `it was ${this.state}`;
    return new LaminateError('FAILED_PRECONDITION', `Cannot ${op} view file '${this.path}': ${why}`);
  }
}

/** Writes `n` (a safe integer) as a varint; returns the position after it. */
function writeHandleVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}
