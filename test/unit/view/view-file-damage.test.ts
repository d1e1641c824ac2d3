import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import { ViewFileReader } from '../../../src/view/view-file-reader.js';
import { referenceEntries, rejectsWith, rng, useTempDirs, writeView } from './helpers.js';

/** Flips one bit of the byte at `at` (negative: from the end). */
async function flipByte(path: string, at: number): Promise<void> {
  const bytes = await readFile(path);
  const i = at < 0 ? bytes.length + at : at;
  bytes[i] = bytes[i]! ^ 0x10;
  await writeFile(path, bytes);
}

/** Where the index block and the footer start, read from the tail as view-file-format.ts lays it out. */
async function layout(path: string): Promise<{ size: number; indexOffset: number; footerOffset: number }> {
  const bytes = await readFile(path);
  const footerLength = bytes.readUInt32LE(bytes.length - 20);
  const footerOffset = bytes.length - 20 - footerLength;
  return { size: bytes.length, indexOffset: bytes.readUInt32LE(footerOffset + 8), footerOffset };
}

function codeOf(err: unknown): string | undefined {
  return err instanceof LaminateError ? err.code : undefined;
}

describe('view file damage', () => {
  const tempDir = useTempDirs();

  async function sample(name: string): Promise<{ path: string; entries: [string, Buffer][]; checksum: number }> {
    const random = rng(5);
    const entries = referenceEntries(random, 1500, () => 30);
    const path = join(await tempDir(), name);
    const { checksum } = await writeView(path, entries, { blockBytes: 4096 });
    return { path, entries, checksum };
  }

  for (const syncReads of [true, false]) {
    it(`fails Gets and Scans that touch a flipped data block with DATA_LOSS, never a wrong value (${syncReads ? 'blocking reads' : 'thread-pool reads'})`, async () => {
      const { path, entries } = await sample('flip.view');
      const { indexOffset } = await layout(path);
      const at = Math.floor(indexOffset / 2);
      await flipByte(path, at);
      const r = await ViewFileReader.open(path, { syncReads });
      let failed = 0;
      for (const [k, v] of entries) {
        try {
          expect(await r.get(k), k).toEqual(v);
        } catch (err) {
          expect(codeOf(err), String(err)).toBe('DATA_LOSS');
          expect((err as Error).message).toMatch(new RegExp(`^View file '${path}': block \\d+ at offset \\d+ \\(\\d+ bytes\\) fails its checksum$`));
          failed++;
        }
      }
      // One 4 KiB block's worth of keys, and only those.
      expect(failed).toBeGreaterThan(10);
      expect(failed).toBeLessThan(200);

      const seen: [string, Buffer][] = [];
      let caught: unknown;
      try {
        for await (const e of r.scan()) seen.push([e.key, Buffer.from(e.value)]);
      } catch (err) {
        caught = err;
      }
      expect(codeOf(caught)).toBe('DATA_LOSS');
      expect(seen.length).toBeGreaterThan(0);
      expect(seen).toEqual(entries.slice(0, seen.length));
      expect(seen.length + failed).toBeLessThanOrEqual(entries.length);

      await rejectsWith(r.multiGet(entries.map(([k]) => k)), 'DATA_LOSS', /fails its checksum/);
      await r.close();
    });
  }

  it('finds a flipped data block with verify(), naming the file and the block offset', async () => {
    const { path } = await sample('verify.view');
    await flipByte(path, 10);
    const r = await ViewFileReader.open(path);
    await rejectsWith(r.verify(), 'DATA_LOSS', new RegExp(`^View file '${path}': block 0 at offset 0 \\(\\d+ bytes\\) fails its checksum$`));
    // Small reads, so that the damaged block spans several of them.
    await rejectsWith(r.verify({ chunkBytes: 4096 }), 'DATA_LOSS', /block 0 at offset 0/);
    await r.close();
  });

  it('verifies the whole file in one pass, in any chunk size, and refuses a checksum not its own', async () => {
    const { path, checksum } = await sample('whole.view');
    const r = await ViewFileReader.open(path);
    for (const chunkBytes of [4096, 5000, 65536, 1 << 20]) {
      expect(await r.verify({ checksum, chunkBytes })).toEqual({ checksum, bytes: r.bytes });
    }
    await rejectsWith(r.verify({ checksum: (checksum + 1) % 2 ** 32 }), 'DATA_LOSS', /is not the file the manifest names/);
    await rejectsWith(r.verify({ checksum: -1 }), 'INVALID_ARGUMENT', /CRC-32/);
    await r.close();
  });

  it('refuses a truncated file at open, naming it', async () => {
    const { path } = await sample('cut.view');
    const { size, indexOffset, footerOffset } = await layout(path);
    const original = await readFile(path);
    for (const length of [0, 5, 19, 20, 100, indexOffset, indexOffset + 3, footerOffset, size - 20, size - 1]) {
      await writeFile(path, original);
      await truncate(path, length);
      let caught: unknown;
      try {
        const r = await ViewFileReader.open(path);
        await r.close();
      } catch (err) {
        caught = err;
      }
      expect(codeOf(caught), `truncated to ${length}: ${String(caught)}`).toBe('DATA_LOSS');
      expect((caught as Error).message).toContain(`View file '${path}'`);
    }
    await writeFile(path, Buffer.concat([original, Buffer.from('more')]));
    await rejectsWith(ViewFileReader.open(path), 'DATA_LOSS', /does not end with the view file magic/);
    await rejectsWith(ViewFileReader.open(join(path, '..', 'missing.view')), 'NOT_FOUND', /missing\.view' does not exist/);
  });

  it('refuses a flipped byte anywhere in the footer, tail or index at open', async () => {
    const { path } = await sample('footer.view');
    const { size, indexOffset } = await layout(path);
    const original = await readFile(path);
    for (let at = indexOffset; at < size; at++) {
      await writeFile(path, original);
      await flipByte(path, at);
      let caught: unknown;
      try {
        const r = await ViewFileReader.open(path);
        await r.close();
      } catch (err) {
        caught = err;
      }
      // The version field says which version is unreadable; everything else is damage.
      const expected = at >= size - 16 && at < size - 12 ? 'FAILED_PRECONDITION' : 'DATA_LOSS';
      expect(codeOf(caught), `byte ${at} of ${size}: ${String(caught)}`).toBe(expected);
      expect((caught as Error).message).toContain(`View file '${path}'`);
    }
  });
});
