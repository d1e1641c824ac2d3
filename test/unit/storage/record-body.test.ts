import { describe, expect, it } from 'vitest';
import { pack, unpack } from 'msgpackr';
import { countRecords, decodeBody, encodeBody, encodeRecord, packRecord, RecordBodyBuilder, recordSpans } from '../../../src/storage/record-body.js';
import { throwsWith } from './helpers.js';

describe('record body', () => {
  it('builds the same bytes as encoding each record and concatenating, growing past its first buffer', () => {
    const records = Array.from({ length: 500 }, (_, i) => ({ i, s: 'x'.repeat(i % 300), a: [i, null, true] }));
    const builder = new RecordBodyBuilder(1024 * 1024, 16);
    let size = 0;
    for (const r of records) size += builder.add(r);
    expect(builder.count).toBe(500);
    expect(builder.bytes).toBe(size);
    const body = builder.take();
    expect(body.equals(Buffer.concat(records.map((r) => encodeRecord(r))))).toBe(true);
    expect(body.equals(encodeBody(records))).toBe(true);
    expect(decodeBody(body)).toEqual(records);
    expect(recordSpans(body)).toHaveLength(500);
    // take() starts over, and the body taken is not overwritten by later records.
    expect(builder.count).toBe(0);
    builder.add('next');
    expect(decodeBody(builder.take())).toEqual(['next']);
    expect(decodeBody(body)).toEqual(records);
  });

  it('refuses a record that is no JSON value or too large, adding nothing', () => {
    const builder = new RecordBodyBuilder(50);
    builder.add(1);
    throwsWith(() => builder.add(undefined), 'INVALID_ARGUMENT', /JSON value, got undefined/);
    throwsWith(() => builder.add(() => 1), 'INVALID_ARGUMENT', /a function/);
    throwsWith(() => builder.add('y'.repeat(60)), 'INVALID_ARGUMENT', /at most 50 bytes encoded, got 62 bytes/);
    expect(builder.count).toBe(1);
    expect(decodeBody(builder.take())).toEqual([1]);
  });

  it('counts and spans records by their length prefixes, and refuses a body cut short or a record over the limit', () => {
    const records = [1, 'x'.repeat(300), { a: [1, 2] }, null];
    const body = encodeBody(records);
    const sizes = records.map((r) => encodeRecord(r).length - 4);
    expect(countRecords(body)).toBe(4);
    let at = 0;
    expect(recordSpans(body)).toEqual(sizes.map((n) => {
      const span = { start: at + 4, end: at + 4 + n };
      at += 4 + n;
      return span;
    }));
    expect(countRecords(Buffer.alloc(0))).toBe(0);
    for (const count of [countRecords, recordSpans]) {
      throwsWith(() => count(body.subarray(0, body.length - 1)), 'INVALID_ARGUMENT', /for record 3 of the body, got/);
      throwsWith(() => count(Buffer.concat([body, Buffer.from([1, 0])])), 'INVALID_ARGUMENT', /4-byte record length at byte \d+ of a \d+-byte body, got 2 bytes/);
      throwsWith(() => count(body, 100), 'INVALID_ARGUMENT', /at most 100 bytes encoded, got 30\d bytes \(record 1 of the body\)/);
    }
    // A length with the top bit set is read as unsigned: far over any limit, not negative.
    throwsWith(() => countRecords(Buffer.from([0, 0, 0, 0x80, 1])), 'INVALID_ARGUMENT', /got 2147483648 bytes/);
  });

  it('decodes a body that is a view into a larger buffer, each record from exactly its own bytes, and refuses a record that is not one value', () => {
    const records = [{ a: 1 }, 'x', [1, 2, 3], null, 7];
    const body = encodeBody(records);
    // Bytes around the body must not be read: a view at an offset, and a plain Uint8Array.
    const host = Buffer.concat([Buffer.from([0x92, 1, 2]), body, Buffer.from([0xc0])]);
    expect(decodeBody(host.subarray(3, 3 + body.length))).toEqual(records);
    expect(decodeBody(new Uint8Array(body))).toEqual(records);
    expect(decodeBody(Buffer.alloc(0))).toEqual([]);
    // A length prefix cut short, or a length past the end: the body walk's errors.
    throwsWith(() => decodeBody(body.subarray(0, body.length - 1)), 'INVALID_ARGUMENT', /for record 4 of the body, got/);
    // A record whose length leaves out its last byte (the next prefix would start inside it), an empty record,
    // and one with a byte more than its value: each refused, never read across into its neighbour.
    const map = encodeRecord({ a: 1 });
    const cut = Buffer.concat([Buffer.from([map.length - 5, 0, 0, 0]), map.subarray(4, map.length - 1), encodeRecord(2)]);
    expect(() => decodeBody(cut)).toThrow();
    expect(() => decodeBody(Buffer.concat([Buffer.from([0, 0, 0, 0]), encodeRecord(1)]))).toThrow();
    expect(() => decodeBody(Buffer.from([2, 0, 0, 0, 1, 2]))).toThrow();
  });

  it('packs records in place of the last one without touching what other code packed and kept', () => {
    // Other modules keep views from msgpackr's default pack(): packing records must never overwrite them.
    const kept = Array.from({ length: 100 }, (_, i) => ({ i, v: pack({ kept: i, s: 'k'.repeat(i) }) }));
    const builder = new RecordBodyBuilder();
    const records = Array.from({ length: 300 }, (_, i) => ({ r: i, s: 'r'.repeat(i % 50) }));
    for (const r of records) {
      const bytes = packRecord(r);
      expect(unpack(bytes)).toEqual(r);
      builder.add(r);
      kept.push({ i: 1000 + r.r, v: pack({ kept: 1000 + r.r, s: '' }) });
    }
    for (const k of kept) expect(unpack(k.v)).toEqual({ kept: k.i, s: k.i < 100 ? 'k'.repeat(k.i) : '' });
    expect(decodeBody(builder.take())).toEqual(records);
  });
});
