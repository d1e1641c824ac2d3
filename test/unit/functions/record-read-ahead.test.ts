import { describe, expect, it } from 'vitest';
import type { ReadChunk } from '../../../src/common/dataset-shapes.js';
import { RecordReadAhead, type TakenBatch } from '../../../src/functions/triggers/record-read-ahead.js';
import { decodeBody, encodeBody, encodeRecord } from '../../../src/storage/record-body.js';

/** A partition in memory: `durable` of its records readable; reads as the store's (at least one record, then within maxBytes). */
class FakeLog {
  reads: { from: number; maxBytes: number }[] = [];
  constructor(readonly records: unknown[], public durable = records.length) {}

  read = async (from: number, maxBytes: number): Promise<ReadChunk> => {
    this.reads.push({ from, maxBytes });
    await Promise.resolve();
    const taken: unknown[] = [];
    let bytes = 0;
    for (let o = from; o < this.durable; o++) {
      const size = encodeRecord(this.records[o]).length;
      if (taken.length > 0 && bytes + size > maxBytes) break;
      taken.push(this.records[o]);
      bytes += size;
    }
    return { partition: 0, firstOffset: from, count: taken.length, body: encodeBody(taken), nextOffset: from + taken.length, endOffset: this.durable };
  };
}

const records = (n: number, pad = 0): unknown[] => Array.from({ length: n }, (_, i) => ({ i, pad: 'x'.repeat(pad) }));
const decoded = (b: TakenBatch): unknown[] => b.bodies.flatMap((body) => decodeBody(body));
/** Bytes of records[from, from + n) as a body (length prefixes included). */
const bytesOf = (rs: unknown[], from: number, n: number): number => encodeBody(rs.slice(from, from + n)).length;

describe('RecordReadAhead', () => {
  it('cuts consecutive batches, equal to the records in order, out of few large reads', async () => {
    const rs = records(100);
    const log = new FakeLog(rs);
    const ahead = new RecordReadAhead(log.read, bytesOf(rs, 0, 30));
    const got: unknown[] = [];
    let from = 0;
    let batches = 0;
    while (from < 100) {
      const b = await ahead.take(from, { count: 7, maxBytes: Infinity });
      expect(b.count).toBe(Math.min(7, 100 - from));
      expect(b.bytes).toBe(bytesOf(rs, from, b.count));
      expect(decoded(b)).toEqual(rs.slice(from, from + b.count));
      got.push(...decoded(b));
      from += b.count;
      batches++;
    }
    expect(got).toEqual(rs);
    expect(batches).toBe(15);
    // About 30 records a read: 4 reads for 100 records, whatever the 15 batches (each read started where the last ended),
    // and one at the log end for the last, short batch, finding no more.
    expect(log.reads.map((r) => r.from)).toEqual([0, 30, 60, 90, 100]);
  });

  it('gives the same batch again for the same start (a delivery retried) without reading, and reads anew from an offset outside what it holds', async () => {
    const rs = records(50);
    const log = new FakeLog(rs);
    const ahead = new RecordReadAhead(log.read, bytesOf(rs, 0, 20));
    const a = await ahead.take(0, { count: 5, maxBytes: Infinity });
    const again = await ahead.take(0, { count: 5, maxBytes: Infinity });
    expect(decoded(again)).toEqual(decoded(a));
    expect(log.reads).toHaveLength(1);
    const far = await ahead.take(40, { count: 5, maxBytes: Infinity });
    expect(decoded(far)).toEqual(rs.slice(40, 45));
    expect(log.reads.map((r) => r.from)).toEqual([0, 40]);
    // Back before what it holds now: read again from there.
    expect(decoded(await ahead.take(3, { count: 2, maxBytes: Infinity }))).toEqual(rs.slice(3, 5));
    expect(log.reads.map((r) => r.from)).toEqual([0, 40, 3]);
  });

  it('stops a batch at maxBytes but always takes its first record, and goes on from there', async () => {
    const rs = [...records(3, 10), { big: 'y'.repeat(500) }, ...records(3, 10)];
    const log = new FakeLog(rs);
    const ahead = new RecordReadAhead(log.read, 4096);
    const cap = bytesOf(rs, 0, 2);
    const b1 = await ahead.take(0, { count: 10, maxBytes: cap });
    expect(decoded(b1)).toEqual(rs.slice(0, 2));
    const b2 = await ahead.take(2, { count: 10, maxBytes: cap });
    expect(decoded(b2)).toEqual(rs.slice(2, 3)); // the big one does not fit beside it
    const b3 = await ahead.take(3, { count: 10, maxBytes: cap });
    expect(decoded(b3)).toEqual([rs[3]]); // larger than the cap alone: taken, alone
    const b4 = await ahead.take(4, { count: 10, maxBytes: cap });
    expect(decoded(b4)).toEqual(rs.slice(4, 6));
  });

  it('assembles a batch across several reads when one read holds less than the batch', async () => {
    const rs = records(40);
    const log = new FakeLog(rs);
    const ahead = new RecordReadAhead(log.read, bytesOf(rs, 0, 6));
    const b = await ahead.take(0, { count: 25, maxBytes: Infinity });
    expect(decoded(b)).toEqual(rs.slice(0, 25));
    expect(b.bodies.length).toBeGreaterThan(1);
    expect(decoded(await ahead.take(25, { count: 25, maxBytes: Infinity }))).toEqual(rs.slice(25, 40));
  });

  it('comes out short (or empty) when fewer records are durable, and takes the later ones once they are', async () => {
    const rs = records(20);
    const log = new FakeLog(rs, 4);
    const ahead = new RecordReadAhead(log.read, 1 << 20);
    const short = await ahead.take(0, { count: 10, maxBytes: Infinity });
    expect(decoded(short)).toEqual(rs.slice(0, 4));
    expect((await ahead.take(4, { count: 10, maxBytes: Infinity })).count).toBe(0);
    log.durable = 20;
    expect(decoded(await ahead.take(4, { count: 10, maxBytes: Infinity }))).toEqual(rs.slice(4, 14));
    // A batch re-formed to a recorded end (count fixed) after more became durable: exactly that many.
    expect(decoded(await ahead.take(0, { count: 4, maxBytes: Infinity }))).toEqual(rs.slice(0, 4));
  });
});
