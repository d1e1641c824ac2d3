import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlockCache } from '../../../src/view/block-cache.js';
import { Block, BlockBuilder } from '../../../src/view/view-block.js';
import { ViewFileReader } from '../../../src/view/view-file-reader.js';
import { collect, rejectsWith, throwsWith, useTempDirs, writeView } from './helpers.js';

/** 2000 entries `k0000`..`k1999` with 50-byte values, in blocks of 4 KiB (about 30). */
function numbered(): [string, Buffer][] {
  return Array.from({ length: 2000 }, (_, i) => [`k${String(i).padStart(4, '0')}`, Buffer.alloc(50, i % 251)]);
}

/** A block of `bytes` bytes (13 to 139), for cache tests: one entry of key 'k'. */
function blockOf(bytes: number): Block {
  const b = new BlockBuilder(16, 64);
  // 3 one-byte varints, the key, the value, one restart offset and the count.
  b.add(Buffer.from('k'), 1, 0, Buffer.alloc(bytes - 12));
  const block = Block.parse(Buffer.from(b.finish()), 'test block');
  expect(block.bytes).toBe(bytes);
  return block;
}

describe('view file reader lifecycle', () => {
  const tempDir = useTempDirs();

  it('refuses every operation after close, and closes twice without complaint', async () => {
    const path = join(await tempDir(), 'a.view');
    await writeView(path, numbered(), { blockBytes: 4096 });
    const r = await ViewFileReader.open(path);
    expect(await r.get('k0001')).toEqual(Buffer.alloc(50, 1));
    await r.close();
    await r.close();
    await rejectsWith(r.get('k0001'), 'FAILED_PRECONDITION', new RegExp(`Cannot get: view file '${path}' is closed`));
    await rejectsWith(r.multiGet(['k0001']), 'FAILED_PRECONDITION', /is closed/);
    await rejectsWith(r.verify(), 'FAILED_PRECONDITION', /is closed/);
    throwsWith(() => r.scan(), 'FAILED_PRECONDITION', /Cannot scan: view file .* is closed/);
  });

  it('lets a scan started before close run to its end, and closes the file after it', async () => {
    const entries = numbered();
    const path = join(await tempDir(), 'b.view');
    await writeView(path, entries, { blockBytes: 4096 });
    const r = await ViewFileReader.open(path);
    const inFlightGet = r.get('k1500');
    const scan = r.scan();
    const first = await scan.next();
    let closed = false;
    const closing = r.close().then(() => {
      closed = true;
    });
    // A scan created after close is refused even though another one runs.
    throwsWith(() => r.scan(), 'FAILED_PRECONDITION', /is closed/);
    expect(await inFlightGet).toEqual(Buffer.alloc(50, 1500 % 251));
    const rest: [string, Buffer][] = [];
    for await (const e of { [Symbol.asyncIterator]: () => scan }) {
      expect(closed).toBe(false);
      rest.push([e.key, Buffer.from(e.value)]);
    }
    expect(first.done).toBe(false);
    expect([[first.value!.key, Buffer.from(first.value!.value)], ...rest]).toEqual(entries);
    await closing;
    expect(closed).toBe(true);
  });

  for (const syncReads of [true, false]) {
    it(`with force, closes at once and fails a running scan at its next block, after the entries it holds (syncReads ${syncReads})`, async () => {
      const entries = numbered();
      const path = join(await tempDir(), 'c.view');
      await writeView(path, entries, { blockBytes: 4096 });
      const r = await ViewFileReader.open(path, { syncReads });
      const scan = r.scan();
      const seen: string[] = [(await scan.next()).value!.key];
      await r.close({ force: true });
      let caught: unknown;
      try {
        for await (const e of { [Symbol.asyncIterator]: () => scan }) seen.push(e.key);
      } catch (err) {
        caught = err;
      }
      await rejectsWith(Promise.reject(caught), 'FAILED_PRECONDITION', /was closed \(forced\) while a scan was reading it/);
      expect(seen).toEqual(entries.slice(0, seen.length).map(([k]) => k));
      expect(seen.length).toBeLessThan(entries.length);
    });
  }

  it('a scan broken off early lets close go ahead', async () => {
    const path = join(await tempDir(), 'd.view');
    await writeView(path, numbered(), { blockBytes: 4096 });
    const r = await ViewFileReader.open(path);
    for await (const e of r.scan({ from: 'k0100' })) {
      expect(e.key).toBe('k0100');
      break;
    }
    await r.close();
  });

  it('keeps a shared cache within its budget, fills it from Gets but not from scans, and empties a closed reader\'s part', async () => {
    const dir = await tempDir();
    const entries = numbered();
    await writeView(join(dir, 'x.view'), entries, { blockBytes: 4096 });
    await writeView(join(dir, 'y.view'), entries, { blockBytes: 4096 });
    const cache = new BlockCache(64 * 1024);
    const x = await ViewFileReader.open(join(dir, 'x.view'), { cache });
    const y = await ViewFileReader.open(join(dir, 'y.view'), { cache });
    expect(await collect(y.scan())).toHaveLength(entries.length);
    expect(cache.size).toBe(0);
    for (const [k, v] of entries) {
      expect(await x.get(k)).toEqual(v);
      expect(cache.bytes).toBeLessThanOrEqual(64 * 1024);
    }
    expect(cache.size).toBeGreaterThan(10);
    await collect(y.scan({ fillCache: true }));
    expect(cache.bytes).toBeLessThanOrEqual(64 * 1024);
    const before = cache.size;
    await y.close();
    expect(cache.size).toBeLessThan(before);
    await x.close();
    expect([cache.size, cache.bytes]).toEqual([0, 0]);
  });
});

describe('BlockCache', () => {
  it('evicts the least recently used block first', () => {
    const cache = new BlockCache(1000);
    const blocks = Array.from({ length: 11 }, () => blockOf(100));
    for (let i = 0; i < 10; i++) cache.set(1, i, blocks[i]!);
    expect(cache.bytes).toBe(1000);
    expect(cache.get(1, 0)).toBe(blocks[0]);
    cache.set(1, 10, blocks[10]!);
    expect(cache.get(1, 1)).toBeUndefined();
    expect(cache.get(1, 0)).toBe(blocks[0]);
    expect(cache.get(1, 10)).toBe(blocks[10]);
    expect(cache.get(2, 0)).toBeUndefined();
    // The order of use now: 2..9, 0, 10. Two more blocks evict 2 and 3.
    cache.set(2, 0, blocks[1]!);
    cache.set(2, 1, blocks[2]!);
    expect([2, 3, 4].map((i) => cache.get(1, i) !== undefined)).toEqual([false, false, true]);
    expect(cache.bytes).toBe(1000);
    cache.dropOwner(1);
    expect([cache.size, cache.bytes]).toEqual([2, 200]);
    cache.dropOwner(1);
    expect(cache.get(2, 1)).toBe(blocks[2]);
  });

  it('does not cache a block larger than an eighth of its budget', () => {
    const cache = new BlockCache(1000);
    cache.set(1, 0, blockOf(126));
    expect(cache.size).toBe(0);
    cache.set(1, 0, blockOf(125));
    expect(cache.size).toBe(1);
  });

  it('numbers owners apart and refuses a bad budget', () => {
    const cache = new BlockCache(1000);
    expect(cache.register()).not.toBe(cache.register());
    throwsWith(() => new BlockCache(-1), 'INVALID_ARGUMENT', /block cache size/);
  });
});
