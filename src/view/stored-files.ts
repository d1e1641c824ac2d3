/**
 * A view store's files as a process that is not its owner reads them (a
 * serving node copying a version): by path, a folder's or an object
 * store's (`s3://...`), through the storage port, so that such a process
 * never needs to know which kind the master's view store is.
 */
import { LaminateError } from '../common/errors.js';
import { locate } from '../storage/store-path.js';

/**
 * The whole file at `path` (small files only: manifests). Read-only.
 * @throws LaminateError NOT_FOUND when there is none.
 */
export async function readStoredFile(path: string): Promise<Buffer> {
  const { store, key } = await locate(path);
  return store.read(key);
}

/**
 * The bytes of the file at `path`, streamed in the store's chunks (a
 * ranged GET on S3, resumed where it broke off). Checked to exist first,
 * so a missing file fails here, not in the middle of a pipe.
 * @throws LaminateError NOT_FOUND when there is none.
 */
export async function streamStoredFile(path: string): Promise<AsyncIterable<Buffer>> {
  const { store, key } = await locate(path);
  if ((await store.stat(key)) === undefined) throw new LaminateError('NOT_FOUND', `Expected a file at '${path}', got none`);
  return store.readStream(key);
}
