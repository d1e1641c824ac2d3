/**
 * Total order: samples the keys a job's map emits from a few records of
 * several input splits, and picks reducers - 1 split points so that each
 * reducer gets a similar share of the key space (Hadoop's InputSampler
 * with its SplitSampler, run in the client before submission). Reads
 * through the job's input format, so files and datasets alike.
 */
import type { Job, TaskContext } from '../api/job.js';
import { LaminateError } from '../common/errors.js';
import type { InputFormat } from '../common/input-format.js';
import { isThenable } from '../common/thenable.js';
import { inputFormatFor } from '../storage/input-formats/formats.js';
import { MalformedInputError, type JobInputs, type RecordOrigin } from '../storage/input-formats/input-format.js';
import { compareKeys } from '../storage/key-order.js';
import type { SamplingDatasets } from './dataset-inputs.js';

export interface SampleOptions {
  /** Absolute paths, or dataset inputs (`dataset:NAME[@CUT]`). */
  readonly inputs: readonly string[];
  readonly format: InputFormat;
  readonly splitSize: number;
  readonly reducers: number;
  /** Dataset inputs only: how to reach them. */
  readonly datasets?: SamplingDatasets;
  /** Records read at most. Default 100 000. */
  readonly maxRecords?: number;
  /** Splits sampled at most. Default 20. */
  readonly maxSplits?: number;
}

class Enough extends Error {}

async function jobInputs(o: SampleOptions): Promise<JobInputs> {
  if (o.format !== 'dataset') return { kind: 'files', paths: o.inputs };
  const datasets = o.datasets;
  if (!datasets) throw new LaminateError('FAILED_PRECONDITION', 'Expected a way to reach the datasets to sample, got none');
  return { kind: 'datasets', cuts: await Promise.all(o.inputs.map((i) => datasets.cutOf(i))) };
}

function samplerContext(origin: RecordOrigin): TaskContext {
  const base = { attemptId: 'sampler', counter: () => {} };
  return origin.kind === 'file'
    ? { ...base, path: origin.path }
    : { ...base, path: '', dataset: origin.dataset, partition: origin.partition, offset: origin.offset };
}

export async function sampleSplitPoints(job: Job, o: SampleOptions): Promise<string[]> {
  if (o.reducers <= 1) return [];
  const format = inputFormatFor(o.format, o.datasets ? { datasets: o.datasets.access } : {});
  const splits = await format.listSplits(await jobInputs(o), o.splitSize);
  const maxSplits = Math.min(o.maxSplits ?? 20, splits.length);
  const perSplit = Math.ceil((o.maxRecords ?? 100_000) / Math.max(1, maxSplits));
  const keys: string[] = [];
  const emit = (key: string): void => { keys.push(key); };
  for (let i = 0; i < maxSplits; i++) {
    const split = splits[Math.floor((i * splits.length) / maxSplits)]!;
    let n = 0;
    try {
      await format.read(split, samplerContext, (record, ctx) => {
        if (n++ >= perSplit) throw new Enough();
        const r = job.map(record, emit, ctx);
        return isThenable(r) ? Promise.resolve(r).then(() => undefined) : undefined;
      });
    } catch (err) {
      // Here bad input refuses the submission, rather than failing a job.
      if (err instanceof MalformedInputError) throw new LaminateError('INVALID_ARGUMENT', err.message, { cause: err });
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
