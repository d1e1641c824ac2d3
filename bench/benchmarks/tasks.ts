/**
 * tasks: a job of 1,000 map tasks that do nothing (one tiny file each) and
 * 10 reduces, timed from submit to committed: the engine's per-task cost.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { JobClient } from '../../src/client/job-client.js';
import { BenchCluster, ROOT } from '../cluster.js';
import { bestOf, CLUSTER_SHAPE, runFigures, type BenchContext, type Benchmark } from '../context.js';
import { cachedData } from '../data-cache.js';
import { writeTinyFiles } from '../data-gen/tiny-files.js';
import { formatPhases, runLaminateJob } from '../laminate-run.js';
import { target, type BenchResult } from '../report.js';

const FULL_MAPS = 1000;
const REDUCERS = 10;
const TARGET_S = 2;

export const tasks: Benchmark = {
  name: 'tasks',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const maps = Math.max(10, Math.round(FULL_MAPS * ctx.scale));
    const data = await cachedData(`tiny-files-${maps}`, { generator: 'tiny-files/1', maps }, (dir) => {
      writeTinyFiles(join(dir, 'input'), maps);
      return {};
    });
    const cluster = await BenchCluster.start({ dir: join(ctx.work, 'cluster'), ...CLUSTER_SHAPE, profileDir: ctx.profileDir });
    const client = new JobClient(cluster.address);
    let runs;
    try {
      runs = await bestOf(ctx, 'Laminate', (i) => runLaminateJob(cluster, client, {
        job: join(ROOT, 'bench', 'jobs', 'noop.ts'), inputs: [join(data.dir, 'input')], output: join(ctx.work, `out-${i}`), reducers: REDUCERS,
      }));
    } finally {
      client.close();
      await cluster.stop();
    }
    const lam = runs.best;
    const parts = readdirSync(join(ctx.work, `out-${runs.index}`)).filter((f) => f.startsWith('part-')).length;
    const attempts = lam.status.tasks.reduce((n, t) => n + t.attempts.length, 0);
    return {
      name: 'tasks',
      description: `${maps} no-op map tasks (one tiny file each) and ${REDUCERS} reduces on ${CLUSTER_SHAPE.workers} workers x ${CLUSTER_SHAPE.slots} slot`,
      scale: ctx.scale,
      contenders: [{ name: 'Laminate', wallS: lam.wallS, cpuS: lam.cpuS, peakMb: lam.peakMb, otherCores: lam.otherCores, walls: runs.walls, runs: runFigures(runs.all), detail: { cpu: lam.cpu, peak: lam.peak, counters: lam.counters, jobId: lam.jobId, phases: lam.phases, allPhases: runs.all.map((r) => r.phases) } }],
      targets: [target('wall', lam.wallS, TARGET_S, 's')],
      checks: [
        { name: 'task counts', ok: lam.maps === maps && lam.reduces === REDUCERS, detail: `${lam.maps} maps, ${lam.reduces} reduces, ${attempts} attempts` },
        { name: 'output committed', ok: parts === REDUCERS, detail: `${parts} part files` },
      ],
      notes: [
        `Laminate phases (fastest run): ${formatPhases(lam.phases)}`,
        `per map task: ${((lam.wallS * 1000) / maps).toFixed(2)} ms of wall time, ${((lam.cpuS * 1000) / maps).toFixed(2)} ms of CPU (all processes)`,
        `CPU: master ${lam.cpu.master.toFixed(2)} s, workers ${lam.cpu.workers.map((c) => c.toFixed(2)).join(' + ')} s, client ${lam.cpu.client.toFixed(2)} s`,
      ],
      params: { maps, reducers: REDUCERS, cluster: CLUSTER_SHAPE },
    };
  },
};
