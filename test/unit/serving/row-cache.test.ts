import { describe, expect, it } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import { metricsText } from '../../../src/common/metrics.js';
import { RowCache } from '../../../src/serving/row-cache.js';
import { addServingMetrics } from '../../../src/serving/serving-metrics.js';
import { rng } from './helpers.js';

const KIB = 1024;

/** get() as a caller uses it: the hit's value copied out (undefined on a miss). */
function lookup(c: RowCache, owner: number, key: string, hash?: number): Buffer | undefined {
  const k = Buffer.from(key);
  const hit = c.get(owner, k, k.length, hash ?? RowCache.hash(owner, k, k.length));
  if (hit === undefined) return undefined;
  expect(hit.arena.subarray(hit.valueStart - k.length, hit.valueStart).equals(k)).toBe(true); // the key, just before its value
  return Buffer.from(hit.arena.subarray(hit.valueStart, hit.valueEnd));
}

/** put() as a caller uses it: the value given inside a larger buffer, as a block holds it. */
function offer(c: RowCache, owner: number, key: string, value: Buffer, hash?: number): void {
  const k = Buffer.from(key);
  const block = Buffer.concat([Buffer.from('before'), value, Buffer.from('after')]);
  c.put(owner, k, k.length, hash ?? RowCache.hash(owner, k, k.length), block, 6, 6 + value.length);
}

