/**
 * Reads one view file (layout in view-file-format.ts): Get, MultiGet and
 * Scan, each block checked against its CRC when read, and verify() for the
 * load-time check of the whole file.
 *
 * open() reads tail, footer and index (one entry per block) into memory and
 * refuses a file that is truncated or whose footer or index is damaged.
 * Blocks are read with positioned reads, one block per read, and kept in a
 * BlockCache (shared between readers when the caller passes one).
 *
 * Closing: close() refuses new operations at once, and closes the file when
 * the operations already started have ended. A scan that started before
 * close() (its first entry was asked for) goes on to its end, as a request
 * that got its version keeps it. A scan ends when iterated to its end, or
 * on break/return/throw out of a for-await loop; an iterator dropped
 * without return() would keep the file open, which is what
 * `close({ force: true })` is for: it closes as soon as no Get, MultiGet or
 * verify is running, and a scan still running then fails at its next block
 * with FAILED_PRECONDITION (never skips entries silently).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { describe, LaminateError } from '../common/errors.js';
import { BlockCache } from './block-cache.js';
import { CRC32_RESIDUE } from './crc32-combine.js';
import { Block, BlockCursor } from './view-block.js';
import { ScanCursor } from './scan-cursor.js';
import { BLOCK_TRAILER_BYTES, keyBytes, type ViewFileFooter } from './view-file-format.js';
import { readFully, readFullySync, shrank, ViewFileIndex, type PositionalFile } from './view-file-index.js';
import { isS3Path } from '../storage/object-store.js';
import { locate } from '../storage/store-path.js';
import { checkWholeFile } from './view-file-verify.js';

/** Options of ViewFileReader.open. */
export interface ViewFileReaderOptions {
  /** Where checked blocks are kept; default a cache of this reader's own (DEFAULT_BLOCK_CACHE_BYTES). */
  readonly cache?: BlockCache;
  /**
   * Read blocks for Get, MultiGet and Scan with a blocking pread on the
   * event loop instead of through the thread pool. Default true: a serving
   * node reads a version whole in verify() when it loads it, so its blocks
   * are in the page cache, where a 16 KiB pread takes some 5 to 10 µs while a
   * thread-pool round trip took 40 to 100 µs on the project's 2 cores
   * (bench/view-file.ts). Voldemort's read-only stores make the same choice
   * by mmapping their files (a page fault blocks the serving thread too).
   * Set false for files much larger than memory on slow disks, where one
   * read that goes to the disk would stall every request.
   */
  readonly syncReads?: boolean;
}

/** One entry of a scan. `value` is msgpack bytes, a view of a cached block: read it, never write it. */
export interface ViewEntry {
  readonly key: string;
  readonly value: Buffer;
}

/** Bounds of a scan; all optional, and combined (a scan reads their intersection). */
export interface ViewScanOptions {
  /** The first key to read, inclusive. */
  readonly from?: string;
  /** The key to stop at, exclusive (as LevelDB iterators and HBase's stop row). */
  readonly to?: string;
  /** Only keys that start with this (as strings, and so as UTF-8 bytes). */
  readonly prefix?: string;
  /** At most this many entries; a non-negative integer. */
  readonly limit?: number;
  /**
   * Put the blocks the scan reads into the cache. Default false: a long scan
   * would flush the hot set of the Gets (LevelDB's ReadOptions.fill_cache);
   * blocks already cached are used either way.
   */
  readonly fillCache?: boolean;
}

/** What verify() found. */
export interface ViewFileCheck {
  /** CRC-32 of the whole file. */
  readonly checksum: number;
  readonly bytes: number;
}

/** Options of verify(). */
export interface ViewFileVerifyOptions {
  /** The whole file's CRC-32 as the manifest records it; a different one is DATA_LOSS. */
  readonly checksum?: number;
  /**
   * Bytes per read (default 256 KiB: the buffer a read fills stays in the
   * core's cache while it is checked, which measured faster here than
   * 1 MiB, and 1 MiB than 4 to 16 MiB reads). Local files are read with
   * blocking reads, the event loop turning every 4 MiB (view-file-verify.ts).
   */
  readonly chunkBytes?: number;
}

const DEFAULT_VERIFY_CHUNK_BYTES = 256 * 1024;

