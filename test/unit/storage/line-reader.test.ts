import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeText, fileLineNumber, readSplitLines, readWholeFile, type FileRange } from '../../../src/storage/line-reader.js';
import { intBelow, pick, rng, useTempDirs } from './helpers.js';

const CHARS = ['a', 'b', 'c', ' ', 'x', '\u00e9', '\u4e2d', '\u{1f600}', '\t', '\r'];

/** Random text: empty lines, CRLF endings, multi-byte characters, a few very long lines. */
function randomText(random: () => number, lines: number, trailingNewline: boolean, longLine = 5000): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const r = random();
    const length = r < 0.15 ? 0 : r < 0.97 ? intBelow(random, 80) : longLine / 2 + intBelow(random, longLine / 2);
    let line = '';
    for (let j = 0; j < length; j++) line += pick(random, CHARS);
    if (random() < 0.3) line += '\r';
    out.push(line);
  }
  return out.join('\n') + (trailingNewline ? '\n' : '');
}

/** What a line reader must yield, computed the plain way. */
function expectedLines(text: string): string[] {
  if (text === '') return [];
  const parts = text.split('\n');
  if (text.endsWith('\n')) parts.pop();
  return parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** Cuts [0, size) into contiguous splits of random lengths. */
function randomCut(random: () => number, path: string, size: number, maxLength: number): FileRange[] {
  const splits: FileRange[] = [];
  for (let start = 0; start < size;) {
    const length = Math.min(size - start, 1 + intBelow(random, maxLength));
    splits.push({ path, start, length });
    start += length;
  }
  return splits;
}

async function readAll(splits: readonly FileRange[], chunkSize: number): Promise<{ lines: string[]; bytes: number }> {
  const lines: string[] = [];
  let bytes = 0;
  for (const split of splits) {
    const mine: string[] = [];
    const indexes: number[] = [];
    const result = await readSplitLines(split, (line, index) => {
      indexes.push(index);
      mine.push(line);
    }, { chunkSize });
    // Plain checks: an expect() per split would dominate the run time.
    if (result.lines !== mine.length || indexes.some((index, i) => index !== i)) {
      throw new Error(`Expected line indexes 0..${mine.length - 1} and a count of ${mine.length} for split ${JSON.stringify(split)}, got ${JSON.stringify(indexes)} and ${result.lines}`);
    }
    bytes += result.bytes;
    lines.push(...mine);
  }
  return { lines, bytes };
}

describe('readSplitLines', () => {
  const tempDir = useTempDirs();

  it('reads every line exactly once across random splits and chunk sizes', async () => {
    const dir = await tempDir();
    const random = rng(7);
    for (let round = 0; round < 6; round++) {
      const text = randomText(random, 120, round % 2 === 0, 600);
      const path = join(dir, `t${round}.txt`);
      await writeFile(path, text);
      const size = Buffer.byteLength(text);
      const expected = expectedLines(text);
      // Tiny splits cost a file open each: only some rounds try them.
      const cases: [number, number][] = [[50, 5], [500, 3], [500, 200], [4096, 64], [size, 1024 * 1024], [size, 100]];
      if (round < 3) cases.push([7, 64]);
      if (round === 0) cases.push([1, 64]);
      for (const [maxSplit, chunkSize] of cases) {
        const { lines, bytes } = await readAll(randomCut(random, path, size, maxSplit), chunkSize);
        expect(bytes).toBe(size);
        expect(lines).toEqual(expected);
      }
    }
  });

  it('reads mostly-ASCII text, with rare UTF-8 and invalid bytes, as UTF-8 decoding gives it', async () => {
    const dir = await tempDir();
    const random = rng(9);
    const lines: Buffer[] = [];
    for (let i = 0; i < 3000; i++) {
      let line = '';
      const length = intBelow(random, 90);
      for (let j = 0; j < length; j++) line += pick(random, ['a', 'B', ' ', '.', '9']);
      const bytes = Buffer.from(line);
      // One line in 200 has a character beyond ASCII; one in 500 a byte that is not UTF-8.
      const r = random();
      lines.push(r < 0.005 ? Buffer.concat([bytes, Buffer.from('caf\u00e9 \u{1f600}')]) : r < 0.007 ? Buffer.concat([bytes, Buffer.from([0xe9, 0x41, 0xff])]) : bytes);
    }
    const file = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
    const path = join(dir, 'ascii.txt');
    await writeFile(path, file);
    const expected = lines.map((l) => l.toString('utf8'));
    for (const [maxSplit, chunkSize] of [[file.length, 4096], [20_000, 1024], [file.length, 1024 * 1024]] as const) {
      const { lines: got, bytes } = await readAll(randomCut(random, path, file.length, maxSplit), chunkSize);
      expect(bytes).toBe(file.length);
      expect(got).toEqual(expected);
    }
  });

  it('reads lines many times longer than the chunk size', async () => {
    const dir = await tempDir();
    const random = rng(8);
    const text = randomText(random, 40, false, 20_000);
    const path = join(dir, 'long.txt');
    await writeFile(path, text);
    const size = Buffer.byteLength(text);
    for (const [maxSplit, chunkSize] of [[3000, 256], [size, 1000], [50_000, 64 * 1024]] as const) {
      const { lines, bytes } = await readAll(randomCut(random, path, size, maxSplit), chunkSize);
      expect(bytes).toBe(size);
      expect(lines).toEqual(expectedLines(text));
    }
  });

  it('reads regions far bigger than a decoding piece, lines longer than a piece included, in sync and async callbacks', async () => {
    const dir = await tempDir();
    const random = rng(11);
    const lines: string[] = [];
    let size = 0;
    while (size < 900_000) {
      const r = random();
      // Mostly short lines; now and then one of 64 KiB and more, or an empty one.
      const length = r < 0.02 ? 60_000 + intBelow(random, 80_000) : r < 0.1 ? 0 : intBelow(random, 120);
      let line = 'x'.repeat(length);
      if (length > 0 && random() < 0.3) line = line.slice(1) + pick(random, ['\u00e9', '\r', 'y']);
      lines.push(line);
      size += Buffer.byteLength(line) + 1;
    }
    const text = lines.join('\n') + '\n';
    const path = join(dir, 'big.txt');
    await writeFile(path, text);
    const expected = expectedLines(text);
    const length = Buffer.byteLength(text);
    // One split, the default chunk: regions of about 1 MiB, cut into pieces to decode.
    const { lines: got, bytes } = await readAll([{ path, start: 0, length }], 1024 * 1024);
    expect(bytes).toBe(length);
    expect(got).toEqual(expected);
    // The same with a callback that goes async now and then, in the middle of a region.
    const seen: string[] = [];
    const indexes: number[] = [];
    await readSplitLines({ path, start: 0, length }, (line, index) => {
      seen.push(line);
      indexes.push(index);
      return index % 997 === 5 ? new Promise<void>((resolve) => setImmediate(resolve)) : undefined;
    });
    expect(seen).toEqual(expected);
    expect(indexes.every((index, i) => index === i)).toBe(true);
  });

  it('reads a file without a trailing newline, blank lines and CRLF endings', async () => {
    const dir = await tempDir();
    const path = join(dir, 'small.txt');
    await writeFile(path, 'one\r\n\ntwo\r\n\r\nthree');
    const lines: string[] = [];
    await readSplitLines({ path, start: 0, length: 19 }, (l) => void lines.push(l));
    expect(lines).toEqual(['one', '', 'two', '', 'three']);
  });

  it('gives a line to the split holding its first byte, reading past the split end', async () => {
    const dir = await tempDir();
    const path = join(dir, 'cut.txt');
    await writeFile(path, 'aaaa\nbbbb\ncccc\n'); // lines start at 0, 5, 10
    const read = async (start: number, length: number): Promise<string[]> => {
      const out: string[] = [];
      await readSplitLines({ path, start, length }, (l) => void out.push(l));
      return out;
    };
    expect(await read(0, 5)).toEqual(['aaaa']);
    expect(await read(0, 6)).toEqual(['aaaa', 'bbbb']);
    expect(await read(5, 1)).toEqual(['bbbb']);
    expect(await read(6, 4)).toEqual([]);
    expect(await read(6, 5)).toEqual(['cccc']);
    expect(await read(14, 1)).toEqual([]);
  });

  it('awaits a callback that returns a promise before the next line', async () => {
    const dir = await tempDir();
    const path = join(dir, 'async.txt');
    const text = Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n');
    await writeFile(path, text);
    const seen: string[] = [];
    let inFlight = 0;
    await readSplitLines({ path, start: 0, length: text.length }, async (line) => {
      expect(inFlight).toBe(0);
      inFlight++;
      await new Promise((r) => setImmediate(r));
      seen.push(line);
      inFlight--;
    }, { chunkSize: 16 });
    expect(seen).toEqual(text.split('\n'));
  });

  it('delivers a region synchronously until a callback returns a promise, then awaits each one', async () => {
    const dir = await tempDir();
    const path = join(dir, 'mixed.txt');
    const lines = Array.from({ length: 200 }, (_, i) => `l${i}`);
    const text = lines.map((l, i) => (i % 5 === 0 ? `${l}\r` : l)).join('\n');
    await writeFile(path, text);
    const seen: Array<[string, number]> = [];
    let inFlight = 0;
    const result = await readSplitLines({ path, start: 0, length: text.length }, (line, index) => {
      expect(inFlight).toBe(0);
      seen.push([line, index]);
      if (index % 3 !== 1 && index < 150) return undefined;
      inFlight++;
      return new Promise<void>((r) => setImmediate(() => { inFlight--; r(); }));
    });
    expect(seen).toEqual(lines.map((l, i) => [l, i]));
    expect(result).toEqual({ lines: 200, bytes: text.length });
  });

  it('reads nothing from an empty file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'empty.txt');
    await writeFile(path, '');
    expect(await readSplitLines({ path, start: 0, length: 0 }, () => { throw new Error('no line expected'); })).toEqual({ lines: 0, bytes: 0 });
  });
});

