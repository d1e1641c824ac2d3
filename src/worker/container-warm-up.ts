/**
 * The warm-up of a blank container (prestarted, no job yet): while it waits
 * for a job, it runs the engine's map and reduce once over synthetic
 * records, so that a job's first attempts in it run the engine's code
 * compiled, as later attempts do, and it loads the gRPC clients that
 * dataset splits and shuffles need (the JVM world's warm-up before traffic,
 * Lambda SnapStart's priming).
 *
 * Why: a container is a fresh V8 isolate per job (jobs do not share threads),
 * and its first map attempt paid a fixed cost whatever its split: in the
 * serving benchmark, first attempts of 16 MB, 32 MB and 64 MB splits took
 * 1.9-2.6 s, 2.0 s and 3.2-3.5 s where the attempts after them took
 * 0.5-1.1 s, 0.8-1.1 s and 1.5-1.9 s (bench/README.md, serving). Profiled,
 * the difference was everywhere: the engine's functions running before V8
 * optimised them (the adaptive combiner's judging 96 ms against 12, msgpack
 * decoding twice as long), garbage collection while the heap grew, module
 * loading. The user's own code is not warmed (it is not known yet), nor
 * text inputs and outputs. With
 * this warm-up, the benchmark's first map attempts took 2.2-2.5 s (the next
 * ones 1.5-1.8 s), its first reduces 0.52-0.60 s against 0.70-0.98 s, and
 * the build 5.2-5.5 s against 6.7-7.7 s (3 runs each, bench/README.md).
 *
 * The path run is the one a dataset split read on the master's host takes:
 * a segment file of batches (batch-aligned reads, the archive reader's
 * checks and decoding), the map runner and its sort buffer with a combiner
 * (adaptive combining judged, then the plain buffer), a sorted and indexed
 * map output; then a reduce that reads the output's partitions in place,
 * merges them and writes a view file. In a folder of its own under the
 * worker's data folder (given by the pool), removed after.
 *
 * Who calls it: container-main.ts, once, when a blank container has waited
 * WARM_UP_DELAY_MS without a task (a job's attempt taking a container that
 * was just started finds no warm-up under way). An attempt that arrives
 * starts at once; the warm-up shares the thread with it until its next
 * check of the signal (one per record of its map and its reduce, one per
 * 1,000 records it writes, and between steps), then stops and removes its
 * folder. Any error ends the warm-up and leaves the container as it was: it
 * is an optimisation, never a condition for running. A container terminated
 * during its warm-up has its folder removed by its owner
 * (src/worker/container.ts), since no code of the thread runs after that.
 */
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Emit, Job } from '../api/job.js';
import { errorMessage } from '../common/errors.js';
import type { DatasetSplit } from '../common/input-split.js';
import type { AttemptLaunch } from '../common/task-attempt.js';
import { readArchivedSplit } from '../dataset/archive-reader.js';
import { batchAlignedReads } from '../dataset/batch-aligned-reads.js';
import { encodeBatchHeader } from '../dataset/batch-format.js';
import type { PartitionInfo } from '../common/partition-info.js';
import type { DatasetAccess } from '../storage/input-formats/dataset.js';
import { mergeGroups } from '../storage/merger.js';
import { RecordBodyBuilder } from '../storage/record-body.js';
import { fileRun } from '../storage/sorted-run.js';
import type { WarmUpReport } from './container-messages.js';
import { MAP_READ_BYTES } from './dataset-reader.js';
import { HOST_LOCAL_BUFFER } from './host-local.js';
import { runMap } from './map-runner.js';
import { openReduceOutput } from './reduce-output.js';

/** How long a blank container waits for a task before it warms up. */
export const WARM_UP_DELAY_MS = 1_000;

/**
 * Synthetic records run: past the adaptive combiner's judgement (20,000
 * records, map-output-collector.ts), so that both the combining and the
 * plain sort buffer run. With a warm-up of the map alone, 20,000 and 50,000
 * records made the serving benchmark's first map attempts equally fast
 * (2.4-2.7 s and 2.5 s against 3.2-3.5 s). A warm-up in a fresh thread
 * took 0.65-1.3 s of wall time on a free core (logged), 2.1-2.2 s on a
 * loaded machine.
 */
export const WARM_UP_RECORDS = 30_000;

/** Record bytes per synthetic batch: small, so that an attempt arriving waits for little. */
const BATCH_BYTES = 64 * 1024;
/** The synthetic job's reducers, and its sort buffer (the whole map output in one spill, as a split that fits). */
const REDUCERS = 4;
const SORT_BUFFER_BYTES = 64 * 1024 * 1024;

/**
 * The synthetic records' i-th key: hashed into twice as many keys as
 * records, so that some repeat (the combiner has work) and the adaptive
 * combiner, judging 20,000 records with ~15% repeats, stops (the plain sort
 * buffer has work too), as on the serving benchmark's records.
 */
