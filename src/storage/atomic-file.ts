/**
 * Replacing a small file all at once: the bytes go to a temporary file in the
 * same folder, which is fsync'd, renamed over the target, and the folder
 * fsync'd, so that after a crash at any point the target holds either its
 * old contents or the new ones (LevelDB's CURRENT file works this way).
 */
import { randomUUID } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Fsyncs a folder, so that a rename or a new file in it survives a crash. */
export async function syncFolder(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `data` to `path` atomically and durably (see above). Safe to call
 * again with the same or other bytes; concurrent calls for one path each use
 * a temporary file of their own, and the last rename wins.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${randomUUID()}.tmp`;
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
  await syncFolder(dirname(path));
}
