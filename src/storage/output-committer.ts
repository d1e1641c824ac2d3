/**
 * Hadoop's FileOutputCommitter (algorithm v1 in spirit) for an output folder
 * that every node sees (a shared filesystem). Each task attempt writes its
 * part file under `outDir/_temporary/<attemptId>/`; committing a task renames
 * that file to `outDir/part-NNNNN`, an atomic step, so readers see a part
 * file whole or not at all. The master lets exactly one attempt per task
 * commit. The job's commit removes `_temporary` and writes `_SUCCESS` last,
 * so `_SUCCESS` means every part is in place.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LaminateError } from '../common/errors.js';
import { formatPartFile } from '../common/ids.js';
import { errnoOf, exists } from './file-checks.js';

export const TEMPORARY_DIR = '_temporary';
export const SUCCESS_FILE = '_SUCCESS';



export class FileOutputCommitter {
  /**
   * Prepares `outDir` for a job: refuses a folder that already has anything
   * in it (or a file at that path), then creates it and claims it by
   * creating `outDir/_temporary` with a non-recursive mkdir, which exactly
   * one of two concurrent calls can win: two jobs submitted at once to the
   * same folder cannot both pass. Called by the master once when the job
   * starts. Not idempotent: a second call refuses, since the first left
   * `_temporary` behind.
   *
   * @throws LaminateError ALREADY_EXISTS when outDir is non-empty or a file,
   *   or another job claimed it first.
   */
  static async setupJob(outDir: string): Promise<void> {
    const aFile = (): LaminateError => new LaminateError('ALREADY_EXISTS', `Output directory '${outDir}' already has output (a file is at that path)`);
    let entries: string[];
    try {
      entries = await readdir(outDir);
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOTDIR') throw aFile();
      if (code !== 'ENOENT') throw err;
      entries = [];
    }
    if (entries.length > 0) {
      const shown = entries.sort().slice(0, 3).map((e) => `'${e}'`).join(', ');
      const more = entries.length > 3 ? ` and ${entries.length - 3} more` : '';
      throw new LaminateError('ALREADY_EXISTS', `Output directory '${outDir}' already has output (found ${shown}${more}); expected it missing or empty`);
    }
    try {
      await mkdir(outDir, { recursive: true });
    } catch (err) {
      // A file appeared at the path (or on the way to it) since readdir.
      if (errnoOf(err) === 'EEXIST' || errnoOf(err) === 'ENOTDIR') throw aFile();
      throw err;
    }
    try {
      await mkdir(join(outDir, TEMPORARY_DIR));
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') {
        throw new LaminateError('ALREADY_EXISTS', `Output directory '${outDir}' already has output (found '${TEMPORARY_DIR}': another job is writing to it); expected it missing or empty`);
      }
      throw err;
    }
  }

  /** The folder of an attempt's temporary output. Pure. */
  static taskAttemptDir(outDir: string, attemptId: string): string {
    return join(outDir, TEMPORARY_DIR, attemptId);
  }

  /**
   * Where an attempt writes its part file before committing:
   * `outDir/_temporary/<attemptId>/part-NNNNN`. Pure.
   */
  static taskAttemptPath(outDir: string, attemptId: string, partition: number): string {
    return join(outDir, TEMPORARY_DIR, attemptId, formatPartFile(partition));
  }

  /**
   * Creates the attempt's temporary folder inside the job's `_temporary`,
   * never `_temporary` itself: once the job has committed (or aborted)
   * and removed it, a late attempt (a speculative loser, a zombie on a
   * worker cut off from the master) cannot bring it back into the output
   * folder, where it would stay beside the committed parts (in a published
   * view version, say). A late attempt that made its folder before then
   * loses it with `_temporary`, and its later writes fail (ENOENT).
   * Called by the reduce runner before opening its part file; safe to
   * call twice.
   *
   * @throws LaminateError FAILED_PRECONDITION when `outDir/_temporary` is
   *   gone: the job has ended, and this attempt must write nothing.
   */
  static async setupTask(outDir: string, attemptId: string): Promise<void> {
    try {
      await mkdir(FileOutputCommitter.taskAttemptDir(outDir, attemptId));
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') return;
      if (errnoOf(err) === 'ENOENT') {
        throw new LaminateError('FAILED_PRECONDITION', `Expected the job's '${join(outDir, TEMPORARY_DIR)}' for attempt ${attemptId}'s output, got none: the job has ended (committed or aborted), so this late attempt writes nothing`, {
          cause: err,
          ids: { attemptId },
        });
      }
      throw err;
    }
  }

  /**
   * Moves the attempt's part file to `outDir/part-NNNNN` with one rename
   * (atomic; it replaces an earlier part file of the task, if any), then
   * removes the attempt's folder. Called by the master when it lets this
   * attempt commit (one attempt per task). Idempotent: when the attempt's file is
   * already gone and the part file is there, the commit is taken as done
   * (the master allows one committing attempt per task, so it was this one).
   *
   * @throws LaminateError NOT_FOUND when neither file exists.
   */
  static async commitTask(outDir: string, attemptId: string, partition: number): Promise<void> {
    const from = FileOutputCommitter.taskAttemptPath(outDir, attemptId, partition);
    const to = join(outDir, formatPartFile(partition));
    try {
      await rename(from, to);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
      if (!(await exists(to))) {
        throw new LaminateError('NOT_FOUND', `Expected attempt ${attemptId}'s output at '${from}' to commit, got no such file (and no committed '${to}')`, {
          cause: err,
          ids: { attemptId },
        });
      }
    }
    await rm(FileOutputCommitter.taskAttemptDir(outDir, attemptId), { recursive: true, force: true });
  }

  /**
   * Removes the attempt's temporary folder and whatever it wrote there.
   * Called by the master for reduce attempts that failed, were killed, or
   * lost the race to commit. Safe to call twice, and when nothing was
   * written.
   */
  static async abortTask(outDir: string, attemptId: string): Promise<void> {
    await rm(FileOutputCommitter.taskAttemptDir(outDir, attemptId), { recursive: true, force: true });
  }

  /**
   * Removes `_temporary` (leftovers of uncommitted attempts) and then writes
   * an empty `_SUCCESS`, last. Called by the master once every reduce task
   * has committed; safe to call twice.
   */
  static async commitJob(outDir: string): Promise<void> {
    await removeTemporary(outDir);
    await writeFile(join(outDir, SUCCESS_FILE), '');
  }

  /**
   * Removes `_temporary`, leaving committed part files (if any) and no
   * `_SUCCESS`. Called by the master when a job fails or is cancelled; safe
   * to call twice.
   */
  static async abortJob(outDir: string): Promise<void> {
    await removeTemporary(outDir);
  }
}

/**
 * Removes `outDir/_temporary`. A late attempt may add a file to its folder
 * while the removal walks it (the folder is then not empty when removed):
 * the removal is retried, and finds it; once `_temporary` is gone no
 * attempt can create anything under it again (setupTask).
 */
async function removeTemporary(outDir: string): Promise<void> {
  await rm(join(outDir, TEMPORARY_DIR), { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
}
