import { pack, Packr, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { validateAppendBatch } from '../../../src/dataset/append-validation.js';
import { checkMsgpackValue, MAX_DEPTH } from '../../../src/dataset/msgpack-check.js';
import { encodeBody } from '../../../src/storage/record-body.js';
import { intBelow, rng, throwsWith } from './helpers.js';

/** Random JSON-ish values, seeded: every msgpack type family appears. */
function randomValue(random: () => number, depth = 0): unknown {
  const kind = intBelow(random, depth > 3 ? 7 : 9);
  switch (kind) {
    case 0: return null;
    case 1: return random() < 0.5;
    case 2: return intBelow(random, 300) - 150;
    case 3: return Math.floor((random() - 0.5) * 2 ** 40);
    case 4: return random() * 1e6;
    case 5: return 'é'.repeat(intBelow(random, 40)) + 'x'.repeat(intBelow(random, 300));
    case 6: return new Date(Math.floor(random() * 4e12));
    case 7: return Array.from({ length: intBelow(random, 20) }, () => randomValue(random, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = intBelow(random, 20); i > 0; i--) o[`k${intBelow(random, 1000)}`] = randomValue(random, depth + 1);
      return o;
    }
  }
}

describe('msgpack check', () => {
  it('accepts what msgpackr packs for JSON values, Dates and nested undefined', () => {
    const random = rng(7);
    for (let i = 0; i < 500; i++) {
      const bytes = pack(randomValue(random));
      expect(checkMsgpackValue(bytes, 0, bytes.length)).toBeUndefined();
    }
    for (const v of [[undefined, 1], { a: undefined }, 'x'.repeat(70_000), Array.from({ length: 70_000 }, (_, i) => i), new Date(0), new Date(2 ** 35 * 1000)]) {
      const bytes = pack(v);
      expect(checkMsgpackValue(bytes, 0, bytes.length), JSON.stringify(v)?.slice(0, 40)).toBeUndefined();
    }
  });

  it('counts the items of large containers exactly (array 32, map 32 of 140,000 keys and values), and refuses counts beyond the bytes', () => {
    const wide = Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i]));
    const nested = [wide, Array.from({ length: 70_000 }, (_, i) => [i, { i }])];
    // msgpackr writes objects of more than 65,535 keys only with variableMapSize (as map 32).
    const packr = new Packr({ variableMapSize: true, useRecords: false });
    for (const v of [wide, nested]) {
      const bytes = packr.pack(v);
      expect(bytes.includes(0xdf)).toBe(true);
      expect(checkMsgpackValue(bytes, 0, bytes.length)).toBeUndefined();
      expect(checkMsgpackValue(bytes, 0, bytes.length - 1)).toBe('truncated');
      const longer = Buffer.concat([bytes, Buffer.from([0xc0])]);
      expect(checkMsgpackValue(longer, 0, longer.length)).toMatch(/1 trailing bytes/);
    }
    // Counts of 2^32 - 1 (array 32) and 2 * (2^32 - 1) (map 32) in a few bytes: refused, not wrapped around.
    for (const head of [[0xdd, 0xff, 0xff, 0xff, 0xff], [0xdf, 0xff, 0xff, 0xff, 0xff], [0xdf, 0x80, 0, 0, 0]]) {
      const bytes = Buffer.from([...head, 1, 2, 3]);
      expect(checkMsgpackValue(bytes, 0, bytes.length)).toBe('truncated');
    }
  });

  it('refuses every strict prefix of a value and any trailing byte', () => {
    const random = rng(11);
    for (let i = 0; i < 40; i++) {
      const bytes = pack(randomValue(random, 2));
      for (let cut = 0; cut < bytes.length; cut++) expect(checkMsgpackValue(bytes, 0, cut)).toBeDefined();
      const longer = Buffer.concat([bytes, Buffer.from([0xc0])]);
      expect(checkMsgpackValue(longer, 0, longer.length)).toMatch(/trailing/);
    }
  });

  it('never accepts bytes that msgpackr cannot decode (random corruptions)', () => {
    const random = rng(13);
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const bytes = Buffer.from(pack(randomValue(random, 1)));
      const flips = 1 + intBelow(random, 3);
      for (let f = 0; f < flips; f++) bytes[intBelow(random, bytes.length)] = intBelow(random, 256);
      if (checkMsgpackValue(bytes, 0, bytes.length) === undefined) {
        accepted++;
        expect(() => unpack(bytes), bytes.toString('hex')).not.toThrow();
      }
    }
    expect(accepted).toBeGreaterThan(100); // the check is not vacuous
  });

  it('refuses a non-scalar key wherever it sits in a map, and a refusal leaves nothing behind for the next check', () => {
    // { a: 1, "b": 1.5 (float 64), <key>: 3 }, keys as fixstr and str 8: the third key varies.
    const head = [0x83, 0xa1, 0x61, 0x01, 0xd9, 0x01, 0x62, 0xcb, ...Buffer.from(pack(1.5)).subarray(1)];
    const okKey = Buffer.from([...head, 0xa1, 0x63, 0x03]);
    expect(unpack(okKey)).toEqual({ a: 1, b: 1.5, c: 3 });
    expect(checkMsgpackValue(okKey, 0, okKey.length)).toBeUndefined();
    for (const key of [[0x90], [0x80], [0xc4, 0x00], [0xd6, 0xff, 0, 0, 0, 0]]) {
      const bytes = Buffer.from([...head, ...key, 0x03]);
      expect(checkMsgpackValue(bytes, 0, bytes.length)).toMatch(new RegExp(`map key of type byte 0x${key[0]!.toString(16)}`));
      // As a value, the same bytes are fine.
      const asValue = Buffer.from([...head, 0xa1, 0x63, ...key]);
      expect(checkMsgpackValue(asValue, 0, asValue.length)).toBeUndefined();
    }
    // A refusal deep inside nested containers, then a check of a value at an offset of another buffer.
    const deep = Buffer.concat([Buffer.alloc(100, 0x91), Buffer.from([0x81, 0x90, 0x01])]);
    expect(checkMsgpackValue(deep, 0, deep.length)).toMatch(/map key/);
    const framed = Buffer.concat([Buffer.from([0xc1, 0xc1]), Buffer.from(pack({ x: [1, 2], y: 'z' })), Buffer.from([0xc1])]);
    expect(checkMsgpackValue(framed, 2, framed.length - 1)).toBeUndefined();
    expect(checkMsgpackValue(framed, 2, framed.length)).toMatch(/1 trailing bytes/);
  });

  it('refuses extensions that are no JSON value, the unused byte, and nesting past the limit', () => {
    expect(checkMsgpackValue(Buffer.from([0xd4, 5, 1]), 0, 3)).toMatch(/extension type 5/);
    expect(checkMsgpackValue(Buffer.from([0xd5, 0x72, 1, 2]), 0, 4)).toMatch(/extension type 114/);
    expect(checkMsgpackValue(Buffer.from([0xc1]), 0, 1)).toMatch(/0xc1/);
    const deep = Buffer.concat([Buffer.alloc(MAX_DEPTH, 0x91), Buffer.from([0xc0])]);
    expect(checkMsgpackValue(deep, 0, deep.length)).toMatch(/nested deeper/);
    const ok = Buffer.concat([Buffer.alloc(MAX_DEPTH - 2, 0x91), Buffer.from([0xc0])]);
    expect(checkMsgpackValue(ok, 0, ok.length)).toBeUndefined();
  });
});

