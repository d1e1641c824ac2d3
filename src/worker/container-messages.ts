/** The messages between a worker and the thread of one of its containers. */
import type { LaunchAttempt } from '../protocol/messages.js';
import type { ErrorCode } from '../common/errors.js';
import type { PartitionInfo } from '../common/partition-info.js';

/** A task attempt as a container runs it: the launch plus where things are on this worker. */
export interface ContainerTask {
  readonly launch: LaunchAttempt;
  readonly workerId: string;
  readonly bundlePath: string;
  /**
   * The job's folder on this worker, shared by its attempts: an attempt's
   * files there are named `<attemptId>.*` (no folder of its own: creating one
   * costs as much as a short task's other disk work).
   */
  readonly workDir: string;
}

export type AttemptOutcome =
  | { readonly outcome: 'SUCCEEDED'; readonly counters: Record<string, number>; readonly partitions?: PartitionInfo[]; readonly dataPath?: string }
  | { readonly outcome: 'FAILED'; readonly code: ErrorCode; readonly message: string }
  | { readonly outcome: 'FETCH_FAILED'; readonly message: string; readonly mapIndex: number; readonly mapAttemptId: string };

export type ToContainer = { readonly type: 'run'; readonly task: ContainerTask };
export type FromContainer = { readonly type: 'result'; readonly attemptId: string; readonly result: AttemptOutcome };
