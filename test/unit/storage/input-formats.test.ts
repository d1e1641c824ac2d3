import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InputFormat } from '../../../src/common/input-format.js';
import type { DatasetSplit, InputSplit } from '../../../src/common/input-split.js';
import { datasetFormat, type DatasetAccess, type DatasetRecordChunk, type OffsetRange } from '../../../src/storage/input-formats/dataset.js';
import { inputFormatFor } from '../../../src/storage/input-formats/formats.js';
import { MalformedInputError, type RecordOrigin } from '../../../src/storage/input-formats/input-format.js';
import { MAX_MAP_TASKS } from '../../../src/storage/input-split.js';
import { intBelow, rejectsWith, rng, throwsWith, useTempDirs } from './helpers.js';

/** Every record of every split, with the origin each came with. */
async function readAll(format: InputFormat, splits: readonly InputSplit[], access?: DatasetAccess): Promise<Array<{ record: unknown; origin: RecordOrigin }>> {
  const port = inputFormatFor(format, access ? { datasets: access } : {});
  const out: Array<{ record: unknown; origin: RecordOrigin }> = [];
  for (const split of splits) await port.read(split, (origin) => origin, (record, origin) => { out.push({ record, origin }); });
  return out;
}

/** A dataset held in memory: partitions of records; chunks of `chunk` records; splits of `perSplit` records. */
function memoryAccess(partitions: readonly unknown[][], o: { chunk?: number; perSplit?: number; skip?: number } = {}): DatasetAccess & { closed: number } {
  const access = {
    closed: 0,
    splitRanges(_dataset: string, _partition: number, end: number): Promise<OffsetRange[]> {
      const step = o.perSplit ?? 3;
      const ranges: OffsetRange[] = [];
      for (let s = 0; s < end; s += step) ranges.push({ startOffset: s, endOffset: Math.min(end, s + step) });
      return Promise.resolve(ranges);
    },
    async *readRange(split: DatasetSplit): AsyncGenerator<DatasetRecordChunk> {
      try {
        const records = partitions[split.partition]!;
        const step = o.chunk ?? 2;
        for (let from = split.startOffset; from < split.endOffset; from += step) {
          // `skip` drops a record mid-split: a reader that lost one.
          const first = o.skip !== undefined && from > split.startOffset ? from + o.skip : from;
          await Promise.resolve();
          yield { firstOffset: first, records: records.slice(first, Math.min(split.endOffset, from + step)) };
        }
      } finally {
        access.closed++;
      }
    },
  };
  return access;
}