describe('append batch validation', () => {
  const limits = { maxRecordBytes: 100, maxBatchBytes: 1000 };
  const batch = (records: unknown[], extra: object = {}) => ({ dataset: 'd', partition: 1, body: encodeBody(records), count: records.length, ...extra });

  it('accepts a well-formed batch, with or without a producer', () => {
    validateAppendBatch(batch([1, 'a', { b: [2] }]), limits);
    validateAppendBatch(batch([1], { producerId: 'p', sequence: 0 }), limits);
  });

  it('refuses a count that does not match the body, naming both and the partition', () => {
    throwsWith(() => validateAppendBatch({ ...batch([1, 2]), count: 3 }, limits), 'INVALID_ARGUMENT', /Expected a body of 3 records as its count says, got 2 \(batch for 'd' partition 1\)/);
    throwsWith(() => validateAppendBatch({ ...batch([]), count: 0 }, limits), 'INVALID_ARGUMENT', /positive integer, got 0/);
  });

  it('refuses a record over the limit and a body over the batch limit', () => {
    throwsWith(() => validateAppendBatch(batch(['x'.repeat(200)]), limits), 'INVALID_ARGUMENT', /at most 100 bytes encoded, got 20\d bytes/);
    throwsWith(() => validateAppendBatch(batch(Array.from({ length: 20 }, () => 'y'.repeat(60))), limits), 'INVALID_ARGUMENT', /batch body of at most 1000 bytes/);
  });

  it('refuses a record that is not one msgpack value, and a body cut short', () => {
    const body = Buffer.from([2, 0, 0, 0, 0x92, 0x01]); // an array of 2 with one element
    throwsWith(() => validateAppendBatch({ dataset: 'd', partition: 0, body, count: 1 }, limits), 'INVALID_ARGUMENT', /record 0 of the body to be one msgpack JSON value, got truncated/);
    const cut = encodeBody([1, 2]).subarray(0, 7);
    throwsWith(() => validateAppendBatch({ dataset: 'd', partition: 0, body: cut, count: 2 }, limits), 'INVALID_ARGUMENT');
  });

  it('refuses producer fields that are half there or malformed', () => {
    throwsWith(() => validateAppendBatch(batch([1], { producerId: 'p' }), limits), 'INVALID_ARGUMENT', /together or neither/);
    throwsWith(() => validateAppendBatch(batch([1], { sequence: 0 }), limits), 'INVALID_ARGUMENT', /together or neither/);
    throwsWith(() => validateAppendBatch(batch([1], { producerId: '', sequence: 0 }), limits), 'INVALID_ARGUMENT', /non-empty string/);
    throwsWith(() => validateAppendBatch(batch([1], { producerId: 'é'.repeat(128), sequence: 0 }), limits), 'INVALID_ARGUMENT', /at most 255 UTF-8 bytes, got 256/);
    throwsWith(() => validateAppendBatch(batch([1], { producerId: 'p', sequence: -1 }), limits), 'INVALID_ARGUMENT', /non-negative integer, got -1/);
    throwsWith(() => validateAppendBatch(batch([1], { producerId: 'p', sequence: 1.5 }), limits), 'INVALID_ARGUMENT', /got 1.5/);
  });
});
