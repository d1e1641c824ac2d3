import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BlockBuilder } from '../../../src/view/view-block.js';
import { decodeFooter, decodeTail, encodeFooterAndTail, TAIL_BYTES, type ViewFileFooter } from '../../../src/view/view-file-format.js';
import { ViewFileIndex, type PositionalFile } from '../../../src/view/view-file-index.js';
import { ViewFileReader } from '../../../src/view/view-file-reader.js';
import { checkWholeFile } from '../../../src/view/view-file-verify.js';
import { collect, referenceEntries, rejectsWith, rng, useTempDirs, writeView } from './helpers.js';

/** One index entry as the test handles it: a block's whole last key, its offset and payload length. */
interface IndexEntry {
  key: Buffer;
  offset: number;
  length: number;
  /** Bytes claimed shared with the key before (default: the true common prefix). */
  shared?: number;
}

function readVarint(b: Buffer, p: number): [number, number] {
  let x = 0;
  let scale = 1;
  for (;;) {
    const byte = b[p++]!;
    x += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) return [x, p];
  }
}

function writeVarint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** Decodes an index payload plainly (independently of the reader): entries, prefix-expanded. */
function decodeIndex(payload: Buffer): IndexEntry[] {
  const count = payload.readUInt32LE(payload.length - 4);
  const end = payload.length - 4 - 4 * count;
  const out: IndexEntry[] = [];
  let previous: Buffer = Buffer.alloc(0);
  let p = 0;
  while (p < end) {
    let shared: number;
    let unshared: number;
    let valueLength: number;
    [shared, p] = readVarint(payload, p);
    [unshared, p] = readVarint(payload, p);
    [valueLength, p] = readVarint(payload, p);
    const key = Buffer.concat([previous.subarray(0, shared), payload.subarray(p, p + unshared)]);
    p += unshared;
    const [offset, q] = readVarint(payload, p);
    const [length] = readVarint(payload, q);
    p += valueLength;
    out.push({ key, offset, length });
    previous = key;
  }
  return out;
}

/** The file at `path` with its index rebuilt from `edit(entries, footer)`'s result (CRCs made right). */
async function rewriteIndex(path: string, edit: (entries: IndexEntry[], footer: ViewFileFooter) => { entries: IndexEntry[]; footer?: Partial<ViewFileFooter> }): Promise<void> {
  const bytes = await readFile(path);
  const tail = decodeTail(bytes.subarray(bytes.length - TAIL_BYTES), path);
  const footer = decodeFooter(bytes.subarray(bytes.length - TAIL_BYTES - tail.footerLength), bytes.length, path);
  const edited = edit(decodeIndex(bytes.subarray(footer.indexOffset, footer.indexOffset + footer.indexLength)), footer);
  const builder = new BlockBuilder(16, 4096);
  let previous: Buffer = Buffer.alloc(0);
  for (const e of edited.entries) {
    let shared = 0;
    while (shared < Math.min(previous.length, e.key.length) && previous[shared] === e.key[shared]) shared++;
    builder.add(e.key, e.key.length, e.shared ?? shared, Buffer.from([...writeVarint(e.offset), ...writeVarint(e.length)]));
    previous = e.key;
  }
  const payload = Buffer.from(builder.finish());
  const trailer = Buffer.allocUnsafe(4);
  trailer.writeUInt32LE(crc32(payload));
  const newFooter: ViewFileFooter = { ...footer, indexLength: payload.length, ...edited.footer };
  await writeFile(path, Buffer.concat([bytes.subarray(0, footer.indexOffset), payload, trailer, encodeFooterAndTail(newFooter)]));
}

