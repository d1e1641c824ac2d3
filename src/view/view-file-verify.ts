/**
 * The load-time check of a whole view file: the CRC-32 of its bytes,
 * compared with the manifest's, and (without one, or when it differs) one
 * pass that checks every block (data and index) against its own CRC and
 * names the first damaged one.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import { LaminateError } from '../common/errors.js';
import { CRC32_RESIDUE, Crc32Combiner } from './crc32-combine.js';
import { BLOCK_TRAILER_BYTES } from './view-file-format.js';
import { readFully, readFullySync, shrank, type PositionalFile, type ViewFileIndex } from './view-file-index.js';

/**
 * Bytes checked with blocking reads between two turns of the event loop
 * (some 1 to 2 ms of work here), so that a node verifying a new version
 * keeps answering the requests of the versions it serves.
 */
const SYNC_SLICE_BYTES = 4 * 1024 * 1024;

/**
 * The CRC state of one pass: where the current region (a block and its
 * CRC, or the footer and tail) ends, its CRC so far, and the file's.
 * Regions tile the file: data blocks, the index block (each payload and
 * CRC), then footer and tail. A block followed by its CRC has the CRC
 * CRC32_RESIDUE, so each region's CRC both checks it and combines into the
 * file's (crc32-combine.ts).
 */
class WholeFileCrc {
  fileCrc = 0;
  private region = 0;
  private start = 0;
  private end: number;
  private regionCrc = 0;
  private readonly combiner = new Crc32Combiner();
  private readonly blocks: number;

  constructor(private readonly index: ViewFileIndex, private readonly path: string) {
    this.blocks = index.offsets.length;
    this.end = this.regionEnd(0);
  }

  private regionEnd(r: number): number {
    const { offsets, lengths, footer, size } = this.index;
    if (r < this.blocks) return offsets[r]! + lengths[r]! + BLOCK_TRAILER_BYTES;
    return r === this.blocks ? footer.indexOffset + footer.indexLength + BLOCK_TRAILER_BYTES : size;
  }

  /**
   * Takes `buf[0, got)`, the file's bytes from `pos`. One crc32 call per
   * region the bytes touch (a subarray each: zlib.crc32 takes no range).
   *
   * @throws LaminateError DATA_LOSS naming the first block that fails its checksum.
   */
  update(buf: Buffer, got: number, pos: number): void {
    let p = 0;
    while (p < got) {
      if (this.region > this.blocks) {
        // Footer and tail: checked at open; only the file's CRC goes on.
        this.fileCrc = crc32(p === 0 && got === buf.length ? buf : buf.subarray(p, got), this.fileCrc);
        return;
      }
      const take = Math.min(got - p, this.end - (pos + p));
      this.regionCrc = crc32(buf.subarray(p, p + take), this.regionCrc);
      p += take;
      if (pos + p === this.end) {
        if (this.regionCrc !== CRC32_RESIDUE) {
          const what = this.region < this.blocks ? `block ${this.region} at offset ${this.start}` : `the index block at offset ${this.start}`;
          throw new LaminateError('DATA_LOSS', `View file '${this.path}': ${what} (${this.end - this.start - BLOCK_TRAILER_BYTES} bytes) fails its checksum`);
        }
        this.fileCrc = this.combiner.combine(this.fileCrc, CRC32_RESIDUE, this.end - this.start);
        this.region++;
        this.start = this.end;
        this.end = this.regionEnd(this.region);
        this.regionCrc = 0;
      }
    }
  }
}

