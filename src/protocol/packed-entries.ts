/**
 * The entries of a Get answer or a Scan chunk packed into one bytes field
 * (GetResponse.packed, ScanChunk.packed) instead of a repeated ViewEntry
 * message each: protobufjs builds an object and two Buffers per ViewEntry on
 * each side (encode, decode, toObject), which cost more than the lookup on
 * a MultiGet or a Scan. Packed, the server writes each entry's bytes once
 * into one buffer, and the client makes one key string and one view (no
 * copy) of the value per entry.
 *
 * Layout, entry after entry, nothing before or after:
 *
 *   flags      1 byte: bit 0 found, bit 1 final is set, bit 2 final's value
 *   key length unsigned LEB128 varint, then the key's UTF-8 bytes
 *   value len  unsigned LEB128 varint, then the value's bytes
 *
 * Pure functions; both ends live here so that they cannot drift apart.
 */
import { LaminateError } from '../common/errors.js';
import { writeVarint } from '../common/varint.js';
import type { ServedEntry } from '../common/serving-shapes.js';

const FOUND = 1;
const HAS_FINAL = 2;
const FINAL = 4;
/** Most bytes a varint of a length below 2^35 takes. */
const MAX_VARINT_BYTES = 5;


/**
 * The entries packed, in order. Called by the Serving service for every Get
 * answer and Scan chunk; allocates one buffer (an upper bound: 3 bytes per
 * UTF-16 unit of a key) and returns the part written.
 */
export function packEntries(entries: readonly ServedEntry[]): Buffer {
  let bound = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    bound += 1 + 2 * MAX_VARINT_BYTES + 3 * e.key.length + e.value.byteLength;
  }
  const buf = Buffer.allocUnsafe(bound);
  let pos = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    buf[pos++] = (e.found ? FOUND : 0) | (e.final !== undefined ? HAS_FINAL | (e.final ? FINAL : 0) : 0);
    // Key bytes go after a one-byte length when short (almost always), moved if they were not.
    const keyAt = pos + 1;
    const keyBytes = buf.write(e.key, keyAt, 'utf8');
    if (keyBytes < 0x80) {
      buf[pos] = keyBytes;
      pos = keyAt + keyBytes;
    } else {
      // Move the key first: the length's second byte would land on the key's first.
      const lengthBytes = keyBytes < 0x4000 ? 2 : keyBytes < 0x200000 ? 3 : keyBytes < 0x10000000 ? 4 : 5;
      buf.copy(buf, pos + lengthBytes, keyAt, keyAt + keyBytes);
      writeVarint(buf, pos, keyBytes);
      pos += lengthBytes + keyBytes;
    }
    const v = e.value;
    pos = writeVarint(buf, pos, v.byteLength);
    buf.set(v, pos);
    pos += v.byteLength;
  }
  return buf.subarray(0, pos);
}

/**
 * Packs found entries one at a time from bytes already encoded (a key's
 * UTF-8, a value's msgpack in a block), into one growing buffer: what a
 * Scan packing straight from view blocks writes (src/serving/packed-scan.ts),
 * with no string or object per entry. The layout is packEntries'. One
 * writer serves one caller at a time: a Scan's own, or the query handlers'
 * for their Gets (each packed with no await between its first entry and copy()).
 *
 * `headroom` bytes are kept free before the entries of every buffer (which
 * is never a slice of Node's shared pool), so that the message that carries
 * them can be encoded around them without copying them
 * (serving-rpc.ts encodes a ScanChunk's other fields there).
 */
export class PackedWriter {
  private buf: Buffer;
  private pos: number;
  /** Entries written since the last take(). */
  count = 0;

  /** Bytes of the first buffer (headroom included): what copy() goes back to after a huge answer. */
  private readonly firstBytes: number;

  constructor(initialBytes: number, readonly headroom = 0) {
    this.firstBytes = headroom + Math.max(64, initialBytes);
    this.buf = Buffer.allocUnsafeSlow(this.firstBytes);
    this.pos = headroom;
  }

  /** Bytes written since the last take(). */
  get size(): number {
    return this.pos - this.headroom;
  }

  /** Appends a found entry: key[0, keyLength) and value[valueStart, valueEnd). */
  addFound(key: Buffer, keyLength: number, value: Buffer, valueStart: number, valueEnd: number): void {
    this.add(FOUND, key, keyLength, value, valueStart, valueEnd);
  }

