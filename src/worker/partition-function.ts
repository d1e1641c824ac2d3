import type { Job } from '../api/job.js';
import { hashPartition, rangePartitioner } from '../common/partitioner.js';
import { compareKeys } from '../storage/key-order.js';

/** The partitioner of a task: total order's ranges, else the job's own, else the key hash. */
export function partitionFunction(job: Job, reducers: number, splitPoints: readonly string[]): (key: string) => number {
  if (splitPoints.length > 0) return rangePartitioner(splitPoints, compareKeys);
  const custom = job.partition;
  if (custom) return (key) => custom.call(job, key, reducers);
  return (key) => hashPartition(key, reducers);
}
