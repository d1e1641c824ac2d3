import { describe, expect, it } from 'vitest';
import { GrowableBuffer } from '../../../src/storage/byte-sink.js';
import { appendKeyBytes, appendRecord, appendValue, decodeValue, decodeValueAt, encodeValue, parseRecord, type RecordFrame } from '../../../src/storage/record-codec.js';
import { throwsWith } from './helpers.js';

const VALUES: unknown[] = [
  '', 'abc', 'h\u00e9llo \u4e2d\u6587 \u{1f600}', 'x'.repeat(1000), 'tab\tnew\nline',
  0, 1, -1, 63, 64, -64, -65, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, 1.5, -2.25, 1e300, Number.NaN, Number.POSITIVE_INFINITY,
  null, true, false, [], [1, 'two', null, [3]], {}, { a: 1, b: [true, { c: 'd' }], '\u00e9': '\u{1f600}' },
];

const frame = (): RecordFrame => ({ keyStart: 0, keyEnd: 0, valueStart: 0, valueEnd: 0, needed: 0 });

describe('record codec', () => {
  it('round-trips strings, numbers, objects, arrays, null and booleans', () => {
    for (const v of VALUES) expect(decodeValue(encodeValue(v))).toEqual(v);
  });

  it('keeps the sign of negative zero', () => {
    expect(Object.is(decodeValue(encodeValue(-0)), -0)).toBe(true);
    expect(Object.is(decodeValue(encodeValue(0)), 0)).toBe(true);
  });

  it('encodes a string value as tag 0 and its UTF-8 bytes', () => {
    expect([...encodeValue('h\u00e9')]).toEqual([0, 0x68, 0xc3, 0xa9]);
  });

  it('frames a record as key length, key bytes, value length, value bytes', () => {
    const sink = new GrowableBuffer(16);
    const size = appendRecord(sink, 'ab', 'c');
    expect([...sink.toBuffer()]).toEqual([2, 0x61, 0x62, 2, 0, 0x63]);
    expect(size).toBe(4);
  });

  it('parses back a stream of records with long and multi-byte keys', () => {
    const sink = new GrowableBuffer(16);
    const records = VALUES.map((value, i) => ({ key: i % 3 === 0 ? `k${i}` : `\u4e2d${'\u00e9'.repeat(i * 7)}${i}`, value }));
    let sizes = 0;
    for (const r of records) sizes += appendRecord(sink, r.key, r.value);
    const buf = sink.toBuffer();
    const expectedSizes = records.reduce((n, r) => n + Buffer.byteLength(r.key) + encodeValue(r.value).length, 0);
    expect(sizes).toBe(expectedSizes);
    const f = frame();
    const parsed: { key: string; value: unknown }[] = [];
    for (let pos = 0; pos < buf.length;) {
      const end = parseRecord(buf, pos, buf.length, f);
      expect(end).toBeGreaterThan(pos);
      parsed.push({ key: buf.toString('utf8', f.keyStart, f.keyEnd), value: decodeValueAt(buf, f.valueStart, f.valueEnd) });
      pos = end;
    }
    expect(parsed).toEqual(records);
  });

  it('reports a record cut anywhere as incomplete, with a lower bound of the bytes it needs', () => {
    const sink = new GrowableBuffer(16);
    appendRecord(sink, 'k'.repeat(200), 'v'.repeat(300));
    const buf = sink.toBuffer();
    const f = frame();
    for (let cut = 0; cut < buf.length; cut++) {
      expect(parseRecord(buf, 0, cut, f)).toBe(-1);
      expect(f.needed).toBeGreaterThan(cut);
      expect(f.needed).toBeLessThanOrEqual(buf.length);
    }
    expect(parseRecord(buf, 0, buf.length, f)).toBe(buf.length);
  });

  it('refuses an unknown value tag as corrupt', () => {
    throwsWith(() => decodeValue(Buffer.from([9, 1, 2])), 'INTERNAL', /Expected a value tag 0\.\.3, got 9/);
  });

  it('refuses a value msgpack cannot encode', () => {
    throwsWith(() => encodeValue(2n ** 70n), 'INVALID_ARGUMENT', /msgpack/);
  });
});

describe('record codec string framing', () => {
  /** The record bytes written the plain way: varint lengths from Buffer.byteLength. */
  function plainRecord(key: string, value: string): Buffer {
    const k = Buffer.from(key, 'utf8');
    const v = Buffer.concat([Buffer.from([0]), Buffer.from(value, 'utf8')]);
    const varint = (n: number): number[] => {
      const out: number[] = [];
      while (n >= 0x80) {
        out.push((n & 0x7f) | 0x80);
        n = Math.floor(n / 128);
      }
      out.push(n);
      return out;
    };
    return Buffer.concat([Buffer.from(varint(k.length)), k, Buffer.from(varint(v.length)), v]);
  }

  it('writes the same bytes as a plain encoder for strings of every length around the varint limits', () => {
    const units = ['a', '~', '\u0000', '\u00e9', '\u4e2d', '\u{1f600}', '\ud800'];
    const lengths = [0, 1, 15, 16, 17, 42, 43, 63, 64, 100, 126, 127, 128, 129, 200, 5461, 5462, 6000];
    for (const unit of units) {
      for (const n of lengths) {
        // ASCII up to n, then one unit of the kind under test at the end (or all of them).
        for (const s of [unit.repeat(n), 'x'.repeat(Math.max(0, n - 1)) + (n > 0 ? unit : '')]) {
          const sink = new GrowableBuffer(16);
          sink.pos = 3; // not at the buffer's start
          const size = appendRecord(sink, s, s);
          const expected = plainRecord(s, s);
          expect(sink.buf.subarray(3, sink.pos).equals(expected)).toBe(true);
          expect(size).toBe(Buffer.byteLength(s) * 2 + 1);
        }
      }
    }
  });

  it('writes a key given as UTF-8 bytes exactly as appendRecord writes it as a string', () => {
    for (const n of [0, 1, 31, 32, 33, 127, 128, 300]) {
      for (const key of ['k'.repeat(n), '\u00e9'.repeat(n), '\u{1f600}'.repeat(Math.ceil(n / 4))]) {
        const bytes = Buffer.concat([Buffer.from('pre'), Buffer.from(key, 'utf8'), Buffer.from('post')]);
        const viaBytes = new GrowableBuffer(16);
        appendKeyBytes(viaBytes, bytes, 3, bytes.length - 4);
        appendValue(viaBytes, n);
        const viaString = new GrowableBuffer(16);
        appendRecord(viaString, key, n);
        expect(viaBytes.toBuffer().equals(viaString.toBuffer())).toBe(true);
        // The plain framing: the key as plainRecord frames it, then [length][tag and payload] of the value.
        const value = encodeValue(n);
        const plainKey = plainRecord(key, '').subarray(0, -2);
        expect(viaBytes.toBuffer().equals(Buffer.concat([plainKey, Buffer.from([value.length]), value]))).toBe(true);
      }
    }
  });
});
