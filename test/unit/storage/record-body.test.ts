import { describe, expect, it } from 'vitest';
import { decodeBody, encodeBody, encodeRecord, RecordBodyBuilder, recordSpans } from '../../../src/storage/record-body.js';
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
});
