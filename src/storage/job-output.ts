/**
 * The output committer of a job's output folder, picked by where it is:
 * FileOutputCommitter (commit by rename) for a local folder every node sees,
 * ObjectOutputCommitter (commit by completing an upload) for an object
 * store. The master calls one interface and does not know which it has.
 */
import { ObjectOutputCommitter } from './object-output-committer.js';
import { isS3Path } from './object-store.js';
import { FileOutputCommitter } from './output-committer.js';

/** A job's output commit protocol, bound to its output folder. Each method's contract is the committers'. */
export interface JobOutputCommitter {
  setupJob(): Promise<void>;
  commitTask(attemptDir: string, partition: number): Promise<void>;
  abortTask(attemptDir: string, partition: number): Promise<void>;
  commitJob(): Promise<void>;
  abortJob(): Promise<void>;
  /** At a master's start, for an unfinished job: drops the uncommitted output of attempts before the restart, where it would linger. Returns how many it dropped. */
  recoverJob(): Promise<number>;
}

/** The committer of `outputDir` (an absolute path or s3:// URL). Pure; cheap. */
export function outputCommitter(outputDir: string): JobOutputCommitter {
  if (isS3Path(outputDir)) {
    const c = ObjectOutputCommitter;
    return {
      setupJob: () => c.setupJob(outputDir),
      commitTask: (attemptDir, partition) => c.commitTask(outputDir, attemptDir, partition),
      abortTask: (attemptDir, partition) => c.abortTask(outputDir, attemptDir, partition),
      commitJob: () => c.commitJob(outputDir),
      abortJob: () => c.abortJob(outputDir),
      recoverJob: () => c.recoverJob(outputDir),
    };
  }
  const f = FileOutputCommitter;
  return {
    setupJob: () => f.setupJob(outputDir),
    commitTask: (attemptDir, partition) => f.commitTask(outputDir, attemptDir, partition),
    abortTask: (attemptDir) => f.abortTask(outputDir, attemptDir),
    commitJob: () => f.commitJob(outputDir),
    abortJob: () => f.abortJob(outputDir),
    // Files of attempts before a restart stay under _temporary/ until the job's end removes it, as before.
    recoverJob: async () => 0,
  };
}
