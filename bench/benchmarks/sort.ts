/**
 * sort: 10 million gensort -a records (1 GB). Contenders: `LC_ALL=C sort
 * --parallel=2` and Laminate with total order. Both outputs are validated as
 * TeraValidate does (order within and across files, CRC-32 sum equal to the
 * input's) and must hold the same key sequence. The generator is first
 * checked against valsort's checksum of the first 163,840 records.
 */
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { JobClient } from '../../src/client/job-client.js';
import { gnuSort } from '../baselines/gnu.js';
import { BenchCluster, ROOT } from '../cluster.js';
import { bestOf, CLUSTER_SHAPE, runFigures, warmPageCache, type BenchContext, type Benchmark } from '../context.js';
import { cachedData } from '../data-cache.js';
import { gensortChecksum, RECORD_BYTES, VALSORT_CHECK, writeGensort } from '../data-gen/gensort.js';
import { formatPhases, runLaminateJob } from '../laminate-run.js';
import { measureCommand } from '../measure.js';
import { target, type BenchResult, type Check } from '../report.js';
import { checkGensortFile, checkLaminateOutput, type SortCheck } from '../validate/terasort.js';

const FULL_RECORDS = 10_000_000;
/** About 16 maps of 62.5 MB at full scale. */
const MAPS = 16;
const REDUCERS = 4;
const TASK_MEMORY_MB = 512;

function sortCheck(name: string, c: SortCheck, input: { records: number; crcSum: string }): Check {
  const problems: string[] = [];
  if (c.disorder) problems.push(`out of order: ${c.disorder}`);
  if (c.records !== input.records) problems.push(`${c.records} records, input has ${input.records}`);
  if (c.crcSum !== input.crcSum) problems.push(`CRC-32 sum ${c.crcSum}, input's is ${input.crcSum}`);
  return { name, ok: problems.length === 0, detail: problems.join('; ') || `${c.records} records in order, CRC-32 sum ${c.crcSum}` };
}

