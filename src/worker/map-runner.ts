/**
 * Runs one map attempt inside a container: reads the input split, calls the
 * user's map per record, and hands the output to the sort buffer, which
 * partitions, combines, sorts and spills it into one indexed file.
 */
import type { Job } from '../api/job.js';
import { LaminateError } from '../common/errors.js';
import type { AttemptLaunch } from '../common/task-attempt.js';
import { isThenable } from '../common/thenable.js';
import { jsonlError, MalformedJsonLine, parseJsonLine } from '../storage/jsonl.js';
import { readSplitLines, readWholeFile } from '../storage/line-reader.js';
import { MapOutputCollector } from '../storage/map-output-collector.js';
import type { ContainerOutcome } from './container-messages.js';
import { partitionFunction } from './partition-function.js';
import { AttemptCounters, taskContext } from './task-context.js';

/** Called by the container thread once per map attempt. */
export async function runMap(job: Job, launch: AttemptLaunch, workDir: string): Promise<ContainerOutcome> {
  const split = launch.split;
  if (!split) throw new LaminateError('INVALID_ARGUMENT', `Map attempt ${launch.attemptId} has no input split`);
  const counters = new AttemptCounters();
  const ctx = taskContext(launch.attemptId, split.path, counters);
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
  const feed = (record: unknown): Promise<void> | undefined => {
    records++;
    const r = job.map(record, emit, ctx);
    if (isThenable(r)) return Promise.resolve(r).then(after);
    return after();
  };

  if (launch.format === 'whole') {
    await feed(await readWholeFile(split.path));
  } else if (launch.format === 'jsonl') {
    try {
      await readSplitLines(split, (line, lineIndex) => {
        const record = parseJsonLine(line, lineIndex);
        return record === undefined ? undefined : feed(record);
      });
    } catch (err) {
      if (err instanceof MalformedJsonLine) throw await jsonlError(split, err, 'NON_RETRYABLE');
      throw err;
    }
  } else {
    // One call per line, straight to map: settle() is a cheap check unless
    // something is due or the buffer is full.
    await readSplitLines(split, (line: string): Promise<void> | undefined => {
      records++;
      const r = job.map(line, emit, ctx);
      if (r !== undefined && isThenable(r)) return Promise.resolve(r).then(after);
      return collector.settle();
    });
  }
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