describe('input formats: files', () => {
  const tempDir = useTempDirs();

  it('text and jsonl read every line of their files exactly once, in order, whatever the split size', async () => {
    const dir = await tempDir();
    const random = rng(17);
    const texts: string[][] = [];
    const paths: string[] = [];
    for (let f = 0; f < 3; f++) {
      const lines = Array.from({ length: 50 + intBelow(random, 200) }, (_, i) => JSON.stringify({ f, i, pad: 'é'.repeat(intBelow(random, 40)) }));
      texts.push(lines);
      paths.push(join(dir, `part-${f}.jsonl`));
      await writeFile(paths[f]!, `${lines.join(f === 1 ? '\r\n' : '\n')}${f === 2 ? '' : '\n'}`);
    }
    for (const splitSize of [17, 500, 4096, 1 << 20]) {
      const splits = await inputFormatFor('text').listSplits({ kind: 'files', paths }, splitSize);
      if (splitSize === 17) expect(splits.length).toBeGreaterThan(100);
      const lines = await readAll('text', splits);
      expect(lines.map((l) => l.record)).toEqual(texts.flat());
      expect(lines.map((l) => (l.origin.kind === 'file' ? l.origin.path : ''))).toEqual(texts.flatMap((t, f) => t.map(() => paths[f])));
      const values = await readAll('jsonl', await inputFormatFor('jsonl').listSplits({ kind: 'files', paths }, splitSize));
      expect(values.map((v) => v.record)).toEqual(texts.flat().map((l) => JSON.parse(l)));
    }
  });

  it('whole gives each file, empty ones included, as one record', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.txt'), 'one\ntwo\n');
    await writeFile(join(dir, 'b.txt'), '');
    const splits = await inputFormatFor('whole').listSplits({ kind: 'files', paths: [dir] }, 1);
    expect(await readAll('whole', splits)).toEqual([
      { record: 'one\ntwo\n', origin: { kind: 'file', path: join(dir, 'a.txt') } },
      { record: '', origin: { kind: 'file', path: join(dir, 'b.txt') } },
    ]);
  });

  it('jsonl skips blank lines and names the file and line of a malformed one, as input no retry can read', async () => {
    const dir = await tempDir();
    const path = join(dir, 'events.jsonl');
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ i }));
    lines[5] = '   ';
    lines[29] = '{"i": ';
    await writeFile(path, `${lines.join('\n')}\n`);
    // In one split: the records before the bad line come, the blank line gives none.
    const [whole] = await inputFormatFor('jsonl').listSplits({ kind: 'files', paths: [path] }, 1 << 20);
    const good: unknown[] = [];
    const err = await inputFormatFor('jsonl').read(whole!, () => null, (r) => { good.push(r); }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(MalformedInputError);
    expect((err as MalformedInputError).code).toBe('NON_RETRYABLE');
    expect((err as MalformedInputError).message).toMatch(new RegExp(`^Malformed JSON in ${path} at line 30: `));
    expect(good).toEqual(lines.slice(0, 29).filter((l) => l.trim() !== '').map((l) => JSON.parse(l)));
    // In small splits, the line number still counts from the file's start.
    const splits = await inputFormatFor('jsonl').listSplits({ kind: 'files', paths: [path] }, 64);
    const errors = await Promise.all(splits.map((split) => inputFormatFor('jsonl').read(split, () => null, () => {}).then(() => undefined, (e: unknown) => e)));
    expect(errors.filter((e) => e !== undefined).map((e) => (e as Error).message.replace(/: .*$/, ''))).toEqual([`Malformed JSON in ${path} at line 30`]);
  });

  it('awaits a record sink that returns a promise before the next record, and stops at a throw', async () => {
    const dir = await tempDir();
    const path = join(dir, 'a.txt');
    await writeFile(path, 'a\nb\nc\nd\n');
    const [split] = await inputFormatFor('text').listSplits({ kind: 'files', paths: [path] }, 1000);
    const order: string[] = [];
    await inputFormatFor('text').read(split!, () => null, async (r) => {
      order.push(`start ${String(r)}`);
      await new Promise((resolve) => setImmediate(resolve));
      order.push(`end ${String(r)}`);
    });
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c', 'start d', 'end d']);
    const seen: unknown[] = [];
    await expect(inputFormatFor('text').read(split!, () => null, (r) => {
      seen.push(r);
      if (r === 'b') throw new Error('enough');
    })).rejects.toThrow('enough');
    expect(seen).toEqual(['a', 'b']);
  });

  it('refuses dataset inputs and dataset splits', async () => {
    const split: InputSplit = { kind: 'dataset', dataset: 'd', partition: 0, startOffset: 0, endOffset: 1 };
    for (const format of ['text', 'whole', 'jsonl'] as const) {
      await rejectsWith(inputFormatFor(format).listSplits({ kind: 'datasets', cuts: [{ dataset: 'd', offsets: [1] }] }, 10), 'INVALID_ARGUMENT', new RegExp(`Expected file inputs for the ${format} input format, got datasets 'd'`));
      await rejectsWith(inputFormatFor(format).read(split, () => null, () => {}), 'INVALID_ARGUMENT', /Expected a file split .*, got dataset 'd' partition 0 offsets \[0, 1\)/);
    }
  });
});