describe('row cache', () => {
  it('keeps a key on its second offer, answers its exact bytes, and only to its owner', () => {
    const c = new RowCache(256 * KIB);
    const a = c.register();
    const b = c.register();
    expect(a).not.toBe(b);
    offer(c, a, 'page/1', Buffer.from('one'));
    expect(lookup(c, a, 'page/1')).toBeUndefined(); // one offer: not kept (a single pass does not flush the hot set)
    offer(c, a, 'page/1', Buffer.from('one'));
    expect(lookup(c, a, 'page/1')).toEqual(Buffer.from('one'));
    expect(lookup(c, b, 'page/1')).toBeUndefined(); // another version's reads never see it
    offer(c, b, 'page/1', Buffer.from('two'));
    offer(c, b, 'page/1', Buffer.from('two'));
    expect(lookup(c, b, 'page/1')).toEqual(Buffer.from('two'));
    expect(lookup(c, a, 'page/1')).toEqual(Buffer.from('one'));
    expect(lookup(c, a, 'page/10')).toBeUndefined(); // a longer key with the same start
    expect(lookup(c, a, 'page/')).toBeUndefined();
    expect(c.hits).toBe(3);
  });

  it('tells keys apart by their bytes when their hashes are equal', () => {
    const c = new RowCache(256 * KIB);
    const o = c.register();
    const keys = ['a', 'b', 'ab', '', '\u00e9'];
    for (const k of keys) for (let i = 0; i < 2; i++) offer(c, o, k, Buffer.from(`value of ${k}`), 42);
    for (const k of keys) expect(lookup(c, o, k, 42)?.toString()).toBe(`value of ${k}`);
    expect(lookup(c, o, 'c', 42)).toBeUndefined();
  });

  it('never answers a wrong value through many generation turns, keeps a hot set, and stays within its budget', () => {
    const budget = 64 * KIB;
    const c = new RowCache(budget);
    const owners = [c.register(), c.register()];
    const random = rng(7);
    // The reference: every (owner, key)'s value, independent of the cache.
    const value = (owner: number, k: number): Buffer => Buffer.from(`${owner}:${k}:${'x'.repeat(k % 50)}`);
    let hotHits = 0;
    let hotReads = 0;
    for (let i = 0; i < 60_000; i++) {
      const owner = owners[random() < 0.8 ? 0 : 1]!;
      // A hot set of 20 keys read half the time; the rest spread over 5,000.
      const hot = random() < 0.5;
      const k = hot ? Math.floor(random() * 20) : 20 + Math.floor(random() * 5000);
      const key = `key/${k}`;
      const got = lookup(c, owner, key);
      if (got !== undefined) expect(got).toEqual(value(owner, k));
      else offer(c, owner, key, value(owner, k));
      if (hot && i > 10_000) {
        hotReads++;
        if (got !== undefined) hotHits++;
      }
      expect(c.bytes).toBeLessThanOrEqual(budget);
    }
    expect(c.turns).toBeGreaterThan(10); // the budget was passed many times over
    expect(c.bytes).toBeGreaterThan(0.99 * budget); // both generations and the doorkeeper allocated: the budget, all of it
    expect(hotHits / hotReads).toBeGreaterThan(0.9); // copied forward at each turn, the hot keys stay
  });

  it('keeps a key read between every two turns through any number of them, and ages out one no longer read', () => {
    const c = new RowCache(64 * KIB);
    const o = c.register();
    for (let i = 0; i < 2; i++) offer(c, o, 'hot', Buffer.from('h'));
    for (let i = 0; i < 2; i++) offer(c, o, 'cold', Buffer.from('c'));
    expect(lookup(c, o, 'cold')).toEqual(Buffer.from('c'));
    let filler = 0;
    while (c.turns < 6) {
      const key = `filler/${filler++}`;
      for (let i = 0; i < 2; i++) offer(c, o, key, Buffer.alloc(40, 7));
      expect(lookup(c, o, 'hot')).toEqual(Buffer.from('h'));
    }
    expect(lookup(c, o, 'cold')).toBeUndefined(); // not read since the first turn: gone with its generation
  });

  it('does not keep a value larger than an eighth of a generation, nor anything with a budget of 0', () => {
    const c = new RowCache(64 * KIB);
    const o = c.register();
    const big = Buffer.alloc(8 * KIB, 1);
    for (let i = 0; i < 2; i++) offer(c, o, 'big', big);
    expect(lookup(c, o, 'big')).toBeUndefined();
    expect(c.entries).toBe(0);
    const none = new RowCache(0);
    expect(none.enabled).toBe(false);
    const n = none.register();
    for (let i = 0; i < 3; i++) offer(none, n, 'k', Buffer.from('v'));
    expect(lookup(none, n, 'k')).toBeUndefined();
    expect(none.bytes).toBe(0);
  });

  it('drops everything on clear()', () => {
    const c = new RowCache(64 * KIB);
    const o = c.register();
    for (let i = 0; i < 2; i++) offer(c, o, 'k', Buffer.from('v'));
    expect(lookup(c, o, 'k')).toEqual(Buffer.from('v'));
    c.clear();
    expect(lookup(c, o, 'k')).toBeUndefined();
    expect(c.bytes).toBe(0);
  });

  it('reports its lookups by result and its memory to the node\'s metrics, each scrape adding what it counted since the last', async () => {
    const c = new RowCache(64 * KIB);
    const o = c.register();
    const remove = addServingMetrics(() => 'node-rows', () => 0, c);
    try {
      const value = (text: string, result: string): number => Number(new RegExp(`^laminate_serving_row_cache_lookups_total\\{node="node-rows",result="${result}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
      for (let i = 0; i < 2; i++) offer(c, o, 'k', Buffer.from('v'));
      lookup(c, o, 'k');
      lookup(c, o, 'k');
      lookup(c, o, 'absent');
      const first = await metricsText();
      expect([value(first, 'hit'), value(first, 'miss')]).toEqual([2, 1]);
      expect(first).toMatch(new RegExp(`^laminate_serving_row_cache_bytes\\{node="node-rows"\\} ${c.bytes}$`, 'm'));
      expect(c.bytes).toBeGreaterThan(0);
      lookup(c, o, 'k');
      const second = await metricsText();
      expect([value(second, 'hit'), value(second, 'miss')]).toEqual([3, 1]);
    } finally {
      remove();
    }
  });

  it('refuses a budget that is not 0 or from 64 KiB to 4 GiB of whole bytes, saying what it got', () => {
    for (const bad of [-1, 1000, 1.5, Number.NaN, 4 * 1024 * 1024 * 1024 + 1]) {
      expect(() => new RowCache(bad)).toThrow(LaminateError);
      expect(() => new RowCache(bad)).toThrow(/Expected a row cache size of 0 \(none\) or from 64 KiB to 4 GiB, in whole bytes, got/);
    }
    for (const good of [0, 64 * KIB, 4 * 1024 * 1024 * 1024]) expect(new RowCache(good).maxBytes).toBe(good);
  });
});
