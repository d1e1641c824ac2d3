import { describe, expect, it } from 'vitest';
import { BatchBuffers, FIRST_BATCH_BUFFER_BYTES } from '../../../src/client/batch-buffers.js';

const KiB = 1024;

describe('the producer\'s batch buffers', () => {
  it('gives buffers by size class, 64 KiB doubled up to maxBatchBytes, and one record larger than that its own size', () => {
    const pool = new BatchBuffers(1000 * KiB);
    expect(FIRST_BATCH_BUFFER_BYTES).toBe(64 * KiB);
    expect([1, 64 * KiB, 64 * KiB + 1, 200 * KiB, 513 * KiB, 1000 * KiB].map((n) => pool.classFor(n)))
      .toEqual([64 * KiB, 64 * KiB, 128 * KiB, 256 * KiB, 1000 * KiB, 1000 * KiB]);
    expect(pool.take(70 * KiB).length).toBe(128 * KiB);
    expect(pool.take(1001 * KiB).length).toBe(1001 * KiB);
  });

  it('hands a given buffer back for its class only, and keeps none of a size outside the classes', () => {
    const pool = new BatchBuffers(1024 * KiB);
    const always = (): boolean => true;
    const a = pool.take(100 * KiB);
    const b = pool.take(600 * KiB);
    pool.give(a, always);
    pool.give(b, always);
    expect(pool.spareBytes).toBe(128 * KiB + 1024 * KiB);
    expect(pool.take(65 * KiB)).toBe(a);
    expect(pool.take(65 * KiB)).not.toBe(a);
    expect(pool.take(1024 * KiB)).toBe(b);
    expect(pool.spareBytes).toBe(0);
    pool.give(pool.take(2048 * KiB), always);
    expect(pool.spareBytes).toBe(0);
  });

  it('keeps a buffer only while the room the caller allows holds it, and drops them all at clear()', () => {
    const pool = new BatchBuffers(1024 * KiB);
    const upTo = (limit: number) => (spare: number): boolean => spare <= limit;
    const [a, b, c] = [pool.take(64 * KiB), pool.take(64 * KiB), pool.take(64 * KiB)];
    pool.give(a, upTo(150 * KiB));
    pool.give(b, upTo(150 * KiB));
    expect(pool.spareBytes).toBe(128 * KiB);
    // A third 64 KiB would make 192, and no buffer of another class is there to drop: it is not kept.
    pool.give(c, upTo(150 * KiB));
    expect(pool.spareBytes).toBe(128 * KiB);
    expect(pool.take(64 * KiB)).toBe(b);
    expect(pool.take(64 * KiB)).toBe(a);
    expect(pool.take(64 * KiB)).not.toBe(c);
    pool.give(a, upTo(150 * KiB));
    pool.give(b, upTo(150 * KiB));
    pool.clear();
    expect(pool.spareBytes).toBe(0);
    expect([a, b]).not.toContain(pool.take(64 * KiB));
  });

  it('drops free buffers of other classes, smallest first, to keep one of the size batches have now', () => {
    const pool = new BatchBuffers(1024 * KiB);
    const upTo = (limit: number) => (spare: number): boolean => spare <= limit;
    // An earlier phase of small batches left 1 MiB of 64 KiB buffers and one of 256 KiB.
    const small = Array.from({ length: 12 }, () => pool.take(64 * KiB));
    for (const b of small) pool.give(b, upTo(1024 * KiB));
    pool.give(pool.take(256 * KiB), upTo(1024 * KiB));
    expect(pool.spareBytes).toBe(1024 * KiB);
    // A bulk load's 1 MiB buffer comes back: 64 KiB ones go until it fits, the 256 KiB one stays.
    const full = pool.take(1024 * KiB);
    pool.give(full, upTo(1280 * KiB));
    expect(pool.spareBytes).toBe(1024 * KiB + 256 * KiB);
    expect(pool.take(1024 * KiB)).toBe(full);
    expect(pool.take(200 * KiB).length).toBe(256 * KiB);
    expect(pool.spareBytes).toBe(0);
    // None fits even with every other class dropped: nothing is kept, nothing else is lost for it.
    pool.give(pool.take(64 * KiB), upTo(1024 * KiB));
    pool.give(pool.take(1024 * KiB), upTo(512 * KiB));
    expect(pool.spareBytes).toBe(0);
  });
});
