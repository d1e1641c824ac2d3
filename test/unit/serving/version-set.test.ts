import { unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import { silentLogger } from '../../../src/common/logger.js';
import { createQueryHandlers } from '../../../src/serving/query-handlers.js';
import { VersionSet } from '../../../src/serving/version-set.js';
import { keyMap, openVersion, useTempDirs, writeVersion } from './helpers.js';

const tempDir = useTempDirs();
const VIEW = 'page-views';

/** A store with versions 1..n of VIEW, 3 files each, every key's value the version number. */
async function store(n: number, keys = 200): Promise<string> {
  const root = await tempDir();
  for (let v = 1; v <= n; v++) await writeVersion(root, { view: VIEW, version: v, entries: keyMap(keys, () => v), partitions: 3, cut: [v * 10, v] });
  return root;
}

async function rejection(p: Promise<unknown>): Promise<LaminateError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(LaminateError);
  return err as LaminateError;
}

describe('VersionSet', () => {
  it('leases the current version, or a pinned one, and refuses unknown views and versions with distinct NOT_FOUND messages', async () => {
    const root = await store(2);
    const set = new VersionSet();
    set.add(await openVersion(root, VIEW, 1));
    set.add(await openVersion(root, VIEW, 2));
    set.setCurrent(VIEW, 2);

    const current = set.acquire(VIEW);
    expect(current.version.version).toBe(2);
    const pinned = set.acquire(VIEW, 1);
    expect(pinned.version.version).toBe(1);
    expect(current.version.holders).toBe(1);
    current.release();
    current.release(); // a second release is ignored
    expect(current.version.holders).toBe(0);
    pinned.release();

    let unknownView: unknown;
    try { set.acquire('nope'); } catch (e) { unknownView = e; }
    expect(unknownView).toMatchObject({ code: 'NOT_FOUND' });
    expect((unknownView as Error).message).toMatch(/View 'nope' is not served by this serving node \(it serves 'page-views'\)/);
    let unknownVersion: unknown;
    try { set.acquire(VIEW, 7); } catch (e) { unknownVersion = e; }
    expect(unknownVersion).toMatchObject({ code: 'NOT_FOUND' });
    expect((unknownVersion as Error).message).toMatch(/has no version 7 on this serving node \(it holds versions 2, 1; current 2\)/);
    expect(set.loaded()).toEqual([{ view: VIEW, version: 2 }, { view: VIEW, version: 1 }]);
    await set.closeAll();
  });

  it('swaps while a request holds the old version: the request keeps reading it, and its files close only once it is released', async () => {
    const root = await store(2);
    const set = new VersionSet();
    const v1 = await openVersion(root, VIEW, 1);
    set.add(v1);
    set.setCurrent(VIEW, 1);
    const held = set.acquire(VIEW);

    const v2 = await openVersion(root, VIEW, 2);
    set.add(v2);
    expect(set.setCurrent(VIEW, 2)).toBe(v1);
    let closed = false;
    const retired = set.remove(VIEW, 1).then(() => { closed = true; });

    // New requests get version 2 at once, and version 1 is gone for them.
    const fresh = set.acquire(VIEW);
    expect(fresh.version).toBe(v2);
    fresh.release();
    expect(() => set.acquire(VIEW, 1)).toThrow(/has no version 1/);
    // The request that held version 1 still reads it, from every file.
    for (let p = 0; p < 3; p++) {
      const first = held.version.manifest.files[p]!.firstKey!;
      const value = await held.version.reader(p).get(first);
      expect(unpack(value!)).toBe(1);
    }
    expect(closed).toBe(false);

    held.release();
    await retired;
    expect(closed).toBe(true);
    const err = await rejection(v1.reader(0).get('k0000'));
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.message).toMatch(/closed/);
    await set.closeAll();
  });

  it('a MultiGet started before a swap answers every key from the version it started on', async () => {
    const root = await store(2, 3000);
    const set = new VersionSet();
    // Reads through the thread pool: the MultiGet is still reading when the swap happens.
    set.add(await openVersion(root, VIEW, 1, { syncReads: false }));
    set.setCurrent(VIEW, 1);
    const handlers = createQueryHandlers(set, { log: silentLogger() });
    const keys = [...keyMap(3000, () => 0).keys()];

    const before = handlers.get({ view: VIEW, keys });
    set.add(await openVersion(root, VIEW, 2, { syncReads: false }));
    set.setCurrent(VIEW, 2);
    let closed = false;
    const retired = set.remove(VIEW, 1).then(() => { closed = true; });
    const after = handlers.get({ view: VIEW, keys });

    const [a, b] = await Promise.all([before, after]);
    expect(a.coverage).toEqual({ version: 1, cut: [10, 1] });
    expect(a.entries.map((e) => unpack(e.value as Buffer))).toEqual(keys.map(() => 1));
    expect(b.coverage).toEqual({ version: 2, cut: [20, 2] });
    expect(b.entries.map((e) => unpack(e.value as Buffer))).toEqual(keys.map(() => 2));
    await retired;
    expect(closed).toBe(true);
    await set.closeAll();
  });

  it('a scan holds its version to its end, across chunks, while versions swap under it', async () => {
    const root = await store(3, 2000);
    const set = new VersionSet();
    for (const v of [1, 2, 3]) set.add(await openVersion(root, VIEW, v, { syncReads: false }));
    set.setCurrent(VIEW, 1);
    const handlers = createQueryHandlers(set, { log: silentLogger(), scanChunkBytes: 512 });
    const it = handlers.scan({ view: VIEW });
    const seen: unknown[] = [];
    let chunks = 0;
    for await (const chunk of it) {
      chunks++;
      seen.push(...chunk.entries.map((e) => unpack(e.value as Buffer)));
      expect(chunk.coverage.version).toBe(1);
      // Swap at every chunk, and let version 1 go after the first.
      set.setCurrent(VIEW, chunks % 2 === 1 ? 2 : 3);
      if (chunks === 1) void set.remove(VIEW, 1);
    }
    expect(chunks).toBeGreaterThan(10);
    expect(seen).toHaveLength(2000);
    expect(new Set(seen)).toEqual(new Set([1]));
    await set.closeAll();
  });

  it('refuses to let the current version go while the view has others; removeView and closeAll let everything go', async () => {
    const root = await store(2);
    const set = new VersionSet();
    set.add(await openVersion(root, VIEW, 1));
    set.add(await openVersion(root, VIEW, 2));
    set.setCurrent(VIEW, 2);
    expect(() => set.remove(VIEW, 2)).toThrow(/it is current/);
    expect(() => set.add(set.current(VIEW)!)).toThrow(/loaded already/);
    const held = set.acquire(VIEW, 1);
    const v1 = held.version;
    const removed = set.removeView(VIEW);
    expect(set.viewNames()).toEqual([]);
    expect(() => set.acquire(VIEW)).toThrow(/not served/);
    expect(v1.retired).toBe(true);
    // Still readable by the request that holds it.
    expect(unpack((await v1.reader(0).get(v1.manifest.files[0]!.firstKey!))!)).toBe(1);
    held.release();
    await removed;
    await expect(v1.reader(0).get('k0000')).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await set.closeAll();
  });
});
