import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatOutputLine, OutputWriter } from '../../../src/storage/output-format.js';
import { pick, rng, useTempDirs } from './helpers.js';

describe('formatOutputLine', () => {
  it('writes a string value as is and other values as JSON', () => {
    expect(formatOutputLine('word', 'text with "quotes"')).toBe('word\ttext with "quotes"\n');
    expect(formatOutputLine('n', 42)).toBe('n\t42\n');
    expect(formatOutputLine('o', { a: [1, 'b'] })).toBe('o\t{"a":[1,"b"]}\n');
    expect(formatOutputLine('z', null)).toBe('z\tnull\n');
    expect(formatOutputLine('\u00e9\u{1f600}', '')).toBe('\u00e9\u{1f600}\t\n');
  });

  it('writes a number exactly as JSON does, however odd', () => {
    for (const n of [0, -0, 1, -1, 0.1, 1 / 3, -2.5e-7, 1e21, 123456789012345680000, 2 ** 53 + 2, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity]) {
      expect(formatOutputLine('k', n)).toBe(`k\t${JSON.stringify(n)}\n`);
    }
  });

  it('writes a key or string value holding a tab, newline or carriage return as a JSON string', () => {
    expect(formatOutputLine('a\tb', 'c\nd')).toBe('"a\\tb"\t"c\\nd"\n');
    expect(formatOutputLine('cr\r', 'plain')).toBe('"cr\\r"\tplain\n');
    expect(formatOutputLine('k', ['x\ty'])).toBe('k\t["x\\ty"]\n');
  });
});

describe('OutputWriter', () => {
  const tempDir = useTempDirs();

  it('writes every record as one line, across many buffer flushes', async () => {
    const dir = await tempDir();
    const path = join(dir, 'part-00000');
    const random = rng(31);
    const keys = ['a', 'tab\there', '\u4e2d\u6587', 'x'.repeat(3000), 'new\nline'];
    const values: unknown[] = ['v', 1, 2.5, { k: [1] }, 'line\r', 'y'.repeat(5000), null];
    const w = await OutputWriter.open(path);
    let expected = '';
    const n = 3000;
    for (let i = 0; i < n; i++) {
      const key = pick(random, keys);
      const value = pick(random, values);
      w.write(key, value);
      if (w.needsFlush()) await w.flush();
      const k = /[\t\n\r]/.test(key) ? JSON.stringify(key) : key;
      const v = typeof value === 'string' ? (/[\t\n\r]/.test(value) ? JSON.stringify(value) : value) : JSON.stringify(value);
      expected += `${k}\t${v}\n`;
    }
    const result = await w.close();
    const written = await readFile(path, 'utf8');
    expect(written).toBe(expected);
    expect(result).toEqual({ records: n, bytes: Buffer.byteLength(expected) });
    expect(await w.close()).toEqual(result);
  });
});

describe('output quoting', () => {
  const tempDir = useTempDirs();

  it('quotes a key or value with a tab, newline or carriage return anywhere, short or long, and nothing else', async () => {
    const dir = await tempDir();
    const path = join(dir, 'part-00001');
    const w = await OutputWriter.open(path);
    let expected = '';
    for (const n of [1, 2, 15, 16, 17, 40]) {
      for (const special of ['\t', '\n', '\r', '\u000b', '\u000c', '\u0000', '\u00e9', '\u4e2d', '\u{1f600}']) {
        for (const at of [0, Math.floor(n / 2), n - 1]) {
          const s = 'x'.repeat(at) + special + 'y'.repeat(Math.max(0, n - at - 1));
          const quoted = /[\t\n\r]/.test(s) ? JSON.stringify(s) : s;
          expect(formatOutputLine(s, s)).toBe(`${quoted}\t${quoted}\n`);
          w.write(s, s);
          expected += `${quoted}\t${quoted}\n`;
        }
      }
    }
    await w.close();
    expect(await readFile(path, 'utf8')).toBe(expected);
  });
});