describe('input formats: datasets', () => {
  const parts = [
    Array.from({ length: 10 }, (_, i) => ({ p: 0, i })),
    [],
    Array.from({ length: 7 }, (_, i) => ({ p: 2, i })),
  ];

  it('lists each dataset\'s partitions in order, as the planner cuts them, and reads each record once with its dataset, partition and offset', async () => {
    const access = memoryAccess(parts);
    const port = inputFormatFor('dataset', { datasets: access });
    const cuts = [{ dataset: 'a', offsets: [10, 0, 5] }, { dataset: 'b', offsets: [4, 0, 7] }];
    const splits = await port.listSplits({ kind: 'datasets', cuts }, 100);
    expect(splits.map((s) => (s.kind === 'dataset' ? `${s.dataset}/${s.partition}:${s.startOffset}-${s.endOffset}` : ''))).toEqual([
      'a/0:0-3', 'a/0:3-6', 'a/0:6-9', 'a/0:9-10', 'a/2:0-3', 'a/2:3-5', 'b/0:0-3', 'b/0:3-4', 'b/2:0-3', 'b/2:3-6', 'b/2:6-7',
    ]);
    const read = await readAll('dataset', splits, access);
    const expected = cuts.flatMap(({ dataset, offsets }) => offsets.flatMap((end, partition) =>
      parts[partition]!.slice(0, end).map((record, offset) => ({ record, origin: { kind: 'dataset', dataset, partition, offset } }))));
    expect(read).toEqual(expected);
    expect(access.closed).toBe(splits.length);
  });

  it('stops reading (and closes the read) when the sink throws', async () => {
    const access = memoryAccess(parts, { chunk: 2 });
    const split: DatasetSplit = { kind: 'dataset', dataset: 'a', partition: 0, startOffset: 0, endOffset: 10 };
    const seen: number[] = [];
    await expect(datasetFormat(access).read(split, (o) => o, (_r, o) => {
      if (o.kind === 'dataset') seen.push(o.offset);
      if (seen.length === 3) throw new Error('enough');
    })).rejects.toThrow('enough');
    expect(seen).toEqual([0, 1, 2]);
    expect(access.closed).toBe(1);
  });

  it('reports a read that skips or misses records as DATA_LOSS, naming dataset, partition and offset', async () => {
    const split: DatasetSplit = { kind: 'dataset', dataset: 'a', partition: 0, startOffset: 2, endOffset: 9 };
    await rejectsWith(datasetFormat(memoryAccess(parts, { skip: 1 })).read(split, () => null, () => {}), 'DATA_LOSS', /Expected records \[4, 9\) of dataset 'a' partition 0, got 1 from offset 5/);
    const short: DatasetAccess = { ...memoryAccess(parts), async *readRange() { yield { firstOffset: 2, records: [1, 2] }; } };
    await rejectsWith(datasetFormat(short).read(split, () => null, () => {}), 'DATA_LOSS', /Expected records \[2, 9\) of dataset 'a' partition 0, got a read that ended at offset 4/);
  });

  it('reads a range FROM..CUT: the splits cover exactly the records from FROM on, each once', async () => {
    const port = datasetFormat(memoryAccess(parts));
    const splits = await port.listSplits({ kind: 'datasets', cuts: [{ dataset: 'a', offsets: [10, 4], from: [4, 4] }] }, 100);
    expect(splits).toEqual([
      { kind: 'dataset', dataset: 'a', partition: 0, startOffset: 4, endOffset: 6 },
      { kind: 'dataset', dataset: 'a', partition: 0, startOffset: 6, endOffset: 9 },
      { kind: 'dataset', dataset: 'a', partition: 0, startOffset: 9, endOffset: 10 },
    ]);
  });

  it('catches a planner whose ranges do not tile the partition, and more splits than a job may have', async () => {
    const gap: DatasetAccess = { ...memoryAccess(parts), splitRanges: () => Promise.resolve([{ startOffset: 0, endOffset: 3 }, { startOffset: 4, endOffset: 10 }]) };
    await rejectsWith(datasetFormat(gap).listSplits({ kind: 'datasets', cuts: [{ dataset: 'a', offsets: [10] }] }, 100), 'INTERNAL', /to tile \[0, 10\), got \[4, 10\) after 3/);
    const short: DatasetAccess = { ...memoryAccess(parts), splitRanges: () => Promise.resolve([{ startOffset: 0, endOffset: 3 }]) };
    await rejectsWith(datasetFormat(short).listSplits({ kind: 'datasets', cuts: [{ dataset: 'a', offsets: [10] }] }, 100), 'INTERNAL', /to end at 10, got 3/);
    const tiny = memoryAccess(parts, { perSplit: 1 });
    await rejectsWith(datasetFormat(tiny).listSplits({ kind: 'datasets', cuts: [{ dataset: 'a', offsets: [MAX_MAP_TASKS + 1] }] }, 100), 'INVALID_ARGUMENT', /Expected at most 100000 map tasks, got more: raise --split-size \(now 100 bytes\)/);
  });

  it('refuses file inputs and file splits, and needs a way to reach datasets', async () => {
    const port = datasetFormat(memoryAccess(parts));
    await rejectsWith(port.listSplits({ kind: 'files', paths: ['/in/a'] }, 10), 'INVALID_ARGUMENT', /Expected dataset inputs for the dataset input format, got files '\/in\/a'/);
    await rejectsWith(port.read({ kind: 'file', path: '/in/a', start: 0, length: 1 }, () => null, () => {}), 'INVALID_ARGUMENT', /Expected a dataset split .*, got the file split \/in\/a@0\+1/);
    throwsWith(() => inputFormatFor('dataset'), 'FAILED_PRECONDITION', /Expected a way to reach datasets/);
    throwsWith(() => inputFormatFor('csv' as InputFormat), 'INVALID_ARGUMENT', /got 'csv'/);
  });
});
