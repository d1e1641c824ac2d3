import { describe, expect, it } from 'vitest';
import { cfsWeight, niceForMemory } from '../../../src/worker/cpu-share.js';

describe('CPU shares from memory', () => {
  it('lowers the nice value about 3 steps per doubling of memory, from 12 at 128 MB to the worker\'s own at one vCPU\'s 1,769 MB and above', () => {
    expect([128, 256, 512, 1024, 1769, 3008, 10_240].map((m) => niceForMemory(m))).toEqual([12, 9, 6, 2, 0, 0, 0]);
    // A reniced worker: never below its own value, never above 19.
    expect([128, 1769, 10_240].map((m) => niceForMemory(m, 5))).toEqual([17, 5, 5]);
    expect(niceForMemory(128, 10)).toBe(19);
    // 128 MB beside one busy process at the worker's priority: its share of the core, w / (w + 1,024), about
    // Lambda's 128/1,769 of a vCPU.
    const w = cfsWeight(niceForMemory(128));
    const share = w / (w + cfsWeight(0));
    expect(share).toBeGreaterThan(0.06);
    expect(share).toBeLessThan(0.1);
    // Twice the memory, about twice the weight.
    const ratio = cfsWeight(niceForMemory(256)) / cfsWeight(niceForMemory(128));
    expect(ratio).toBeGreaterThan(1.8);
    expect(ratio).toBeLessThan(2.1);
  });
});
