/**
 * The calls in flight of a call stream (src/protocol/pending-calls.ts):
 * against a Map as the model, over random sequences of the client's own
 * pattern (ids 1, 2, 3, ... added in order, taken in any order, some held
 * far longer than the rest), ids past 2^32, take of ids never added or
 * already taken, takeAll, and a repeated id refused.
 */
import { describe, expect, it } from 'vitest';
import { PendingCalls } from '../../../src/protocol/pending-calls.js';
import { seededRandom } from '../../../src/common/seeded-random.js';

describe('PendingCalls', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`agrees with a Map over 20,000 calls with stragglers (seed ${seed})`, () => {
      const rnd = seededRandom(seed);
      const table = new PendingCalls<{ id: number }>(4);
      const model = new Map<number, { id: number }>();
      let next = seed === 4 ? 2 ** 32 - 50 : 1; // seed 4: ids across 2^32, where `&` keeps the low bits
      for (let step = 0; step < 20_000; step++) {
        const r = rnd();
        if (r < 0.55 || model.size === 0) {
          const call = { id: next };
          table.add(next, call);
          model.set(next, call);
          next++;
        } else {
          // Take the oldest most of the time; sometimes any; a few calls are never taken (stragglers).
          const ids = [...model.keys()];
          const id = r < 0.85 ? ids[0]! : ids[Math.floor(rnd() * ids.length)]!;
          if (id % 997 === 0) continue;
          expect(table.take(id)).toBe(model.get(id));
          model.delete(id);
        }
        expect(table.size).toBe(model.size);
      }
      expect(new Map(table.entries())).toEqual(model);
      for (const [id, call] of model) expect(table.take(id)).toBe(call);
      expect(table.size).toBe(0);
    });
  }

  it('answers undefined for ids never added (one whose slot another id holds among them) or already taken', () => {
    const table = new PendingCalls<string>(4);
    table.add(1, 'a');
    expect(table.take(5)).toBeUndefined(); // same slot as 1 in a ring of 4
    expect(table.take(2)).toBeUndefined();
    expect(table.take(1)).toBe('a');
    expect(table.take(1)).toBeUndefined();
    expect(table.take(Number.NaN)).toBeUndefined();
    expect(table.size).toBe(0);
  });

  it('grows when a new id lands on a slot still held, and keeps every call', () => {
    const table = new PendingCalls<number>(4);
    for (let id = 1; id <= 3; id++) table.add(id, id * 10);
    table.add(5, 50); // 5 & 3 === 1, held by 1
    expect(table.capacity).toBeGreaterThanOrEqual(8);
    expect([...table.entries()].sort((x, y) => x[0] - y[0])).toEqual([[1, 10], [2, 20], [3, 30], [5, 50]]);
    const far = 1 + table.capacity * 4; // lands on 1's slot while 1 is a straggler: grows past the distance
    table.add(far, 99);
    expect(table.capacity).toBeGreaterThan(far - 1);
    expect(table.take(1)).toBe(10);
    expect(table.take(far)).toBe(99);
    expect(table.size).toBe(3);
  });

  it('takeAll empties it and returns every call', () => {
    const table = new PendingCalls<number>(2);
    for (let id = 1; id <= 40; id++) table.add(id, id);
    for (let id = 1; id <= 40; id += 3) table.take(id);
    const all = table.takeAll().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 40 }, (_, i) => i + 1).filter((id) => (id - 1) % 3 !== 0));
    expect(table.size).toBe(0);
    expect([...table.entries()]).toEqual([]);
    table.add(41, 41);
    expect(table.take(41)).toBe(41);
  });

  it('refuses an id already in flight rather than losing a call', () => {
    const table = new PendingCalls<string>(4);
    table.add(7, 'first');
    expect(() => table.add(7, 'second')).toThrow(/Expected the id of a new call, got 7/);
    expect(table.take(7)).toBe('first');
  });
});
