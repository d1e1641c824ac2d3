import { describe, expect, it } from 'vitest';
import { sampleShares } from '../../../src/client/view-admin.js';

describe('the deploy sample', () => {
  it('spreads the records asked for over the partitions, small ones giving what they have', () => {
    expect(sampleShares([3000, 0, 0], 1000)).toEqual([1000, 0, 0]);
    expect(sampleShares([400, 400, 400], 900)).toEqual([300, 300, 300]);
    expect(sampleShares([10, 1000, 1000], 1000)).toEqual([10, 495, 495]);
    expect(sampleShares([5, 5], 1000)).toEqual([5, 5]);
    expect(sampleShares([], 1000)).toEqual([]);
    // Whatever the sizes, the shares sum to what is there up to n, and each stays within its partition.
    for (const sizes of [[1, 2, 3, 1000], [7, 7, 7, 7, 7], [0, 999, 1]]) {
      const s = sampleShares(sizes, 100);
      expect(s.reduce((a, b) => a + b, 0)).toBe(Math.min(100, sizes.reduce((a, b) => a + b, 0)));
      s.forEach((x, i) => expect(x).toBeLessThanOrEqual(sizes[i]!));
    }
  });
});
