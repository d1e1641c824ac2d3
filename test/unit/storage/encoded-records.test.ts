import { describe, expect, it } from 'vitest';
import { GrowableBuffer } from '../../../src/storage/byte-sink.js';
import { EncodedRecords, type RecordRange } from '../../../src/storage/encoded-records.js';
import { appendRecord, packValue } from '../../../src/storage/record-codec.js';

/** A record's bytes as appendRecord writes them on its own: the independent encoding to compare with. */
function framed(key: string, value: unknown): Buffer {
  const sink = new GrowableBuffer(16);
  appendRecord(sink, key, value);
  return sink.toBuffer();
}

/** Key and value bytes of a record, as appendRecord counts them. */
function counted(key: string, value: unknown): number {
  return appendRecord(new GrowableBuffer(16), key, value);
}

const RECORDS: Array<[string, unknown]> = [
  ['\u0001key-000000001', 'v'.repeat(100)],
  ['', ''],
  ['h\u00e9llo \u4e2d\u6587 \u{1f600}', 42],
  ['k', 1.5],
  ['big', 'x'.repeat(300)], // larger than the test's chunks: a chunk of its own
  ['obj', packValue({ a: [1, 'two'], b: null })],
  ['after', 'y'.repeat(40)],
];

describe('EncodedRecords', () => {
  it('gives back each record\'s bytes as appendRecord writes them, across chunk boundaries, and its key', () => {
    const store = new EncodedRecords(64);
    const range: RecordRange = { chunk: Buffer.alloc(0), start: 0, end: 0 };
    for (let round = 0; round < 2; round++) {
      // Many records, so that several chunks fill (and, in round 2, are reused after reset).
      const added: Array<[number, string, unknown]> = [];
      let bytes = 0;
      for (let i = 0; i < 40; i++) {
        const [key, value] = RECORDS[i % RECORDS.length]!;
        added.push([store.add(key, value), key, value]);
        expect(store.lastBytes).toBe(counted(key, value));
        bytes += framed(key, value).length;
      }
      expect(store.bytes).toBe(bytes);
      for (const [location, key, value] of added) {
        store.recordAt(location, range);
        expect(Buffer.from(range.chunk.subarray(range.start, range.end))).toEqual(framed(key, value));
        store.keyAt(location, range);
        expect(Buffer.from(range.chunk.subarray(range.start, range.end))).toEqual(Buffer.from(key, 'utf8'));
      }
      store.reset();
      expect(store.bytes).toBe(0);
    }
  });

  it('gives a key\'s bytes as the spill holds them: a lone surrogate as U+FFFD, an empty key empty', () => {
    const store = new EncodedRecords();
    const range: RecordRange = { chunk: Buffer.alloc(0), start: 0, end: 0 };
    const at = [store.add('a\ud800', 1), store.add('', 2), store.add('\u{1F600}z', 3)];
    const want = ['a\ufffd', '', '\u{1F600}z'];
    at.forEach((location, i) => {
      store.keyAt(location, range);
      expect(range.chunk.toString('utf8', range.start, range.end)).toBe(want[i]);
    });
  });
});
