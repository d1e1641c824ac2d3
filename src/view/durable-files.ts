/**
 * The few durable-write steps the view folders need: fsync a folder, and
 * replace a small file atomically (LevelDB commits its CURRENT file the same
 * way, doc/impl.md: one rename is the commit).
 */
import { open, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * fsyncs a folder, so names created, renamed or removed in it survive a
 * crash. Safe to call any number of times.
 */
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
 * Writes `dir/name` atomically: `dir/name.tmp` written and fsync'd, renamed
 * over `dir/name`, then the folder fsync'd. A crash leaves the old file or
 * the new one, and at worst a stray `.tmp` (removed by the next write or
 * the leftover cleanup). `onStep` runs after each step: a test stops there
 * by throwing, as a crash would. Not for two writers of one name at once.
 */
export async function writeFileAtomic(dir: string, name: string, data: Uint8Array, onStep?: (step: AtomicWriteStep) => void): Promise<void> {
  const path = join(dir, name);
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await writeFile(fh, data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  onStep?.('temp-written');
  await rename(tmp, path);
  onStep?.('renamed');
  await syncFolder(dir);
  onStep?.('folder-synced');
}
