/**
 * Total order: samples the keys a job's map emits from a few records of
 * several input splits, and picks reducers - 1 split points so that each
 * reducer gets a similar share of the key space (Hadoop's InputSampler
 * with its SplitSampler, run in the client before submission).
 */
import type { Job } from '../api/job.js';
import type { InputFormat } from '../common/input-format.js';
import { computeSplits } from '../storage/input-split.js';
import { listInputFiles } from '../storage/input-files.js';
import { compareKeys } from '../storage/key-order.js';
import { jsonlError, MalformedJsonLine, parseJsonLine } from '../storage/jsonl.js';
import { readSplitLines, readWholeFile } from '../storage/line-reader.js';
import { isThenable } from '../common/thenable.js';

export interface SampleOptions {
  readonly inputs: readonly string[];
  readonly format: InputFormat;
  readonly splitSize: number;
  readonly reducers: number;
  /** Records read at most. Default 100 000. */
  readonly maxRecords?: number;
  /** Splits sampled at most. Default 20. */
  readonly maxSplits?: number;
}

class Enough extends Error {}

export async function sampleSplitPoints(job: Job, o: SampleOptions): Promise<string[]> {
  if (o.reducers <= 1) return [];
  const splits = computeSplits(await listInputFiles([...o.inputs]), o.splitSize, o.format);
  const maxSplits = Math.min(o.maxSplits ?? 20, splits.length);
  const perSplit = Math.ceil((o.maxRecords ?? 100_000) / Math.max(1, maxSplits));
  const keys: string[] = [];
  const ctx = { path: '', attemptId: 'sampler', counter: () => {} };
  const emit = (key: string): void => { keys.push(key); };
  for (let i = 0; i < maxSplits; i++) {
    const split = splits[Math.floor((i * splits.length) / maxSplits)]!;
    const c = { ...ctx, path: split.path };
    if (o.format === 'whole') {
      const r = job.map(await readWholeFile(split.path), emit, c);
      if (isThenable(r)) await r;
      continue;
    }
    let n = 0;
    try {
      await readSplitLines(split, (line, lineIndex) => {
        if (n++ >= perSplit) throw new Enough();
        const record = o.format === 'jsonl' ? parseJsonLine(line, lineIndex) : line;
        if (record === undefined) return undefined;
        const r = job.map(record, emit, c);
        return isThenable(r) ? Promise.resolve(r).then(() => undefined) : undefined;
      });
    } catch (err) {
      if (err instanceof MalformedJsonLine) throw await jsonlError(split, err, 'INVALID_ARGUMENT');
      if (!(err instanceof Enough)) throw err;
    }
  }
  keys.sort(compareKeys);
  const points: string[] = [];
  for (let r = 1; r < o.reducers; r++) {
    if (keys.length === 0) break;
    points.push(keys[Math.min(keys.length - 1, Math.floor((r * keys.length) / o.reducers))]!);
  }
  // With few distinct keys, points may repeat; the range partitioner handles that (empty reducers).
  while (points.length < o.reducers - 1) points.push(points[points.length - 1] ?? '');
  return points;
}
