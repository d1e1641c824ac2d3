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
import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { describe, LaminateError } from '../common/errors.js';
import { BlockCache } from './block-cache.js';
import { CRC32_RESIDUE, crc32Combine } from './crc32-combine.js';
import { Block, BlockCursor, compareRange } from './view-block.js';
import {
  BLOCK_TRAILER_BYTES,
  decodeFooter,
  decodeTail,
  keyBytes,
  MAX_BLOCK_BYTES,
  TAIL_BYTES,
  type ViewFileFooter,
} from './view-file-format.js';

/** Options of ViewFileReader.open. */
export interface ViewFileReaderOptions {
  /** Where checked blocks are kept; default a cache of this reader's own (DEFAULT_BLOCK_CACHE_BYTES). */
  readonly cache?: BlockCache;
  /**
   * Read blocks for Get, MultiGet and Scan with a blocking pread on the
   * event loop instead of through the thread pool. Default true: a serving
   * node reads a version whole in verify() when it loads it, so its blocks
   * are in the page cache, where a 32 KiB pread takes about 10 µs while a
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
   * Bytes per read (default 1 MiB: two such buffers stay in the CPU's cache
   * while one is checked and the other read, which measured faster here
   * than 4 to 16 MiB reads).
   */
  readonly chunkBytes?: number;
}

const DEFAULT_VERIFY_CHUNK_BYTES = 1024 * 1024;

/** The smallest byte string above every string that starts with `prefix`; undefined when there is none (all 0xff). */
function prefixEnd(prefix: Buffer): Buffer | undefined {
  let n = prefix.length;
  while (n > 0 && prefix[n - 1] === 0xff) n--;
  if (n === 0) return undefined;
  const end = Buffer.from(prefix.subarray(0, n));
  end[n - 1]!++;
  return end;
}

