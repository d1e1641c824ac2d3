import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  BATCH_FIXED_HEADER_BYTES,
  checkBatchCrc,
  encodeBatchHeader,
  parseBatchHeader,
  type BatchFields,
} from '../../../src/dataset/batch-format.js';
import { encodeBody } from '../../../src/storage/record-body.js';

function frame(fields: BatchFields, body: Buffer): Buffer {
  return Buffer.concat([encodeBatchHeader(fields, body), body]);
}

const fields: BatchFields = {
  baseOffset: 2 ** 40 + 17,
  count: 3,
  producerId: 'producer-ü-1',
  sequence: 2 ** 33 + 5,
  appendTime: 1_796_000_000_123,
  durableOffset: 2 ** 40,
};

describe('batch format', () => {
  it('round-trips every header field, 64-bit offsets included, and the body follows the header', () => {
    const body = encodeBody([{ a: 1 }, 'two', [3]]);
    const bytes = frame(fields, body);
    const h = parseBatchHeader(bytes, 0);
    if (typeof h === 'string') throw new Error(h);
    expect(h).toMatchObject({ ...fields, bodyLength: body.length });
    expect(h.headerBytes).toBe(BATCH_FIXED_HEADER_BYTES + Buffer.byteLength('producer-ü-1'));
    expect(h.batchBytes).toBe(bytes.length);
    expect(bytes.subarray(h.headerBytes).equals(body)).toBe(true);
    expect(checkBatchCrc(bytes, 0, h)).toBe(true);
  });

  it('stores the CRC-32 of every byte after the crc field, as written out plainly', () => {
    const body = encodeBody(['x']);
    const bytes = frame({ ...fields, producerId: undefined, sequence: 0 }, body);
    expect(bytes.readUInt32LE(4)).toBe(crc32(bytes.subarray(8)));
    const h = parseBatchHeader(bytes, 0);
    if (typeof h === 'string') throw new Error(h);
    expect(h.producerId).toBeUndefined();
    expect(h.headerBytes).toBe(BATCH_FIXED_HEADER_BYTES);
  });

  it('parses at a position inside a larger buffer', () => {
    const a = frame({ ...fields, baseOffset: 0, durableOffset: 0, count: 1 }, encodeBody([1]));
    const b = frame({ ...fields, baseOffset: 1, durableOffset: 0, count: 1 }, encodeBody([2]));
    const both = Buffer.concat([a, b]);
    const h = parseBatchHeader(both, a.length);
    if (typeof h === 'string') throw new Error(h);
    expect(h.baseOffset).toBe(1);
    expect(checkBatchCrc(both, a.length, h)).toBe(true);
  });

  it('detects a flipped bit in every byte the CRC covers', () => {
    const body = encodeBody([{ user: 'u1', n: 7 }, { user: 'u2', n: 8 }]);
    const bytes = frame({ ...fields, count: 2 }, body);
    for (let i = 4; i < bytes.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = Buffer.from(bytes);
        bad[i]! ^= bit;
        const h = parseBatchHeader(bad, 0);
        // Either the header is refused outright, or it no longer matches its CRC.
        const caught = typeof h === 'string' || h.batchBytes > bad.length || !checkBatchCrc(bad, 0, h);
        expect(caught, `byte ${i} bit ${bit}`).toBe(true);
      }
    }
  });

  it('refuses a wrong magic or version, and says short when bytes are missing', () => {
    const bytes = frame(fields, encodeBody([1, 2, 3]));
    for (const i of [0, 1, 2, 3, 8]) {
      const bad = Buffer.from(bytes);
      bad[i]! ^= 0xff;
      expect(parseBatchHeader(bad, 0)).toBe('invalid');
    }
    expect(parseBatchHeader(bytes.subarray(0, 2), 0)).toBe('short');
    expect(parseBatchHeader(bytes.subarray(0, BATCH_FIXED_HEADER_BYTES - 1), 0)).toBe('short');
    // The producer id is part of the header: a header cut inside it is short too.
    expect(parseBatchHeader(bytes.subarray(0, BATCH_FIXED_HEADER_BYTES + 3), 0)).toBe('short');
    expect(parseBatchHeader(Buffer.alloc(100), 0)).toBe('invalid');
  });

  it('refuses impossible fields: no records, a durable offset past the base offset', () => {
    const zero = frame({ ...fields, count: 3 }, encodeBody([1, 2, 3]));
    zero.writeUInt32LE(0, 12);
    expect(parseBatchHeader(zero, 0)).toBe('invalid');
    expect(parseBatchHeader(frame({ ...fields, durableOffset: fields.baseOffset + 1 }, encodeBody([1, 2, 3])), 0)).toBe('invalid');
  });
});
