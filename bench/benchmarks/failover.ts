/**
 * failover: the price of losing a worker mid-job. The word-count job runs on
 * a master and 3 workers of one slot, once undisturbed and once with one
 * worker SIGKILLed as soon as half the map tasks have succeeded, each on a
 * freshly started cluster, in the same run. The disturbed run pays for
 * noticing the loss, re-running the attempts that were running there, and
 * re-running the finished maps whose outputs died with the worker (reducers
 * still need them). The MapReduce paper (Dean and Ghemawat, 2004, section 5.5)
 * reports +5% with 200 of 1,746 machines killed; the target here is 1.3x.
 */
import { join } from 'node:path';
import { JobClient } from '../../src/client/job-client.js';
import type { JobStatus } from '../../src/common/job-status.js';
import { BenchCluster, ROOT } from '../cluster.js';
import { bestOf, type BenchContext, type Benchmark } from '../context.js';
import { cachedData } from '../data-cache.js';
import { writeZipfText } from '../data-gen/zipf-text.js';
import { machineBusySeconds, otherCores, processCpuSeconds, treeCpuSeconds } from '../measure.js';
import { target, type BenchResult, type Check } from '../report.js';
import { compareCounts, readTabCounts } from '../validate/wordcount.js';

const FULL_BYTES = 128 * 1024 * 1024;
const SEED = 20240602;
const MAPS = 12;
const REDUCERS = 2;
const SHAPE = { workers: 3, slots: 1, workerMemoryMb: 1024 } as const;

interface FailoverRun {
  readonly wallS: number;
  /** CPU seconds of the master and workers (the killed one's up to its kill) and of this process. */
  readonly cpuS: number;
  /** Cores busy with other processes during the run, on average. */
  readonly otherCores: number;
  readonly status: JobStatus;
  /** Seconds from submit to the kill, when a worker was killed. */
  readonly killedAtS?: number;
  readonly mapAttempts: number;
}

async function runOnce(ctx: BenchContext, input: string, output: string, splitSize: number, kill: boolean, i: number): Promise<FailoverRun> {
  const cluster = await BenchCluster.start({ dir: join(ctx.work, `cluster-${kill ? 'killed' : 'calm'}-${i}`), ...SHAPE, profileDir: undefined });
  const client = new JobClient(cluster.address);
  try {
    const pids = cluster.processes.map((p) => p.pid);
    const cpu0 = pids.map(processCpuSeconds);
    const cpuAtKill = new Map<number, number>();
    const client0 = treeCpuSeconds(process.pid, new Set(pids));
    const busy0 = machineBusySeconds();
    const t0 = performance.now();
    const jobId = await client.submit({ job: join(ROOT, 'bench', 'jobs', 'wordcount.ts'), inputs: [input], output, reducers: REDUCERS, splitSize });
    let killedAtS: number | undefined;
    const status = await client.wait(jobId, (s) => {
      if (!kill || killedAtS !== undefined) return;
      if ((s.maps?.succeeded ?? 0) * 2 >= (s.maps?.total ?? Infinity)) {
        // The first worker: it has run maps from the start, so its finished outputs are lost with it.
        cpuAtKill.set(cluster.workers[0]!.pid, processCpuSeconds(cluster.workers[0]!.pid));
        cluster.workers[0]!.proc.kill('SIGKILL');
        killedAtS = (performance.now() - t0) / 1000;
        ctx.log(`killed worker 1 (pid ${cluster.workers[0]!.pid}) at ${killedAtS.toFixed(2)} s: ${s.maps?.succeeded}/${s.maps?.total} maps done`);
      }
    }, 20);
    const wallS = (performance.now() - t0) / 1000;
    const busy = machineBusySeconds() - busy0;
    const cpuS = pids.reduce((n, pid, i) => n + (cpuAtKill.get(pid) ?? processCpuSeconds(pid)) - cpu0[i]!, 0)
      + Math.max(0, treeCpuSeconds(process.pid, new Set(pids)) - client0);
    if (status.state !== 'SUCCEEDED') throw new Error(`job ${jobId} ended ${status.state}: ${status.message}`);
    const mapAttempts = status.tasks.filter((t) => t.kind === 'map').reduce((n, t) => n + t.attempts.length, 0);
    return { wallS, cpuS, otherCores: otherCores(busy, cpuS, wallS), status, mapAttempts, ...(killedAtS === undefined ? {} : { killedAtS }) };
  } finally {
    client.close();
    await cluster.stop();
  }
}

export const failover: Benchmark = {
  name: 'failover',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const bytes = Math.round(FULL_BYTES * ctx.scale);
    const params = { generator: 'zipf-text/1', seed: SEED, bytes, vocabulary: 100_000, exponent: 1.0 };
    ctx.log(`generating or reusing ${bytes} bytes of text`);
    const data = await cachedData(`failover-${SEED}-${bytes}`, params, (dir) => {
      writeZipfText(join(dir, 'text.txt'), { seed: SEED, bytes, vocabulary: params.vocabulary, exponent: params.exponent });
      return {};
    });
    const input = join(data.dir, 'text.txt');
    const splitSize = Math.max(64 * 1024, Math.ceil(bytes / MAPS));
    const calm = await bestOf(ctx, 'Laminate, undisturbed', (i) => runOnce(ctx, input, join(ctx.work, `calm-${i}`), splitSize, false, i));
    const killed = await bestOf(ctx, 'Laminate, one worker SIGKILLed at half the maps', (i) => runOnce(ctx, input, join(ctx.work, `killed-${i}`), splitSize, true, i));

    const calmCounts = readTabCounts(join(ctx.work, `calm-${calm.index}`), true);
    const killedCounts = readTabCounts(join(ctx.work, `killed-${killed.index}`), true);
    const diff = compareCounts(killedCounts, calmCounts, 'disturbed', 'undisturbed');
    const checks: Check[] = [
      { name: 'disturbed output = undisturbed output', ok: diff === null, detail: diff ?? `${calmCounts.size} distinct words` },
      { name: 'a worker was killed', ok: killed.best.killedAtS !== undefined, detail: `at ${killed.best.killedAtS?.toFixed(2) ?? '-'} s` },
    ];
    const lost = (s: JobStatus): number => s.tasks.flatMap((t) => t.attempts).filter((a) => a.state !== 'SUCCEEDED').length;
    return {
      name: 'failover',
      description: `${(bytes / 1048576).toFixed(1)} MiB word count, ${MAPS} maps x ${REDUCERS} reduces on ${SHAPE.workers} workers x ${SHAPE.slots} slot; one worker SIGKILLed at half the maps`,
      scale: ctx.scale,
      contenders: [
        { name: 'Laminate, undisturbed', wallS: calm.best.wallS, cpuS: calm.best.cpuS, peakMb: NaN, otherCores: calm.best.otherCores, walls: calm.walls },
        { name: 'Laminate, worker killed', wallS: killed.best.wallS, cpuS: killed.best.cpuS, peakMb: NaN, otherCores: killed.best.otherCores, walls: killed.walls },
      ],
      targets: [target('disturbed wall / undisturbed wall', killed.best.wallS / calm.best.wallS, 1.3, 'x')],
      checks,
      notes: [
        `disturbed run: worker killed at ${killed.best.killedAtS?.toFixed(2) ?? '-'} s; map attempts ${killed.best.mapAttempts} (undisturbed ${calm.best.mapAttempts}); attempts not succeeded ${lost(killed.best.status)}`,
        `input ${data.reused ? 'reused' : 'generated'} in ${data.dir}`,
      ],
      params: { ...params, splitSize, reducers: REDUCERS, cluster: SHAPE },
    };
  },
};
