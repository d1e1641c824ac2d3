import { describe, expect, it } from 'vitest';
import { ViewFileReader, type ViewEntry } from '../../../src/view/view-file-reader.js';
import { filesForScan } from '../../../src/view/view-manifest.js';
import { mergeScanBatches, mergeScans } from '../../../src/view/view-merge.js';
import { byUtf8, collect, partitionedVersion, referenceEntries, rejectsWith, rng, useTempDirs } from './helpers.js';

const pairs = (es: readonly ViewEntry[]): [string, Buffer][] => es.map((e) => [e.key, Buffer.from(e.value)]);

/** A source yielding `keys` in batches of random sizes, empty ones included; `ended` once it ran to its end or was returned (or never started). */
function source(keys: readonly string[], random: () => number): AsyncGenerator<ViewEntry[]> & { ended: () => boolean } {
  let started = false;
  let returned = false;
  async function* gen(): AsyncGenerator<ViewEntry[]> {
    started = true;
    try {
      let i = 0;
      while (i < keys.length) {
        const n = Math.floor(random() * 5);
        yield keys.slice(i, i + n).map((key) => ({ key, value: Buffer.from(key) }));
        i += n;
      }
    } finally {
      returned = true;
    }
  }
  return Object.assign(gen(), { ended: () => returned || !started });
}

describe('merged scans', () => {
  const tempDir = useTempDirs();

  it('merges the scans of every file of a version into key order, with limit and bounds', async () => {
    const random = rng(4);
    const entries = referenceEntries(random, 2000, () => 6);
    const { manifest, paths } = await partitionedVersion(await tempDir(), entries, 3);
    const readers = await Promise.all(paths.map((p) => ViewFileReader.open(p)));
    expect(pairs(await collect(mergeScans(readers.map((r) => r.scanBatches()))))).toEqual(entries);
    expect(pairs(await collect(mergeScans(readers.map((r) => r.scanBatches()), 25)))).toEqual(entries.slice(0, 25));
    const inRange = entries.filter(([k]) => k.startsWith('page/1'));
    const chosen = filesForScan(manifest, { prefix: 'page/1' });
    expect(pairs(await collect(mergeScans(chosen.map((f) => readers[f.partition]!.scanBatches({ prefix: 'page/1' })))))).toEqual(inRange);
    // A merge broken off returns its sources: the files then close without force.
    for await (const e of mergeScans(readers.map((r) => r.scanBatches()))) {
      expect(e.key).toBe(entries[0]![0]);
      break;
    }
    await Promise.all(readers.map((r) => r.close()));
  });

  it('yields batches of the size asked, whatever the sources\' batches, and returns every source at the end', async () => {
    const random = rng(8);
    const keys = referenceEntries(random, 500, () => 0).map(([k]) => k);
    for (const [count, batchSize, limit] of [[1, 7, undefined], [3, 1, undefined], [4, 100, 333], [6, 64, 1], [2, 1024, 0]] as const) {
      const parts: string[][] = Array.from({ length: count }, () => []);
      for (const k of keys) parts[Math.floor(random() * count)]!.push(k);
      const sources = parts.map((p) => source(p, random));
      const batches = await collect(mergeScanBatches(sources, limit === undefined ? { batchSize } : { batchSize, limit }));
      const want = limit === undefined ? keys : keys.slice(0, limit);
      expect(batches.flat().map((e) => e.key)).toEqual(want);
      batches.slice(0, -1).forEach((b) => expect(b).toHaveLength(batchSize));
      for (const s of sources) expect(s.ended()).toBe(true);
    }
    const ordered = [...keys].sort(byUtf8);
    expect(ordered).toEqual(keys);
  });

  it('refuses a key found in two sources, or a source out of order', async () => {
    const random = rng(9);
    await rejectsWith(collect(mergeScans([source(['a', 'c'], random), source(['b', 'c'], random)])), 'DATA_LOSS', /"c" after "c"/);
    await rejectsWith(collect(mergeScans([source(['b', 'a'], random)])), 'DATA_LOSS', /"a" after "b"/);
    expect((await collect(mergeScans([source([], random), source(['b'], random)]))).map((e) => e.key)).toEqual(['b']);
    expect(await collect(mergeScans([]))).toEqual([]);
  });
});
