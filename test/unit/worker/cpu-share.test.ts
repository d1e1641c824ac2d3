import { describe, expect, it } from 'vitest';
import { cfsWeight, niceForMemory } from '../../../src/worker/cpu-share.js';

describe('CPU shares from memory', () => {
  it('lowers the nice value about 3 steps per doubling of memory, from 19 at 128 MB to the worker\'s own at 10 GB', () => {
    expect([128, 256, 512, 1024, 1769, 10_240].map((m) => niceForMemory(m))).toEqual([19, 16, 13, 10, 7, 0]);
    // A reniced worker: never below its own value, never above 19.
    expect([128, 1769, 10_240].map((m) => niceForMemory(m, 5))).toEqual([19, 12, 5]);
    // Twice the memory, about twice the weight.
    const ratio = cfsWeight(niceForMemory(256)) / cfsWeight(niceForMemory(128));
    expect(ratio).toBeGreaterThan(1.8);
    expect(ratio).toBeLessThan(2.1);
  });
});
