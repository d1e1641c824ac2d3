/**
 * What the master keeps of a job besides the scheduler's record of it: its
 * resolved spec, bundle and splits (the plan the launches are built from),
 * who waits for its end, and how far its submission and end have reached
 * the journal.
 */
import type { InputSplit } from '../common/input-split.js';
import type { JobStatus } from '../common/job-status.js';
import type { Logger } from '../common/logger.js';
import type { OutputFileSummary } from '../common/task-attempt.js';
import type { ResolvedJobSpec } from './job-spec.js';

export interface JobPlan {
  readonly jobId: string;
  readonly spec: ResolvedJobSpec;
  readonly bundleHash: string;
  readonly splits: readonly InputSplit[];
  readonly log: Logger;
  readonly waiters: Set<() => void>;
  /** Set for jobs that finished before this master started: their status from the journal. */
  finalStatus?: JobStatus;
  /** The submission is on disk (false only until its journal append returns, or if it failed). */
  journaled: boolean;
  /** The job's end is on disk: only then do clients hear of it. */
  ended: boolean;
  /**
   * The view files the job's committed reduce attempts wrote, by partition,
   * as their writers summed them up (a view build's; the view service's
   * manifest takes them). In memory only: a restarted master has none for
   * tasks committed before, and the view service reads those files instead.
   */
  outputFiles?: Map<number, OutputFileSummary>;
}
