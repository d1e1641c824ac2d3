import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr';
import { describe, expect, it, vi } from 'vitest';
import { hll } from '../../../src/api/monoids.js';
import { silentLogger } from '../../../src/common/logger.js';
import type { ScanQuery } from '../../../src/common/serving-shapes.js';
import { encodeKeyPrefix, encodeViewKey } from '../../../src/common/view-key.js';
import { packEntries, unpackEntries } from '../../../src/protocol/packed-entries.js';
import { createQueryHandlers } from '../../../src/serving/query-handlers.js';
import { RowCache } from '../../../src/serving/row-cache.js';
import { VersionSet } from '../../../src/serving/version-set.js';
import { BlockCache } from '../../../src/view/block-cache.js';
import { versionDir } from '../../../src/view/view-version-dir.js';
import { byUtf8, collect, openVersion, rng, useTempDirs, writeVersion } from './helpers.js';

const tempDir = useTempDirs();
const log = silentLogger();

/** A reference map of engine keys: strings with shared prefixes, odd characters, and tuples. */
function referenceMap(seed: number, n: number): Map<string, number> {
  const random = rng(seed);
  const map = new Map<string, number>();
  const words = ['page', 'user', 'pa', 'p\u00e9', '\u{1f600}', 'zz', '[x'];
  while (map.size < n) {
    const w = words[Math.floor(random() * words.length)]!;
    const i = Math.floor(random() * 5000);
    const key = random() < 0.5 ? `${w}/${i}` : encodeViewKey([w, i - 2500]);
    map.set(key, Math.floor(random() * 1e6));
  }
  return map;
}

/** The reference scan: the map's keys sorted by UTF-8 bytes, filtered plainly. */
function referenceScan(map: Map<string, number>, q: { prefix?: string; from?: string; to?: string; limit?: number }): Array<[string, number]> {
  const sorted = [...map].sort((a, b) => byUtf8(a[0], b[0]));
  const inRange = sorted.filter(([k]) => (q.prefix === undefined || Buffer.from(k).subarray(0, Buffer.byteLength(q.prefix)).equals(Buffer.from(q.prefix)))
    && (q.from === undefined || byUtf8(k, q.from) >= 0) && (q.to === undefined || byUtf8(k, q.to) < 0));
  return q.limit === undefined ? inRange : inRange.slice(0, q.limit);
}

async function served(map: ReadonlyMap<string, unknown>, o: { merge?: string; partitions?: number; blockBytes?: number } = {}): Promise<{ set: VersionSet; root: string }> {
  const root = await tempDir();
  await writeVersion(root, { view: 'v', version: 4, entries: map, partitions: o.partitions ?? 4, cut: [5, 6, 7], blockBytes: o.blockBytes ?? 4096 });
  const set = new VersionSet();
  set.add(await openVersion(root, 'v', 4, { merge: o.merge ?? 'sum' }));
  set.setCurrent('v', 4);
  return { set, root };
}

