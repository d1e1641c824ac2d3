import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GrowableBuffer } from '../../../src/storage/byte-sink.js';
import { mergeGroups, mergeToFile } from '../../../src/storage/merger.js';
import { appendRecord, encodeValue } from '../../../src/storage/record-codec.js';
import { bufferRun, chunksRun, fileRun, type SortedRun } from '../../../src/storage/sorted-run.js';
import { intBelow, pick, rejectsWith, rng, stableSortByKey, useTempDirs } from './helpers.js';

interface Rec {
  key: string;
  value: unknown;
}

const WORDS = ['a', 'b', 'ab', 'abc', 'z', '\u00e9', '\ufffd', '\u{1f600}', '\ue000', 'long-'.repeat(30), ''];

function randomRun(random: () => number, n: number, tag: string): Rec[] {
  const recs: Rec[] = [];
  for (let i = 0; i < n; i++) {
    const r = random();
    const value = r < 0.4 ? `${tag}:${i}` : r < 0.7 ? i : r < 0.9 ? { tag, i } : 'v'.repeat(intBelow(random, 400));
    recs.push({ key: pick(random, WORDS), value });
  }
  return stableSortByKey(recs);
}

function encode(recs: readonly Rec[]): Buffer {
  const sink = new GrowableBuffer(64);
  for (const r of recs) appendRecord(sink, r.key, r.value);
  return sink.toBuffer();
}

/** Groups as a reducer must see them: the runs concatenated in order, stable-sorted, equal keys gathered. */
function expectedGroups(runs: readonly Rec[][]): [string, unknown[]][] {
  const groups: [string, unknown[]][] = [];
  for (const r of stableSortByKey(runs.flat())) {
    const last = groups[groups.length - 1];
    if (last !== undefined && last[0] === r.key) last[1].push(r.value);
    else groups.push([r.key, [r.value]]);
  }
  return groups;
}

/** Reads a run to its end; closes it also when a read throws (a file run would otherwise leave its file open until GC). */
async function drain(sorted: SortedRun): Promise<Rec[]> {
  const out: Rec[] = [];
  try {
    while (await sorted.next()) out.push({ key: sorted.key(), value: sorted.value() });
  } finally {
    await sorted.close();
  }
  return out;
}