/** The smallest byte string above every string that starts with `prefix`; undefined when there is none (all 0xff). */
function prefixEnd(prefix: Buffer): Buffer | undefined {
  let n = prefix.length;
  while (n > 0 && prefix[n - 1] === 0xff) n--;
  if (n === 0) return undefined;
  const end = Buffer.from(prefix.subarray(0, n));
  end[n - 1]!++;
  return end;
}

/** The entries of batches, one by one (ending early returns the batches' generator: for-await does). */
async function* flatten<T>(batches: AsyncIterable<T[]>): AsyncGenerator<T, void, undefined> {
  for await (const batch of batches) yield* batch;
}

export class ViewFileReader {
  /** Operations running other than scans (Get, MultiGet, verify). */
  private active = 0;
  private scans = 0;
  private closing: Promise<void> | undefined;
  private forced = false;
  private wake: (() => void) | undefined;
  private fileClosed = false;
  private readonly inflight = new Map<number, Promise<Block>>();
  /** The cursor of Gets: used only between awaits, so one serves them all. */
  private readonly cursor = new BlockCursor();
  private readonly owner: number;

  private readonly footer: ViewFileFooter;
  /** Each data block's offset and payload length. */
  private readonly offsets: Float64Array;
  private readonly lengths: Uint32Array;

  private constructor(
    private readonly fh: PositionalFile,
    /** The path the file was opened at; errors name it. */
    readonly path: string,
    private readonly index: ViewFileIndex,
    private readonly cache: BlockCache,
    private readonly syncReads: boolean,
  ) {
    this.owner = cache.register();
    this.footer = index.footer;
    this.offsets = index.offsets;
    this.lengths = index.lengths;
  }

