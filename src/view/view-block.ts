/**
 * One block of a view file (layout in view-file-format.ts): entries with
 * shared-prefix keys, then the restart offsets and their count, as LevelDB's
 * block_builder.cc lays them out.
 *
 * Prefix compression rather than whole keys: engine keys are encoded tuples
 * and window keys (`[page, windowStart]`), so neighbours share most of their
 * bytes and a block holds more entries; restart points every 16 entries
 * bound what a Get decodes after its binary search (16 entries at most).
 */
import { LaminateError } from '../common/errors.js';

/** Writes varint `n` (a non-negative integer below 2^32 here) at `pos`; returns the position after it. */
function putVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

/**
 * Compares `a[aStart, aEnd)` with `b[bStart, bEnd)` as unsigned bytes (the
 * sign of Buffer.compare). Keys are mostly short: a JavaScript loop beats
 * the native call's argument checks by several times there, so only long
 * ranges go native. Called a few dozen times per Get. Pure.
 */
export function compareRange(a: Buffer, aStart: number, aEnd: number, b: Buffer, bStart: number, bEnd: number): number {
  const la = aEnd - aStart;
  const lb = bEnd - bStart;
  const n = la < lb ? la : lb;
  if (n > 64) return a.compare(b, bStart, bEnd, aStart, aEnd);
  for (let i = 0; i < n; i++) {
    const d = a[aStart + i]! - b[bStart + i]!;
    if (d !== 0) return d;
  }
  return la - lb;
}

/**
 * Builds one block's payload. The writer owns two: one for the data block
 * being filled, one for the index. Not shared; reused after finish() by reset().
 */
export class BlockBuilder {
  private buf: Buffer;
  private pos = 0;
  private restarts: number[] = [];
  private sinceRestart = 0;
  /** Entries added since the last reset. */
  entries = 0;

  constructor(private readonly restartInterval: number, initialBytes: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, initialBytes));
  }

  /** Bytes the payload would have if finished now. */
  get size(): number {
    return this.pos + 4 * this.restarts.length + 4;
  }

  /**
   * At most the payload's size once an entry with this key and value length
   * is added (varints counted at their largest): the writer closes a block
   * before an entry that would take it past its target.
   */
  sizeWith(keyBytes: number, valueBytes: number): number {
    return this.size + 15 + keyBytes + valueBytes + 4;
  }

  /**
   * Adds an entry: `key[0, keyLength)` is the key's UTF-8, `shared` how many
   * leading bytes it shares with the key added before it (ignored at a
   * restart point, where the whole key is stored). The caller has checked
   * the order. Copies key and value.
   */
  add(key: Buffer, keyLength: number, shared: number, value: Uint8Array): void {
    if (this.entries === 0 || this.sinceRestart === this.restartInterval) {
      this.restarts.push(this.pos);
      this.sinceRestart = 0;
      shared = 0;
    }
    const unshared = keyLength - shared;
    const needed = this.pos + 15 + unshared + value.length;
    if (needed > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < needed) size *= 2;
      const bigger = Buffer.allocUnsafe(size);
      this.buf.copy(bigger, 0, 0, this.pos);
      this.buf = bigger;
    }
    const buf = this.buf;
    let p = putVarint(buf, this.pos, shared);
    p = putVarint(buf, p, unshared);
    p = putVarint(buf, p, value.length);
    if (unshared <= 16) {
      for (let i = shared; i < keyLength; i++) buf[p++] = key[i]!;
    } else {
      p += key.copy(buf, p, shared, keyLength);
    }
    if (value.length <= 16) {
      for (let i = 0; i < value.length; i++) buf[p++] = value[i]!;
    } else {
      buf.set(value, p);
      p += value.length;
    }
    this.pos = p;
    this.sinceRestart++;
    this.entries++;
  }

  /**
   * Appends the restart offsets and returns the payload: a view of the
   * builder's buffer, valid until the next add() or reset().
   */
  finish(): Buffer {
    const end = this.size;
    if (end > this.buf.length) {
      const bigger = Buffer.allocUnsafe(end);
      this.buf.copy(bigger, 0, 0, this.pos);
      this.buf = bigger;
    }
    let p = this.pos;
    for (const r of this.restarts) {
      this.buf.writeUInt32LE(r, p);
      p += 4;
    }
    this.buf.writeUInt32LE(this.restarts.length, p);
    return this.buf.subarray(0, end);
  }

  /** Empties the builder for the next block, keeping its buffer. */
  reset(): void {
    this.pos = 0;
    this.restarts = [];
    this.sinceRestart = 0;
    this.entries = 0;
  }
}

/**
 * A block read back and checked: its payload (CRC already verified by the
 * reader) and where its restart offsets start. Immutable, so the block cache
 * shares one between any number of readers and requests.
 */
export class Block {
  private constructor(
    readonly data: Buffer,
    readonly restartsStart: number,
    readonly restartCount: number,
    /** Restart point i's entry: offset, and where its whole key starts and ends (BlockCursor.find reads it). */
    readonly restartInfo: Uint32Array,
    /** Names the block in errors: "view file '...', block at offset N". */
    readonly where: string,
  ) {}

