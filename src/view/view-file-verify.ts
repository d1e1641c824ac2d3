/**
 * The load-time check of a whole view file: one pass of CRC-32 over its
 * bytes that checks every block (data and index) against its own CRC and
 * yields the file's CRC-32, compared with the manifest's by the caller.
 */
import { crc32 } from 'node:zlib';
import { LaminateError } from '../common/errors.js';
import { CRC32_RESIDUE, Crc32Combiner } from './crc32-combine.js';
import { BLOCK_TRAILER_BYTES } from './view-file-format.js';
import { readFully, shrank, type PositionalFile, type ViewFileIndex } from './view-file-index.js';

/**
 * The file's CRC-32, checking each block on the way. Regions tile the
 * file: data blocks, the index block (each payload and CRC), then footer
 * and tail. Reads of `chunk` bytes alternate between two buffers, so the
 * next read runs in the thread pool while this one is checked. A block
 * followed by its CRC has the CRC CRC32_RESIDUE, so each region's CRC both
 * checks it and combines into the file's (crc32-combine.ts).
 *
 * @throws LaminateError DATA_LOSS naming the file and the first block
 *   that fails its checksum, or a file shorter than its index says.
 */
export async function checkWholeFile(fh: PositionalFile, path: string, index: ViewFileIndex, chunk: number): Promise<number> {
  const { offsets, lengths, footer, size } = index;
  const blocks = offsets.length;
  const regionEnd = (r: number): number =>
    r < blocks ? offsets[r]! + lengths[r]! + BLOCK_TRAILER_BYTES : r === blocks ? footer.indexOffset + footer.indexLength + BLOCK_TRAILER_BYTES : size;
  const regionStart = (r: number): number => (r === 0 ? 0 : regionEnd(r - 1));
  const buffers = [Buffer.allocUnsafe(Math.min(chunk, size)), Buffer.allocUnsafe(Math.min(chunk, size))];
  const combiner = new Crc32Combiner();
  let fileCrc = 0;
  let region = 0;
  let end = regionEnd(0);
  let regionCrc = 0;
  let pos = 0;
  let turn = 0;
  let reading: Promise<number> | undefined = readFully(fh, buffers[0]!.subarray(0, Math.min(chunk, size)), 0);
  while (reading !== undefined) {
    const got: number = await reading;
    const buf = buffers[turn]!;
    if (got !== Math.min(chunk, size - pos)) throw shrank(path);
    const next: number = pos + got;
    turn ^= 1;
    reading = next < size ? readFully(fh, buffers[turn]!.subarray(0, Math.min(chunk, size - next)), next) : undefined;
    // Do not leave a failed read-ahead unhandled if this chunk throws; it is awaited above otherwise.
    reading?.catch(() => undefined);
    let p = 0;
    while (p < got) {
      if (region > blocks) {
        // Footer and tail: checked at open; only the file's CRC goes on.
        fileCrc = crc32(buf.subarray(p, got), fileCrc);
        break;
      }
      const take = Math.min(got - p, end - (pos + p));
      regionCrc = crc32(buf.subarray(p, p + take), regionCrc);
      p += take;
      if (pos + p === end) {
        const start = regionStart(region);
        if (regionCrc !== CRC32_RESIDUE) {
          const what = region < blocks ? `block ${region} at offset ${start}` : `the index block at offset ${start}`;
          throw new LaminateError('DATA_LOSS', `View file '${path}': ${what} (${end - start - BLOCK_TRAILER_BYTES} bytes) fails its checksum`);
        }
        fileCrc = combiner.combine(fileCrc, CRC32_RESIDUE, end - start);
        region++;
        end = regionEnd(region);
        regionCrc = 0;
      }
    }
    pos = next;
  }
  return fileCrc;
}