describe('query handlers', () => {
  it('Get and MultiGet answer every key as the reference map does, in the order asked, found or not', async () => {
    const map = referenceMap(1, 3000);
    const { set } = await served(map);
    const q = createQueryHandlers(set, { log });
    const random = rng(2);
    const known = [...map.keys()];
    const asked = Array.from({ length: 500 }, () => (random() < 0.7 ? known[Math.floor(random() * known.length)]! : `absent/${Math.floor(random() * 1e6)}`));
    asked.push(asked[0]!, '', '\u0000', '\u{10ffff}'); // a repeat, and keys at the ends of the order
    const a = await q.get({ view: 'v', keys: asked });
    expect(a.coverage).toEqual({ version: 4, cut: [5, 6, 7] });
    expect(a.entries.map((e) => e.key)).toEqual(asked);
    expect(a.entries.map((e) => (e.found ? unpack(e.value as Buffer) : undefined))).toEqual(asked.map((k) => map.get(k)));
    expect(a.entries.map((e) => e.found)).toEqual(asked.map((k) => map.has(k)));
    for (const k of asked.slice(0, 50)) {
      const one = await q.get({ view: 'v', keys: [k] });
      expect(one.entries[0]!.found ? unpack(one.entries[0]!.value as Buffer) : undefined).toBe(map.get(k));
    }
    expect((await q.get({ view: 'v', keys: [] })).entries).toEqual([]);
    await set.closeAll();
  });

  it('packs a batch-only Get straight from the blocks: the reference answers, the same bytes as get() packed, and the general way where it must', async () => {
    const map = referenceMap(11, 3000);
    const random = rng(12);
    const known = [...map.keys()];
    const asked = Array.from({ length: 400 }, () => (random() < 0.7 ? known[Math.floor(random() * known.length)]! : `absent/${Math.floor(random() * 1e6)}`));
    asked.push(asked[0]!, '', '\u0000', '\u{10ffff}', 'k'.repeat(5000)); // a repeat, the ends of the order, a key longer than the scratch buffer
    // Local files read with a blocking pread (the direct way), files read in the thread pool as an object store's
    // are with no cache (the general way, every time), and with a cache (the general way until the blocks are cached).
    for (const [syncReads, cacheBytes] of [[true, 0], [false, 0], [false, 64 * 1024 * 1024]] as const) {
      const root = await tempDir();
      await writeVersion(root, { view: 'v', version: 4, entries: map, partitions: 4, cut: [5, 6, 7], blockBytes: 4096 });
      const set = new VersionSet();
      const version = await openVersion(root, 'v', 4, { syncReads, cache: new BlockCache(cacheBytes) });
      set.add(version);
      set.setCurrent('v', 4);
      const q = createQueryHandlers(set, { log });
      // Which way a Get went: the general way makes an answer per key (LoadedVersion.answer), the direct way only per key not found.
      const answers = vi.spyOn(version, 'answer');
      for (const keys of [asked, [asked[1]!], [], asked.slice(0, 100)]) {
        const p = await q.getPacked({ view: 'v', keys });
        expect(p.coverage).toEqual({ version: 4, cut: [5, 6, 7] });
        const entries = unpackEntries(p.packed);
        expect(entries.map((e) => e.key)).toEqual(keys);
        expect(entries.map((e) => e.found)).toEqual(keys.map((k) => map.has(k)));
        expect(entries.map((e) => (e.found ? unpack(Buffer.from(e.value)) : undefined))).toEqual(keys.map((k) => map.get(k)));
        expect(p.packed.equals(packEntries((await q.get({ view: 'v', keys })).entries))).toBe(true);
      }
      const found = asked.filter((k) => map.has(k));
      answers.mockClear();
      await q.getPacked({ view: 'v', keys: found });
      expect(answers.mock.calls.length, `syncReads ${syncReads}, cache ${cacheBytes}`).toBe(syncReads || cacheBytes > 0 ? 0 : found.length);
      await set.closeAll();
    }
    // A view whose answers are not its stored values goes the general way, presented.
    const counts = new Map([['a', [['x', 2]]], ['b', [['y', 1], ['z', 5]]]]);
    const top = await served(counts, { merge: 'topK(1)', partitions: 2 });
    const got = unpackEntries((await createQueryHandlers(top.set, { log }).getPacked({ view: 'v', keys: ['b', 'c', 'a'] })).packed);
    expect(got.map((e) => [e.key, e.found, e.found ? unpack(Buffer.from(e.value)) : undefined])).toEqual([['b', true, [{ item: 'z', count: 5 }]], ['c', false, undefined], ['a', true, [{ item: 'x', count: 2 }]]]);
    await top.set.closeAll();
    // What get() refuses, getPacked() refuses; what it answers, getPacked() answers.
    const { set } = await served(new Map([['a', 1], ['c', 2]]), { partitions: 1 });
    const q = createQueryHandlers(set, { log, maxGetKeys: 10 });
    await expect(q.getPacked({ view: 'other', keys: ['a'] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(q.getPacked({ view: 'v', keys: ['a'], version: 3 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(q.getPacked({ view: 'v', keys: Array.from({ length: 11 }, (_, i) => `k${i}`) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    // A key with a lone surrogate: refused where a file may hold it, answered not found where none can (past the last key).
    const inRange = ['a', 'b\ud800', 'c'];
    await expect(q.get({ view: 'v', keys: inRange })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/lone surrogate/) as unknown });
    await expect(q.getPacked({ view: 'v', keys: inRange })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/lone surrogate/) as unknown });
    const outside = ['a', 'x\ud800'];
    expect((await q.getPacked({ view: 'v', keys: outside })).packed.equals(packEntries((await q.get({ view: 'v', keys: outside })).entries))).toBe(true);
    // The scratch state is left clean by a refused Get: the next answers only its own keys.
    expect(unpackEntries((await q.getPacked({ view: 'v', keys: ['a'] })).packed).map((e) => e.key)).toEqual(['a']);
    await set.closeAll();
  });

  it('answers through a row cache what the blocks hold, version by version, with the same bytes as without it', async () => {
    // Two versions of one view, the same keys with other values, both loaded: reads of either, again and again
    // (each key is kept on its second read), must each answer its own version's values.
    const v4 = referenceMap(21, 2000);
    const v5 = new Map([...v4].map(([k, x]) => [k, x + 1]));
    const root = await tempDir();
    await writeVersion(root, { view: 'v', version: 4, entries: v4, partitions: 4, cut: [5, 6, 7], blockBytes: 4096 });
    await writeVersion(root, { view: 'v', version: 5, entries: v5, partitions: 4, cut: [8, 9, 10], blockBytes: 4096 });
    const set = new VersionSet();
    set.add(await openVersion(root, 'v', 4));
    set.add(await openVersion(root, 'v', 5));
    set.setCurrent('v', 5);
    const rowCache = new RowCache(64 * 1024); // small: the generations turn many times during the reads
    const cached = createQueryHandlers(set, { log, rowCache });
    const plain = createQueryHandlers(set, { log });
    const random = rng(22);
    const known = [...v4.keys()];
    // A skewed choice: a few keys most of the time, so that many are read twice or more.
    const pick = (): string => (random() < 0.1 ? `absent/${Math.floor(random() * 100)}` : known[Math.floor(known.length * random() ** 3)]!);
    for (let round = 0; round < 60; round++) {
      const keys = Array.from({ length: 100 }, pick);
      const version = random() < 0.5 ? 4 : undefined;
      const reference = version === 4 ? v4 : v5;
      const p = await cached.getPacked({ view: 'v', keys, ...(version !== undefined ? { version } : {}) });
      expect(p.coverage.version).toBe(version ?? 5);
      const entries = unpackEntries(p.packed);
      expect(entries.map((e) => e.key)).toEqual(keys);
      expect(entries.map((e) => (e.found ? unpack(Buffer.from(e.value)) : undefined))).toEqual(keys.map((k) => reference.get(k)));
      expect(p.packed.equals((await plain.getPacked({ view: 'v', keys, ...(version !== undefined ? { version } : {}) })).packed)).toBe(true);
    }
    expect(rowCache.hits).toBeGreaterThan(1000); // the cache answered, not only the blocks
    expect(rowCache.turns).toBeGreaterThan(0);
    await set.closeAll();
    // Blocks read in the thread pool (an object store's, not cached): every Get goes the general way,
    // answered right, and the cache keeps nothing (only a key read from a cached block is offered).
    const pooled = new VersionSet();
    pooled.add(await openVersion(root, 'v', 4, { syncReads: false }));
    pooled.setCurrent('v', 4);
    const poolRows = new RowCache(64 * 1024);
    const p = await createQueryHandlers(pooled, { log, rowCache: poolRows }).getPacked({ view: 'v', keys: known.slice(0, 50) });
    expect(unpackEntries(p.packed).map((e) => unpack(Buffer.from(e.value)))).toEqual(known.slice(0, 50).map((k) => v4.get(k)));
    expect([poolRows.hits, poolRows.entries, poolRows.bytes]).toEqual([0, 0, 0]);
    await pooled.closeAll();
  });

  it('Scan answers the reference order within prefix, from, to and limit, in chunks of tens of KB', async () => {
    const map = referenceMap(3, 4000);
    const { set } = await served(map);
    const q = createQueryHandlers(set, { log });
    const keys = [...map.keys()].sort(byUtf8);
    const cases: Array<Omit<ScanQuery, 'view'>> = [
      {},
      { prefix: 'page/' },
      { prefix: 'pa' },
      { prefix: encodeKeyPrefix(['user']) },
      { prefix: encodeKeyPrefix([]) },
      { from: keys[100]!, to: keys[900]! },
      { from: keys[100]!, to: keys[100]! },
      { from: 'p', limit: 7 },
      { prefix: 'user/', from: 'user/3', to: 'user/7', limit: 50 },
      { prefix: 'nothing' },
      { limit: 0 },
    ];
    for (const c of cases) {
      const chunks = await collect(q.scan({ view: 'v', ...c }));
      expect(chunks.length).toBeGreaterThan(0);
      for (const ch of chunks) expect(ch.coverage).toEqual({ version: 4, cut: [5, 6, 7] });
      const got = chunks.flatMap((ch) => ch.entries.map((e) => [e.key, unpack(e.value as Buffer)]));
      expect(got, JSON.stringify(c)).toEqual(referenceScan(map, c));
      expect(chunks.flatMap((ch) => ch.entries).every((e) => e.found)).toBe(true);
    }
    // 4000 entries of ~15 bytes come in one or two messages, not thousands.
    expect((await collect(q.scan({ view: 'v' }))).length).toBeLessThanOrEqual(2);
    // With small chunks: many, each near the bound.
    const small = await collect(createQueryHandlers(set, { log, scanChunkBytes: 1024 }).scan({ view: 'v' }));
    expect(small.length).toBeGreaterThan(40);
    for (const ch of small.slice(0, -1)) {
      const bytes = ch.entries.reduce((n, e) => n + e.key.length + e.value.length + 8, 0);
      expect(bytes).toBeGreaterThanOrEqual(1024);
      expect(bytes).toBeLessThan(1024 + 100);
    }
    await set.closeAll();
  });

  it('packs a batch-only scan straight from the blocks: the reference entries, in chunks of the bound, for every bound', async () => {
    const map = referenceMap(7, 4000);
    const { set } = await served(map, { blockBytes: 4096 });
    const keys = [...map.keys()].sort(byUtf8);
    const cases: Array<Omit<ScanQuery, 'view'>> = [
      {}, { prefix: 'page/' }, { prefix: encodeKeyPrefix(['user']) }, { from: keys[100]!, to: keys[900]! }, { from: keys[5]!, to: keys[5]! },
      { from: 'p', limit: 7 }, { prefix: 'user/', from: 'user/3', to: 'user/7', limit: 50 }, { prefix: 'nothing' }, { limit: 0 }, { limit: 1 },
    ];
    for (const chunkBytes of [1024, 64 * 1024]) {
      const q = createQueryHandlers(set, { log, scanChunkBytes: chunkBytes });
      for (const c of cases) {
        const chunks = await collect(q.scanPacked({ view: 'v', ...c }));
        expect(chunks.length).toBeGreaterThan(0);
        for (const ch of chunks) expect(ch.coverage).toEqual({ version: 4, cut: [5, 6, 7] });
        const entries = chunks.map((ch) => unpackEntries(ch.packed));
        expect(entries.flat().map((e) => [e.key, unpack(Buffer.from(e.value))]), JSON.stringify(c)).toEqual(referenceScan(map, c));
        expect(entries.flat().every((e) => e.found && e.final === undefined)).toBe(true);
        // Chunks close at the bound (every one but the last); an empty answer is one empty chunk.
        for (const ch of chunks.slice(0, -1)) {
          expect(ch.packed.length).toBeGreaterThanOrEqual(chunkBytes);
          expect(ch.packed.length).toBeLessThan(chunkBytes + 100);
        }
        if (referenceScan(map, c).length === 0) expect(chunks.map((ch) => ch.packed.length)).toEqual([0]);
      }
    }
    // A view whose answers are not its stored values goes the general way, presented.
    const counts = new Map([['a', [['x', 2]]], ['b', [['y', 1], ['z', 5]]]]);
    const top = await served(counts, { merge: 'topK(1)', partitions: 2 });
    const got = (await collect(createQueryHandlers(top.set, { log }).scanPacked({ view: 'v' }))).flatMap((ch) => unpackEntries(ch.packed));
    expect(got.map((e) => [e.key, unpack(Buffer.from(e.value))])).toEqual([['a', [{ item: 'x', count: 2 }]], ['b', [{ item: 'z', count: 5 }]]]);
    await top.set.closeAll();
    await set.closeAll();
  });

  it('lets a packed scan stopped early go: its version closes, and a scan that is aborted ends after its chunk', async () => {
    const map = referenceMap(8, 3000);
    const { set } = await served(map, { blockBytes: 4096 });
    const q = createQueryHandlers(set, { log, scanChunkBytes: 1024 });
    for await (const ch of q.scanPacked({ view: 'v' })) {
      expect(ch.packed.length).toBeGreaterThan(0);
      break;
    }
    const abort = new AbortController();
    const seen: number[] = [];
    for await (const ch of q.scanPacked({ view: 'v' }, abort.signal)) {
      seen.push(unpackEntries(ch.packed).length);
      abort.abort();
    }
    expect(seen.length).toBe(1);
    // closeAll resolves only once no scan holds a file open.
    await set.closeAll();
    // Blocks read through the thread pool (each step may wait): the same entries.
    const root = await tempDir();
    await writeVersion(root, { view: 'v', version: 4, entries: map, partitions: 3, cut: [5, 6, 7], blockBytes: 4096 });
    const pooled = new VersionSet();
    pooled.add(await openVersion(root, 'v', 4, { syncReads: false }));
    pooled.setCurrent('v', 4);
    const all = await collect(createQueryHandlers(pooled, { log, scanChunkBytes: 1024 }).scanPacked({ view: 'v', from: 'p' }));
    expect(all.flatMap((ch) => unpackEntries(ch.packed)).map((e) => [e.key, unpack(Buffer.from(e.value))])).toEqual(referenceScan(map, { from: 'p' }));
    await pooled.closeAll();
  });

  it('presents the values of topK and hll views, and answers sum and custom views with the stored bytes', async () => {
    const random = rng(5);
    const counts = new Map<string, Array<[string, number]>>();
    for (let i = 0; i < 50; i++) {
      const items = Array.from({ length: 1 + Math.floor(random() * 8) }, (_, j) => [`item${j}`, 1 + Math.floor(random() * 5)] as [string, number]);
      counts.set(`k${i}`, items); // topK's accumulator: [item, count] sorted by item
    }
    const top = await served(counts, { merge: 'topK(3)' });
    const a = await createQueryHandlers(top.set, { log }).get({ view: 'v', keys: [...counts.keys()] });
    for (const e of a.entries) {
      // Reference: most frequent first, ties by item, at most 3.
      const expected = [...counts.get(e.key)!].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, 3).map(([item, count]) => ({ item, count }));
      expect(unpack(e.value as Buffer)).toEqual(expected);
    }
    await top.set.closeAll();

    const h = hll(10);
    const sketches = new Map<string, Uint8Array>([['few', h.sumAll!(['a', 'b', 'c'].map((x) => h.lift!(x)))], ['none', h.zero()]]);
    const hv = await served(sketches, { merge: 'hll(10)', partitions: 1 });
    const ha = await createQueryHandlers(hv.set, { log }).get({ view: 'v', keys: ['few', 'none'] });
    expect(ha.entries.map((e) => unpack(e.value as Buffer))).toEqual([3, 0]);
    await hv.set.closeAll();

    const custom = new Map<string, unknown>([['a', { total: 3, seen: ['x', 'y'] }], ['b', [1, 2, 3]]]);
    for (const merge of ['custom', 'myMonoid', 'sum']) {
      const cv = await served(custom, { merge, partitions: 1 });
      const ca = await createQueryHandlers(cv.set, { log }).get({ view: 'v', keys: ['a', 'b'] });
      expect(ca.entries.map((e) => Buffer.from(e.value))).toEqual([pack(custom.get('a')), pack(custom.get('b'))]);
      await cv.set.closeAll();
    }
  });

  it('refuses a value that is not an accumulator of the view\'s built-in merge, rather than answer it wrong', async () => {
    const { set } = await served(new Map([['k', 'not a sketch']]), { merge: 'hll(10)', partitions: 1 });
    await expect(createQueryHandlers(set, { log }).get({ view: 'v', keys: ['k'] })).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION', message: expect.stringMatching(/value of key "k" is not an accumulator of merge 'hll\(10\)'/) as unknown,
    });
    await set.closeAll();
  });

  it('answers NOT_FOUND for an unknown view or version, distinct from a key not found', async () => {
    const { set } = await served(new Map([['a', 1]]));
    const q = createQueryHandlers(set, { log });
    await expect(q.get({ view: 'other', keys: ['a'] })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/View 'other' is not served/) as unknown });
    await expect(q.get({ view: 'v', keys: ['a'], version: 3 })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/no version 3/) as unknown });
    await expect(collect(q.scan({ view: 'v', version: 9 }))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const missing = await q.get({ view: 'v', keys: ['b'], version: 4 });
    expect(missing.entries).toEqual([{ key: 'b', value: Buffer.alloc(0), found: false }]);
    await expect(q.get({ view: 'v', keys: Array.from({ length: 11 }, (_, i) => `k${i}`) }, )).resolves.toBeDefined();
    await expect(createQueryHandlers(set, { log, maxGetKeys: 10 }).get({ view: 'v', keys: Array.from({ length: 11 }, (_, i) => `k${i}`) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await set.closeAll();
  });

  it('fails a read of a block damaged after loading with DATA_LOSS naming the view, version and file, never a wrong value', async () => {
    const map = new Map(Array.from({ length: 2000 }, (_, i) => [`key${String(i).padStart(5, '0')}`, i] as [string, number]));
    const { set, root } = await served(map, { partitions: 1, blockBytes: 4096 });
    // Flip a byte in the first data block (before anything is cached).
    const path = join(versionDir(root, 'v', 4), 'part-00000.view');
    const fh = await open(path, 'r+');
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, 100);
    b[0] = b[0]! ^ 0x20;
    await fh.write(b, 0, 1, 100);
    await fh.close();
    const q = createQueryHandlers(set, { log });
    const expected = { code: 'DATA_LOSS', message: expect.stringMatching(/^View 'v' version 4, file 'part-00000\.view': .*block 0 .*fails its checksum/) as unknown };
    await expect(q.get({ view: 'v', keys: ['key00000'] })).rejects.toMatchObject(expected);
    await expect(q.get({ view: 'v', keys: ['key00000', 'key01999'] })).rejects.toMatchObject(expected);
    await expect(collect(q.scan({ view: 'v' }))).rejects.toMatchObject({ code: 'DATA_LOSS', message: expect.stringMatching(/^View 'v' version 4: .*fails its checksum/) as unknown });
    await expect(collect(q.scanPacked({ view: 'v' }))).rejects.toMatchObject({ code: 'DATA_LOSS', message: expect.stringMatching(/^View 'v' version 4: .*fails its checksum/) as unknown });
    await expect(q.getPacked({ view: 'v', keys: ['key01999', 'key00000'] })).rejects.toMatchObject(expected);
    // Keys in other blocks still read right.
    const far = await q.get({ view: 'v', keys: ['key01999'] });
    expect(unpack(far.entries[0]!.value as Buffer)).toBe(1999);
    await set.closeAll();
  });
});