describe('view file index, checked at open', () => {
  const tempDir = useTempDirs();

  async function sample(): Promise<{ path: string; entries: [string, Buffer][] }> {
    const entries = referenceEntries(rng(11), 2000, () => 40);
    const path = join(await tempDir(), 'index.view');
    await writeView(path, entries, { blockBytes: 4096 });
    return { path, entries };
  }

  it('reads a file whose index was rebuilt unchanged (the rewrite itself is faithful)', async () => {
    const { path, entries } = await sample();
    let blocks = 0;
    await rewriteIndex(path, (e) => {
      blocks = e.length;
      return { entries: e };
    });
    expect(blocks).toBeGreaterThan(20);
    const r = await ViewFileReader.open(path);
    await r.verify();
    expect((await collect(r.scan())).map((e) => [e.key, Buffer.from(e.value)])).toEqual(entries);
    for (const [k, v] of entries.filter((_, i) => i % 37 === 0)) expect(await r.get(k)).toEqual(v);
    await r.close();
  });

  const damaged: [string, (e: IndexEntry[], f: ViewFileFooter) => { entries: IndexEntry[]; footer?: Partial<ViewFileFooter> }, RegExp][] = [
    ['two last keys swapped', (e) => {
      [e[3]!.key, e[4]!.key] = [e[4]!.key, e[3]!.key];
      return { entries: e };
    }, /the last keys of blocks 3 and 4 are not in ascending order/],
    ['a last key repeated', (e) => {
      e[6]!.key = e[5]!.key;
      return { entries: e };
    }, /the last keys of blocks 5 and 6 are not in ascending order/],
    ['a last key that is a prefix of the one before', (e) => {
      e[8]!.key = e[7]!.key.subarray(0, e[7]!.key.length - 1);
      return { entries: e };
    }, /the last keys of blocks 7 and 8 are not in ascending order/],
    ['a block offset one byte off', (e) => {
      e[2]!.offset += 1;
      return { entries: e };
    }, /entry 2 places a block of \d+ bytes at offset \d+, expected one at \d+/],
    ['a block length of 2 bytes', (e) => {
      e[1]!.length = 2;
      return { entries: e };
    }, /entry 1 places a block of 2 bytes/],
    ['an entry sharing more bytes than the key before it has', (e) => {
      e[9]!.shared = e[8]!.key.length + 1;
      return { entries: e };
    }, /entry 9 at \d+ does not fit the block or its key prefix/],
    ['an entry dropped', (e) => ({ entries: e.slice(0, -1) }), /expected \d+ entries \(the footer's block count\), got \d+/],
    ['more entries than the footer counts', (e, f) => ({ entries: e, footer: { blocks: f.blocks - 1 } }), /expected \d+ entries \(the footer's block count\), got more/],
    ["a last key that is not the footer's", (e, f) => ({ entries: e, footer: { lastKey: Buffer.concat([f.lastKey, Buffer.from('x')]) } }), /the last block's last key is not the footer's last key/],
  ];
  for (const [what, edit, message] of damaged) {
    it(`refuses an index with a valid CRC but ${what} (DATA_LOSS, naming the file)`, async () => {
      const { path } = await sample();
      await rewriteIndex(path, edit);
      await rejectsWith(ViewFileReader.open(path), 'DATA_LOSS', new RegExp(`^View file '${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' has a damaged index: ${message.source}`));
    });
  }
});

describe('checkWholeFile, blocking and thread-pool reads', () => {
  const tempDir = useTempDirs();

  it('gives the whole file\'s CRC-32 and names the first damaged block, with or without a descriptor, at any chunk size', async () => {
    const entries = referenceEntries(rng(12), 3000, () => 60);
    const path = join(await tempDir(), 'whole.view');
    await writeView(path, entries, { blockBytes: 4096 });
    const original = await readFile(path);
    const fh = await open(path, 'r');
    try {
      // The same file seen as an object in a store: positioned reads, no descriptor.
      const stored: PositionalFile = { read: (b, o, l, p) => fh.read(b, o, l, p), stat: () => fh.stat(), close: async () => undefined };
      const index = await ViewFileIndex.read(fh, path);
      for (const file of [fh, stored]) {
        for (const chunk of [4096, 5000, 65536, 1 << 20]) expect(await checkWholeFile(file, path, index, chunk)).toBe(crc32(original));
      }
      // Given the expected CRC-32: the same answer, and a file whose CRC differs though every block is whole
      // (a byte of the footer's region changed, or another file) gives its own CRC, which the caller refuses.
      for (const file of [fh, stored]) expect(await checkWholeFile(file, path, index, 65536, { expected: crc32(original) })).toBe(crc32(original));
      expect(await checkWholeFile(fh, path, index, 65536, { expected: crc32(original) ^ 1 })).toBe(crc32(original));
      // Blocking reads let the event loop turn every sliceBytes: a file read in 4 KiB chunks, 16 KiB slices.
      let turns = 0;
      const spin = (): void => {
        turns++;
        if (spinning) setImmediate(spin);
      };
      let spinning = true;
      setImmediate(spin);
      expect(await checkWholeFile(fh, path, index, 4096, { sliceBytes: 16384 })).toBe(crc32(original));
      spinning = false;
      expect(original.length).toBeGreaterThan(10 * 16384);
      expect(turns).toBeGreaterThanOrEqual(Math.floor(original.length / 16384) - 1);
      // Flip a byte in the third data block: both ways fail there, with the same message.
      const damaged = Buffer.from(original);
      const at = index.offsets[2]! + 10;
      damaged[at] = damaged[at]! ^ 0x04;
      await writeFile(path, damaged);
      for (const file of [fh, stored]) {
        for (const chunk of [4096, 1 << 20]) {
          await rejectsWith(checkWholeFile(file, path, index, chunk), 'DATA_LOSS', new RegExp(`: block 2 at offset ${index.offsets[2]} \\(${index.lengths[2]} bytes\\) fails its checksum$`));
          // Given the file's expected CRC-32 (the manifest's), the damage is found by the file's CRC and then named by the blocks' pass.
          await rejectsWith(checkWholeFile(file, path, index, chunk, { expected: crc32(original) }), 'DATA_LOSS', new RegExp(`: block 2 at offset ${index.offsets[2]} \\(${index.lengths[2]} bytes\\) fails its checksum$`));
        }
      }
    } finally {
      await fh.close();
    }
  });
});
