import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { pack, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { openReduceOutput } from '../../../src/worker/reduce-output.js';
import { ViewFileReader } from '../../../src/view/view-file-reader.js';
import { collect, writeView } from '../view/helpers.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const key = (n: number): string => `k${String(n).padStart(6, '0')}`;

describe('the view output of an incremental build', () => {
  const tempDir = useTempDirs();

  it('merges the reduced keys with the base file in key order, over many runs, as an independent merge does', async () => {
    const dir = await tempDir();
    const base = join(dir, 'base.view');
    // The base holds even numbers (value n); the reduce emits multiples of 3 (value 1000).
    const baseEntries = Array.from({ length: 3000 }, (_, i) => [key(i * 2), pack(i * 2)] as const);
    await writeView(base, baseEntries);
    const out = await openReduceOutput('view', join(dir, 'out.view'), { path: base, merge: (_k, b, f) => (b as number) + (f as number) });
    for (let n = 0; n < 6000; n += 3) {
      out.write(key(n), 1000);
      // As the reduce runner does between groups.
      if (out.needsFlush()) await out.flush();
    }
    const summary = await out.close();

    const expected = new Map<string, number>();
    for (let n = 0; n < 6000; n += 2) expected.set(key(n), n);
    for (let n = 0; n < 6000; n += 3) expected.set(key(n), (expected.get(key(n)) ?? 0) + 1000);
    const reader = await ViewFileReader.open(join(dir, 'out.view'));
    const got = (await collect(reader.scan())).map((e) => [e.key, unpack(e.value) as number]);
    await reader.close();
    expect(got).toEqual([...expected].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    // The summary the attempt reports for the master's manifest: the file as written, read back independently.
    const bytes = readFileSync(join(dir, 'out.view'));
    const keys = [...expected.keys()].sort();
    expect(summary).toEqual({ records: expected.size, bytes: bytes.length, checksum: crc32(bytes), firstKey: keys[0], lastKey: keys[keys.length - 1] });
  });

  it('reports the summary of a view file written without a base, and none for a text part file', async () => {
    const dir = await tempDir();
    const view = await openReduceOutput('view', join(dir, 'plain.view'));
    for (let n = 0; n < 500; n++) view.write(key(n), { n });
    const summary = await view.close();
    const bytes = readFileSync(join(dir, 'plain.view'));
    expect(summary).toEqual({ records: 500, bytes: bytes.length, checksum: crc32(bytes), firstKey: key(0), lastKey: key(499) });

    const text = await openReduceOutput('text', join(dir, 'part-00000'));
    text.write('a', 1);
    expect(await text.close()).toBeUndefined();
    expect(readFileSync(join(dir, 'part-00000'), 'utf8')).toBe('a\t1\n');
  });

  it('leaves no file open or written when the base is missing', async () => {
    const dir = await tempDir();
    await expect(openReduceOutput('view', join(dir, 'out.view'), { path: join(dir, 'none.view'), merge: (_k, b) => b })).rejects.toThrow();
    expect(await readdir(dir)).toEqual([]);
  });
});
