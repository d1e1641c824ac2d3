/**
 * Where finished map outputs live, and which of them a loss takes along: the
 * scheduler's map-output tracker. Pure functions over the job records.
 *
 * A map output is kept by one of two hosts:
 * - the worker that ran the map, which serves it from its own process: the
 *   output is gone as soon as that worker is (dead, cut off, or registered
 *   again under a new id);
 * - the shuffle service of the worker's node (`laminate shuffle-service`),
 *   to which the worker wrote it: the output outlives the worker's process,
 *   and is lost only with the service (or its disk).
 *
 * So a lost worker takes only the outputs it served itself; those on a
 * shuffle service stay registered, and are re-run only when a reducer reports
 * that it could not fetch one of them. A fetch failure then takes every
 * output of the job on the same host (the service, or the worker), since a
 * fetch that fails after its retries almost always means the host is gone.
 *
 * This is Spark's rule with spark.shuffle.service.enabled: its
 * DAGScheduler.handleExecutorLost unregisters an executor's shuffle outputs
 * only when the files are lost too (the executor served them itself, or its
 * whole host is gone), and a FetchFailed unregisters the outputs of where the
 * fetch came from, of the whole host with the shuffle service on and
 * spark.files.fetchFailure.unRegisterOutputOnHost, as here. A
 * YARN NodeManager's auxiliary shuffle service (Hadoop's ShuffleHandler)
 * gives MapReduce the same: a finished map's output stays on its node's disk,
 * served by the NodeManager after the map's container has exited.
 */
import type { AttemptRecord, JobRecord, TaskRecord } from './records.js';
import type { MapOutputSource } from './types.js';

/** Whether the outputs of attempts `a` and `b` are on the same host. */
function sameHost(a: AttemptRecord, b: AttemptRecord): boolean {
  if (a.shuffleService !== undefined || b.shuffleService !== undefined) return a.shuffleService === b.shuffleService;
  return a.workerId === b.workerId;
}

function succeededMaps(job: JobRecord): Array<TaskRecord & { winner: AttemptRecord }> {
  return job.maps.filter((m): m is TaskRecord & { winner: AttemptRecord } => m.state === 'SUCCEEDED' && m.winner !== undefined);
}

/**
 * The finished maps of `job` whose outputs went with worker `workerId`: those
 * it served itself. Outputs it left on a shuffle service stay.
 */
export function outputsLostWithWorker(job: JobRecord, workerId: string): TaskRecord[] {
  return succeededMaps(job).filter((m) => m.winner.workerId === workerId && m.winner.shuffleService === undefined);
}

/**
 * The finished maps of `job` whose outputs a failed fetch of `holder`'s
 * output takes along: every one on the same host, the holder's included.
 */
export function outputsLostOnFetchFailure(job: JobRecord, holder: AttemptRecord): TaskRecord[] {
  return succeededMaps(job).filter((m) => sameHost(m.winner, holder));
}

/** Where each map task's output is, for a reduce attempt's launch. Only called once every map has succeeded. */
export function mapSources(job: JobRecord): MapOutputSource[] {
  return job.maps.map((m) => ({
    mapIndex: m.index, attemptId: m.winner!.id, workerId: m.winner!.workerId, partitions: m.result?.partitions ?? [],
    ...(m.winner!.shuffleService !== undefined ? { shuffleService: m.winner!.shuffleService } : {}),
  }));
}