  /**
   * Checks a payload's restart array and the header of each restart entry;
   * throws DATA_LOSS naming `where` when they are inconsistent (a block
   * whose CRC matched but whose structure does not: a writer of another
   * format, or a bug; never answered from). Called once per block read.
   */
  static parse(data: Buffer, where: string): Block {
    const bad = (what: string): LaminateError => new LaminateError('DATA_LOSS', `Malformed ${where}: ${what}`);
    if (data.length < 4) throw bad(`expected at least 4 bytes, got ${data.length}`);
    const count = data.readUInt32LE(data.length - 4);
    const restartsStart = data.length - 4 - 4 * count;
    if (restartsStart < 0) throw bad(`${count} restart points do not fit in ${data.length} bytes`);
    if (count === 0 && restartsStart !== 0) throw bad('entries without a restart point');
    const info = new Uint32Array(3 * count);
    let previous = -1;
    for (let i = 0; i < count; i++) {
      const r = data.readUInt32LE(restartsStart + 4 * i);
      if (r <= previous || r >= restartsStart || (i === 0 && r !== 0)) throw bad(`restart point ${i} at ${r} is out of order or range`);
      previous = r;
      // A restart entry: shared = 0 (one byte), varint key length, varint value length, key.
      if (data[r] !== 0) throw bad(`restart point ${i} at ${r} shares key bytes`);
      let p = r + 1;
      let keyLength = 0;
      for (let field = 0; field < 2; field++) {
        let n = 0;
        let scale = 1;
        let b: number;
        do {
          if (p >= restartsStart || scale > 2 ** 28) throw bad(`the entry at restart point ${i} runs past the entries`);
          b = data[p++]!;
          n += (b & 0x7f) * scale;
          scale *= 128;
        } while (b >= 0x80);
        if (field === 0) keyLength = n;
      }
      if (p + keyLength > restartsStart) throw bad(`the key at restart point ${i} runs past the entries`);
      info[3 * i] = r;
      info[3 * i + 1] = p;
      info[3 * i + 2] = p + keyLength;
    }
    return new Block(data, restartsStart, count, info, where);
  }

  /** The offset of restart point i. */
  restart(i: number): number {
    return this.restartInfo[3 * i]!;
  }

  /** Compares restart point i's key with `target` (the sign of key - target). */
  compareRestartKey(i: number, target: Buffer): number {
    return compareRange(this.data, this.restartInfo[3 * i + 1]!, this.restartInfo[3 * i + 2]!, target, 0, target.length);
  }

  /** Bytes the block holds in memory, for the cache's budget. */
  get bytes(): number {
    return this.data.length;
  }
}

/**
 * Walks the entries of one block. `key[0, keyLength)` and
 * `block.data[valueStart, valueEnd)` are the current entry after a next()
 * or seek() that returned true. One per scan; the reader keeps one for its
 * Gets (used between awaits only).
 */
export class BlockCursor {
  block: Block | undefined;
  key: Buffer = Buffer.allocUnsafe(256);
  keyLength = 0;
  valueStart = 0;
  valueEnd = 0;
  private pos = 0;
  /** The header readHeader decoded last. */
  private headShared = 0;
  private headUnshared = 0;
  private headValueLength = 0;

  /** Positions the cursor before the first entry of `block`. */
  reset(block: Block): void {
    this.block = block;
    this.pos = 0;
    this.keyLength = 0;
  }

  /** Decodes the next entry; false (and no entry) at the end of the block. */
  next(): boolean {
    const block = this.block!;
    const data = block.data;
    const limit = block.restartsStart;
    let p = this.pos;
    if (p >= limit) return false;
    p = this.readHeader(data, p, limit);
    const { headShared: shared, headUnshared: unshared, headValueLength: valueLength } = this;
    const keyEnd = p + unshared;
    const valueEnd = keyEnd + valueLength;
    if (shared > this.keyLength || valueEnd > limit) throw this.malformed(`the entry at ${this.pos} does not fit its block or its key prefix`);
    const length = shared + unshared;
    if (length > this.key.length) {
      const bigger = Buffer.allocUnsafe(Math.max(length, this.key.length * 2));
      this.key.copy(bigger, 0, 0, shared);
      this.key = bigger;
    }
    const key = this.key;
    if (unshared <= 16) {
      for (let i = shared; i < length; i++) key[i] = data[p++]!;
    } else {
      data.copy(key, shared, p, keyEnd);
    }
    this.keyLength = length;
    this.valueStart = keyEnd;
    this.valueEnd = valueEnd;
    this.pos = valueEnd;
    return true;
  }

  /**
   * Positions the cursor at the first entry whose key is at or after
   * `target` (UTF-8 bytes): a binary search over the restart points, then at
   * most one interval decoded. False when every key of the block is smaller.
   */
  seek(block: Block, target: Buffer): boolean {
    // The last restart point whose key is before the target (or the first).
    let left = 0;
    let right = block.restartCount - 1;
    while (left < right) {
      const mid = (left + right + 1) >> 1;
      if (block.compareRestartKey(mid, target) < 0) left = mid;
      else right = mid - 1;
    }
    this.block = block;
    this.pos = block.restartCount === 0 ? block.restartsStart : block.restart(left);
    this.keyLength = 0;
    while (this.next()) {
      if (compareRange(this.key, 0, this.keyLength, target, 0, target.length) >= 0) return true;
    }
    return false;
  }

