/**
 * The batch: the unit the dataset store writes, checks and reads. A header,
 * then the record body exactly as the producer sent it (record-body.ts), so
 * the store never re-encodes records (Kafka's v2 record batch does the same).
 *
 * Layout (integers little-endian; u64 fields hold safe integers, < 2^53):
 *
 *   offset size field
 *    0      4   magic 'LMNB' (4c 4d 4e 42): finds batch starts, and a resync
 *                point after a damaged batch
 *    4      4   crc: CRC-32 (zlib.crc32) of every byte from offset 8 to the
 *                end of the body; covers the fields below and the body
 *    8      1   version (1)
 *    9      1   producer id length n in UTF-8 bytes (0: no producer)
 *   10      2   reserved, 0
 *   12      4   record count (>= 1)
 *   16      4   body length L in bytes
 *   20      8   base offset: the offset of the batch's first record
 *   28      8   sequence of the first record (0 without a producer)
 *   36      8   append time, ms since the epoch (producer state expiry)
 *   44      8   durable offset: the partition's acknowledged end when this
 *                batch was written; every record below it had been fsync'd
 *                and acknowledged (recovery uses it to tell a torn tail from
 *                damage to acknowledged data, see partition-recovery.ts)
 *   52      n   producer id, UTF-8
 *   52+n    L   body
 *
 * Like LevelDB's log records (doc/log_format.txt), a batch is found torn when
 * it runs past the end of the file or its checksum does not match. Unlike
 * them there are no fixed-size blocks: batches are written whole, one
 * `writev` each, and a reader finds them through the offset index.
 *
 * Every function here is pure.
 */
import { crc32 } from 'node:zlib';
import { MAX_PRODUCER_ID_BYTES } from '../common/ids.js';

export const BATCH_MAGIC = 0x424e4d4c; // 'LMNB' read as a u32 LE
export const BATCH_VERSION = 1;
/** Bytes of the fixed part of the header (before the producer id). */
export const BATCH_FIXED_HEADER_BYTES = 52;
/**
 * The format's own ceiling on a body (256 MiB), independent of the store's
 * options, so that a garbage length never makes a reader allocate gigabytes
 * and a batch written under a larger limit still reads after the limit shrinks.
 */
export const MAX_BODY_BYTES_IN_FORMAT = 256 * 1024 * 1024;

const TWO_32 = 0x1_0000_0000;

/** The fields of a batch header. */
export interface BatchHeader {
  readonly baseOffset: number;
  readonly count: number;
  readonly bodyLength: number;
  /** Undefined for a batch appended without a producer id. */
  readonly producerId: string | undefined;
  /** 0 when producerId is undefined. */
  readonly sequence: number;
  readonly appendTime: number;
  readonly durableOffset: number;
  /** Header bytes (fixed part + producer id): the body starts here. */
  readonly headerBytes: number;
  /** headerBytes + bodyLength. */
  readonly batchBytes: number;
  readonly crc: number;
}

/** What the writer knows of a batch before it is framed. */
export interface BatchFields {
  readonly baseOffset: number;
  readonly count: number;
  readonly producerId: string | undefined;
  readonly sequence: number;
  readonly appendTime: number;
  readonly durableOffset: number;
}

function writeU64(buf: Buffer, pos: number, value: number): void {
  buf.writeUInt32LE(value % TWO_32, pos);
  buf.writeUInt32LE(Math.floor(value / TWO_32), pos + 4);
}

function readU64(buf: Buffer, pos: number): number {
  // Both halves as u32; hi < 2^21 keeps the sum a safe integer (checked by callers through MAX_SAFE_INTEGER bounds).
  return buf.readUInt32LE(pos) + buf.readUInt32LE(pos + 4) * TWO_32;
}

/**
 * Frames a batch: returns its header, CRC computed over the header fields
 * and `body`. The caller writes header then body (one writev).
 */
