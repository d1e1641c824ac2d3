/**
 * Runs one reduce attempt inside a container: fetches its partition of every
 * map output, merges the sorted runs, calls the user's reduce once per key in
 * key order, and writes the part file to the attempt's temporary path. The
 * master commits it (or not) when the attempt reports success.
 */
import { join } from 'node:path';
import type { Job } from '../api/job.js';
import { describe, LaminateError, NonRetryableError } from '../common/errors.js';
import { formatAttemptDir, formatPartFile } from '../common/ids.js';
import type { AttemptLaunch, OutputFileSummary } from '../common/task-attempt.js';
import { isThenable } from '../common/thenable.js';
import { mergeGroups } from '../storage/merger.js';
import { ObjectOutputCommitter } from '../storage/object-output-committer.js';
import { isS3Path } from '../storage/object-store.js';
import { FileOutputCommitter } from '../storage/output-committer.js';
import { joinStorePath } from '../storage/store-path.js';
import { openStagedViewOutput } from './staged-view-output.js';
import type { ContainerOutcome } from './container-messages.js';
import type { FetchResult } from './fetcher.js';
import { openReduceOutput, textOutput, type MergeBase, type ReduceOutput } from './reduce-output.js';
import { AttemptCounters, taskContext } from './task-context.js';

const noFetch = async (): Promise<FetchResult> => ({ runs: [], bytes: 0, localBytes: 0 });

/** Share of a reduce container's memory that holds fetched map output. */
export const SHUFFLE_MEMORY_FRACTION = 0.25;

/** The earlier version's file this reducer merges with (an incremental view build), if any. */
function mergeBaseOf(job: Job, launch: AttemptLaunch): MergeBase | undefined {
  if (launch.mergeBase === undefined) return undefined;
  const merge = job.mergeOutput;
  if (job.output !== 'view' || merge === undefined) {
    throw new NonRetryableError(`Expected a job with view output and a mergeOutput function to merge with '${launch.mergeBase}', got output ${describe(job.output ?? 'text')}`);
  }
  return { path: joinStorePath(launch.mergeBase, formatPartFile(launch.index)), merge: (key, base, fresh) => merge(key, base, fresh) };
}

/**
 * The attempt's output under its committer: a file under the output
 * folder's `_temporary/` (renamed at commit), or an upload to an object
 * store (completed at commit: object-output-committer.ts); a view file for
 * an object store is staged in `workDir` first (staged-view-output.ts).
 */
async function openTaskOutput(job: Job, launch: AttemptLaunch, attemptDir: string, workDir: string): Promise<ReduceOutput> {
  const kind = job.output ?? 'text';
  if (isS3Path(launch.outputDir)) {
    if (kind === 'text') return textOutput(await ObjectOutputCommitter.openTaskOutput(launch.outputDir, attemptDir, launch.index));
    // The base first: a build that cannot merge fails before it uploads anything.
    const base = mergeBaseOf(job, launch);
    const upload = await ObjectOutputCommitter.openTaskUpload(launch.outputDir, attemptDir, launch.index);
    return openStagedViewOutput(join(workDir, `${attemptDir}.${formatPartFile(launch.index)}.view`), upload, base);
  }
  const outPath = FileOutputCommitter.taskAttemptPath(launch.outputDir, attemptDir, launch.index);
  // Never creates the job's _temporary (nor the output folder): an attempt that starts after its job ended writes nothing.
  await FileOutputCommitter.setupTask(launch.outputDir, attemptDir);
  return openReduceOutput(kind, outPath, mergeBaseOf(job, launch));
}

/** Called by the container thread once per reduce attempt. */
export async function runReduce(job: Job, launch: AttemptLaunch, workDir: string, options: { hostLocal?: boolean } = {}): Promise<ContainerOutcome> {
  const counters = new AttemptCounters();
  const ctx = taskContext(launch.attemptId, '', counters);
  // The shuffle client (grpc-js) loads on a container's first fetch, not at
  // its start: map attempts and reduces with nothing to fetch never need it.
  const needsFetch = launch.sources.some((src) => src.partition.length > 0);
  const { fetchRuns } = needsFetch ? await import('./fetcher.js') : { fetchRuns: noFetch };
  const { runs, bytes, localBytes } = await fetchRuns(launch.sources, {
    partition: launch.index,
    ...(options.hostLocal === undefined ? {} : { hostLocal: options.hostLocal }),
    workDir,
    filePrefix: launch.attemptId,
    memoryBudget: Math.floor(launch.memoryMb * 1024 * 1024 * SHUFFLE_MEMORY_FRACTION),
  });
  const attemptDir = formatAttemptDir(launch.attemptId, launch.workerId);
  const writer = await openTaskOutput(job, launch, attemptDir, workDir);
  let outputRecords = 0;
  let outputFile: OutputFileSummary | undefined;
  const emit = (key: string, value: unknown): void => {
    if (typeof key !== 'string') throw new LaminateError('INVALID_ARGUMENT', `Expected reduce's emitted key to be a string, got ${describe(key)}`);
    outputRecords++;
    writer.write(key, value);
  };
  const afterGroup = (): Promise<void> | undefined => (writer.needsFlush() ? writer.flush() : undefined);
  try {
    const merged = await mergeGroups(runs, (key, values) => {
      const r = job.reduce(key, values, emit, ctx);
      return isThenable(r) ? Promise.resolve(r).then(afterGroup) : afterGroup();
    }, { tmpDir: workDir });
    counters.add('REDUCE_INPUT_GROUPS', merged.groups);
    counters.add('REDUCE_INPUT_RECORDS', merged.records);
    // Inside the try: the last flush (an incremental build's merge with its base) can fail too, and must not leave files open.
    outputFile = await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  counters.add('SHUFFLE_BYTES', bytes);
  counters.add('SHUFFLE_LOCAL_BYTES', localBytes);
  counters.add('REDUCE_OUTPUT_RECORDS', outputRecords);
  return { outcome: 'SUCCEEDED', counters: counters.toObject(), ...(outputFile === undefined ? {} : { outputFile }) };
}
