/**
 * A dataset batch's event formed from the log's bytes: its msgpack decodes
 * to the event built from the decoded records (the independent way), for
 * array sizes across msgpack's header forms; `records` reads lazily and
 * serialises as a plain event would (dead letters); a count that does not
 * match the bodies is refused.
 */
import { pack, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { datasetBatchEvent, packedEventBytes } from '../../../src/functions/packed-event.js';
import { decodeBody, encodeBody } from '../../../src/storage/record-body.js';

function records(n: number, seed: number): unknown[] {
  return Array.from({ length: n }, (_, i) => (i % 3 === 0 ? { i, seed, path: `/p/${i}`, ok: i % 2 === 0 } : i % 3 === 1 ? [i, 'x'.repeat(i % 40), null] : `s${i * seed}`));
}

describe('a dataset batch event from stored bytes', () => {
  it('decodes to the event of the decoded records, for 0, 15, 16, 65,535 and 65,536 records in several bodies', () => {
    for (const n of [0, 1, 15, 16, 1000, 65_535, 65_536]) {
      // Small integers for the large counts (what is checked there is the array's header).
      const all = n > 1000 ? Array.from({ length: n }, (_, i) => i % 100) : records(n, n);
      // Bodies as the store returns them: cut anywhere.
      const cuts = [0, Math.floor(n / 3), Math.floor(n / 2), n];
      const bodies = cuts.slice(1).map((end, k) => encodeBody(all.slice(cuts[k], end)));
      const event = datasetBatchEvent('clicks', 2, 1_000_000_007, bodies, n);
      const expected = { dataset: 'clicks', partition: 2, firstOffset: 1_000_000_007, records: bodies.flatMap((b) => decodeBody(b)) };
      // As JSON text: a deep comparison of 65,536 records takes seconds.
      expect(JSON.stringify(unpack(packedEventBytes(event)!))).toBe(JSON.stringify(expected));
      expect(JSON.stringify(event.records)).toBe(JSON.stringify(all));
    }
  });

  it('is an ordinary event to anyone who reads it: fields, JSON, msgpack; other values have no packed bytes', () => {
    const rs = records(5, 7);
    const event = datasetBatchEvent('logs', 0, 3, [encodeBody(rs)], 5);
    const plain = { dataset: 'logs', partition: 0, firstOffset: 3, records: rs };
    expect(event).toEqual(plain);
    expect(JSON.parse(JSON.stringify({ event }))).toEqual({ event: plain });
    expect(unpack(pack({ event }))).toEqual({ event: plain });
    expect(packedEventBytes(plain)).toBeUndefined();
    expect(packedEventBytes(null)).toBeUndefined();
    expect(packedEventBytes(Buffer.from([1]))).toBeUndefined();
  });

  it('refuses a count the bodies do not hold', () => {
    expect(() => datasetBatchEvent('logs', 0, 0, [encodeBody(records(4, 1))], 5)).toThrow('Expected 5 records in the batch\'s bodies, got 4');
  });
});