export function syntheticKey(i: number, records: number): string {
  // MurmurHash3's finaliser: collisions as random keys would have them.
  let h = Math.imul(i ^ (i >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h = (h ^ (h >>> 16)) >>> 0;
  return `warm-up-${String(h % (2 * records)).padStart(9, '0')}`;
}

/** A segment file of `records` synthetic `{ key, value }` records in batches; returns its size. */
async function writeSegment(path: string, records: number, check: () => void): Promise<number> {
  const parts: Buffer[] = [];
  let builder = new RecordBodyBuilder();
  let baseOffset = 0;
  let count = 0;
  let bytes = 0;
  const seal = (): void => {
    const body = builder.take();
    parts.push(encodeBatchHeader({ baseOffset, count, producerId: undefined, sequence: 0, appendTime: 0, durableOffset: 0 }, body), body);
    baseOffset += count;
    count = 0;
    bytes = 0;
    builder = new RecordBodyBuilder();
  };
  for (let i = 0; i < records; i++) {
    if (i % 1_000 === 0) check();
    const key = syntheticKey(i, records);
    const value = `${key}/${i.toString(36).padStart(90, '.')}`;
    builder.add({ key, value });
    count++;
    bytes += key.length + value.length;
    if (bytes >= BATCH_BYTES) seal();
  }
  if (count > 0) seal();
  const data = Buffer.concat(parts);
  await writeFile(path, data);
  return data.length;
}

/** The largest of string values: the synthetic job's combine and reduce. */
function largest(values: unknown[]): unknown {
  let best = values[0] as string;
  for (const v of values) if ((v as string) > best) best = v as string;
  return best;
}

/**
 * Runs the warm-up in `dir` (created; removed after, stopped or not: the
 * folder is the warm-up's alone). `signal` aborted: it stops at its next
 * check. Resolves with how it ended; never rejects.
 */
export async function warmUp(dir: string, signal: AbortSignal, records = WARM_UP_RECORDS): Promise<WarmUpReport> {
  const t0 = performance.now();
  const report = (outcome: WarmUpReport['outcome'], more: Partial<WarmUpReport> = {}): WarmUpReport =>
    ({ outcome, ms: Math.round(performance.now() - t0), records, ...more });
  const check = (): void => signal.throwIfAborted();
  let made = false;
  try {
    // The clients dataset splits are read and map outputs fetched with (each a tenth of a second of module loading at first),
    // and the service definitions they are made from: parsing the .proto file took 72 ms of a first map attempt's
    // start (profiled, the serving benchmark, 3 December), once per thread.
    await import('../protocol/dataset-rpc.js');
    await import('./fetcher.js');
    (await import('../protocol/load.js')).services();
    check();
    await mkdir(dir, { recursive: true });
    made = true;
    const map = await warmUpMap(dir, records, check);
    check();
    const reduced = await warmUpReduce(dir, map.dataPath, map.partitions, check);
    return report('done', { counters: { ...map.counters, REDUCE_OUTPUT_RECORDS: reduced } });
  } catch (err) {
    return signal.aborted ? report('stopped') : report('failed', { message: errorMessage(err) });
  } finally {
    if (made) await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** The map: a segment file of synthetic records read as a host-local split, through the map runner. */
async function warmUpMap(folder: string, records: number, check: () => void): Promise<{ dataPath: string; partitions: readonly PartitionInfo[]; counters: Readonly<Record<string, number>> }> {
  const path = join(folder, 'segment.log');
  const size = await writeSegment(path, records, check);
  check();
  const fh = await open(path);
  try {
    const datasets: DatasetAccess = {
      splitRanges: () => Promise.reject(new Error('the warm-up plans no splits')),
      async *readRange(split: DatasetSplit) {
        yield* readArchivedSplit({ ...split, archive: { path, start: 0, end: size } }, batchAlignedReads(fh, MAP_READ_BYTES), 'warm-up segment');
      },
    };
    const job: Job = {
      map(record: unknown, emit: Emit) {
        check();
        const r = record as { key: string; value: string };
        emit(r.key, r.value);
      },
      combine: (key: string, values: unknown[], emit: Emit) => emit(key, largest(values)),
      reduce: (key: string, values: unknown[], emit: Emit) => emit(key, largest(values)),
    };
    const launch: AttemptLaunch = {
      attemptId: 'warm-up', jobId: 'warm-up', workerId: '', bundleHash: '', kind: 'map', index: 0, memoryMb: 0, timeoutMs: 0, reducers: REDUCERS,
      format: 'dataset', outputDir: folder, sources: [], splitPoints: [], sortBufferBytes: SORT_BUFFER_BYTES,
      split: { kind: 'dataset', dataset: 'warm-up', partition: 0, startOffset: 0, endOffset: records },
    };
    const outcome = await runMap(job, launch, folder, { masterAddress: '', datasets });
    if (outcome.outcome !== 'SUCCEEDED' || outcome.dataPath === undefined || outcome.partitions === undefined) {
      throw new Error(`the warm-up's map did not succeed: ${outcome.outcome === 'SUCCEEDED' ? 'no output' : outcome.message}`);
    }
    return { dataPath: outcome.dataPath, partitions: outcome.partitions, counters: outcome.counters };
  } finally {
    await fh.close();
  }
}

/**
 * The reduce: the map output's partitions read in place (as a reducer on the
 * same host reads them), merged by key and written as a view file. Returns
 * the keys written.
 */
async function warmUpReduce(folder: string, dataPath: string, partitions: readonly PartitionInfo[], check: () => void): Promise<number> {
  const runs = partitions.map((p) => fileRun(dataPath, p.offset, p.length, HOST_LOCAL_BUFFER));
  const out = await openReduceOutput('view', join(folder, 'warm-up.view'));
  let keys = 0;
  try {
    await mergeGroups(runs, (key, values) => {
      check();
      out.write(key, largest(values));
      keys++;
      return out.needsFlush() ? out.flush() : undefined;
    }, { tmpDir: folder });
    await out.close();
  } catch (err) {
    await out.abort();
    throw err;
  }
  return keys;
}
