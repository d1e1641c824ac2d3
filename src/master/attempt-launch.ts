/**
 * The launch a worker gets for a scheduler's launch decision: the decision
 * completed from the job's plan (split, settings) and the workers' shuffle
 * addresses. Domain to domain; src/protocol/wire-mapping.ts makes the wire
 * message of it.
 */
import type { AttemptLaunch } from '../common/task-attempt.js';
import type { LaunchDecision } from '../scheduler/types.js';
import type { JobPlan } from './job-plan.js';

/**
 * Called by the master once per launch decision; pure. A map output kept by
 * a shuffle service is fetched from that service, whatever became of its
 * worker; one its worker serves, from `shuffleAddress(workerId)`, which
 * gives '' for a worker that is gone, so that a reducer's fetch from it
 * fails at once and the map is re-run.
 */
export function attemptLaunch(d: LaunchDecision, plan: JobPlan, shuffleAddress: (workerId: string) => string): AttemptLaunch {
  const split = d.kind === 'map' ? plan.splits[d.index] : undefined;
  return {
    attemptId: d.attemptId,
    jobId: d.jobId,
    workerId: d.workerId,
    bundleHash: plan.bundleHash,
    kind: d.kind,
    index: d.index,
    memoryMb: d.memoryMb,
    timeoutMs: plan.spec.taskTimeoutMs,
    reducers: plan.spec.reducers,
    format: plan.spec.format,
    outputDir: plan.spec.outputDir,
    ...(split ? { split } : {}),
    sources: (d.sources ?? []).map((s) => ({
      mapIndex: s.mapIndex,
      attemptId: s.attemptId,
      workerId: s.workerId,
      shuffleAddress: s.shuffleService ?? shuffleAddress(s.workerId),
      partition: s.partitions[d.index] ?? { offset: 0, length: 0, records: 0 },
    })),
    splitPoints: [...plan.spec.splitPoints],
    sortBufferBytes: plan.spec.sortBufferBytes,
    ...(d.kind === 'reduce' && plan.spec.mergeBase !== undefined ? { mergeBase: plan.spec.mergeBase } : {}),
  };
}
