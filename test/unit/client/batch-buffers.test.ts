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
    const seen: number[] = [];
    const upTo = (limit: number) => (spare: number): boolean => { seen.push(spare); return spare <= limit; };
    pool.give(pool.take(64 * KiB), upTo(200 * KiB));
    pool.give(pool.take(128 * KiB), upTo(200 * KiB));
    // 64 + 128 = 192 KiB fits; a third 64 KiB would make 256.
    const third = pool.take(1);
    expect(pool.spareBytes).toBe(128 * KiB);
    pool.give(pool.take(64 * KiB), upTo(200 * KiB));
    pool.give(third, upTo(200 * KiB));
    expect(pool.spareBytes).toBe(192 * KiB);
    expect(seen).toEqual([64 * KiB, 192 * KiB, 192 * KiB, 256 * KiB]);
    pool.clear();
    expect(pool.spareBytes).toBe(0);
    expect(pool.take(64 * KiB)).not.toBe(third);
  });
});