export const sort: Benchmark = {
  name: 'sort',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const t = performance.now();
    const prefixSum = gensortChecksum(VALSORT_CHECK.records);
    const generatorOk = prefixSum === VALSORT_CHECK.sum;
    const generatorCheck: Check = {
      name: `generator = gensort -a (CRC-32 sum of the first ${VALSORT_CHECK.records} records)`,
      ok: generatorOk, detail: `${prefixSum}, valsort says ${VALSORT_CHECK.sum}; ${((performance.now() - t) / 1000).toFixed(2)} s`,
    };
    if (!generatorOk) throw new Error(`the gensort generator is wrong: ${generatorCheck.detail}`);

    const records = Math.round(FULL_RECORDS * ctx.scale);
    const params = { generator: 'gensort -a 1.5', records };
    ctx.log(`generating or reusing ${records} gensort records`);
    const data = await cachedData(`gensort-${records}`, params, (dir) => ({ crcSum: writeGensort(join(dir, 'input.txt'), records) }));
    const input = join(data.dir, 'input.txt');
    const inputFacts = { records, crcSum: data.meta.crcSum };
    const bytes = statSync(input).size;
    if (bytes !== records * RECORD_BYTES) throw new Error(`${input} holds ${bytes} bytes, expected ${records * RECORD_BYTES}`);
    warmPageCache(input);

    const gnuOut = join(ctx.work, 'gnu-sorted.txt');
    const gnu = await bestOf(ctx, 'GNU sort', () => measureCommand(gnuSort(input, gnuOut)));

    const cluster = await BenchCluster.start({ dir: join(ctx.work, 'cluster'), ...CLUSTER_SHAPE, profileDir: ctx.profileDir });
    const client = new JobClient(cluster.address);
    const splitSize = Math.max(64 * 1024, Math.ceil(bytes / MAPS));
    const outDir = (i: number): string => join(ctx.work, `laminate-out-${i}`);
    let runs;
    try {
      runs = await bestOf(ctx, 'Laminate', async (i) => {
        const r = await runLaminateJob(cluster, client, {
          job: join(ROOT, 'bench', 'jobs', 'terasort.ts'), inputs: [input], output: outDir(i), reducers: REDUCERS, splitSize,
          totalOrder: true, mapMemoryMb: TASK_MEMORY_MB, reduceMemoryMb: TASK_MEMORY_MB,
        });
        ctx.log(`Laminate run ${i + 1}: ${r.wallS.toFixed(1)} s`);
        return r;
      });
    } finally {
      client.close();
      await cluster.stop();
    }
    const lam = runs.best;
    const lamOut = outDir(runs.index);
    // Every run's peaks count for the memory bound, not only the fastest run's.
    const workerPeak = Math.max(...runs.all.flatMap((r) => r.peak.workers));
    for (let i = 0; i < runs.all.length; i++) if (i !== runs.index) rmSync(outDir(i), { recursive: true, force: true });

    ctx.log('validating outputs (TeraValidate)');
    const gnuCheck = checkGensortFile(gnuOut);
    const lamCheck = checkLaminateOutput(lamOut);
    return {
      name: 'sort',
      description: `${records} gensort -a records (${(bytes / 1e6).toFixed(0)} MB), ${lam.maps} maps x ${lam.reduces} reduces, total order, on ${CLUSTER_SHAPE.workers} workers x ${CLUSTER_SHAPE.slots} slot`,
      scale: ctx.scale,
      contenders: [
        { name: 'GNU sort --parallel=2', ...gnu.best, walls: gnu.walls, runs: runFigures(gnu.all) },
        { name: 'Laminate', wallS: lam.wallS, cpuS: lam.cpuS, peakMb: lam.peakMb, otherCores: lam.otherCores, walls: runs.walls, runs: runFigures(runs.all), detail: { cpu: lam.cpu, peak: lam.peak, counters: lam.counters, jobId: lam.jobId, phases: lam.phases, allPhases: runs.all.map((r) => r.phases) } },
      ],
      targets: [
        target('Laminate wall / GNU sort wall', lam.wallS / gnu.best.wallS, 3, 'x'),
        target(`largest worker peak RSS / task memory (${TASK_MEMORY_MB} MB)`, workerPeak / TASK_MEMORY_MB, 1, 'x'),
      ],
      checks: [
        generatorCheck,
        sortCheck('GNU sort output (TeraValidate)', gnuCheck, inputFacts),
        sortCheck(`Laminate output, ${lamCheck.parts} parts (TeraValidate)`, lamCheck, inputFacts),
        { name: 'same key sequence', ok: gnuCheck.keySequenceCrc === lamCheck.keySequenceCrc, detail: `CRC-32 of the keys in order: GNU ${gnuCheck.keySequenceCrc.toString(16)}, Laminate ${lamCheck.keySequenceCrc.toString(16)}` },
      ],
      notes: [
        `Laminate phases (fastest run): ${formatPhases(lam.phases)}`,
        `worker peak RSS (fastest run) ${lam.peak.workers.map((p) => p.toFixed(0)).join(' and ')} MB, largest over all runs ${workerPeak.toFixed(0)} MB, with task memory ${TASK_MEMORY_MB} MB and worker --memory ${CLUSTER_SHAPE.workerMemoryMb} MB, for ${(bytes / 1e6).toFixed(0)} MB of input`,
        `Laminate CPU: master ${lam.cpu.master.toFixed(2)} s, workers ${lam.cpu.workers.map((c) => c.toFixed(2)).join(' + ')} s, client ${lam.cpu.client.toFixed(2)} s`,
        `counters: ${Object.entries(lam.counters).map(([k, v]) => `${k}=${v}`).join(' ')}`,
        `input ${data.reused ? 'reused' : 'generated'} in ${data.dir}`,
      ],
      params: { ...params, bytes, splitSize, reducers: REDUCERS, taskMemoryMb: TASK_MEMORY_MB, cluster: CLUSTER_SHAPE },
    };
  },
};
