/**
 * The binary framing of one (key, value) record in map outputs, spills and
 * sorted runs:
 *
 *   [varint keyByteLength][key as UTF-8][varint valueByteLength][tag][payload]
 *
 * Varints are unsigned LEB128. The value's bytes are one tag byte and a
 * payload: 0 = a string as UTF-8; 1 = msgpack (anything else); 2 = an int32
 * as a zigzag varint; 3 = any other number as a little-endian float64. The
 * number tags keep the common counts of word-count style jobs tiny and fast.
 */
import { pack, unpack } from 'msgpackr';
import { varintSize, writeVarint } from '../common/varint.js';
import { LaminateError } from '../common/errors.js';
import { GrowableBuffer, writeUtf8, type ByteSink } from './byte-sink.js';

/** Value tag: a string as UTF-8. */
export const TAG_STRING = 0;
/** Value tag: msgpack (msgpackr, no records/structures) of anything else. */
export const TAG_MSGPACK = 1;
/** Value tag: an int32 (not -0) as a zigzag varint. */
export const TAG_INT32 = 2;
/** Value tag: any other number as a little-endian float64. */
export const TAG_FLOAT64 = 3;

/** A value already encoded as msgpack (tag 1 payload), e.g. copied at emit time. */
export class PackedValue {
  constructor(readonly bytes: Uint8Array) {}
}

/**
 * Encodes a value that is neither a string nor a number as msgpack.
 * Called by the map-output collector at emit time, so later mutation of the
 * emitted object does not change what was emitted. Pure.
 */
