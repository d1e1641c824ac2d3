/**
 * Reads of a segment file's byte range that end where a batch ends, for
 * the batch reader (archive-reader.ts) on a map's host-local reads
 * (src/worker/dataset-reader.ts). A batch then never lies across two
 * chunks, and the reader checks and decodes every chunk in place.
 *
 * Why: the reader must join the bytes of a batch read in two into one
 * buffer, and producers write batches of just over 1 MiB (1 MiB of records
 * and the header: 1,048,660 bytes in the serving benchmark's dataset), so
 * reads of a fixed 1 MiB put nearly every batch across two chunks and the
 * map copied its whole split once more, into fresh memory (the first map
 * attempt of each worker in the serving benchmark, profiled: 0.36 s in
 * Buffer.concat). Measured on one of that benchmark's segments (66 MB,
 * 496,691 records, read and decoded in a fresh process, 3 runs each):
 * 568-601 ms, 687-712 CPU-ms and 21,500 page faults with 1 MiB reads;
 * 476-504 ms, 591-618 CPU-ms and 14,900-16,500 faults aligned.
 */
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { ReadRange } from './archive-reader.js';
import { parseBatchHeader } from './batch-format.js';

/** Options of batchAlignedReads. */
export interface BatchAlignedReadOptions {
  /**
   * Read with a blocking pread on the calling thread rather than through
   * libuv's thread pool. Default true: the reader is a map attempt in a
   * container thread of its own with nothing else to serve, each read
   * awaited before its bytes are decoded, so the pool's round trip only adds
   * a wait (a read that goes to the disk blocks that attempt alone); as for
   * the runs a reducer reads (src/storage/sorted-run.ts, FileRunOptions).
   */
  readonly syncReads?: boolean;
}

/**
 * The bytes [start, end) of the open file `fh`, read `minBytes` or more at
 * a time, in chunks that each end at a batch's end, except the last and
 * except where the bytes are not whole batches (a damaged header, a file
 * shorter than the range: the reader names those).
 * A chunk whose first batch is larger than the read is read again at that
 * batch's size (a read too short for a batch header, at twice its size),
 * and later reads are at least that large: one read too many per larger
 * batch size, no copy. Each chunk is a Buffer of its own: the
 * reader keeps views of it, and decoded binary values are views of it.
 * The bytes past a chunk's last whole batch are read again by the next read
 * (less than one batch per read: up to about twice the file with batches
 * just over half the read size; nearly nothing with batches of one size).
 */
export function batchAlignedReads(fh: FileHandle, minBytes: number, options: BatchAlignedReadOptions = {}): ReadRange {
  const syncReads = options.syncReads ?? true;
  return async function* (_path, start, end) {
    let size = minBytes;
    for (let at = start; at < end;) {
      const want = Math.min(size, end - at);
      const buf = Buffer.allocUnsafe(want);
      const bytesRead = syncReads ? readSync(fh.fd, buf, 0, want, at) : (await fh.read(buf, 0, want, at)).bytesRead;
      // A file shorter than the master said: the batch reader names the offset it ended at (DATA_LOSS).
      if (bytesRead === 0) return;
      let length = bytesRead;
      if (at + bytesRead < end) {
        const whole = wholeBatchesBytes(buf, bytesRead);
        if (whole > 0) length = whole;
        else {
          const first = parseBatchHeader(buf.subarray(0, bytesRead), 0);
          // A first batch larger than this read: read it whole (unless the read was already that large
          // and came back short, which the reader's join handles). A read too small for its header: read more.
          if (typeof first !== 'string' && first.batchBytes > want && bytesRead === want) {
            size = first.batchBytes;
            continue;
          }
          if (first === 'short' && bytesRead === want) {
            size = 2 * want;
            continue;
          }
        }
      }
      at += length;
      yield length === buf.length ? buf : buf.subarray(0, length);
    }
  };
}

/** Bytes of the whole batches at the start of buf[0, length): 0 when the first is not whole or not a batch. */
function wholeBatchesBytes(buf: Buffer, length: number): number {
  const bytes = buf.subarray(0, length);
  let pos = 0;
  for (;;) {
    const header = parseBatchHeader(bytes, pos);
    if (typeof header === 'string' || pos + header.batchBytes > length) return pos;
    pos += header.batchBytes;
  }
}
