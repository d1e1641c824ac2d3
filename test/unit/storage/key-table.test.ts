import { describe, expect, it } from 'vitest';
import { keyHash, KeyTable } from '../../../src/storage/key-table.js';
import { intBelow, rng, throwsWith } from './helpers.js';

describe('KeyTable', () => {
  it('gives every distinct key the next slot on first sight and the same slot after, as a Map counting first sights does', () => {
    const random = rng(3);
    const table = new KeyTable();
    const model = new Map<string, number>();
    // Enough keys to grow the table many times; fresh strings each time, as a tokenizer makes them.
    for (let i = 0; i < 60_000; i++) {
      const n = intBelow(random, 20_000);
      const key = (i % 3 === 0 ? '\u00e9' : i % 5 === 0 ? '\u{1f600}' : 'k') + String(n);
      let slot = table.lookup(key);
      if (slot < 0) {
        expect(model.has(key)).toBe(false);
        slot = table.insertMissed(key);
        model.set(key, model.size);
      }
      if (slot !== model.get(key)) throw new Error(`Expected slot ${model.get(key)} for '${key}', got ${slot}`);
    }
    expect(table.size).toBe(model.size);
    expect(table.keys).toEqual([...model.keys()]);
    expect(table.lookup('absent')).toBe(-1);
    expect(table.lookup('')).toBe(-1);
    expect(table.insertMissed('')).toBe(model.size);
    expect(table.lookup('')).toBe(model.size);
  });

  it('tells apart keys whose hashes are equal', () => {
    // A 32-bit hash collides within some 100,000 keys (the birthday bound): find a pair.
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined; i++) {
      const key = `k${i}`;
      const h = keyHash(key);
      const other = seen.get(h);
      if (other !== undefined) pair = [other, key];
      else seen.set(h, key);
    }
    const [a, b] = pair;
    expect(keyHash(a)).toBe(keyHash(b));
    const table = new KeyTable();
    expect(table.lookup(a)).toBe(-1);
    expect(table.insertMissed(a)).toBe(0);
    expect(table.lookup(b)).toBe(-1);
    expect(table.insertMissed(b)).toBe(1);
    expect([table.lookup(a), table.lookup(b)]).toEqual([0, 1]);
  });

  it('tells apart keys that land in one bucket', () => {
    // Find pairs by brute force on the low bits the buckets use.
    const table = new KeyTable();
    const byLowBits = new Map<number, string>();
    const pairs: [string, string][] = [];
    for (let i = 0; pairs.length < 50; i++) {
      const key = `w${i}`;
      const low = keyHash(key) & 1023;
      const other = byLowBits.get(low);
      if (other === undefined) byLowBits.set(low, key);
      else {
        pairs.push([other, key]);
        byLowBits.delete(low);
      }
    }
    for (const [a, b] of pairs) {
      for (const k of [a, b]) if (table.lookup(k) < 0) table.insertMissed(k);
    }
    pairs.forEach(([a, b], i) => {
      expect(table.lookup(a)).toBe(2 * i);
      expect(table.lookup(b)).toBe(2 * i + 1);
    });
  });

  it('forgets every key on clear, and takes new ones from slot 0', () => {
    const table = new KeyTable();
    for (let i = 0; i < 5000; i++) if (table.lookup(`k${i}`) < 0) table.insertMissed(`k${i}`);
    table.clear();
    expect(table.size).toBe(0);
    expect(table.lookup('k1')).toBe(-1);
    expect(table.insertMissed('k1')).toBe(0);
    expect(table.lookup('k1')).toBe(0);
    expect(table.lookup('k2')).toBe(-1);
  });

  it('refuses an insert that no missed lookup came before', () => {
    const table = new KeyTable();
    throwsWith(() => table.insertMissed('k'), 'INTERNAL');
    table.lookup('k');
    table.insertMissed('k');
    throwsWith(() => table.insertMissed('k'), 'INTERNAL');
  });

  it('hashes the UTF-16 code units of a key, so equal strings hash alike however made', () => {
    expect(keyHash('ab' + 'c')).toBe(keyHash('abc'));
    expect(keyHash('abc'.slice(0, 2))).toBe(keyHash('ab'));
    expect(keyHash('\u{1f600}')).not.toBe(keyHash('\ud83d'));
    // The low bits spread: 4,096 similar keys fill most of 1,024 buckets.
    const buckets = new Set(Array.from({ length: 4096 }, (_, i) => keyHash(`key${i}`) & 1023));
    expect(buckets.size).toBeGreaterThan(1000);
  });
});
