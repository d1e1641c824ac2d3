/**
 * Writes a JSON value as msgpack straight into a caller's buffer, byte for
 * byte as msgpackr's `pack` (record-body.ts) writes it, for the common case:
 * plain objects, arrays, strings, numbers, booleans and null. Anything else
 * (undefined, a Date, a Map, a class instance, an object with 65,536 keys or
 * more) is left to msgpackr: the writer answers -1 and the caller packs the
 * record the usual way.
 *
 * Why: the producer packed each record with msgpackr into msgpackr's own
 * buffer, then copied it into its batch. Written here in place, a record
 * costs no copy, and none of msgpackr's general machinery (structures,
 * bundles, extensions, buffer growth) that a JSON value never needs: YSB
 * events cost about half the CPU (see bench/README.md, branch ingest4).
 *
 * The bytes must stay exactly msgpackr's (test/unit/json-msgpack-writer.test.ts
 * compares them over many values): records from both paths share batches, and
 * a record's bytes should not depend on which path wrote it. msgpackr's
 * default Packr (useRecords: false) writes: objects as map16 whatever their
 * size (keys in for-in order, own properties only); arrays, strings and
 * integers in their smallest form (positive fixint up to 127); numbers that
 * are not 32-bit integers as float64; undefined as an extension (not here).
 *
 * Who calls it: Producer.add, once per record. Pure apart from writing
 * buf[pos, end); returns the position after the value, or -1 (buf[pos, end)
 * then holds garbage, which the caller ignores).
 */

/**
 * From this many UTF-16 units on, a string goes through Buffer.write (native:
 * ~60 ns for a 36-character UUID against ~100-120 ns in a JS loop); shorter
 * ones (keys, enum values) through the loop, where the native call costs more
 * than it saves.
 */
const NATIVE_MIN_CHARS = 16;

/**
 * Node's native UTF-8 writer, which `Buffer#write` calls after parsing its
 * arguments and looking the encoding up: called directly, a 36-character
 * UUID costs ~95 ns rather than ~160 (ingest client profile, bench/README.md).
 * It is on Buffer.prototype, undocumented (checked on Node 20); where absent,
 * `write` does the same. It takes (string, offset, maxBytes) and returns the
 * bytes written; the caller keeps maxBytes within the buffer.
 */
type Utf8Write = (this: Buffer, value: string, offset: number, maxBytes: number) => number;
const utf8Write = (Buffer.prototype as unknown as { utf8Write?: Utf8Write }).utf8Write;

/** How deep nesting may go before the writer hands the value to msgpackr (which then decides). */
const MAX_DEPTH = 64;

export function writeJsonMsgpack(value: unknown, buf: Buffer, pos: number, end: number): number {
  return write(value, buf, pos, end, 0);
}

function write(value: unknown, buf: Buffer, pos: number, end: number, depth: number): number {
  switch (typeof value) {
    case 'string':
      return writeString(value, buf, pos, end);
    case 'number':
      return writeNumber(value, buf, pos, end);
    case 'boolean':
      if (pos >= end) return -1;
      buf[pos] = value ? 0xc3 : 0xc2;
      return pos + 1;
    case 'object':
      if (value === null) {
        if (pos >= end) return -1;
        buf[pos] = 0xc0;
        return pos + 1;
      }
      if (depth >= MAX_DEPTH) return -1;
      if (value.constructor === Object) return writeObject(value as Record<string, unknown>, buf, pos, end, depth + 1);
      if (Array.isArray(value) && value.constructor === Array) return writeArray(value as unknown[], buf, pos, end, depth + 1);
      return -1;
    default:
      // undefined, bigint, symbol, function: msgpackr's path (which writes or refuses them).
      return -1;
  }
}

function writeObject(object: Record<string, unknown>, buf: Buffer, pos: number, end: number, depth: number): number {
  if (pos + 3 > end) return -1;
  // msgpackr asks an object's own hasOwnProperty, if it has one: its path does that.
  if (object.hasOwnProperty !== Object.prototype.hasOwnProperty) return -1;
  // msgpackr's default: always map16, its size filled in after the keys.
  buf[pos] = 0xde;
  const sizeAt = pos + 1;
  pos += 3;
  let size = 0;
  for (const key in object) {
    if (!object.hasOwnProperty(key)) continue;
    pos = writeString(key, buf, pos, end);
    if (pos < 0) return -1;
    pos = write(object[key], buf, pos, end, depth);
    if (pos < 0) return -1;
    size++;
  }
  // msgpackr throws past 65,535 keys: its path says so.
  if (size > 0xffff) return -1;
  buf[sizeAt] = size >>> 8;
  buf[sizeAt + 1] = size & 0xff;
  return pos;
}

