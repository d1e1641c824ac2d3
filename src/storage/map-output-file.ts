/**
 * The files of one finished map attempt: `file.out` holds every partition's
 * sorted records back to back, `file.index` says where each partition is.
 * The shuffle service streams partitions from them to reducers.
 */
import { open, rename, writeFile, readFile } from 'node:fs/promises';
import { LaminateError } from '../common/errors.js';

/** Where one partition lies in a map output's data file. */
export interface PartitionInfo {
  /** Byte offset in the data file. */
  readonly offset: number;
  /** Bytes of the partition's records. */
  readonly length: number;
  /** Number of records. */
  readonly records: number;
}

/** A finished map attempt's output. */
export interface MapOutput {
  readonly dataPath: string;
  readonly indexPath: string;
  /** One entry per reducer, by partition number. */
  readonly partitions: readonly PartitionInfo[];
}

// Index layout: 'LMIX', uint32 LE partition count, then per partition three
// float64 LE (offset, length, records): exact for any size below 2^53.
const MAGIC = 0x58494d4c; // 'LMIX' read as a little-endian uint32
const HEADER = 8;
const ENTRY = 24;

/**
 * Writes an index file atomically (a temporary name, then a rename), so a
 * reader never sees half of one. Called once per map attempt by the
 * collector; calling twice rewrites the same file.
 */
export async function writeIndex(indexPath: string, partitions: readonly PartitionInfo[]): Promise<void> {
  const buf = Buffer.alloc(HEADER + ENTRY * partitions.length);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(partitions.length, 4);
  partitions.forEach((p, i) => {
    const at = HEADER + ENTRY * i;
    buf.writeDoubleLE(p.offset, at);
    buf.writeDoubleLE(p.length, at + 8);
    buf.writeDoubleLE(p.records, at + 16);
  });
  const tmp = `${indexPath}.tmp`;
  await writeFile(tmp, buf);
  await rename(tmp, indexPath);
}

/**
 * Reads an index written by writeIndex. Called by the shuffle service when a
 * reducer asks for a partition (cache the result: it never changes). Pure
 * read; safe to call any number of times.
 *
 * @throws LaminateError NOT_FOUND when the file is missing, INTERNAL when it
 *   is not an index.
 */
export async function readIndex(indexPath: string): Promise<PartitionInfo[]> {
  let buf: Buffer;
  try {
    buf = await readFile(indexPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new LaminateError('NOT_FOUND', `Map output index '${indexPath}' does not exist`, { cause: err });
    }
    throw err;
  }
  if (buf.length < HEADER || buf.readUInt32LE(0) !== MAGIC) {
    throw new LaminateError('INTERNAL', `Expected a map output index in '${indexPath}', got ${buf.length} bytes without its header`);
  }
  const count = buf.readUInt32LE(4);
  if (buf.length !== HEADER + ENTRY * count) {
    throw new LaminateError('INTERNAL', `Expected ${HEADER + ENTRY * count} bytes for ${count} partitions in '${indexPath}', got ${buf.length}`);
  }
  const partitions: PartitionInfo[] = [];
  for (let i = 0; i < count; i++) {
    const at = HEADER + ENTRY * i;
    partitions.push({ offset: buf.readDoubleLE(at), length: buf.readDoubleLE(at + 8), records: buf.readDoubleLE(at + 16) });
  }
  return partitions;
}

/**
 * Streams the raw bytes of one partition of a data file in chunks of at most
 * `chunkSize` bytes, each a fresh Buffer the consumer may keep. Called by the
 * shuffle service once per fetch; each iteration opens the file anew, so
 * iterating twice streams the partition twice.
 *
 * @throws LaminateError INTERNAL when the file ends before the partition does.
 */
export async function* readPartitionChunks(dataPath: string, info: PartitionInfo, chunkSize = 256 * 1024): AsyncGenerator<Buffer> {
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a positive integer chunk size, got ${chunkSize}`);
  }
  if (info.length === 0) return;
  const fh = await open(dataPath, 'r');
  try {
    let at = info.offset;
    const end = info.offset + info.length;
    while (at < end) {
      const chunk = Buffer.allocUnsafe(Math.min(chunkSize, end - at));
      let filled = 0;
      while (filled < chunk.length) {
        const { bytesRead } = await fh.read(chunk, filled, chunk.length - filled, at + filled);
        if (bytesRead === 0) {
          throw new LaminateError('INTERNAL', `Expected partition bytes up to offset ${end} of '${dataPath}', got the end of the file at ${at + filled}`);
        }
        filled += bytesRead;
      }
      at += chunk.length;
      yield chunk;
    }
  } finally {
    await fh.close();
  }
}