  /**
   * Point lookup: whether `block` holds `target` (UTF-8 bytes); if so the
   * cursor's value() is its value. Unlike seek(), the key is not rebuilt
   * (key and keyLength are not set: use value() only). A binary search over
   * the restart points, then the entries after the last restart key below
   * the target, each compared from where it can first differ: an entry
   * sharing more bytes with the key before it than that key shared with the
   * target is smaller than the target (it differs from the target where its
   * predecessor did) and is skipped without a comparison; the others are
   * compared from their shared length on. Half the CPU of seek() and
   * keyEquals() here, whose entry-by-entry key copies and whole-key
   * comparisons were most of a MultiGet's time. Called once per key of a
   * Get or MultiGet.
   *
   * The target is `target[0, tl)` (by default all of it: a caller with a
   * scratch buffer passes the length rather than a slice).
   *
   * @throws LaminateError DATA_LOSS when an entry does not fit the block.
   */
  find(block: Block, target: Buffer, tl = target.length): boolean {
    const data = block.data;
    const info = block.restartInfo;
    let left = 0;
    let right = block.restartCount - 1;
    while (left < right) {
      const mid = (left + right + 1) >> 1;
      const s = info[3 * mid + 1]!;
      const kl = info[3 * mid + 2]! - s;
      const n = kl < tl ? kl : tl;
      let i = 0;
      while (i < n && data[s + i] === target[i]) i++;
      const d = i < n ? data[s + i]! - target[i]! : kl - tl;
      if (d < 0) left = mid;
      else right = mid - 1;
    }
    this.block = block;
    this.keyLength = 0;
    const limit = block.restartsStart;
    let p = block.restartCount === 0 ? limit : info[3 * left]!;
    // How many leading bytes the entry before shares with the target, and its key length.
    let matched = 0;
    let previousLength = 0;
    while (p < limit) {
      const entry = p;
      p = this.readHeader(data, p, limit);
      const { headShared: shared, headUnshared: unshared, headValueLength: valueLength } = this;
      const keyStart = p;
      const valueStart = keyStart + unshared;
      const valueEnd = valueStart + valueLength;
      if (shared > previousLength || valueEnd > limit) throw this.malformed(`the entry at ${entry} does not fit its block or its key prefix`);
      p = valueEnd;
      const kl = shared + unshared;
      previousLength = kl;
      if (shared > matched) continue;
      // Bytes [0, shared) equal the target's; key byte i (i >= shared) is data[keyStart + i - shared].
      const n = kl < tl ? kl : tl;
      let i = shared;
      const base = keyStart - shared;
      while (i < n && data[base + i] === target[i]) i++;
      const d = i < n ? data[base + i]! - target[i]! : kl - tl;
      if (d > 0) return false;
      if (d === 0) {
        this.valueStart = valueStart;
        this.valueEnd = valueEnd;
        return true;
      }
      matched = i;
    }
    return false;
  }

  /** Whether the current key equals `target`'s bytes. */
  keyEquals(target: Buffer): boolean {
    return this.keyLength === target.length && compareRange(this.key, 0, this.keyLength, target, 0, target.length) === 0;
  }

  /** Compares the current key with `target` (the sign of key - target). */
  compareKey(target: Buffer): number {
    return compareRange(this.key, 0, this.keyLength, target, 0, target.length);
  }

  /** The current key as a string. */
  keyString(): string {
    return this.key.toString('utf8', 0, this.keyLength);
  }

  /** The current value: a view of the block's bytes (read-only by contract: blocks are shared). */
  value(): Buffer {
    return this.block!.data.subarray(this.valueStart, this.valueEnd);
  }

  /**
   * Decodes the header of the entry at `p` (three varints: bytes shared with
   * the key before, bytes not shared, value length) into the head* fields,
   * without an object per entry; returns where its key bytes start. The hot
   * loop of every scan and lookup (next, find): small enough for V8 to inline.
   */
  private readHeader(data: Buffer, p: number, limit: number): number {
    const entry = p;
    for (let field = 0; field < 3; field++) {
      if (p >= limit) throw this.malformed(`the entry at ${entry} runs past the entries`);
      let b = data[p++]!;
      let n = b & 0x7f;
      let shift = 7;
      while (b >= 0x80) {
        if (p >= limit || shift > 28) throw this.malformed(`a varint of the entry at ${entry} runs past the entries or 5 bytes`);
        b = data[p++]!;
        n += (b & 0x7f) * 2 ** shift;
        shift += 7;
      }
      if (field === 0) this.headShared = n;
      else if (field === 1) this.headUnshared = n;
      else this.headValueLength = n;
    }
    return p;
  }

  private malformed(what: string): LaminateError {
    return new LaminateError('DATA_LOSS', `Malformed ${this.block?.where ?? 'block'}: ${what}`);
  }
}