export function encodeBatchHeader(fields: BatchFields, body: Uint8Array): Buffer {
  const id = fields.producerId === undefined ? undefined : Buffer.from(fields.producerId, 'utf8');
  const idBytes = id?.length ?? 0;
  if (idBytes > MAX_PRODUCER_ID_BYTES) throw new RangeError(`producer id of ${idBytes} bytes`);
  const header = Buffer.allocUnsafe(BATCH_FIXED_HEADER_BYTES + idBytes);
  header.writeUInt32LE(BATCH_MAGIC, 0);
  header.writeUInt8(BATCH_VERSION, 8);
  header.writeUInt8(idBytes, 9);
  header.writeUInt16LE(0, 10);
  header.writeUInt32LE(fields.count, 12);
  header.writeUInt32LE(body.byteLength, 16);
  writeU64(header, 20, fields.baseOffset);
  writeU64(header, 28, fields.sequence);
  writeU64(header, 36, fields.appendTime);
  writeU64(header, 44, fields.durableOffset);
  if (id !== undefined) header.set(id, BATCH_FIXED_HEADER_BYTES);
  const crc = crc32(body, crc32(header.subarray(8)));
  header.writeUInt32LE(crc, 4);
  return header;
}

/** Why bytes are not a batch header. */
export type HeaderProblem =
  /** Fewer bytes than a header needs: more must be read, or the file ends (torn). */
  | 'short'
  /** Not a batch start: wrong magic or version, or impossible field values. */
  | 'invalid';

/**
 * Parses the header at `buf[pos..]` without checking the CRC (that needs the
 * body: see checkBatchCrc). Returns a problem when it cannot.
 */
export function parseBatchHeader(buf: Buffer, pos: number): BatchHeader | HeaderProblem {
  if (buf.length - pos < BATCH_FIXED_HEADER_BYTES) {
    // A wrong magic is known as soon as its bytes are there; say so rather than "short".
    if (buf.length - pos >= 4 && buf.readUInt32LE(pos) !== BATCH_MAGIC) return 'invalid';
    return 'short';
  }
  if (buf.readUInt32LE(pos) !== BATCH_MAGIC || buf.readUInt8(pos + 8) !== BATCH_VERSION) return 'invalid';
  const idBytes = buf.readUInt8(pos + 9);
  const count = buf.readUInt32LE(pos + 12);
  const bodyLength = buf.readUInt32LE(pos + 16);
  const baseOffset = readU64(buf, pos + 20);
  const sequence = readU64(buf, pos + 28);
  const appendTime = readU64(buf, pos + 36);
  const durableOffset = readU64(buf, pos + 44);
  if (
    count === 0 ||
    bodyLength > MAX_BODY_BYTES_IN_FORMAT ||
    !Number.isSafeInteger(baseOffset + count) ||
    !Number.isSafeInteger(sequence + count) ||
    !Number.isSafeInteger(appendTime) ||
    durableOffset > baseOffset
  ) {
    return 'invalid';
  }
  const headerBytes = BATCH_FIXED_HEADER_BYTES + idBytes;
  if (buf.length - pos < headerBytes) return 'short';
  const producerId = idBytes === 0 ? undefined : buf.toString('utf8', pos + BATCH_FIXED_HEADER_BYTES, pos + headerBytes);
  return {
    baseOffset,
    count,
    bodyLength,
    producerId,
    sequence,
    appendTime,
    durableOffset,
    headerBytes,
    batchBytes: headerBytes + bodyLength,
    crc: buf.readUInt32LE(pos + 4),
  };
}

/** True when the batch at `buf[pos..pos + header.batchBytes]` matches its CRC. */
export function checkBatchCrc(buf: Buffer, pos: number, header: BatchHeader): boolean {
  return crc32(buf.subarray(pos + 8, pos + header.batchBytes)) === header.crc;
}

/** The offset after the batch's last record. */
export function batchEndOffset(header: BatchHeader): number {
  return header.baseOffset + header.count;
}