describe('sorted runs', () => {
  const tempDir = useTempDirs();

  it('read the records of a file region through a buffer smaller than a record', async () => {
    const dir = await tempDir();
    const recs = randomRun(rng(3), 200, 's');
    const body = encode(recs);
    const path = join(dir, 'seg');
    await writeFile(path, Buffer.concat([Buffer.from('junk-before'), body, Buffer.from('junk-after')]));
    for (const bufferSize of [1, 16, 100, 64 * 1024]) {
      for (const syncReads of [true, false]) expect(await drain(fileRun(path, 11, body.length, bufferSize, undefined, { syncReads }))).toEqual(recs);
    }
    // Blocking reads: once the file is open, every record comes without a promise, refills included; only the end (a close) is one.
    const run = fileRun(path, 11, body.length, 100);
    expect(await run.next()).toBe(true);
    const answers: unknown[] = [];
    for (let i = 1; i < recs.length; i++) answers.push(run.next());
    expect(answers.every((a) => a === true)).toBe(true);
    const end = run.next();
    expect(end).toBeInstanceOf(Promise);
    expect(await end).toBe(false);
    // Thread-pool reads: a promise for each refill.
    const pooled = fileRun(path, 11, body.length, 100, undefined, { syncReads: false });
    expect(await pooled.next()).toBe(true);
    const pooledAnswers: unknown[] = [];
    let promises = 0;
    for (let i = 1; i < recs.length; i++) {
      const a = pooled.next();
      if (a instanceof Promise) promises++;
      pooledAnswers.push(await a);
    }
    expect(pooledAnswers.every((a) => a === true)).toBe(true);
    expect(promises).toBeGreaterThan(0);
    await pooled.close();
    expect(await drain(bufferRun(body))).toEqual(recs);
    const first = bufferRun(body);
    expect(first.next()).toBe(true);
    expect(first.keyBytes().equals(Buffer.from(recs[0]!.key, 'utf8'))).toBe(true);
    expect(first.valueBytes().equals(encodeValue(recs[0]!.value))).toBe(true);
  });

  it('read the records of a run held as chunks cut anywhere, records spanning one chunk or many', async () => {
    const random = rng(8);
    const recs = randomRun(random, 300, 'c');
    const body = encode(recs);
    /** The body cut into chunks of random sizes drawn below `most` (1-byte chunks included). */
    const cut = (most: number): Buffer[] => {
      const chunks: Buffer[] = [];
      for (let at = 0; at < body.length;) {
        const n = Math.min(body.length - at, 1 + intBelow(random, most));
        chunks.push(body.subarray(at, at + n));
        at += n;
      }
      return chunks;
    };
    for (const most of [1, 3, 50, 700, 5000, body.length]) {
      for (let t = 0; t < 5; t++) {
        const chunks = cut(most);
        expect(await drain(chunksRun(chunks)), `chunks below ${most}`).toEqual(recs);
        // Key and value bytes as bufferRun gives them, also for a record joined from several chunks.
        const a = chunksRun(chunks);
        const b = bufferRun(body);
        while (b.next()) {
          expect(a.next()).toBe(true);
          expect(a.keyBytes().equals(b.keyBytes())).toBe(true);
          expect(a.valueBytes().equals(b.valueBytes())).toBe(true);
        }
        expect(a.next()).toBe(false);
      }
    }
    expect(await drain(chunksRun([]))).toEqual([]);
    expect(await drain(chunksRun([Buffer.alloc(0), body, Buffer.alloc(0)]))).toEqual(recs);
  });

  it('refuse a run that ends inside a record', async () => {
    const dir = await tempDir();
    const body = encode([{ key: 'k', value: 'value' }, { key: 'k2', value: 'value2' }]);
    const path = join(dir, 'cut');
    await writeFile(path, body);
    for (const syncReads of [true, false]) {
      await rejectsWith(drain(fileRun(path, 0, body.length - 3, 4, undefined, { syncReads })), 'INTERNAL', /Expected a record of at least/);
      await rejectsWith(drain(fileRun(path, 0, body.length + 5, 64 * 1024, undefined, { syncReads })), 'INTERNAL', /got the end of the file/);
    }
    await rejectsWith(drain(bufferRun(body.subarray(0, body.length - 1))), 'INTERNAL', /Expected a record of at least/);
    // The offset named is the run's, as bufferRun names it, not the offset in the chunk that holds the cut record.
    const whole = /at byte (\d+) /.exec(await drain(bufferRun(body.subarray(0, body.length - 1))).then(() => '', (e: Error) => e.message))?.[1];
    expect(Number(whole)).toBeGreaterThan(5);
    await rejectsWith(drain(chunksRun([body.subarray(0, 5), body.subarray(5, body.length - 1)])), 'INTERNAL', new RegExp(`Expected a record of at least \\d+ bytes at byte ${whole} `));
    await rejectsWith(drain(chunksRun([body.subarray(0, 3)])), 'INTERNAL', /Expected a record of at least/);
    await rejectsWith(drain(fileRun(path, 0, body.length + 5)), 'INTERNAL', /got the end of the file/);
  });
});

/** Wraps a sorted run to count how many are being read at once (started, not yet ended or closed). */
function tracked(inner: SortedRun, open: { now: number; most: number }): SortedRun {
  let state: 'idle' | 'reading' | 'done' = 'idle';
  const end = (): void => {
    if (state === 'reading') open.now--;
    state = 'done';
  };
  const after = (more: boolean): boolean => {
    if (!more) end();
    return more;
  };
  return {
    next() {
      if (state === 'idle') {
        state = 'reading';
        open.most = Math.max(open.most, ++open.now);
      }
      const more = inner.next();
      return typeof more === 'boolean' ? after(more) : more.then(after);
    },
    get buf() { return inner.buf; },
    get recordStart() { return inner.recordStart; },
    get keyStart() { return inner.keyStart; },
    get keyEnd() { return inner.keyEnd; },
    get valueStart() { return inner.valueStart; },
    get valueEnd() { return inner.valueEnd; },
    key: () => inner.key(),
    keyBytes: () => inner.keyBytes(),
    valueBytes: () => inner.valueBytes(),
    value: () => inner.value(),
    close: async () => {
      end();
      await inner.close();
    },
  };
}

