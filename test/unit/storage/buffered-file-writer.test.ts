import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BufferedFileWriter } from '../../../src/storage/buffered-file-writer.js';
import { intBelow, rng, useTempDirs } from './helpers.js';

describe('BufferedFileWriter', () => {
  const tempDir = useTempDirs();

  it('writes an empty file without allocating a buffer', async () => {
    const dir = await tempDir();
    const path = join(dir, 'empty');
    const w = await BufferedFileWriter.open(path);
    expect(w.buf.length).toBe(0);
    expect(await w.close()).toBe(0);
    expect((await readFile(path)).length).toBe(0);
  });

  it('starts with a small buffer for a small file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'small');
    const w = await BufferedFileWriter.open(path);
    w.writeBytes(Buffer.from('hello'));
    expect(w.buf.length).toBeLessThanOrEqual(64 * 1024);
    expect(await w.close()).toBe(5);
    expect(await readFile(path, 'utf8')).toBe('hello');
  });

  it('writes every byte in order through growing buffers, flushes and records bigger than the buffer', async () => {
    const dir = await tempDir();
    const random = rng(12);
    for (const flushBytes of [64 * 1024, 100 * 1000, 1024 * 1024]) {
      const path = join(dir, `big-${flushBytes}`);
      const w = await BufferedFileWriter.open(path, { flushBytes });
      const chunks: Buffer[] = [];
      let total = 0;
      while (total < 6 * 1024 * 1024) {
        const r = random();
        const size = r < 0.01 ? 2 * flushBytes + intBelow(random, 1000) : r < 0.2 ? intBelow(random, 20000) : intBelow(random, 200);
        const chunk = Buffer.alloc(size, total % 251);
        for (let i = 0; i < size; i += 97) chunk[i] = intBelow(random, 256);
        if (random() < 0.5) {
          w.writeBytes(chunk);
        } else {
          const buf = w.reserve(size);
          chunk.copy(buf, w.pos);
          w.pos += size;
        }
        chunks.push(chunk);
        total += size;
        expect(w.position).toBe(total);
        if (w.needsFlush()) await w.flush();
        else if (random() < 0.01) await w.flush();
      }
      expect(await w.close()).toBe(total);
      expect((await readFile(path)).equals(Buffer.concat(chunks))).toBe(true);
    }
  });
});