/** Reads `buf.length` bytes at `position`; returns how many there were (fewer only at the end of the file). */
async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<number> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** The entries of batches, one by one (ending early returns the batches' generator: for-await does). */
async function* flatten<T>(batches: AsyncIterable<T[]>): AsyncGenerator<T, void, undefined> {
  for await (const batch of batches) yield* batch;
}

/** readFully with blocking preads (see ViewFileReaderOptions.syncReads). */
function readFullySync(fd: number, buf: Buffer, position: number): number {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
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

  private constructor(
    private readonly fh: FileHandle,
    /** The path the file was opened at; errors name it. */
    readonly path: string,
    /** The file's size in bytes. */
    readonly bytes: number,
    private readonly footer: ViewFileFooter,
    /** Last keys of the blocks, one after the other; block i's is indexKeys[keyStarts[i], keyStarts[i + 1]). */
    private readonly indexKeys: Buffer,
    private readonly keyStarts: Uint32Array,
    private readonly offsets: Float64Array,
    private readonly lengths: Uint32Array,
    private readonly cache: BlockCache,
    private readonly syncReads: boolean,
  ) {
    this.owner = cache.register();
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
      return await ViewFileReader.load(fh, path, options.cache ?? new BlockCache(), options.syncReads ?? true);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  private static async load(fh: FileHandle, path: string, cache: BlockCache, syncReads: boolean): Promise<ViewFileReader> {
    const size = (await fh.stat()).size;
    if (size < TAIL_BYTES) {
      throw new LaminateError('DATA_LOSS', `View file '${path}' is truncated: expected at least ${TAIL_BYTES} bytes (its tail), got ${size}`);
    }
    // One read usually brings tail, footer and a small index together.
    const guess = Math.min(size, 64 * 1024);
    const end = Buffer.allocUnsafe(guess);
    if ((await readFully(fh, end, size - guess)) !== guess) throw shrank(path);
    const tail = decodeTail(end.subarray(guess - TAIL_BYTES), path);
    const footerBytes = tail.footerLength + TAIL_BYTES;
    if (footerBytes > size) {
      throw new LaminateError('DATA_LOSS', `View file '${path}' has a damaged footer: its length ${tail.footerLength} runs past the file's ${size} bytes`);
    }
    let footerAndTail: Buffer;
    if (footerBytes <= guess) {
      footerAndTail = end.subarray(guess - footerBytes);
    } else {
      footerAndTail = Buffer.allocUnsafe(footerBytes);
      if ((await readFully(fh, footerAndTail, size - footerBytes)) !== footerBytes) throw shrank(path);
    }
    const footer = decodeFooter(footerAndTail, size, path);
    const indexBytes = footer.indexLength + BLOCK_TRAILER_BYTES;
    let index: Buffer;
    if (size - footer.indexOffset <= guess) {
      const start = guess - (size - footer.indexOffset);
      index = end.subarray(start, start + indexBytes);
    } else {
      index = Buffer.allocUnsafe(indexBytes);
      if ((await readFully(fh, index, footer.indexOffset)) !== indexBytes) throw shrank(path);
    }
    if (crc32(index) !== CRC32_RESIDUE) {
      throw new LaminateError('DATA_LOSS', `View file '${path}' has a damaged index: the block at offset ${footer.indexOffset} (${footer.indexLength} bytes) fails its checksum`);
    }
    const parsed = parseIndex(index.subarray(0, footer.indexLength), footer, path);
    return new ViewFileReader(fh, path, size, footer, parsed.keys, parsed.keyStarts, parsed.offsets, parsed.lengths, cache, syncReads);
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
   * Reads the whole file in large chunks, in one CRC pass: checks every
   * block's checksum (data and index) and computes the file's CRC-32,
   * compared with `options.checksum` when given. Called by the serving
   * layer once per file it loads, before serving it; safe to call again.
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
      const checksum = await this.checkAll(chunk);
      if (expected !== undefined && checksum !== expected) {
        throw new LaminateError('DATA_LOSS', `View file '${this.path}' has checksum ${hex(checksum)}, expected ${hex(expected)}: it is not the file the manifest names`);
      }
      return { checksum, bytes: this.bytes };
    } finally {
      this.end(false);
    }
  }

  /**
   * The file's CRC-32, checking each block on the way. Regions tile the
   * file: data blocks, the index block (each payload and CRC), then footer
   * and tail. Reads alternate between two buffers, so the next read runs
   * in the thread pool while this one is checked.
   */
  private async checkAll(chunk: number): Promise<number> {
    const blocks = this.offsets.length;
    const size = this.bytes;
    const regionEnd = (r: number): number =>
      r < blocks ? this.offsets[r]! + this.lengths[r]! + BLOCK_TRAILER_BYTES : r === blocks ? this.footer.indexOffset + this.footer.indexLength + BLOCK_TRAILER_BYTES : size;
    const regionStart = (r: number): number => (r === 0 ? 0 : regionEnd(r - 1));
    const buffers = [Buffer.allocUnsafe(Math.min(chunk, size)), Buffer.allocUnsafe(Math.min(chunk, size))];
    let fileCrc = 0;
    let region = 0;
    let end = regionEnd(0);
    let regionCrc = 0;
    let pos = 0;
    let turn = 0;
    let reading: Promise<number> | undefined = readFully(this.fh, buffers[0]!.subarray(0, Math.min(chunk, size)), 0);
    while (reading !== undefined) {
      const got: number = await reading;
      const buf = buffers[turn]!;
      const want = Math.min(chunk, size - pos);
      if (got !== want) throw shrank(this.path);
      const next: number = pos + got;
      turn ^= 1;
      reading = next < size ? readFully(this.fh, buffers[turn]!.subarray(0, Math.min(chunk, size - next)), next) : undefined;
      // Do not leave a failed read-ahead unhandled if this chunk throws; it is awaited above otherwise.
      reading?.catch(() => undefined);
      let p = 0;
      while (p < got) {
        if (region > blocks) {
          // Footer and tail: checked at open; only the file's CRC goes on.
          fileCrc = crc32(buf.subarray(p, got), fileCrc);
          break;
        }
        const take = Math.min(got - p, end - (pos + p));
        regionCrc = crc32(buf.subarray(p, p + take), regionCrc);
        p += take;
        if (pos + p === end) {
          if (regionCrc !== CRC32_RESIDUE) {
            const start = regionStart(region);
            const what = region < blocks ? `block ${region} at offset ${start}` : `the index block at offset ${start}`;
            throw new LaminateError('DATA_LOSS', `View file '${this.path}': ${what} (${end - start - BLOCK_TRAILER_BYTES} bytes) fails its checksum`);
          }
          fileCrc = crc32Combine(fileCrc, CRC32_RESIDUE, end - regionStart(region));
          region++;
          end = regionEnd(region);
          regionCrc = 0;
        }
      }
      pos = next;
    }
    return fileCrc;
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
      const i = this.blockFor(target);
      if (i < 0) return undefined;
      const read = this.readBlock(i, true);
      const block = read instanceof Block ? read : await read;
      const c = this.cursor;
      return c.seek(block, target) && c.keyEquals(target) ? c.value() : undefined;
    } finally {
      this.end(false);
    }
  }

  /**
   * The values of `keys`, in the same order (undefined for a key the file
   * does not hold; a key asked twice is answered twice). Keys are sorted,
   * and each block they touch is read once, the reads running together.
   *
   * @throws what get() throws.
   */
  async multiGet(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    this.begin('multiGet');
    try {
      const targets = keys.map((k) => keyBytes(k));
      const results = new Array<Buffer | undefined>(keys.length).fill(undefined);
      const order = targets.map((_, i) => i).sort((a, b) => {
        const x = targets[a]!;
        const y = targets[b]!;
        return compareRange(x, 0, x.length, y, 0, y.length);
      });
      const blockOf = new Map<number, number[]>();
      for (const i of order) {
        const b = this.blockFor(targets[i]!);
        if (b < 0) continue;
        const group = blockOf.get(b);
        if (group === undefined) blockOf.set(b, [i]);
        else group.push(i);
      }
      const groups = [...blockOf];
      const reads = groups.map(([b]) => this.readBlock(b, true));
      // Await only when some block is being read in the thread pool.
      const blocks = reads.every((r) => r instanceof Block) ? (reads as Block[]) : await Promise.all(reads.map(async (r) => r));
      const c = this.cursor;
      for (let g = 0; g < groups.length; g++) {
        for (const i of groups[g]![1]) {
          const target = targets[i]!;
          if (c.seek(blocks[g]!, target) && c.keyEquals(target)) results[i] = c.value();
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
    if (this.closing !== undefined) throw this.closedError('scan');
    return this.scanRange(lower, upper, limit ?? Number.POSITIVE_INFINITY, options.fillCache ?? false);
  }

  private async *scanRange(lower: Buffer | undefined, upper: Buffer | undefined, limit: number, fillCache: boolean): AsyncGenerator<ViewEntry[], void, undefined> {
    this.begin('scan', true);
    try {
      if (limit === 0 || (lower !== undefined && upper !== undefined && Buffer.compare(lower, upper) >= 0)) return;
      const blocks = this.offsets.length;
      let i = lower === undefined ? 0 : this.blockFrom(lower);
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
   * The block that holds `target` if any block does: -1 when the key is
   * before the first key or after the last (nothing is read then).
   */
  private blockFor(target: Buffer): number {
    if (this.offsets.length === 0 || Buffer.compare(target, this.footer.firstKey) < 0) return -1;
    const i = this.blockFrom(target);
    return i < this.offsets.length ? i : -1;
  }

  /** The first block whose last key is at or after `target` (the block count when none is). */
  private blockFrom(target: Buffer): number {
    const keys = this.indexKeys;
    const starts = this.keyStarts;
    let lo = 0;
    let hi = this.offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareRange(keys, starts[mid]!, starts[mid + 1]!, target, 0, target.length) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
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
      return this.checkBlock(i, buf, readFullySync(this.fh.fd, buf, this.offsets[i]!), fillCache);
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

function shrank(path: string): LaminateError {
  return new LaminateError('DATA_LOSS', `View file '${path}' ended before its recorded size: it was truncated after it was opened`);
}

/** The index, decoded into flat arrays: last keys, block offsets and lengths. */
interface ParsedIndex {
  readonly keys: Buffer;
  readonly keyStarts: Uint32Array;
  readonly offsets: Float64Array;
  readonly lengths: Uint32Array;
}

/**
 * Decodes and checks the index block: one entry per data block, blocks
 * contiguous from offset 0 up to the index, last keys strictly ascending,
 * the last one the footer's. Throws DATA_LOSS naming the file otherwise.
 */
function parseIndex(payload: Buffer, footer: ViewFileFooter, path: string): ParsedIndex {
  const bad = (what: string): LaminateError => new LaminateError('DATA_LOSS', `View file '${path}' has a damaged index: ${what}`);
  const block = Block.parse(payload, `view file '${path}', index block at offset ${footer.indexOffset}`);
  const n = footer.blocks;
  const offsets = new Float64Array(n);
  const lengths = new Uint32Array(n);
  const keyStarts = new Uint32Array(n + 1);
  const keyParts: Buffer[] = [];
  const c = new BlockCursor();
  c.reset(block);
  let count = 0;
  let expectedOffset = 0;
  let keyBytesSoFar = 0;
  let previous: Buffer | undefined;
  while (c.next()) {
    if (count >= n) throw bad(`expected ${n} entries (the footer's block count), got more`);
    const v = c.value();
    let p = 0;
    const handle = [0, 0];
    for (let f = 0; f < 2; f++) {
      let x = 0;
      let scale = 1;
      let b: number;
      do {
        if (p >= v.length || scale > 2 ** 49) throw bad(`entry ${count} has a malformed block handle`);
        b = v[p++]!;
        x += (b & 0x7f) * scale;
        scale *= 128;
      } while (b >= 0x80);
      handle[f] = x;
    }
    const [offset, length] = handle as [number, number];
    if (offset !== expectedOffset || length > MAX_BLOCK_BYTES || length < 4) {
      throw bad(`entry ${count} places a block of ${length} bytes at offset ${offset}, expected one at ${expectedOffset} of 4 to ${MAX_BLOCK_BYTES} bytes`);
    }
    const key = Buffer.from(c.key.subarray(0, c.keyLength));
    if (previous !== undefined && Buffer.compare(previous, key) >= 0) throw bad(`the last keys of blocks ${count - 1} and ${count} are not in ascending order`);
    previous = key;
    offsets[count] = offset;
    lengths[count] = length;
    keyParts.push(key);
    keyStarts[count] = keyBytesSoFar;
    keyBytesSoFar += key.length;
    expectedOffset = offset + length + BLOCK_TRAILER_BYTES;
    count++;
  }
  if (count !== n) throw bad(`expected ${n} entries (the footer's block count), got ${count}`);
  keyStarts[n] = keyBytesSoFar;
  if (expectedOffset !== footer.indexOffset) throw bad(`its blocks end at offset ${expectedOffset}, but the index starts at ${footer.indexOffset}`);
  if (n > 0 && !previous!.equals(footer.lastKey)) throw bad("the last block's last key is not the footer's last key");
  return { keys: Buffer.concat(keyParts, keyBytesSoFar), keyStarts, offsets, lengths };
}
