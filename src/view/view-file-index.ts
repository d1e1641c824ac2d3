/**
 * What a view file reader keeps in memory: the footer and the index (one
 * entry per data block: its last key, offset and length), read from the
 * file's end and checked, and the search for the block of a key.
 */
import { readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { LaminateError } from '../common/errors.js';
import { CRC32_RESIDUE } from './crc32-combine.js';
import { Block, compareRange } from './view-block.js';
import { BLOCK_TRAILER_BYTES, decodeFooter, decodeTail, MAX_BLOCK_BYTES, TAIL_BYTES, type ViewFileFooter } from './view-file-format.js';

/**
 * What reading a view file needs of it: positioned reads, its size and a
 * close. A local FileHandle is one; so is an object store's RangeReader
 * with the object's size (stored-view-file.ts), for a file read in place
 * on S3.
 */
export interface PositionalFile {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
  /** A local file's descriptor (blocking preads use it); absent for an object in a store. */
  readonly fd?: number;
}

/** Reads `buf.length` bytes at `position`; returns how many there were (fewer only at the end of the file). */
export async function readFully(fh: PositionalFile, buf: Buffer, position: number): Promise<number> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** readFully with blocking preads (see ViewFileReaderOptions.syncReads). */
export function readFullySync(fd: number, buf: Buffer, position: number): number {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** The error for a file that ends before the size it had at open. */
export function shrank(path: string): LaminateError {
  return new LaminateError('DATA_LOSS', `View file '${path}' ended before its recorded size: it was truncated after it was opened`);
}

/** A view file's footer and index, checked. Immutable; one per open reader. */
export class ViewFileIndex {
  private constructor(
    /** The file's size when read. */
    readonly size: number,
    readonly footer: ViewFileFooter,
    /** Last keys of the blocks, one after the other; block i's is keys[keyStarts[i], keyStarts[i + 1]). */
    private readonly keys: Buffer,
    private readonly keyStarts: Uint32Array,
    /** Each data block's offset and payload length (its CRC follows). */
    readonly offsets: Float64Array,
    readonly lengths: Uint32Array,
  ) {}

  /**
   * Reads tail, footer and index from the end of an open file (one read
   * when they fit in its last 64 KiB, as they do below some 2,000 blocks).
   *
   * @throws LaminateError DATA_LOSS, naming the file, when it is truncated
   *   or its footer or index is damaged; FAILED_PRECONDITION for a format
   *   version this code does not read.
   */
  static async read(fh: PositionalFile, path: string): Promise<ViewFileIndex> {
    const size = (await fh.stat()).size;
    if (size < TAIL_BYTES) {
      throw new LaminateError('DATA_LOSS', `View file '${path}' is truncated: expected at least ${TAIL_BYTES} bytes (its tail), got ${size}`);
    }
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
    return new ViewFileIndex(size, footer, parsed.keys, parsed.keyStarts, parsed.offsets, parsed.lengths);
  }

  /** Data blocks in the file. */
  get blocks(): number {
    return this.offsets.length;
  }

  /**
   * The block that holds `target[0, length)` (UTF-8) if any block does: -1
   * when the key is before the first key or after the last (nothing is read then).
   */
  blockFor(target: Buffer, length = target.length): number {
    const first = this.footer.firstKey;
    if (this.offsets.length === 0 || compareRange(target, 0, length, first, 0, first.length) < 0) return -1;
    const i = this.blockFrom(target, length);
    return i < this.offsets.length ? i : -1;
  }

  /** The first block whose last key is at or after `target[0, length)` (the block count when none is). */
  blockFrom(target: Buffer, length = target.length): number {
    const keys = this.keys;
    const starts = this.keyStarts;
    let lo = 0;
    let hi = this.offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareRange(keys, starts[mid]!, starts[mid + 1]!, target, 0, length) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
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
  // Every last key, one after the other (grown when the whole keys outgrow the compressed index).
  let keys = Buffer.allocUnsafe(Math.max(64, payload.length));
  const data = block.data;
  const limit = block.restartsStart;
  let p = 0;
  let count = 0;
  let expectedOffset = 0;
  let keyBytesSoFar = 0;
  let previousLength = 0;
  // One loop with the entry layout (view-block.ts) decoded inline: no cursor, no call per entry, no
  // Buffer.copy. A node that just started runs this as cold code, once per file it loads, where each
  // call and each copy() (its argument checks) cost microseconds and together were most of the load.
  while (p < limit) {
    if (count >= n) throw bad(`expected ${n} entries (the footer's block count), got more`);
    const entry = p;
    // Three varints (shared, unshared, value length), the key's unshared bytes, then the value:
    // two varints, the block's offset and payload length.
    let shared = 0;
    let unshared = 0;
    let valueEnd = limit;
    let offset = 0;
    for (let f = 0; f < 5; f++) {
      let x = 0;
      let scale = 1;
      let b: number;
      do {
        if (p >= valueEnd || scale > 2 ** 49) throw bad(`entry ${count} at ${entry} has a malformed varint`);
        b = data[p++]!;
        x += (b & 0x7f) * scale;
        scale *= 128;
      } while (b >= 0x80);
      if (f === 0) shared = x;
      else if (f === 1) unshared = x;
      else if (f === 2) {
        // The key's bytes, copied after the bytes it shares with the key before it.
        const keyEnd = p + unshared;
        valueEnd = keyEnd + x;
        if (shared > previousLength || valueEnd > limit) throw bad(`entry ${count} at ${entry} does not fit the block or its key prefix`);
        const keyLength = shared + unshared;
        if (keyBytesSoFar + keyLength > keys.length) {
          // Keys are prefix-compressed in the index: whole, they may take more bytes than it.
          const bigger = Buffer.allocUnsafe(Math.max(keyBytesSoFar + keyLength, 2 * keys.length));
          keys.copy(bigger, 0, 0, keyBytesSoFar);
          keys = bigger;
        }
        const previousStart = keyBytesSoFar - previousLength;
        for (let k = 0; k < shared; k++) keys[keyBytesSoFar + k] = keys[previousStart + k]!;
        for (let k = shared; k < keyLength; k++) keys[keyBytesSoFar + k] = data[p++]!;
        // Strictly ascending: the first byte after the shared ones decides (or the previous key is a prefix).
        if (count > 0) {
          const common = Math.min(previousLength, keyLength);
          let i = shared;
          while (i < common && keys[previousStart + i] === keys[keyBytesSoFar + i]) i++;
          const ascending = i < common ? keys[previousStart + i]! < keys[keyBytesSoFar + i]! : previousLength < keyLength;
          if (!ascending) throw bad(`the last keys of blocks ${count - 1} and ${count} are not in ascending order`);
        }
        previousLength = keyLength;
      } else if (f === 3) offset = x;
      else {
        if (offset !== expectedOffset || x > MAX_BLOCK_BYTES || x < 4) {
          throw bad(`entry ${count} places a block of ${x} bytes at offset ${offset}, expected one at ${expectedOffset} of 4 to ${MAX_BLOCK_BYTES} bytes`);
        }
        offsets[count] = offset;
        lengths[count] = x;
        expectedOffset = offset + x + BLOCK_TRAILER_BYTES;
      }
    }
    keyStarts[count] = keyBytesSoFar;
    keyBytesSoFar += previousLength;
    p = valueEnd;
    count++;
  }
  if (count !== n) throw bad(`expected ${n} entries (the footer's block count), got ${count}`);
  keyStarts[n] = keyBytesSoFar;
  if (expectedOffset !== footer.indexOffset) throw bad(`its blocks end at offset ${expectedOffset}, but the index starts at ${footer.indexOffset}`);
  if (n > 0 && !keys.subarray(keyStarts[n - 1]!, keyBytesSoFar).equals(footer.lastKey)) throw bad("the last block's last key is not the footer's last key");
  return { keys: keys.subarray(0, keyBytesSoFar), keyStarts, offsets, lengths };
}