/**
 * The file's CRC-32, checking each block on the way, in reads of `chunk`
 * bytes.
 *
 * With `o.expected` (the manifest's CRC-32 of the file), one crc32 call per
 * chunk computes the file's CRC, and the blocks are checked only when it
 * differs (a second pass, naming the first damaged block): a file whose
 * CRC-32 is the one its writer computed over the bytes it wrote holds
 * those bytes, every block with the CRC the writer gave it, so a pass that
 * checks each block against its own CRC and combines them (two crc32 calls
 * and a CRC combination per 16 KiB block, in code still cold in a node that
 * just started: a load of a 107.6 MB version took 105-120 ms of CPU with
 * it, 78-103 without, bench/README.md, serving) finds nothing the file's
 * CRC does not. The blocks are checked again as they are read (checkBlock),
 * so a copy damaged after load still fails its reads, never answering a
 * wrong value. Without `o.expected`, every block is checked in the one pass.
 *
 * A local file (one with a descriptor) is read with blocking preads into
 * one buffer, turning the event loop every SYNC_SLICE_BYTES: the bytes are
 * in the page cache (just copied, or written by the build), where a
 * thread-pool read per chunk cost more CPU (a promise, a wake-up of a pool
 * thread, its bytes landing in another core's cache) than the copy it
 * overlapped. A file in an object store is read with positioned reads
 * alternating between two buffers, the next read running while this one is
 * checked.
 *
 * `o.sliceBytes`: bytes read with blocking reads between two turns of the
 * event loop (tests make it small); `o.expected`: the file's CRC-32 as the
 * manifest records it.
 *
 * @throws LaminateError DATA_LOSS naming the file and the first block
 *   that fails its checksum, or a file shorter than its index says.
 */
export async function checkWholeFile(fh: PositionalFile, path: string, index: ViewFileIndex, chunk: number, o: { readonly sliceBytes?: number; readonly expected?: number } = {}): Promise<number> {
  const sliceBytes = o.sliceBytes ?? SYNC_SLICE_BYTES;
  const expected = o.expected;
  if (expected !== undefined) {
    let fileCrc = 0;
    await readWholeFile(fh, path, index.size, chunk, sliceBytes, (buf, got) => {
      fileCrc = crc32(got === buf.length ? buf : buf.subarray(0, got), fileCrc);
    });
    if (fileCrc === expected) return fileCrc;
  }
  const crc = new WholeFileCrc(index, path);
  await readWholeFile(fh, path, index.size, chunk, sliceBytes, (buf, got, pos) => crc.update(buf, got, pos));
  return crc.fileCrc;
}

/** Hands `take` the file's bytes in order, `chunk` at a time (its buffer is reused after take returns); how, see checkWholeFile. */
async function readWholeFile(fh: PositionalFile, path: string, size: number, chunk: number, sliceBytes: number, take: (buf: Buffer, got: number, pos: number) => void): Promise<void> {
  const first = Math.min(chunk, size);
  if (fh.fd !== undefined) {
    const fd = fh.fd;
    const buf = Buffer.allocUnsafe(first);
    let pos = 0;
    let sliceEnd = sliceBytes;
    while (pos < size) {
      const want = Math.min(chunk, size - pos);
      const got = readFullySync(fd, want === buf.length ? buf : buf.subarray(0, want), pos);
      if (got !== want) throw shrank(path);
      take(buf, got, pos);
      pos += got;
      if (pos >= sliceEnd && pos < size) {
        sliceEnd = pos + sliceBytes;
        await yieldToLoop();
      }
    }
    return;
  }
  const buffers = [Buffer.allocUnsafe(first), Buffer.allocUnsafe(first)];
  let pos = 0;
  let turn = 0;
  let reading: Promise<number> | undefined = readFully(fh, buffers[0]!.subarray(0, first), 0);
  while (reading !== undefined) {
    const got: number = await reading;
    const buf = buffers[turn]!;
    if (got !== Math.min(chunk, size - pos)) throw shrank(path);
    const next: number = pos + got;
    turn ^= 1;
    reading = next < size ? readFully(fh, buffers[turn]!.subarray(0, Math.min(chunk, size - next)), next) : undefined;
    // Do not leave a failed read-ahead unhandled if this chunk throws; it is awaited above otherwise.
    reading?.catch(() => undefined);
    take(buf, got, pos);
    pos = next;
  }
}