  /**
   * Opens a view file and reads its tail, footer and index. Called by the
   * serving layer once per file of a version it loads (then verify()).
   *
   * @throws LaminateError DATA_LOSS, naming the file, when it is truncated
   *   or its footer or index is damaged; FAILED_PRECONDITION for a format
   *   version this code does not read; NOT_FOUND when there is no such file.
   */
  static async open(path: string, options: ViewFileReaderOptions = {}): Promise<ViewFileReader> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new LaminateError('NOT_FOUND', `View file '${path}' does not exist`, { cause: err });
      }
      throw err;
    }
    try {
      return new ViewFileReader(fh, path, await ViewFileIndex.read(fh, path), options.cache ?? new BlockCache(), options.syncReads ?? true);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /**
   * Opens a view file wherever it is: a local path as open() does, an
   * object in a store (`s3://...`) read in place with ranged reads (blocks
   * through the thread of the event loop: no blocking preads). Called by
   * the master (diffs of versions) and by reducers merging an earlier
   * version (incremental builds) when the view store is an object store.
   *
   * @throws LaminateError as open() does; NOT_FOUND when the object is missing.
   */
  static async openStored(path: string, options: ViewFileReaderOptions = {}): Promise<ViewFileReader> {
    if (!isS3Path(path)) return ViewFileReader.open(path, options);
    const { store, key } = await locate(path);
    const size = (await store.stat(key))?.size;
    if (size === undefined) throw new LaminateError('NOT_FOUND', `View file '${path}' does not exist`);
    const range = await store.openRange(key);
    const file: PositionalFile = {
      read: (buffer, offset, length, position) => range.read(buffer, offset, length, position),
      stat: async () => ({ size }),
      close: () => range.close(),
    };
    try {
      return new ViewFileReader(file, path, await ViewFileIndex.read(file, path), options.cache ?? new BlockCache(), false);
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  /** The file's size in bytes. */
  get bytes(): number {
    return this.index.size;
  }

  /** Entries (keys) in the file. */
  get records(): number {
    return this.footer.records;
  }

  /** Data blocks in the file. */
  get blocks(): number {
    return this.offsets.length;
  }

  /** The smallest key; undefined for an empty file. */
  get firstKey(): string | undefined {
    return this.footer.records === 0 ? undefined : this.footer.firstKey.toString('utf8');
  }

  /** The largest key; undefined for an empty file. */
  get lastKey(): string | undefined {
    return this.footer.records === 0 ? undefined : this.footer.lastKey.toString('utf8');
  }

  /**
   * Reads the whole file in large chunks and computes its CRC-32, compared
   * with `options.checksum` when given; without it, or when the file's CRC
   * differs, every block's checksum (data and index) is checked too, in one
   * pass (view-file-verify.ts checkWholeFile says why a matching file CRC
   * makes that pass needless). Called by the serving layer once per file it
   * loads, before serving it; safe to call again.
   *
   * @throws LaminateError DATA_LOSS naming the file and the first damaged
   *   block's offset, or the checksums when only the whole file's differs.
   */
  async verify(options: ViewFileVerifyOptions = {}): Promise<ViewFileCheck> {
    const expected = options.checksum;
    if (expected !== undefined && (!Number.isSafeInteger(expected) || expected < 0 || expected > 0xffffffff)) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected a checksum that is a CRC-32 (an integer from 0 to 2^32 - 1), got ${describe(expected)}`);
    }
    const chunk = options.chunkBytes ?? DEFAULT_VERIFY_CHUNK_BYTES;
    if (!Number.isSafeInteger(chunk) || chunk < 4096) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected chunkBytes to be an integer of at least 4096, got ${describe(chunk)}`);
    }
    this.begin('verify');
    try {
      const checksum = await checkWholeFile(this.fh, this.path, this.index, chunk, expected === undefined ? {} : { expected });
      if (expected !== undefined && checksum !== expected) {
        throw new LaminateError('DATA_LOSS', `View file '${this.path}' has checksum ${hex(checksum)}, expected ${hex(expected)}: it is not the file the manifest names`);
      }
      return { checksum, bytes: this.bytes };
    } finally {
      this.end(false);
    }
  }

  /**
   * The value of `key` (msgpack bytes, a read-only view of a cached block),
   * or undefined when the file does not hold it. Reads at most one block.
   *
   * @throws LaminateError DATA_LOSS when that block fails its checksum;
   *   FAILED_PRECONDITION after close(); INVALID_ARGUMENT for a key with a lone surrogate.
   */
  async get(key: string): Promise<Buffer | undefined> {
    this.begin('get');
    try {
      const target = keyBytes(key);
      const i = this.index.blockFor(target);
      if (i < 0) return undefined;
      const read = this.readBlock(i, true);
      const block = read instanceof Block ? read : await read;
      const c = this.cursor;
      return c.find(block, target) ? c.value() : undefined;
    } finally {
      this.end(false);
    }
  }

  /**
   * Point lookup for a caller that copies the value out itself (a Get
   * packed straight from the blocks, query-handlers.ts getPacked): whether
   * the file holds the key `target[0, length)` (UTF-8), with `cursor` on
   * its entry when it does (`cursor.block.data[valueStart, valueEnd)` is
   * the value, valid while the caller holds the version). When the key's
   * block must be read in the thread pool first (an object store's file,
   * not cached), the promise of that block instead: the caller awaits it
   * and calls `cursor.find(block, target, length)`. Neither allocates when
   * the block is cached.
   *
   * @throws what get() throws.
   */
  lookup(target: Buffer, length: number, cursor: BlockCursor): boolean | Promise<Block> {
    this.begin('get');
    try {
      const i = this.index.blockFor(target, length);
      if (i < 0) return false;
      const read = this.readBlock(i, true);
      return read instanceof Block ? cursor.find(read, target, length) : read;
    } finally {
      this.end(false);
    }
  }

  /**
   * The values of `keys`, in the same order (undefined for a key the file
   * does not hold; a key asked twice is answered twice). Each block the
   * keys touch is read once, the reads running together; a key whose block
   * needs no wait (cached, or read with a blocking pread) is answered at
   * once. Keys are not sorted first: sorting cost more than the lookups it
   * would order (most keys of a MultiGet fall in different blocks).
   *
   * @throws what get() throws.
   */
  async multiGet(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    this.begin('multiGet');
    try {
      const results = new Array<Buffer | undefined>(keys.length).fill(undefined);
      const blocks = new Map<number, Block | Promise<Block>>();
      let waiting: { i: number; target: Buffer; read: Promise<Block> }[] | undefined;
      const c = this.cursor;
      for (let i = 0; i < keys.length; i++) {
        const target = keyBytes(keys[i]!);
        const b = this.index.blockFor(target);
        if (b < 0) continue;
        let read = blocks.get(b);
        if (read === undefined) {
          read = this.readBlock(b, true);
          blocks.set(b, read);
        }
        if (read instanceof Block) {
          if (c.find(read, target)) results[i] = c.value();
        } else {
          (waiting ??= []).push({ i, target, read });
        }
      }
      if (waiting !== undefined) {
        // Await only when some block is being read in the thread pool; then seek between no awaits.
        const read = await Promise.all(waiting.map((w) => w.read));
        for (let j = 0; j < waiting.length; j++) {
          const { i, target } = waiting[j]!;
          if (c.find(read[j]!, target)) results[i] = c.value();
        }
      }
      return results;
    } finally {
      this.end(false);
    }
  }

  /**
   * The entries within the bounds, in key order, read block by block (the
   * next block is read while this one is consumed). Bounds are checked
   * here, at once; the scan starts at the first next(). For many entries,
   * scanBatches() costs less: one await per block instead of per entry.
   *
   * @throws LaminateError INVALID_ARGUMENT for bad bounds, FAILED_PRECONDITION
   *   after close(); the iterator throws DATA_LOSS at a block that fails its
   *   checksum, after the entries of the blocks before it.
   */
  scan(options: ViewScanOptions = {}): AsyncGenerator<ViewEntry, void, undefined> {
    return flatten(this.scanBatches(options));
  }

  /**
   * The entries of scan(), one array per block read (never empty; the last
   * one may be cut short by the bounds or the limit): what the serving
   * layer sends as one message of a Scan stream. Throws what scan() throws.
   */
  scanBatches(options: ViewScanOptions = {}): AsyncGenerator<ViewEntry[], void, undefined> {
    const { lower, upper, limit } = this.scanBounds(options);
    if (this.closing !== undefined) throw this.closedError('scan');
    return this.scanRange(lower, upper, limit, options.fillCache ?? false);
  }

  /**
   * The entries of scan() through a cursor (scan-cursor.ts): no object per
   * entry, for a caller that copies each key and value out at once (a Scan
   * packing its answer). The scan holds the file as scan() does, from this
   * call until the cursor's end or its close(), which the caller must call
   * (in a finally) when it stops early. Throws what scan() throws.
   */
  scanCursor(options: ViewScanOptions = {}): ScanCursor {
    const { lower, upper, limit } = this.scanBounds(options);
    this.begin('scan', true);
    const fillCache = options.fillCache ?? false;
    return new ScanCursor({
      blocks: this.offsets.length,
      blockFrom: (target) => this.index.blockFrom(target),
      readBlock: (i) => this.readBlock(i, fillCache),
      done: () => this.end(true),
    }, lower, upper, limit);
  }

  /** A scan's bounds as UTF-8 (prefix folded into from and to) and its limit; throws INVALID_ARGUMENT. */
  private scanBounds(options: ViewScanOptions): { lower: Buffer | undefined; upper: Buffer | undefined; limit: number } {
    const { limit } = options;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected a scan limit that is a non-negative integer, got ${describe(limit)}`);
    }
    let lower = options.from === undefined ? undefined : keyBytes(options.from, 'scan start (from)');
    let upper = options.to === undefined ? undefined : keyBytes(options.to, 'scan end (to)');
    if (options.prefix !== undefined) {
      const prefix = keyBytes(options.prefix, 'scan prefix');
      if (lower === undefined || Buffer.compare(prefix, lower) > 0) lower = prefix;
      const pe = prefixEnd(prefix);
      if (pe !== undefined && (upper === undefined || Buffer.compare(pe, upper) < 0)) upper = pe;
    }
    return { lower, upper, limit: limit ?? Number.POSITIVE_INFINITY };
  }

  private async *scanRange(lower: Buffer | undefined, upper: Buffer | undefined, limit: number, fillCache: boolean): AsyncGenerator<ViewEntry[], void, undefined> {
    this.begin('scan', true);
    try {
      if (limit === 0 || (lower !== undefined && upper !== undefined && Buffer.compare(lower, upper) >= 0)) return;
      const blocks = this.offsets.length;
      let i = lower === undefined ? 0 : this.index.blockFrom(lower);
      if (i >= blocks) return;
      const c = new BlockCursor();
      let remaining = limit;
      // With thread-pool reads, the next block is read while this one is consumed.
      let ahead: Block | Promise<Block> | undefined;
      let first = true;
      while (i < blocks) {
        const read = ahead ?? this.readBlock(i, fillCache);
        ahead = undefined;
        const block = read instanceof Block ? read : await read;
        i++;
        if (!this.syncReads && i < blocks) {
          ahead = this.readBlock(i, fillCache);
          // A scan that stops early leaves its read-ahead unawaited; its failure is not this scan's.
          if (ahead instanceof Promise) ahead.catch(() => undefined);
        }
        let has: boolean;
        if (first && lower !== undefined) has = c.seek(block, lower);
        else {
          c.reset(block);
          has = c.next();
        }
        first = false;
        const batch: ViewEntry[] = [];
        let done = false;
        while (has) {
          if (upper !== undefined && c.compareKey(upper) >= 0) {
            done = true;
            break;
          }
          batch.push({ key: c.keyString(), value: c.value() });
          if (--remaining === 0) {
            done = true;
            break;
          }
          has = c.next();
        }
        if (batch.length > 0) yield batch;
        if (done) return;
      }
    } finally {
      this.end(true);
    }
  }

  /**
   * Refuses new operations, and closes the file once those already started
   * have ended (scans included, unless `force`: then a running scan fails
   * at its next block). Resolves when the file is closed. Called by the
   * serving layer when no request holds the version any more; safe to call
   * twice (a second call with `force` hurries the first).
   */
  close(options: { force?: boolean } = {}): Promise<void> {
    if (options.force === true) this.forced = true;
    if (this.closing === undefined) {
      this.closing = (async () => {
        if (!this.idle()) await new Promise<void>((resolve) => (this.wake = resolve));
        this.fileClosed = true;
        this.cache.dropOwner(this.owner);
        await this.fh.close();
      })();
    } else if (this.idle()) {
      this.wake?.();
    }
    return this.closing;
  }

  /** Whether nothing holds the file open: no operation, or only scans when forced. */
  private idle(): boolean {
    return this.active === 0 && (this.forced || this.scans === 0);
  }

  private begin(op: string, scan = false): void {
    if (this.closing !== undefined) throw this.closedError(op);
    if (scan) this.scans++;
    else this.active++;
  }

  private end(scan: boolean): void {
    if (scan) this.scans--;
    else this.active--;
    if (this.closing !== undefined && this.idle()) this.wake?.();
  }

  private closedError(op: string): LaminateError {
    return new LaminateError('FAILED_PRECONDITION', `Cannot ${op}: view file '${this.path}' is closed`);
  }

  /**
   * Block i: from the cache, or read and checked. A Block when it needs no
   * wait (cached, or read with a blocking pread), so that hot Gets and
   * MultiGets never go through a promise; else a promise, one per block
   * however many ask at once.
   *
   * @throws DATA_LOSS (synchronously with syncReads) when the block fails its checksum.
   */
  private readBlock(i: number, fillCache: boolean): Block | Promise<Block> {
    const cached = this.cache.get(this.owner, i);
    if (cached !== undefined) return cached;
    if (this.syncReads) {
      this.checkOpen();
      const buf = Buffer.allocUnsafe(this.lengths[i]! + BLOCK_TRAILER_BYTES);
      return this.checkBlock(i, buf, readFullySync(this.fh.fd!, buf, this.offsets[i]!), fillCache);
    }
    let pending = this.inflight.get(i);
    if (pending === undefined) {
      pending = this.loadBlock(i, fillCache);
      this.inflight.set(i, pending);
      const forget = (): void => {
        this.inflight.delete(i);
      };
      pending.then(forget, forget);
    }
    return pending;
  }

  private async loadBlock(i: number, fillCache: boolean): Promise<Block> {
    this.checkOpen();
    const buf = Buffer.allocUnsafe(this.lengths[i]! + BLOCK_TRAILER_BYTES);
    return this.checkBlock(i, buf, await readFully(this.fh, buf, this.offsets[i]!), fillCache);
  }

  /** Refuses a block read after a forced close (the file handle is gone). */
  private checkOpen(): void {
    if (this.fileClosed) {
      throw new LaminateError('FAILED_PRECONDITION', `View file '${this.path}' was closed (forced) while a scan was reading it`);
    }
  }

  /** Checks block i's bytes as read (`got` of them) and parses them; caches the block when asked. */
  private checkBlock(i: number, buf: Buffer, got: number, fillCache: boolean): Block {
    if (got !== buf.length) throw shrank(this.path);
    const offset = this.offsets[i]!;
    const length = buf.length - BLOCK_TRAILER_BYTES;
    if (crc32(buf) !== CRC32_RESIDUE) {
      throw new LaminateError('DATA_LOSS', `View file '${this.path}': block ${i} at offset ${offset} (${length} bytes) fails its checksum`);
    }
    const block = Block.parse(buf.subarray(0, length), `view file '${this.path}', block ${i} at offset ${offset}`);
    if (fillCache) this.cache.set(this.owner, i, block);
    return block;
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
