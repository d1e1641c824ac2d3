/**
 * Replacing a small file all at once: the bytes go to a temporary file in the
 * same folder, which is fsync'd, renamed over the target, and the folder
 * fsync'd, so that after a crash at any point the target holds either its
 * old contents or the new ones (LevelDB commits its CURRENT file this way,
 * doc/impl.md: one rename is the commit). Used by the view store (CURRENT,
 * manifests) and the master's view catalog.
 */
import { randomUUID } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describe, LaminateError } from '../common/errors.js';

/** fsyncs a folder, so names created, renamed or removed in it survive a crash. Safe to call any number of times. */
export async function syncFolder(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The steps of writeFileAtomic, named for crash tests (see its `onStep`). */
export type AtomicWriteStep = 'temp-written' | 'renamed' | 'folder-synced';

/**
 * Writes `data` to `path` atomically and durably (see above). Safe to call
 * again with the same or other bytes; concurrent calls for one path each use
 * a temporary file of their own (`<path>.<uuid>.tmp`, removed on failure),
 * and the last rename wins. `onStep` runs after each step: a test stops
 * there by throwing, as a crash would (the temporary file then stays, for
 * the owner's leftover cleanup to remove, as after a real crash).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, onStep?: (step: AtomicWriteStep) => void): Promise<void> {
  const tmp = `${path}.${randomUUID()}.tmp`;
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
  onStep?.('temp-written');
  await rename(tmp, path);
  onStep?.('renamed');
  await syncFolder(dirname(path));
  onStep?.('folder-synced');
}

/**
 * The JSON a file written with writeFileAtomic holds, or undefined when
 * there is no file. A file that is there but not JSON is DATA_LOSS naming
 * it: the callers' state files must not be silently taken as empty.
 * Checking the shape is the caller's.
 */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new LaminateError('DATA_LOSS', `Malformed '${path}': expected JSON, got ${describe(text.slice(0, 40))} (${(err as Error).message})`);
  }
}
