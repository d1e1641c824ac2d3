/**
 * Runs one map attempt inside a container: reads the input split through its
 * input format, calls the user's map per record, and hands the output to the
 * sort buffer, which partitions, combines, sorts and spills it into one
 * indexed file.
 */
import type { Job, TaskContext } from '../api/job.js';
import { LaminateError } from '../common/errors.js';
import type { AttemptLaunch } from '../common/task-attempt.js';
import { isThenable } from '../common/thenable.js';
import { inputFormatFor } from '../storage/input-formats/formats.js';
import type { RecordOrigin } from '../storage/input-formats/input-format.js';
import type { DatasetAccess } from '../storage/input-formats/dataset.js';
import { MapOutputCollector } from '../storage/map-output-collector.js';
import type { ContainerOutcome } from './container-messages.js';
import { remoteDatasetAccess } from './dataset-reader.js';
import { partitionFunction } from './partition-function.js';
import { AttemptCounters, recordContext, taskContext } from './task-context.js';

/** Where the attempt runs: what the launch does not say. */
export interface MapEnvironment {
  /** The master the worker registered with: dataset splits are read from its Dataset service. */
  readonly masterAddress: string;
  /** Read dataset segments on the master's host from their files (dataset-reader.ts). Default true. */
  readonly hostLocal?: boolean;
  /** Where dataset splits are read, when not from the master (the container's warm-up). Default: remoteDatasetAccess. */
  readonly datasets?: DatasetAccess;
}

/** Called by the container thread once per map attempt. */
export async function runMap(job: Job, launch: AttemptLaunch, workDir: string, env: MapEnvironment): Promise<ContainerOutcome> {
  const split = launch.split;
  if (!split) throw new LaminateError('INVALID_ARGUMENT', `Map attempt ${launch.attemptId} has no input split`);
  const format = inputFormatFor(launch.format, { datasets: env.datasets ?? remoteDatasetAccess(env.masterAddress, env.hostLocal === undefined ? {} : { hostLocal: env.hostLocal }) });
  const counters = new AttemptCounters();
  const base = taskContext(launch.attemptId, '', counters);
  const context = (origin: RecordOrigin): TaskContext => recordContext(base, origin);
  const combine = job.combine;
  const collector = new MapOutputCollector({
    reducers: launch.reducers,
    partition: partitionFunction(job, launch.reducers, launch.splitPoints),
    ...(combine ? { combine: (k: string, vs: unknown[], e: (k: string, v: unknown) => void) => combine.call(job, k, vs, e) } : {}),
    sortBufferBytes: launch.sortBufferBytes,
    workDir,
    name: launch.attemptId,
  });
  const emit = (key: string, value: unknown): void => collector.collect(key, value);
  let records = 0;
  const after = (): Promise<void> | undefined => collector.settle();

  // One call per record, straight to map: settle() is a cheap check unless
  // something is due or the buffer is full, and nothing is awaited unless map
  // or settle returns a promise, so a synchronous map runs in a tight loop.
  await format.read(split, context, (record: unknown, ctx: TaskContext): Promise<void> | undefined => {
    records++;
    const r = job.map(record, emit, ctx);
    if (r !== undefined && isThenable(r)) return Promise.resolve(r).then(after);
    return collector.settle();
  });
  const output = await collector.close();
  const c = collector.counters();
  counters.add('MAP_INPUT_RECORDS', records);
  counters.add('MAP_OUTPUT_RECORDS', c.mapOutputRecords);
  counters.add('MAP_OUTPUT_BYTES', c.mapOutputBytes);
  counters.add('COMBINE_INPUT_RECORDS', c.combineInputRecords);
  counters.add('COMBINE_OUTPUT_RECORDS', c.combineOutputRecords);
  counters.add('SPILLED_RECORDS', c.spilledRecords);
  return { outcome: 'SUCCEEDED', counters: counters.toObject(), partitions: [...output.partitions], dataPath: output.dataPath };
}
