import { describe, expect, it } from 'vitest';
import { Fifo } from '../../../src/common/fifo.js';
import { seededRandom } from '../../support/seeded-random.js';

describe('a FIFO queue', () => {
  it('gives back what was pushed, in order, through pushes and takes in random runs past its compaction', () => {
    const random = seededRandom(5);
    const fifo = new Fifo<number>();
    // The model: 0, 1, 2... pushed in order, so the queue holds [taken, next).
    let next = 0;
    let taken = 0;
    for (let step = 0; step < 120; step++) {
      // Runs of pushes and takes of up to 3,000, so that the queue grows past 1,024 taken and empties now and then.
      const n = Math.floor(random() * 3000);
      if (random() < 0.55) {
        for (let i = 0; i < n; i++) fifo.push(next++);
      } else {
        const k = Math.min(n, next - taken);
        expect(fifo.peek()).toBe(k > 0 ? taken : undefined);
        const got = Array.from({ length: k }, () => fifo.shift());
        expect(got).toEqual(Array.from({ length: k }, (_, i) => taken + i));
        taken += k;
        if (taken === next) expect(fifo.shift()).toBeUndefined();
      }
      expect(fifo.length).toBe(next - taken);
    }
    expect(fifo.takeAll()).toEqual(Array.from({ length: next - taken }, (_, i) => taken + i));
    expect(fifo.length).toBe(0);
    expect(fifo.shift()).toBeUndefined();
    expect(fifo.peek()).toBeUndefined();
  });
});
