/**
 * The file of one finished map attempt: every partition's sorted records back
 * to back, then an index footer saying where each partition is (as Parquet
 * keeps its footer). One file, not two: creating a file costs the most of a
 * short task's disk work. The shuffle service streams partitions from it.
 */
import { appendFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { LaminateError } from '../common/errors.js';

import type { PartitionInfo } from '../common/partition-info.js';

export type { PartitionInfo };

/** A finished map attempt's output. */
export interface MapOutput {
  /** The data file; its index is the footer of the same file. */
  readonly dataPath: string;
  /** One entry per reducer, by partition number. */
  readonly partitions: readonly PartitionInfo[];
}

/**
 * The name of map attempt `name`'s output file in its folder: the collector
 * writes it, a node's shuffle service finds it by it.
 */
export function mapOutputFileName(name: string): string {
  return `${name}.out`;
}

// Footer layout, after the last partition: per partition three float64 LE
// (offset, length, records), exact below 2^53; then uint32 LE partition
// count; then the magic 'LMIX'.
const MAGIC = 0x58494d4c; // 'LMIX' read as a little-endian uint32
const TRAILER = 8;
const ENTRY = 24;

/**
 * Appends the index footer to a data file whose partitions are all written.
 * Called once per map attempt by the collector, synchronously (a container
 * runs one attempt at a time, so nothing else waits). Not to be called twice.
 */
export function writeIndex(dataPath: string, partitions: readonly PartitionInfo[]): void {
  const buf = Buffer.alloc(ENTRY * partitions.length + TRAILER);
  partitions.forEach((p, i) => {
    const at = ENTRY * i;
    buf.writeDoubleLE(p.offset, at);
    buf.writeDoubleLE(p.length, at + 8);
    buf.writeDoubleLE(p.records, at + 16);
  });
  buf.writeUInt32LE(partitions.length, ENTRY * partitions.length);
  buf.writeUInt32LE(MAGIC, ENTRY * partitions.length + 4);
  appendFileSync(dataPath, buf);
}

/**
 * Reads the index footer of a data file written by the collector. Pure read;
 * safe to call any number of times (cache the result: it never changes).
 *
 * @throws LaminateError NOT_FOUND when the file is missing, INTERNAL when it
 *   has no index footer.
 */
export async function readIndex(dataPath: string): Promise<PartitionInfo[]> {
  let fh;
  try {
    fh = await open(dataPath, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new LaminateError('NOT_FOUND', `Map output '${dataPath}' does not exist`, { cause: err });
    }
    throw err;
  }
  try {
    const { size } = await fh.stat();
    const trailer = Buffer.alloc(TRAILER);
    if (size < TRAILER || (await fh.read(trailer, 0, TRAILER, size - TRAILER)).bytesRead !== TRAILER || trailer.readUInt32LE(4) !== MAGIC) {
      throw new LaminateError('INTERNAL', `Expected a map output index footer at the end of '${dataPath}', got ${size} bytes without one`);
    }
    const count = trailer.readUInt32LE(0);
    const footer = ENTRY * count + TRAILER;
    if (footer > size) {
      throw new LaminateError('INTERNAL', `Expected ${footer} footer bytes for ${count} partitions in '${dataPath}', got a file of ${size}`);
    }
    const buf = Buffer.alloc(ENTRY * count);
    await fh.read(buf, 0, buf.length, size - footer);
    const partitions: PartitionInfo[] = [];
    for (let i = 0; i < count; i++) {
      const at = ENTRY * i;
      partitions.push({ offset: buf.readDoubleLE(at), length: buf.readDoubleLE(at + 8), records: buf.readDoubleLE(at + 16) });
    }
    return partitions;
  } finally {
    await fh.close();
  }
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
