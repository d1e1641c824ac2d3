/**
 * A reduce attempt's view file for a view store on an object store
 * (`laminate master --views s3://...`). A view file is written blocks
 * first, index and footer last, and finished by a rename, so it is made
 * where files are: a staging file in the attempt's work folder. Its close
 * then streams the finished file, in chunks, into the attempt's upload
 * (object-output-committer.ts), which stays invisible until the master
 * commits the attempt, and removes the staging file. Hadoop's S3A staging
 * committer does the same with its task output (stage on local disk,
 * upload at task commit).
 *
 * Disk: one partition's view file per running reduce attempt; memory: one
 * chunk in flight.
 */
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { TaskUpload } from '../storage/object-output-committer.js';
import { openReduceOutput, type MergeBase, type ReduceOutput } from './reduce-output.js';

/** Bytes per read of the staged file: each goes to the upload, which joins them into parts. */
const UPLOAD_CHUNK_BYTES = 256 * 1024;

/**
 * The view output at `stagingPath`, uploaded to `upload` at close. Called
 * by the reduce runner once per attempt; close and abort as ReduceOutput's
 * (abort safe to call twice, and after a failed close).
 */
export async function openStagedViewOutput(stagingPath: string, upload: TaskUpload, base?: MergeBase): Promise<ReduceOutput> {
  let inner: ReduceOutput;
  try {
    inner = await openReduceOutput('view', stagingPath, base);
  } catch (err) {
    await upload.abandon().catch(() => {});
    throw err;
  }
  const removeStaged = (): Promise<void> => rm(stagingPath, { force: true });
  return {
    write: (key, value) => inner.write(key, value),
    needsFlush: () => inner.needsFlush(),
    flush: () => inner.flush(),
    async close() {
      const summary = await inner.close();
      try {
        for await (const chunk of createReadStream(stagingPath, { highWaterMark: UPLOAD_CHUNK_BYTES })) await upload.write(chunk as Buffer);
        await upload.close();
      } finally {
        await removeStaged();
      }
      return summary;
    },
    async abort() {
      await inner.abort().catch(() => {});
      await upload.abandon().catch(() => {});
      await removeStaged();
    },
  };
}