function writeArray(array: unknown[], buf: Buffer, pos: number, end: number, depth: number): number {
  const length = array.length;
  if (length < 0x10) {
    if (pos + 1 > end) return -1;
    buf[pos++] = 0x90 | length;
  } else if (length < 0x10000) {
    if (pos + 3 > end) return -1;
    buf[pos++] = 0xdc;
    buf[pos++] = length >>> 8;
    buf[pos++] = length & 0xff;
  } else {
    if (pos + 5 > end) return -1;
    buf[pos++] = 0xdd;
    buf.writeUInt32BE(length, pos);
    pos += 4;
  }
  for (let i = 0; i < length; i++) {
    pos = write(array[i], buf, pos, end, depth);
    if (pos < 0) return -1;
  }
  return pos;
}

function writeNumber(value: number, buf: Buffer, pos: number, end: number): number {
  if (value >>> 0 === value) {
    if (value < 0x80) {
      if (pos + 1 > end) return -1;
      buf[pos] = value;
      return pos + 1;
    }
    if (value < 0x100) {
      if (pos + 2 > end) return -1;
      buf[pos] = 0xcc;
      buf[pos + 1] = value;
      return pos + 2;
    }
    if (value < 0x10000) {
      if (pos + 3 > end) return -1;
      buf[pos] = 0xcd;
      buf[pos + 1] = value >>> 8;
      buf[pos + 2] = value & 0xff;
      return pos + 3;
    }
    if (pos + 5 > end) return -1;
    buf[pos] = 0xce;
    buf.writeUInt32BE(value, pos + 1);
    return pos + 5;
  }
  if (value >> 0 === value) {
    if (value >= -0x20) {
      if (pos + 1 > end) return -1;
      buf[pos] = 0x100 + value;
      return pos + 1;
    }
    if (value >= -0x80) {
      if (pos + 2 > end) return -1;
      buf[pos] = 0xd0;
      buf[pos + 1] = value + 0x100;
      return pos + 2;
    }
    if (value >= -0x8000) {
      if (pos + 3 > end) return -1;
      buf[pos] = 0xd1;
      buf.writeInt16BE(value, pos + 1);
      return pos + 3;
    }
    if (pos + 5 > end) return -1;
    buf[pos] = 0xd2;
    buf.writeInt32BE(value, pos + 1);
    return pos + 5;
  }
  if (pos + 9 > end) return -1;
  buf[pos] = 0xcb;
  buf.writeDoubleBE(value, pos + 1);
  return pos + 9;
}

/** A str header for `bytes` bytes at pos; returns where the string's bytes go. */
function writeStringHeader(bytes: number, buf: Buffer, pos: number): number {
  if (bytes < 0x20) {
    buf[pos] = 0xa0 | bytes;
    return pos + 1;
  }
  if (bytes < 0x100) {
    buf[pos] = 0xd9;
    buf[pos + 1] = bytes;
    return pos + 2;
  }
  if (bytes < 0x10000) {
    buf[pos] = 0xda;
    buf[pos + 1] = bytes >>> 8;
    buf[pos + 2] = bytes & 0xff;
    return pos + 3;
  }
  buf[pos] = 0xdb;
  buf.writeUInt32BE(bytes, pos + 1);
  return pos + 5;
}

function writeString(value: string, buf: Buffer, pos: number, end: number): number {
  const length = value.length;
  if (length < NATIVE_MIN_CHARS) {
    // ASCII (the usual case): one byte per UTF-16 unit, so the header is known before the bytes.
    if (pos + 1 + length > end) return -1;
    let at = pos + 1;
    for (let i = 0; i < length; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) return writeUtf8String(value, buf, pos, end);
      buf[at++] = c;
    }
    buf[pos] = 0xa0 | length;
    return at;
  }
  // Room for the worst case (3 bytes a unit), else the exact count first.
  if (pos + 5 + 3 * length > end) return writeUtf8String(value, buf, pos, end);
  const header = length < 0x20 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
  const bytes = utf8Write !== undefined ? utf8Write.call(buf, value, pos + header, end - pos - header) : buf.write(value, pos + header, 'utf8');
  // UTF-8 takes more bytes than UTF-16 units exactly when a unit is not ASCII: then the header may differ.
  if (bytes !== length) return writeUtf8String(value, buf, pos, end);
  writeStringHeader(bytes, buf, pos);
  return pos + header + bytes;
}

/**
 * Any string, through Buffer's UTF-8 encoder: a lone surrogate becomes
 * U+FFFD (EF BF BD), as msgpackr (patched, see its pack.js) writes it.
 */
function writeUtf8String(value: string, buf: Buffer, pos: number, end: number): number {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (pos + (bytes < 0x20 ? 1 : bytes < 0x100 ? 2 : bytes < 0x10000 ? 3 : 5) + bytes > end) return -1;
  const at = writeStringHeader(bytes, buf, pos);
  return at + buf.write(value, at, bytes, 'utf8');
}
