/** Plain-text rendering of job status for `laminate status` and `laminate submit --wait`. */
import { formatDatasetCut } from '../common/dataset-input.js';
import type { JobStatus, TaskCounts, WorkerStatus } from '../common/job-status.js';

const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

export function progressLine(s: JobStatus): string {
  const c = (t: TaskCounts | null): string => (t ? `${t.succeeded}/${t.total} (${t.running} running)` : '-');
  return `${s.jobId} ${s.state} maps ${c(s.maps)} reduces ${c(s.reduces)}${s.message ? ` - ${s.message}` : ''}`;
}

export function elapsed(s: JobStatus): number {
  return (s.finishMs || Date.now()) - s.submitMs;
}

export function formatCounters(s: JobStatus): string {
  const width = Math.max(0, ...s.counters.map((c) => c.name.length));
  return s.counters.map((c) => `  ${c.name.padEnd(width)}  ${c.value}`).join('\n');
}

/**
 * The cuts a job over datasets reads, one line each, in the form --input
 * takes (so the same records can be read again): `cut       dataset:clicks@1200,0,310,77`.
 */
export function formatCuts(s: JobStatus): string {
  return s.cuts.map((c) => `cut       ${formatDatasetCut(c)}`).join('\n');
}

export function formatJobSummary(s: JobStatus): string {
  return `${s.jobId.padEnd(10)} ${s.state.padEnd(10)} ${s.name.padEnd(20)} maps ${s.maps?.succeeded ?? 0}/${s.maps?.total ?? 0}  reduces ${s.reduces?.succeeded ?? 0}/${s.reduces?.total ?? 0}  ${secs(elapsed(s))}${s.message ? `  ${s.message}` : ''}`;
}

export function formatWorker(w: WorkerStatus, now = Date.now()): string {
  const state = w.alive ? `heartbeat ${((now - w.lastHeartbeatMs) / 1000).toFixed(1)} s ago` : 'LOST';
  const shuffle = w.externalShuffle ? `${w.shuffleAddress} (shuffle service)` : w.shuffleAddress;
  return `${w.workerId.padEnd(12)} ${shuffle.padEnd(22)} slots ${w.usedSlots}/${w.slots}  memory ${w.usedMemoryMb}/${w.memoryMb} MB  ${state}${w.runningAttemptIds.length ? `  running ${w.runningAttemptIds.join(' ')}` : ''}`;
}

export function formatJobDetail(s: JobStatus): string {
  const lines = [
    `job       ${s.jobId} (${s.name})`,
    `state     ${s.state}${s.message ? `: ${s.message}` : ''}`,
    `output    ${s.outputDir}`,
    ...(s.cuts.length > 0 ? [formatCuts(s)] : []),
    `time      ${secs(elapsed(s))}`,
    `maps      ${JSON.stringify(s.maps)}`,
    `reduces   ${JSON.stringify(s.reduces)}`,
    'counters',
    formatCounters(s),
  ];
  if (s.failures.length > 0) {
    lines.push('failures');
    for (const f of s.failures) lines.push(`  ${f.attemptId} on ${f.workerId}: ${f.code}: ${f.message.split('\n')[0]}`);
  }
  if (s.tasks.length > 0) {
    lines.push('attempts');
    for (const t of s.tasks) {
      for (const a of t.attempts) {
        const dur = a.finishMs ? secs(a.finishMs - a.startMs) : 'running';
        const why = a.failure ? ` ${a.failure.code}: ${a.failure.message.split('\n')[0]}` : '';
        lines.push(`  ${a.attemptId.padEnd(24)} ${a.workerId.padEnd(12)} ${a.state.padEnd(10)} ${dur}${a.speculative ? ' (speculative)' : ''}${why}`);
      }
    }
  }
  return lines.join('\n');
}

/** The failure causes of a job, one line each, for a non-zero exit. */
export function formatFailure(s: JobStatus): string {
  const lines = [`${s.jobId} ${s.state}: ${s.message}`];
  for (const f of s.failures) lines.push(`  ${f.attemptId} on ${f.workerId}: ${f.code}: ${f.message.split('\n')[0]}`);
  return lines.join('\n');
}
