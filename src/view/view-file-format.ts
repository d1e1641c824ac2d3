/**
 * The view file: one reducer partition of one view version, an immutable
 * sorted table in the manner of LevelDB's (google/leveldb table/format.h,
 * table_builder.cc, block_builder.cc), read by Get, MultiGet and Scan.
 *
 *   file   = data block*  index block  footer  tail
 *   block  = payload  crc
 *     payload = entry*  restart*  restart count      (see view-block.ts)
 *     crc     = u32 LE CRC-32 (zlib.crc32) of the payload
 *   entry  = varint shared  varint unshared  varint value length
 *            key[shared..] (unshared bytes)  value
 *
 * - Keys are the UTF-8 bytes of the engine's encoded keys, strictly
 *   ascending in byte order (src/storage/key-order.ts), each stored as the
 *   bytes it does not share with the key before it in the block. Every
 *   `restartInterval` entries (16 by default) an entry stores its whole key
 *   (shared = 0), a restart point; the offsets of restart points end the
 *   payload, so a Get binary-searches them and then decodes at most 16
 *   entries. Values are opaque bytes: msgpack, as the writer was given them.
 * - The index block has the same layout; its entry for data block i has the
 *   last key of block i as key and `varint offset, varint payload length` as
 *   value. Data blocks are contiguous from offset 0; the index starts where
 *   the last one ends (both are checked at open).
 * - Footer (F bytes, integers little-endian, u64 fields < 2^53):
 *     u64 record count          u64 index offset
 *     u32 index payload length  u32 data block count
 *     u32 n, first key (n bytes of UTF-8)
 *     u32 m, last key (m bytes)  (both empty when the file has no record)
 * - Tail (the last TAIL_BYTES bytes of the file):
 *     0  u32 F, the footer's length
 *     4  u32 format version (1)
 *     8  u32 CRC-32 of the footer's F bytes then tail bytes 0..8
 *     12 u64 magic 'LMNVIEW1'
 *
 * A reader opens a file from its end: tail, footer, index; a file cut short
 * loses its tail and is refused at once. Every block carries its own
 * CRC-32, so one damaged block fails the reads that touch it, never
 * answering a wrong value. Because a block followed by its little-endian
 * CRC has a constant CRC (crc32-combine.ts), one CRC pass over the file
 * checks every block and yields the whole file's CRC-32.
 *
 * Every function here is pure.
 */
import { crc32 } from 'node:zlib';
import { describe, LaminateError } from '../common/errors.js';

/** The format version this code writes and reads. */
export const VIEW_FILE_VERSION = 1;
/** 'LMNVIEW1' as bytes: the last 8 bytes of every view file. */
export const VIEW_FILE_MAGIC = Buffer.from('LMNVIEW1', 'latin1');
/** Bytes of the fixed tail. */
export const TAIL_BYTES = 20;
/** Bytes of the CRC trailer after every block's payload. */
export const BLOCK_TRAILER_BYTES = 4;
/** Bytes of the footer's fixed fields (before and between its two keys). */
const FOOTER_FIXED_BYTES = 8 + 8 + 4 + 4 + 4 + 4;

/**
 * The largest key, in UTF-8 bytes (64 KiB, as Cassandra and HBase bound
 * theirs): keys live in the index, the footer and every request, so a key
 * larger than this is a modelling error, refused when written.
 */
export const MAX_KEY_BYTES = 64 * 1024;
/** The largest value (64 MiB of msgpack): bounds the one block a Get of it reads. */
export const MAX_VALUE_BYTES = 64 * 1024 * 1024;
/**
 * The format's ceiling on a block's payload, above what the writer can make
 * (one largest entry plus a target's worth of others), so that a garbage
 * length in a damaged index never makes a reader allocate gigabytes.
 */
export const MAX_BLOCK_BYTES = 2 * MAX_VALUE_BYTES;

/** String.prototype.isWellFormed (ES2024, in Node 20's V8; not in the ES2023 lib types). */
export function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/**
 * The UTF-8 bytes of a key a reader is asked for. Called once per key of
 * every Get, MultiGet and Scan bound.
 *
 * @throws LaminateError INVALID_ARGUMENT for a non-string, or a string with
 *   a lone surrogate: it would encode as U+FFFD and could match the key
 *   "\uFFFD", a wrong answer; no view file holds such a key (the writer
 *   refuses them).
 */
export function keyBytes(key: string, what = 'key'): Buffer {
  if (typeof key !== 'string') throw new LaminateError('INVALID_ARGUMENT', `Expected a ${what} that is a string, got ${describe(key)}`);
  const bytes = Buffer.from(key, 'utf8');
  checkEncoded(key, bytes.length, what);
  return bytes;
}

/**
 * keyBytes() written into `into` from its start, which must have room for
 * 3 bytes per UTF-16 unit of the key; returns the byte count. For a caller
 * that looks up many keys through one scratch buffer (a Get packed
 * straight from the blocks). Throws what keyBytes() throws.
 */
export function writeKeyBytes(key: string, into: Buffer, what = 'key'): number {
  if (typeof key !== 'string') throw new LaminateError('INVALID_ARGUMENT', `Expected a ${what} that is a string, got ${describe(key)}`);
  const n = into.write(key, 0, 'utf8');
  checkEncoded(key, n, what);
  return n;
}