export function packValue(value: unknown): PackedValue {
  try {
    return new PackedValue(pack(value));
  } catch (err) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a value msgpack can encode, got ${typeof value}: ${(err as Error).message}`, { cause: err });
  }
}

export { varintSize, writeVarint };

/**
 * Appends one record to `sink`; returns the bytes of its key and value
 * (framing excluded), the measure of Hadoop's MAP_OUTPUT_BYTES.
 * Called once per record written to a spill, merge or sorted run. Sync.
 */
export function appendRecord(sink: ByteSink, key: string, value: unknown): number {
  return appendString(sink, key, -1) + appendValue(sink, value);
}

/**
 * Appends a key already encoded as UTF-8, `src[start, end)`, as
 * [varint length][bytes]: what appendRecord writes for the key. Short keys
 * are copied in JavaScript, cheaper than a native call. Called by the
 * map-side spill once per combined key, before appendValue.
 */
export function appendKeyBytes(sink: ByteSink, src: Uint8Array, start: number, end: number): void {
  const n = end - start;
  const buf = sink.reserve(9 + n);
  let p = writeVarint(buf, sink.pos, n);
  if (n <= 32) {
    for (let i = start; i < end; i++) buf[p++] = src[i]!;
  } else {
    buf.set(src.subarray(start, end), p);
    p += n;
  }
  sink.pos = p;
}

/** Appends a value as [varint length][tag][payload]; returns its length (tag included). */
export function appendValue(sink: ByteSink, value: unknown): number {
  if (typeof value === 'string') return appendString(sink, value, TAG_STRING);
  if (typeof value === 'number') {
    // -0 is not an int32 here: it goes through float64 to keep its sign.
    if ((value | 0) === value && (value !== 0 || 1 / value > 0)) {
      const z = ((value << 1) ^ (value >> 31)) >>> 0;
      const size = 1 + varintSize(z);
      const buf = sink.reserve(1 + size);
      buf[sink.pos] = size;
      buf[sink.pos + 1] = TAG_INT32;
      sink.pos = writeVarint(buf, sink.pos + 2, z);
      return size;
    }
    const buf = sink.reserve(10);
    buf[sink.pos] = 9;
    buf[sink.pos + 1] = TAG_FLOAT64;
    buf.writeDoubleLE(value, sink.pos + 2);
    sink.pos += 10;
    return 9;
  }
  const packed = value instanceof PackedValue ? value.bytes : packValue(value).bytes;
  const size = packed.length + 1;
  const buf = sink.reserve(9 + size);
  let p = writeVarint(buf, sink.pos, size);
  buf[p++] = TAG_MSGPACK;
  buf.set(packed, p);
  sink.pos = p + packed.length;
  return size;
}

/** Appends [varint length][tag if >= 0][UTF-8 of s]; returns the length. */
function appendString(sink: ByteSink, s: string, tag: number): number {
  const tagBytes = tag >= 0 ? 1 : 0;
  const maxBytes = s.length * 3 + tagBytes;
  if (maxBytes < 0x80) {
    // The length surely fits one varint byte: write the text first, then its length.
    const buf = sink.reserve(1 + maxBytes);
    let p = sink.pos + 1;
    if (tagBytes === 1) buf[p++] = tag;
    const written = writeUtf8(buf, s, p);
    buf[sink.pos] = written + tagBytes;
    sink.pos = p + written;
    return written + tagBytes;
  }
  if (maxBytes < 0x4000) {
    // The length fits two varint bytes: write the text after one, and move it
    // by a byte only when it turns out to need two. Saves Buffer.byteLength's
    // pass over the string (most such strings are ASCII below 128 bytes).
    const buf = sink.reserve(2 + maxBytes);
    const start = sink.pos;
    let p = start + 1;
    if (tagBytes === 1) buf[p++] = tag;
    const written = writeUtf8(buf, s, p);
    const size = written + tagBytes;
    let end = p + written;
    if (size < 0x80) {
      buf[start] = size;
    } else {
      buf.copyWithin(start + 2, start + 1, end);
      buf[start] = (size & 0x7f) | 0x80;
      buf[start + 1] = size >>> 7;
      end++;
    }
    sink.pos = end;
    return size;
  }
  const size = Buffer.byteLength(s) + tagBytes;
  const buf = sink.reserve(9 + size);
  let p = writeVarint(buf, sink.pos, size);
  if (tagBytes === 1) buf[p++] = tag;
  sink.pos = p + buf.write(s, p);
  return size;
}

/** Encodes a value as its tag byte and payload (no length prefix). Pure. */
export function encodeValue(value: unknown): Buffer {
  const sink = new GrowableBuffer(64);
  appendValue(sink, value);
  const out = sink.toBuffer();
  return out.subarray(skipVarint(out));
}

function skipVarint(buf: Buffer): number {
  let p = 0;
  while ((buf[p++] ?? 0) >= 0x80);
  return p;
}

/** Decodes value bytes (tag and payload) made by encodeValue or appendValue. Pure. */
export function decodeValue(bytes: Uint8Array): unknown {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return decodeValueAt(buf, 0, buf.length);
}

/**
 * Decodes the value whose tag byte is at `start` and which ends at `end`.
 * Called by the merger once per record it hands to reduce or combine. Pure.
 */
export function decodeValueAt(buf: Buffer, start: number, end: number): unknown {
  const tag = buf[start];
  if (tag === TAG_STRING) return buf.toString('utf8', start + 1, end);
  if (tag === TAG_INT32) {
    let z = 0;
    let shift = 0;
    for (let p = start + 1; p < end; p++, shift += 7) z |= (buf[p]! & 0x7f) << shift;
    z >>>= 0;
    return (z >>> 1) ^ -(z & 1);
  }
  if (tag === TAG_FLOAT64) return buf.readDoubleLE(start + 1);
  if (tag === TAG_MSGPACK) return unpack(buf.subarray(start + 1, end));
  throw new LaminateError('INTERNAL', `Expected a value tag 0..3, got ${String(tag)} (corrupt record)`);
}

/** Positions of one record's parts inside a buffer; filled by parseRecord. */
export interface RecordFrame {
  keyStart: number;
  keyEnd: number;
  valueStart: number;
  valueEnd: number;
  /** Only after parseRecord returned -1: the bytes from `pos` the record needs, at least. */
  needed: number;
}

/**
 * Parses the record starting at `pos` in `buf[pos, limit)` into `frame`.
 * Returns the position after the record, or -1 when the bytes end inside it
 * (then `frame.needed` says how many bytes from `pos` are needed, at least).
 * Called by sorted runs once per record. Pure apart from `frame`.
 */
export function parseRecord(buf: Buffer, pos: number, limit: number, frame: RecordFrame): number {
  let p = pos;
  for (let field = 0; field < 2; field++) {
    if (p >= limit) {
      frame.needed = p - pos + 1;
      return -1;
    }
    let b = buf[p++]!;
    let length = b & 0x7f;
    let scale = 128;
    while (b >= 0x80) {
      if (p >= limit) {
        frame.needed = p - pos + 1;
        return -1;
      }
      if (scale > 2 ** 49) throw new LaminateError('INTERNAL', `Expected a record length varint of at most 8 bytes at offset ${pos}, got more (corrupt record)`);
      b = buf[p++]!;
      length += (b & 0x7f) * scale;
      scale *= 128;
    }
    if (field === 0) {
      frame.keyStart = p;
      frame.keyEnd = p += length;
    } else {
      if (length === 0) throw new LaminateError('INTERNAL', `Expected a value of at least 1 byte (its tag) at offset ${pos}, got 0 (corrupt record)`);
      frame.valueStart = p;
      frame.valueEnd = p += length;
    }
  }
  if (p > limit) {
    frame.needed = p - pos;
    return -1;
  }
  return p;
}

/**
 * The bytes appendValue would write for `value`, tag included, length prefix
 * excluded. Called by the collector to count map output bytes of records a
 * combiner consumes before they are ever encoded. Pure.
 */
export function encodedValueSize(value: unknown): number {
  if (typeof value === 'string') return 1 + Buffer.byteLength(value);
  if (typeof value === 'number') {
    if ((value | 0) === value && (value !== 0 || 1 / value > 0)) return 1 + varintSize(((value << 1) ^ (value >> 31)) >>> 0);
    return 9;
  }
  return 1 + (value instanceof PackedValue ? value.bytes : packValue(value).bytes).length;
}