  /** Appends an entry not found: key[0, keyLength), and `value` (what the view answers for a key it does not hold). */
  addNotFound(key: Buffer, keyLength: number, value: Buffer): void {
    this.add(0, key, keyLength, value, 0, value.length);
  }

  /**
   * The entries written since the last take() or copy(), copied into a
   * buffer of their own size; starts over in the same buffer. What a Get
   * answer takes: a few hundred bytes to tens of KB, where the copy costs
   * less than a fresh buffer the size of the writer's. A buffer grown past
   * 4 times the initial size (one huge answer) is let go for one of that size.
   */
  copy(): Buffer {
    const out = Buffer.allocUnsafe(this.pos - this.headroom);
    this.buf.copy(out, 0, this.headroom, this.pos);
    this.clear();
    if (this.buf.length > 4 * this.firstBytes) this.buf = Buffer.allocUnsafeSlow(this.firstBytes);
    return out;
  }

  /** Drops what was written since the last take() or copy(). */
  clear(): void {
    this.pos = this.headroom;
    this.count = 0;
  }

  private add(flags: number, key: Buffer, keyLength: number, value: Buffer, valueStart: number, valueEnd: number): void {
    const n = valueEnd - valueStart;
    const needed = this.pos + 1 + 2 * MAX_VARINT_BYTES + keyLength + n;
    if (needed > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(needed, 2 * this.buf.length));
      this.buf.copy(bigger, 0, 0, this.pos);
      this.buf = bigger;
    }
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = flags;
    pos = writeVarint(buf, pos, keyLength);
    // Short keys byte by byte: a native copy's call costs more than a few bytes (as view-block.ts does).
    if (keyLength <= 16) {
      for (let i = 0; i < keyLength; i++) buf[pos + i] = key[i]!;
    } else {
      key.copy(buf, pos, 0, keyLength);
    }
    pos += keyLength;
    pos = writeVarint(buf, pos, n);
    value.copy(buf, pos, valueStart, valueEnd);
    this.pos = pos + n;
    this.count++;
  }

  /**
   * The entries written since the last take(), and starts over in a new
   * buffer of the same size (the one returned is the caller's: no copy; the
   * `headroom` bytes before it in its ArrayBuffer are the caller's too).
   */
  take(): Buffer {
    const out = this.buf.subarray(this.headroom, this.pos);
    this.buf = Buffer.allocUnsafeSlow(this.buf.length);
    this.pos = this.headroom;
    this.count = 0;
    return out;
  }
}

/**
 * The headroom a Scan chunk is packed with: room for the ScanChunk
 * message's other fields (view name, coverage) and the packed field's tag
 * and length, encoded there by the Serving service (serving-rpc.ts), which
 * falls back to copying when they need more.
 */
export const SCAN_CHUNK_HEADROOM = 1024;

function damaged(what: string, at: number, size: number): LaminateError {
  return new LaminateError('INTERNAL', `Expected packed view entries, got ${what} at byte ${at} of ${size}`);
}

/**
 * The entries of a packed field, in order; each value is a view into
 * `packed` (no copy). Called by the serving client for each answer and
 * chunk.
 *
 * @throws LaminateError INTERNAL when the bytes do not parse (a peer that
 *   packs differently): never a wrong entry.
 */
export function unpackEntries(packed: Buffer): ServedEntry[] {
  const out: ServedEntry[] = [];
  const size = packed.length;
  let pos = 0;
  const varint = (): number => {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (pos >= size) throw damaged('a length cut short', pos, size);
      const b = packed[pos++]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 128;
    }
    throw damaged('a length of more than 5 bytes', pos, size);
  };
  while (pos < size) {
    const flags = packed[pos++]!;
    if (flags > 7) throw damaged(`flags ${flags}`, pos - 1, size);
    const keyLength = varint();
    if (pos + keyLength > size) throw damaged(`a key of ${keyLength} bytes past the end`, pos, size);
    const key = packed.toString('utf8', pos, pos + keyLength);
    pos += keyLength;
    const valueLength = varint();
    if (pos + valueLength > size) throw damaged(`a value of ${valueLength} bytes past the end`, pos, size);
    const value = packed.subarray(pos, pos + valueLength);
    pos += valueLength;
    const found = (flags & FOUND) !== 0;
    out.push((flags & HAS_FINAL) !== 0 ? { key, value, found, final: (flags & FINAL) !== 0 } : { key, value, found });
  }
  return out;
}
