/** Small questions asked of the file system by the committer, the view store and the bundle store. */
import { stat } from 'node:fs/promises';

/** The errno code of a file-system error ('ENOENT', ...), or undefined. */
export function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** Whether something is at `path`; other errors than "no such file" are thrown. */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return false;
    throw err;
  }
}