/** A key whose UTF-8 is longer than its UTF-16 units may hold a lone surrogate (written as U+FFFD): refused. */
function checkEncoded(key: string, bytes: number, what: string): void {
  if (bytes !== key.length && !isWellFormed(key)) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a ${what} of well-formed UTF-16, got one with a lone surrogate: ${JSON.stringify(key.slice(0, 100))}`);
  }
}

/** The footer's fields. */
export interface ViewFileFooter {
  readonly records: number;
  readonly indexOffset: number;
  readonly indexLength: number;
  readonly blocks: number;
  /** UTF-8 of the first key; empty (and meaningless) when records is 0. */
  readonly firstKey: Buffer;
  /** UTF-8 of the last key; empty (and meaningless) when records is 0. */
  readonly lastKey: Buffer;
}

const TWO_32 = 0x1_0000_0000;

function writeU64(buf: Buffer, pos: number, value: number): void {
  buf.writeUInt32LE(value % TWO_32, pos);
  buf.writeUInt32LE(Math.floor(value / TWO_32), pos + 4);
}

function readU64(buf: Buffer, pos: number): number {
  return buf.readUInt32LE(pos) + buf.readUInt32LE(pos + 4) * TWO_32;
}

/**
 * Encodes footer and tail, ready to append after the index block. Called
 * once per file by the writer.
 */
export function encodeFooterAndTail(footer: ViewFileFooter): Buffer {
  const f = FOOTER_FIXED_BYTES + footer.firstKey.length + footer.lastKey.length;
  const out = Buffer.allocUnsafe(f + TAIL_BYTES);
  writeU64(out, 0, footer.records);
  writeU64(out, 8, footer.indexOffset);
  out.writeUInt32LE(footer.indexLength, 16);
  out.writeUInt32LE(footer.blocks, 20);
  let p = 24;
  out.writeUInt32LE(footer.firstKey.length, p);
  p += 4 + footer.firstKey.copy(out, p + 4);
  out.writeUInt32LE(footer.lastKey.length, p);
  p += 4 + footer.lastKey.copy(out, p + 4);
  out.writeUInt32LE(f, p);
  out.writeUInt32LE(VIEW_FILE_VERSION, p + 4);
  out.writeUInt32LE(crc32(out.subarray(0, p + 8)), p + 8);
  VIEW_FILE_MAGIC.copy(out, p + 12);
  return out;
}

/** The tail's fields, once its magic and version are known good. */
export interface ViewFileTail {
  readonly footerLength: number;
  readonly crc: number;
}

/**
 * Reads the tail (`tail` is the file's last TAIL_BYTES bytes). Throws
 * DATA_LOSS when the magic is wrong (a truncated file, or not a view file)
 * and FAILED_PRECONDITION for a format version this code does not read.
 * `file` names the file in messages.
 */
export function decodeTail(tail: Buffer, file: string): ViewFileTail {
  if (tail.length !== TAIL_BYTES || !tail.subarray(12).equals(VIEW_FILE_MAGIC)) {
    throw new LaminateError('DATA_LOSS', `View file '${file}' does not end with the view file magic 'LMNVIEW1': it is truncated or not a view file`);
  }
  const version = tail.readUInt32LE(4);
  if (version !== VIEW_FILE_VERSION) {
    throw new LaminateError('FAILED_PRECONDITION', `View file '${file}' has format version ${version}; this build reads version ${VIEW_FILE_VERSION}`);
  }
  return { footerLength: tail.readUInt32LE(0), crc: tail.readUInt32LE(8) };
}

/**
 * Checks and decodes the footer: `bytes` is the footer followed by the
 * tail, `fileBytes` the file's size. Throws DATA_LOSS, naming the file and
 * what is wrong, when the checksum fails or the fields do not describe a
 * file of this size.
 */
export function decodeFooter(bytes: Buffer, fileBytes: number, file: string): ViewFileFooter {
  const f = bytes.length - TAIL_BYTES;
  const bad = (what: string): LaminateError => new LaminateError('DATA_LOSS', `View file '${file}' has a damaged footer: ${what}`);
  if (crc32(bytes.subarray(0, f + 8)) !== bytes.readUInt32LE(f + 8)) throw bad('its checksum does not match');
  if (f < FOOTER_FIXED_BYTES) throw bad(`expected at least ${FOOTER_FIXED_BYTES} bytes, got ${f}`);
  const records = readU64(bytes, 0);
  const indexOffset = readU64(bytes, 8);
  const indexLength = bytes.readUInt32LE(16);
  const blocks = bytes.readUInt32LE(20);
  const n = bytes.readUInt32LE(24);
  if (28 + n + 4 > f) throw bad(`its first key of ${n} bytes runs past its end`);
  const firstKey = bytes.subarray(28, 28 + n);
  const m = bytes.readUInt32LE(28 + n);
  if (32 + n + m !== f) throw bad(`expected ${f - 32 - n} bytes of last key, got a length of ${m}`);
  const lastKey = bytes.subarray(32 + n, f);
  if (!Number.isSafeInteger(records) || !Number.isSafeInteger(indexOffset)) throw bad('a count or offset is out of range');
  const expectedSize = indexOffset + indexLength + BLOCK_TRAILER_BYTES + f + TAIL_BYTES;
  if (expectedSize !== fileBytes) {
    throw bad(`it describes a file of ${expectedSize} bytes (index at ${indexOffset}, ${indexLength} bytes), got ${fileBytes} bytes`);
  }
  if ((records === 0) !== (blocks === 0) || blocks > records) throw bad(`${records} records in ${blocks} blocks is impossible`);
  if (records === 0 && (n !== 0 || m !== 0)) throw bad('an empty file has first or last key');
  return { records, indexOffset, indexLength, blocks, firstKey, lastKey };
}