describe('decodeText', () => {
  it('decodes any bytes exactly as UTF-8 decoding does, ASCII or not', () => {
    const random = rng(10);
    for (let i = 0; i < 2000; i++) {
      const n = intBelow(random, 40);
      const highs = random() < 0.5 ? 0 : 0.2;
      const buf = Buffer.from(Array.from({ length: n }, () => (random() < highs ? 128 + intBelow(random, 128) : intBelow(random, 128))));
      const start = intBelow(random, n + 1);
      const end = start + intBelow(random, n - start + 1);
      expect(decodeText(buf, start, end)).toBe(buf.toString('utf8', start, end));
    }
  });
});

describe('fileLineNumber', () => {
  const tempDir = useTempDirs();

  it('turns a split and a line index into the line number in the file', async () => {
    const dir = await tempDir();
    const random = rng(11);
    const text = randomText(random, 400, true);
    const path = join(dir, 'n.txt');
    await writeFile(path, text);
    const size = Buffer.byteLength(text);
    let lineNo = 0;
    for (const split of randomCut(random, path, size, 3000)) {
      const indexes: number[] = [];
      await readSplitLines(split, (_line, index) => void indexes.push(index));
      for (const index of indexes) {
        lineNo++;
        if (index === 0 || index === indexes.length - 1 || random() < 0.05) {
          expect(await fileLineNumber(split, index)).toBe(lineNo);
        }
      }
    }
    expect(lineNo).toBe(expectedLines(text).length);
  });
});

describe('readWholeFile', () => {
  const tempDir = useTempDirs();

  it('reads a whole file as UTF-8 text', async () => {
    const dir = await tempDir();
    const path = join(dir, 'w.txt');
    await writeFile(path, 'h\u00e9llo\n\u{1f600}\r\n');
    expect(await readWholeFile(path)).toBe('h\u00e9llo\n\u{1f600}\r\n');
  });
});
