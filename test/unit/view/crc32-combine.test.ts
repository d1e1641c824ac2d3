import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CRC32_RESIDUE, crc32Combine, Crc32Combiner } from '../../../src/view/crc32-combine.js';

describe('crc32Combine', () => {
  it('gives the CRC-32 of the concatenation, as zlib computes it', () => {
    for (const [a, b] of [[0, 0], [0, 5], [5, 0], [1, 1], [100, 32768], [33000, 1], [7, 123457], [65536, 65536]] as const) {
      const A = randomBytes(a);
      const B = randomBytes(b);
      expect(crc32Combine(crc32(A), crc32(B), b)).toBe(crc32(Buffer.concat([A, B])));
    }
  });

  it('chains over many parts like one running CRC', () => {
    const parts = Array.from({ length: 50 }, (_, i) => randomBytes(i * 37 + 1));
    let combined = 0;
    for (const p of parts) combined = crc32Combine(combined, crc32(p), p.length);
    expect(combined).toBe(crc32(Buffer.concat(parts)));
  });

  it('shifts over lengths past 4 GiB as the product of smaller shifts', () => {
    // No such buffer can be made here; the shift operators must compose instead.
    const crc = crc32(randomBytes(64));
    const half = crc32Combine(crc32Combine(crc, 0, 2 ** 31), 0, 2 ** 31);
    expect(crc32Combine(crc, 0, 2 ** 32)).toBe(half);
    expect(crc32Combine(crc, 0, 2 ** 32 + 5)).toBe(crc32Combine(half, 0, 5));
    expect(crc32Combine(crc, 0, 3 * 2 ** 33 + 1)).toBe(crc32Combine(crc32Combine(crc32Combine(crc, 0, 2 ** 34), 0, 2 ** 33), 0, 1));
  });

  it('finds the residue after a block followed by its CRC, and not after a wrong CRC', () => {
    for (const n of [0, 1, 4, 1000]) {
      const block = randomBytes(n);
      const trailer = Buffer.alloc(4);
      trailer.writeUInt32LE(crc32(block));
      expect(crc32(Buffer.concat([block, trailer]))).toBe(CRC32_RESIDUE);
      trailer[0] = trailer[0]! ^ 1;
      expect(crc32(Buffer.concat([block, trailer]))).not.toBe(CRC32_RESIDUE);
    }
  });

  it('Crc32Combiner, its operators kept by length, gives the CRC-32 of pieces of repeated and new lengths joined', () => {
    const combiner = new Crc32Combiner();
    const pieces = [100, 16_000, 100, 0, 16_000, 7, 16_001, 100, 65_536, 7].map((n) => randomBytes(n));
    let crc = 0;
    for (const p of pieces) crc = combiner.combine(crc, crc32(p), p.length);
    expect(crc).toBe(crc32(Buffer.concat(pieces)));
  });
});
