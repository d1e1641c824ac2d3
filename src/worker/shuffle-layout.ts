/**
 * Where map outputs live under a node's shuffle service's folder, as both the
 * workers that write them and the service that serves them name them:
 *
 *   <jobs>/<jobId>/<workerId>/<attemptId>.out
 *
 * By job first, so that a job's end removes one folder; then by worker, so
 * that attempts of the same id run by two workers (a master restarted on the
 * same journal numbers a recovered job's attempts from a1 again) never share a
 * file. Worker ids are the master's, which never hands one out twice.
 */
import { join } from 'node:path';
import { parseAttemptId, parseJobId, parseWorkerId } from '../common/ids.js';
import { mapOutputFileName } from '../storage/map-output-file.js';

/** The folder worker `workerId` writes job `jobId`'s map outputs into. */
export function mapOutputDir(jobsDir: string, jobId: string, workerId: string): string {
  return join(jobsDir, jobId, workerId);
}

/**
 * The output file of map attempt `attemptId` run by `workerId`. Both are
 * parsed, so that no request can name a path outside `jobsDir`.
 * @throws LaminateError INVALID_ARGUMENT when either is not an id.
 */
export function mapOutputPath(jobsDir: string, workerId: string, attemptId: string): string {
  parseWorkerId(workerId);
  const { jobId } = parseAttemptId(attemptId);
  return join(mapOutputDir(jobsDir, jobId, workerId), mapOutputFileName(attemptId));
}

/** The number of the job a folder under `<jobs>` belongs to, or undefined for a name that is not a job id. */
export function jobNumberOf(name: string): number | undefined {
  try {
    return parseJobId(name);
  } catch {
    return undefined;
  }
}
