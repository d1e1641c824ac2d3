/**
 * The metric sources read live state at each scrape: checked against the
 * state they were given, parsed back from the exposition text.
 */
import { describe, expect, it } from 'vitest';
import type { JobStatus, WorkerStatus } from '../../../src/common/job-status.js';
import { metricsText } from '../../../src/common/metrics.js';
import type { SpeedViewReport } from '../../../src/common/speed-shapes.js';
import { addMasterMetrics } from '../../../src/master/master-metrics.js';
import { addSpeedMetrics } from '../../../src/speed/speed-metrics.js';

/** The value of one series in an exposition, or undefined when it is absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const inside = /\{(.*)\}/.exec(line)?.[1] ?? '';
    const have = inside === '' ? [] : inside.split(',');
    if (want.length === have.length && want.every((w) => have.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

const counts = (o: Partial<Record<'pending' | 'running' | 'succeeded' | 'failed' | 'killed', number>>) => ({
  total: Object.values(o).reduce((a, b) => a + b, 0), pending: 0, running: 0, succeeded: 0, failed: 0, killed: 0, ...o,
});

function job(jobId: string, state: JobStatus['state'], maps: ReturnType<typeof counts>, reduces: ReturnType<typeof counts>): JobStatus {
  return {
    jobId, name: jobId, state, message: '', submitMs: 0, startMs: 0, finishMs: 0, outputDir: '/tmp/x', maps, reduces,
    counters: [], failures: [], tasks: [], cuts: [],
  } as unknown as JobStatus;
}

function worker(workerId: string, alive: boolean, slots: number, usedSlots: number, memoryMb: number, usedMemoryMb: number): WorkerStatus {
  return { workerId, shuffleAddress: '127.0.0.1:1', alive, slots, usedSlots, memoryMb, usedMemoryMb, lastHeartbeatMs: 0, runningAttemptIds: [], externalShuffle: false };
}

describe('metrics read at each scrape', () => {
  it('counts the master\'s jobs, tasks and workers as its status has them, and follows changes', async () => {
    let jobs = [
      job('job-0001', 'RUNNING', counts({ running: 2, succeeded: 3 }), counts({ pending: 2 })),
      job('job-0002', 'SUCCEEDED', counts({ succeeded: 4 }), counts({ succeeded: 1, killed: 1 })),
    ];
    const workers = [worker('worker-0001', true, 4, 2, 2048, 1024), worker('worker-0002', true, 2, 0, 1024, 0), worker('worker-0003', false, 8, 0, 8192, 0)];
    const remove = addMasterMetrics({ jobs: () => jobs, workers: () => workers });
    try {
      let text = await metricsText();
      expect(sample(text, 'laminate_jobs', { state: 'running' })).toBe(1);
      expect(sample(text, 'laminate_jobs', { state: 'succeeded' })).toBe(1);
      expect(sample(text, 'laminate_jobs', { state: 'failed' })).toBe(0);
      expect(sample(text, 'laminate_tasks', { kind: 'map', state: 'succeeded' })).toBe(7);
      expect(sample(text, 'laminate_tasks', { kind: 'map', state: 'running' })).toBe(2);
      expect(sample(text, 'laminate_tasks', { kind: 'reduce', state: 'pending' })).toBe(2);
      expect(sample(text, 'laminate_tasks', { kind: 'reduce', state: 'killed' })).toBe(1);
      expect(sample(text, 'laminate_workers', { state: 'alive' })).toBe(2);
      expect(sample(text, 'laminate_workers', { state: 'lost' })).toBe(1);
      expect(sample(text, 'laminate_worker_slots', { kind: 'total' })).toBe(6);
      expect(sample(text, 'laminate_worker_slots', { kind: 'used' })).toBe(2);
      expect(sample(text, 'laminate_worker_memory_bytes', { kind: 'total' })).toBe(3072 * 1024 * 1024);
      // The next scrape sees the state as it is then.
      jobs = [job('job-0001', 'FAILED', counts({ succeeded: 5 }), counts({ failed: 2 }))];
      text = await metricsText();
      expect(sample(text, 'laminate_jobs', { state: 'running' })).toBe(0);
      expect(sample(text, 'laminate_jobs', { state: 'failed' })).toBe(1);
      expect(sample(text, 'laminate_tasks', { kind: 'reduce', state: 'failed' })).toBe(2);
      // Node's process metrics come with every exposition.
      expect(text).toMatch(/^process_cpu_user_seconds_total /m);
      expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
    } finally {
      remove();
    }
  });

  it('shows each speed partition\'s lag, freshness and last checkpoint, and drops a partition that moved away', async () => {
    let now = 1_000_000;
    let report: SpeedViewReport[] = [{
      view: 'clicks', definitionHash: 'h', partitions: [
        { partition: 0, applied: 90, start: 10, end: 100, caughtUpAt: now - 2_500, lastCheckpoint: { durationMs: 1500, bytes: 4096 } },
        { partition: 1, applied: 50, start: 50, end: 50, caughtUpAt: 0, stopped: { offset: 50, message: 'boom' } },
      ],
    }];
    const remove = addSpeedMetrics(() => 'speed-1', () => report, () => now);
    try {
      let text = await metricsText();
      expect(sample(text, 'laminate_speed_lag_records', { node: 'speed-1', view: 'clicks', partition: '0' })).toBe(10);
      expect(sample(text, 'laminate_speed_freshness_seconds', { node: 'speed-1', view: 'clicks', partition: '0' })).toBe(2.5);
      expect(sample(text, 'laminate_speed_freshness_seconds', { node: 'speed-1', view: 'clicks', partition: '1' })).toBeNaN();
      expect(sample(text, 'laminate_speed_partition_stopped', { node: 'speed-1', view: 'clicks', partition: '1' })).toBe(1);
      expect(sample(text, 'laminate_speed_last_checkpoint_duration_seconds', { node: 'speed-1', view: 'clicks', partition: '0' })).toBe(1.5);
      expect(sample(text, 'laminate_speed_last_checkpoint_size_bytes', { node: 'speed-1', view: 'clicks', partition: '0' })).toBe(4096);
      // No checkpoint yet: no figure, rather than a zero that reads as a fast one.
      expect(sample(text, 'laminate_speed_last_checkpoint_duration_seconds', { node: 'speed-1', view: 'clicks', partition: '1' })).toBeUndefined();
      now += 1_000;
      report = [{ view: 'clicks', definitionHash: 'h', partitions: [{ partition: 0, applied: 100, start: 10, end: 100, caughtUpAt: now }] }];
      text = await metricsText();
      expect(sample(text, 'laminate_speed_lag_records', { node: 'speed-1', view: 'clicks', partition: '0' })).toBe(0);
      expect(sample(text, 'laminate_speed_lag_records', { node: 'speed-1', view: 'clicks', partition: '1' })).toBeUndefined();
    } finally {
      remove();
    }
    expect(sample(await metricsText(), 'laminate_speed_lag_records', { node: 'speed-1', view: 'clicks', partition: '0' })).toBeUndefined();
  });
});