describe('mergeGroups', () => {
  const tempDir = useTempDirs();

  async function makeRuns(dir: string, runs: readonly Rec[][]): Promise<SortedRun[]> {
    const inputs: SortedRun[] = [];
    for (let i = 0; i < runs.length; i++) {
      const body = encode(runs[i]!);
      if (i % 2 === 0) {
        inputs.push(bufferRun(body));
      } else {
        const path = join(dir, `run${i}`);
        await writeFile(path, body);
        inputs.push(fileRun(path, 0, body.length, 32 + i));
      }
    }
    return inputs;
  }

  it('calls onGroup once per key in byte order, with values in run order', async () => {
    const dir = await tempDir();
    const random = rng(5);
    const runs = Array.from({ length: 9 }, (_, i) => randomRun(random, i === 4 ? 0 : 50 + intBelow(random, 100), `r${i}`));
    const seen: [string, unknown[]][] = [];
    const result = await mergeGroups(await makeRuns(dir, runs), (key, values) => void seen.push([key, values]));
    const expected = expectedGroups(runs);
    expect(seen).toEqual(expected);
    expect(result).toEqual({ groups: expected.length, records: runs.flat().length });
  });

  it('merges more runs than the factor through temporary runs, reading at most factor at once, and removes the runs', async () => {
    const dir = await tempDir();
    const tmp = await tempDir();
    const random = rng(6);
    const runs = Array.from({ length: 75 }, (_, i) => randomRun(random, intBelow(random, 30), `r${i}`));
    const seen: [string, unknown[]][] = [];
    const open = { now: 0, most: 0 };
    const inputs = (await makeRuns(dir, runs)).map((s) => tracked(s, open));
    await mergeGroups(inputs, (key, values) => void seen.push([key, values]), { factor: 4, tmpDir: tmp });
    expect(seen).toEqual(expectedGroups(runs));
    expect(open.most).toBeLessThanOrEqual(4);
    expect(open.now).toBe(0);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('awaits an async onGroup before the next group', async () => {
    const runs = [randomRun(rng(8), 100, 'a'), randomRun(rng(9), 100, 'b')];
    const keys: string[] = [];
    let busy = false;
    await mergeGroups(runs.map((r) => bufferRun(encode(r))), async (key) => {
      expect(busy).toBe(false);
      busy = true;
      await new Promise((r) => setImmediate(r));
      keys.push(key);
      busy = false;
    });
    expect(keys).toEqual(expectedGroups(runs).map(([k]) => k));
  });

  it('gives no group for empty runs', async () => {
    const result = await mergeGroups([bufferRun(Buffer.alloc(0)), bufferRun(Buffer.alloc(0))], () => {
      throw new Error('no group expected');
    });
    expect(result).toEqual({ groups: 0, records: 0 });
  });
});

describe('mergeToFile', () => {
  const tempDir = useTempDirs();

  it('writes one sorted run holding every record, equal keys in run order', async () => {
    const dir = await tempDir();
    const random = rng(10);
    const runs = Array.from({ length: 12 }, (_, i) => randomRun(random, 80, `r${i}`));
    const out = join(dir, 'merged');
    const result = await mergeToFile(runs.map((r) => bufferRun(encode(r))), out, { factor: 5, tmpDir: dir });
    const expected = stableSortByKey(runs.flat());
    expect(result.records).toBe(expected.length);
    expect(result.bytes).toBe(encode(expected).length);
    expect(await drain(fileRun(out, 0, result.bytes))).toEqual(expected);
  });
});

describe('merge order of keys sharing long prefixes', () => {
  const tempDir = useTempDirs();

  // Keys that tie on the merger's 6-byte numeric prefix in every way: equal
  // first bytes then a difference, shorter than 6 bytes, zero bytes (which tie
  // with missing bytes), bytes >= 0x80 (non-ASCII), and longer than 32 bytes.
  const BASES = ['', 'a', 'ab', 'abcde', 'abcdef', 'abcdefg', 'abcdeg', '\u0000', 'a\u0000', 'abcde\u0000', 'abcdef\u0000', '\u00e9', '\u00e9\u00e9\u00e9', '\u00ff\u00ff\u00ff', '\u4e2d\u6587', '\u{1f600}', '\uffff\uffff', 'z'.repeat(40)];
  const SUFFIXES = ['', 'x', 'y', '\u0000', '\u00e9', 'long-suffix-to-go-past-thirty-two-bytes'];

  function randomKeyRun(random: () => number, n: number, tag: string): Rec[] {
    const recs: Rec[] = [];
    for (let i = 0; i < n; i++) recs.push({ key: pick(random, BASES) + pick(random, SUFFIXES), value: `${tag}:${i}` });
    return stableSortByKey(recs);
  }

  it('merges records in UTF-8 byte order of keys, equal keys in run order', async () => {
    const dir = await tempDir();
    const random = rng(77);
    const runs = Array.from({ length: 7 }, (_, i) => randomKeyRun(random, 150 + intBelow(random, 100), `r${i}`));
    const out = join(dir, 'merged');
    const result = await mergeToFile(runs.map((r) => bufferRun(encode(r))), out);
    expect(await drain(fileRun(out, 0, result.bytes))).toEqual(stableSortByKey(runs.flat()));
  });

  it('groups equal keys of any length, telling apart keys equal but for their length or a last byte', async () => {
    const random = rng(78);
    const runs = Array.from({ length: 5 }, (_, i) => randomKeyRun(random, 200, `r${i}`));
    const seen: [string, unknown[]][] = [];
    const result = await mergeGroups(runs.map((r) => bufferRun(encode(r))), (key, values) => void seen.push([key, values]));
    const expected = expectedGroups(runs);
    expect(seen).toEqual(expected);
    expect(result.groups).toBe(expected.length);
  });
});
