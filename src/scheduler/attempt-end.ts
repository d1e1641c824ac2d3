/**
 * Why an attempt ended other than by success (its cause), and what each cause
 * counts toward. The scheduler keeps two limits per task, and a cause feeds at
 * most one of them:
 *
 * - `failures` (maxAttempts, default 4, Hadoop's mapreduce.map.maxattempts):
 *   the attempt failed through its own fault while its worker stayed up. It
 *   also earns a backoff before the retry and a mark against the worker.
 * - `crashes` (maxCrashes, default 10): the attempt was the only one running on
 *   a worker that died, so the death is laid at its door. Counted since the
 *   task's last success, so that a map re-run after its output was lost starts
 *   again from zero, as Spark resets spark.task.maxFailures on a success.
 *
 * Everything else counts nowhere: an attempt that lost a race to another
 * attempt of its task, one killed by the user, the job's end or its worker, a
 * reduce whose fetch failed because the host of a map's output died (the map's
 * worker, or the shuffle service it wrote to: map-outputs.ts), an attempt that
 * died with its worker beside other attempts, and one whose launch never
 * arrived. A finished map whose output is lost is not an attempt ending at all:
 * its task goes back to PENDING, its winner SUCCEEDED as it was.
 *
 * Spark draws the same line with ExecutorLostFailure.exitCausedByApp
 * (countTowardsTaskFailures only when the executor's exit was caused by the
 * app), and TaskKilled, TaskCommitDenied and FetchFailed never count. Spark
 * blames every task that was running on an executor lost for an app-caused
 * reason; Laminate blames only a sole attempt, so that one task's crashes do
 * not add up on the tasks that happened to share its worker. The price: on
 * workers of several slots, a task that always crashes its worker beside
 * others is never stopped by this limit (its job runs until killed), where
 * Spark would fail the job, possibly naming the wrong task. Hadoop MapReduce
 * gives each attempt a container of its own, so a dead container is always
 * its one attempt's failure, and kills the attempts of a lost node without
 * counting them (JobImpl's handling of unusable nodes).
 */
import type { ErrorCode } from '../common/errors.js';

export type EndCause =
  /** Threw, timed out, ran out of memory, or its commit failed. */
  | 'FAILED'
  /** The only attempt running on a worker that died: its crash is laid at its door. */
  | 'CRASHED_WORKER'
  /** Ran on a worker that died beside other attempts, or that left on its own. */
  | 'WORKER_LOST'
  /** A reduce that could not fetch a map's output (its host, the map's worker or a shuffle service, died). */
  | 'FETCH_FAILED'
  /** Another attempt of its task succeeded or is committing (a speculative loser, a denied commit). */
  | 'SUPERSEDED'
  /** Killed by the user, by its job's end, or stopped by its worker. */
  | 'KILLED'
  /** Its worker does not run it: the launch or the report was lost on the way. */
  | 'LAUNCH_LOST';

export type Counts = 'failures' | 'crashes' | 'nothing';

/** What each cause counts toward, and the state its attempt ends in. */
export const END_CAUSES: Readonly<Record<EndCause, { readonly counts: Counts; readonly state: 'FAILED' | 'KILLED' }>> = {
  FAILED: { counts: 'failures', state: 'FAILED' },
  // KILLED rather than FAILED: the worker may have died of something else
  // (SIGKILL by an operator, a lost machine); only repetition makes it the task's.
  CRASHED_WORKER: { counts: 'crashes', state: 'KILLED' },
  WORKER_LOST: { counts: 'nothing', state: 'KILLED' },
  FETCH_FAILED: { counts: 'nothing', state: 'KILLED' },
  SUPERSEDED: { counts: 'nothing', state: 'KILLED' },
  KILLED: { counts: 'nothing', state: 'KILLED' },
  LAUNCH_LOST: { counts: 'nothing', state: 'KILLED' },
};

/**
 * The cause of a failure a worker reported with `code`. A KILLED report is a
 * loser's when another attempt of the task already owns it (`superseded`).
 * WORKER_LOST from the wiring counts nowhere: a worker's death is reported
 * through removeWorker or the heartbeat timeout, which judge the blame. A
 * failed fetch comes through Scheduler.fetchFailed, not as a code.
 */
export function causeOfReport(code: ErrorCode, superseded: boolean): EndCause {
  if (code === 'KILLED') return superseded ? 'SUPERSEDED' : 'KILLED';
  if (code === 'WORKER_LOST') return 'WORKER_LOST';
  return 'FAILED';
}

/**
 * The cause for an attempt that was running on a worker that was lost. A
 * worker that left (said goodbye) blames nobody; one that died blames its
 * attempt only if it ran alone there (`runningThere`: committing attempts are
 * not counted, their user code has finished) and the worker was, as far as the
 * master can tell, still alive when the attempt was launched there
 * (`heardAtLaunch`: launched no later than one usual heartbeat gap after the
 * worker's last heartbeat). Without that, an attempt launched onto a worker
 * that had already died unnoticed (its slot freed when the master killed a
 * speculative loser there) would take the blame for the death before it; this
 * is Spark's exclusion of tasks still launching from exitCausedByApp.
 */
export function causeOfLoss(left: boolean, runningThere: number, heardAtLaunch: boolean): EndCause {
  return !left && runningThere === 1 && heardAtLaunch ? 'CRASHED_WORKER' : 'WORKER_LOST';
}
