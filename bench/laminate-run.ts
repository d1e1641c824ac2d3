/**
 * Runs one Laminate job on a BenchCluster through the library client, timed
 * from the call to submit (bundling and, for total order, sampling included)
 * until the job has committed. CPU is the sum over the master, the workers
 * (all their threads, containers included) and the client side (this
 * process and its esbuild service); peak memory is the sum of the master's
 * and workers' peak RSS, each reset just before the job.
 */
import { JobClient, type SubmitOptions } from '../src/client/job-client.js';
import type { JobStatus } from '../src/common/job-status.js';
import type { BenchCluster } from './cluster.js';
import { machineBusySeconds, otherCores, processCpuSeconds, processPeakMb, resetPeak, treeCpuSeconds, type Usage } from './measure.js';

export interface LaminateUsage extends Usage {
  readonly jobId: string;
  readonly cpu: { master: number; workers: number[]; client: number };
  readonly peak: { master: number; workers: number[] };
  readonly counters: Record<string, number>;
  readonly maps: number;
  readonly reduces: number;
  readonly status: JobStatus;
  readonly phases: Phases;
}

/**
 * Where a job's wall time went, from the attempts' start and finish times in
 * its status (master clock; the client is on the same machine), in seconds.
 */
export interface Phases {
  /** Client: bundling, total-order sampling, the submit RPC (until the master logged the job). */
  submit: number;
  /** Submitted until the first attempt started. */
  toFirstAttempt: number;
  /** First map attempt start to last map attempt finish. */
  maps: number;
  /** Last map finish to last reduce finish (reduces may start earlier, overlapping maps). */
  reducesAfterMaps: number;
  /** Last reduce finish until the job finished (commit). */
  commit: number;
  /** Job finished until the client saw it. */
  notify: number;
  /** Mean seconds of a successful map and reduce attempt. */
  meanMapAttempt: number;
  meanReduceAttempt: number;
  /** Attempt-seconds of all attempts over (slots x wall): how busy the slots were. */
  slotUtilization: number;
}

function phases(status: JobStatus, t0: number, t1: number, slots: number): Phases {
  const attempts = status.tasks.flatMap((t) => t.attempts.map((a) => ({ ...a, kind: t.kind })));
  const ok = (kind: string): typeof attempts => attempts.filter((a) => a.kind === kind && a.state === 'SUCCEEDED' && a.finishMs > 0);
  const maps = ok('map');
  const reduces = ok('reduce');
  const min = (xs: number[], d: number): number => (xs.length ? Math.min(...xs) : d);
  const max = (xs: number[], d: number): number => (xs.length ? Math.max(...xs) : d);
  const firstStart = min(attempts.map((a) => a.startMs).filter((x) => x > 0), status.submitMs);
  const mapsStart = min(maps.map((a) => a.startMs), firstStart);
  const mapsEnd = max(maps.map((a) => a.finishMs), firstStart);
  const reducesEnd = max(reduces.map((a) => a.finishMs), mapsEnd);
  const mean = (xs: typeof attempts): number => (xs.length ? xs.reduce((n, a) => n + a.finishMs - a.startMs, 0) / xs.length / 1000 : 0);
  const busy = attempts.filter((a) => a.startMs > 0).reduce((n, a) => n + ((a.finishMs || status.finishMs) - a.startMs), 0);
  return {
    submit: (status.submitMs - t0) / 1000,
    toFirstAttempt: (firstStart - status.submitMs) / 1000,
    maps: (mapsEnd - mapsStart) / 1000,
    reducesAfterMaps: (reducesEnd - mapsEnd) / 1000,
    commit: (status.finishMs - reducesEnd) / 1000,
    notify: (t1 - status.finishMs) / 1000,
    meanMapAttempt: mean(maps),
    meanReduceAttempt: mean(reduces),
    slotUtilization: busy / (slots * (t1 - t0)),
  };
}

export function formatPhases(p: Phases): string {
  const f = (x: number): string => x.toFixed(3);
  return `submit ${f(p.submit)} s, to first attempt ${f(p.toFirstAttempt)} s, maps ${f(p.maps)} s, reduces after maps ${f(p.reducesAfterMaps)} s, `
    + `commit ${f(p.commit)} s, client notified ${f(p.notify)} s; mean attempt: map ${f(p.meanMapAttempt)} s, reduce ${f(p.meanReduceAttempt)} s; `
    + `slots busy ${(100 * p.slotUtilization).toFixed(0)}%`;
}

export async function runLaminateJob(cluster: BenchCluster, client: JobClient, submit: SubmitOptions): Promise<LaminateUsage> {
  const pids = cluster.processes.map((p) => p.pid);
  const clusterPids = new Set(pids);
  for (const pid of pids) resetPeak(pid);
  const cpu0 = pids.map(processCpuSeconds);
  const client0 = treeCpuSeconds(process.pid, clusterPids);
  const busy0 = machineBusySeconds();
  const epoch0 = Date.now();
  const t0 = performance.now();
  const jobId = await client.submit(submit);
  const status = await client.wait(jobId);
  const wallS = (performance.now() - t0) / 1000;
  const epoch1 = Date.now();
  const busy = machineBusySeconds() - busy0;
  const cpu1 = pids.map(processCpuSeconds);
  const client1 = treeCpuSeconds(process.pid, clusterPids);
  if (status.state !== 'SUCCEEDED') {
    throw new Error(`Laminate job ${jobId} ended ${status.state}: ${status.message} ${JSON.stringify(status.failures.slice(0, 3))}`);
  }
  const used = cpu1.map((c, i) => c - cpu0[i]!);
  const peaks = pids.map(processPeakMb);
  const clientCpu = Math.max(0, client1 - client0);
  const cpuS = used.reduce((a, b) => a + b, 0) + clientCpu;
  return {
    jobId,
    wallS,
    cpuS,
    otherCores: otherCores(busy, cpuS, wallS),
    peakMb: peaks.reduce((a, b) => a + b, 0),
    cpu: { master: used[0]!, workers: used.slice(1), client: clientCpu },
    peak: { master: peaks[0]!, workers: peaks.slice(1) },
    counters: Object.fromEntries(status.counters.map((c) => [c.name, c.value])),
    maps: status.maps?.total ?? 0,
    reduces: status.reduces?.total ?? 0,
    status,
    phases: phases(status, epoch0, epoch1, cluster.options.workers * cluster.options.slots),
  };
}
