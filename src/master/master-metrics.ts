/**
 * The master's metrics: jobs and tasks by state and the workers' capacity,
 * read from the master's own status at each scrape (the same status
 * `laminate status` prints, so the two agree), and the task attempts'
 * durations, observed as each attempt's report arrives.
 */
import { JOB_STATES, type JobStatus, type WorkerStatus } from '../common/job-status.js';
import { addMetricsSource, DURATION_BUCKETS, gauge, histogram } from '../common/metrics.js';

const TASK_STATES = ['pending', 'running', 'succeeded', 'failed', 'killed'] as const;

const jobs = () => gauge({ name: 'laminate_jobs', help: 'Jobs the master keeps, by state (finished ones up to --retain-jobs)', labelNames: ['state'] as const });
const tasks = () => gauge({ name: 'laminate_tasks', help: 'Tasks of the jobs the master keeps, by kind and state', labelNames: ['kind', 'state'] as const });
const workers = () => gauge({ name: 'laminate_workers', help: 'Workers the master knows, by whether they are alive', labelNames: ['state'] as const });
const slots = () => gauge({ name: 'laminate_worker_slots', help: 'Container slots of the alive workers: total and in use', labelNames: ['kind'] as const });
const memory = () => gauge({ name: 'laminate_worker_memory_bytes', help: 'Memory of the alive workers: total and reserved by containers', labelNames: ['kind'] as const });

/** Task attempts' run time from launch to report, by kind (map, reduce) and outcome (SUCCEEDED, FAILED, FETCH_FAILED). */
export function attemptDurations() {
  return histogram({
    name: 'laminate_task_attempt_duration_seconds', help: 'Task attempts from launch to their report, by kind and outcome',
    labelNames: ['kind', 'outcome'] as const, buckets: DURATION_BUCKETS,
  });
}

/**
 * Registers the master's gauges, read from `status` at each scrape. Called
 * once per master at start; returns the removal, for its stop.
 */
export function addMasterMetrics(status: { jobs(): readonly JobStatus[]; workers(): readonly WorkerStatus[] }): () => void {
  const j = jobs();
  const t = tasks();
  const w = workers();
  const s = slots();
  const m = memory();
  attemptDurations();
  return addMetricsSource(() => {
    const byState = new Map<string, number>(JOB_STATES.map((st) => [st, 0]));
    const taskCounts = new Map<string, number>();
    for (const job of status.jobs()) {
      byState.set(job.state, (byState.get(job.state) ?? 0) + 1);
      for (const [kind, counts] of [['map', job.maps], ['reduce', job.reduces]] as const) {
        for (const st of TASK_STATES) {
          const key = `${kind}/${st}`;
          taskCounts.set(key, (taskCounts.get(key) ?? 0) + (counts ? counts[st] : 0));
        }
      }
    }
    for (const [state, n] of byState) j.set({ state: state.toLowerCase() }, n);
    for (const kind of ['map', 'reduce']) for (const st of TASK_STATES) t.set({ kind, state: st }, taskCounts.get(`${kind}/${st}`) ?? 0);
    const all = status.workers();
    const alive = all.filter((x) => x.alive);
    w.set({ state: 'alive' }, alive.length);
    w.set({ state: 'lost' }, all.length - alive.length);
    s.set({ kind: 'total' }, alive.reduce((a, x) => a + x.slots, 0));
    s.set({ kind: 'used' }, alive.reduce((a, x) => a + x.usedSlots, 0));
    m.set({ kind: 'total' }, alive.reduce((a, x) => a + x.memoryMb, 0) * 1024 * 1024);
    m.set({ kind: 'used' }, alive.reduce((a, x) => a + x.usedMemoryMb, 0) * 1024 * 1024);
  });
}
