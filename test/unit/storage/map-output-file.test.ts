import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readIndex, readPartitionChunks, writeIndex } from '../../../src/storage/map-output-file.js';
import { rejectsWith, useTempDirs } from './helpers.js';

async function collect(iterable: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of iterable) chunks.push(chunk);
  return chunks;
}

describe('map output files', () => {
  const tempDir = useTempDirs();

  it('reads back the partitions its index footer was written with, after the data', async () => {
    const dir = await tempDir();
    const partitions = [
      { offset: 0, length: 10, records: 2 },
      { offset: 10, length: 0, records: 0 },
      { offset: 10, length: 2 ** 40, records: 2 ** 35 + 1 },
    ];
    const path = join(dir, 'a.out');
    const data = Buffer.from('0123456789');
    await writeFile(path, data);
    writeIndex(path, partitions);
    expect(await readIndex(path)).toEqual(partitions);
    // The data comes first, untouched.
    expect((await readFile(path)).subarray(0, 10)).toEqual(data);
  });

  it('refuses a missing file and one without an index footer', async () => {
    const dir = await tempDir();
    await rejectsWith(readIndex(join(dir, 'none.out')), 'NOT_FOUND');
    await writeFile(join(dir, 'bad.out'), 'not an index at all');
    await rejectsWith(readIndex(join(dir, 'bad.out')), 'INTERNAL', /Expected a map output index footer/);
    await writeFile(join(dir, 'short.out'), 'LMI');
    await rejectsWith(readIndex(join(dir, 'short.out')), 'INTERNAL', /without one/);
  });

  it('streams exactly the bytes of one partition in bounded chunks', async () => {
    const dir = await tempDir();
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 256));
    const path = join(dir, 'file.out');
    await writeFile(path, data);
    const chunks = await collect(readPartitionChunks(path, { offset: 123, length: 4000, records: 1 }, 1024));
    expect(chunks.map((c) => c.length)).toEqual([1024, 1024, 1024, 928]);
    expect(Buffer.concat(chunks).equals(data.subarray(123, 4123))).toBe(true);
    expect(await collect(readPartitionChunks(path, { offset: 50, length: 0, records: 0 }))).toEqual([]);
  });

  it('refuses a partition that runs past the end of the file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'short.out');
    await writeFile(path, Buffer.alloc(100));
    await rejectsWith(collect(readPartitionChunks(path, { offset: 50, length: 100, records: 1 }, 30)), 'INTERNAL', /got the end of the file at 100/);
  });
});
