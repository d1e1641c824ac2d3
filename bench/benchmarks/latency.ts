/**
 * latency: an empty job (no-op job over one empty file: no map task, one
 * reduce with no input), submit to committed, 20 times; the median counts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JobClient } from '../../src/client/job-client.js';
import { BenchCluster, ROOT } from '../cluster.js';
import { CLUSTER_SHAPE, median, type BenchContext, type Benchmark } from '../context.js';
import { formatPhases, runLaminateJob, type LaminateUsage } from '../laminate-run.js';
import { target, type BenchResult } from '../report.js';

const FULL_RUNS = 20;
const TARGET_S = 0.15;

export const latency: Benchmark = {
  name: 'latency',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const runs = Math.max(5, Math.round(FULL_RUNS * ctx.scale));
    const input = join(ctx.work, 'empty.txt');
    writeFileSync(input, '');
    const cluster = await BenchCluster.start({ dir: join(ctx.work, 'cluster'), ...CLUSTER_SHAPE, profileDir: ctx.profileDir });
    const client = new JobClient(cluster.address);
    const results: LaminateUsage[] = [];
    try {
      for (let i = 0; i < runs; i++) {
        results.push(await runLaminateJob(cluster, client, { job: join(ROOT, 'bench', 'jobs', 'noop.ts'), inputs: [input], output: join(ctx.work, `out-${i}`), reducers: 1 }));
      }
    } finally {
      client.close();
      await cluster.stop();
    }
    const walls = results.map((r) => r.wallS);
    const med = median(walls);
    const sorted = [...walls].sort((a, b) => a - b);
    // The job's own timeline (master clock): submit -> start -> finish, for the median run.
    const mid = results[walls.indexOf(sorted[sorted.length >> 1]!)]!;
    return {
      name: 'latency',
      description: `empty job (${mid.maps} maps, ${mid.reduces} reduce), submit to committed, median of ${runs}`,
      scale: ctx.scale,
      contenders: [{
        name: 'Laminate (median run)', wallS: med, cpuS: median(results.map((r) => r.cpuS)), peakMb: Math.max(...results.map((r) => r.peakMb)),
        otherCores: median(results.map((r) => r.otherCores)),
        detail: { walls, cpu: mid.cpu, phases: results.map((r) => r.phases) },
      }],
      targets: [target('median wall', med, TARGET_S, 's')],
      checks: [{ name: 'every job succeeded', ok: results.length === runs, detail: '' }],
      notes: [
        `phases of the median run: ${formatPhases(mid.phases)}`,
        `wall per run (s): ${walls.map((w) => w.toFixed(3)).join(' ')}`,
        `min ${sorted[0]!.toFixed(3)} s, max ${sorted[sorted.length - 1]!.toFixed(3)} s; master's view of a median run: submit->finish ${mid.status.finishMs - mid.status.submitMs} ms`,
        `median run CPU: master ${mid.cpu.master.toFixed(3)} s, workers ${mid.cpu.workers.map((c) => c.toFixed(3)).join(' + ')} s, client ${mid.cpu.client.toFixed(3)} s`,
      ],
      params: { runs, cluster: CLUSTER_SHAPE },
    };
  },
};
