/**
 * Host-local shuffle reads: a reducer on the same host as a map output
 * reads the partition's bytes from the file itself instead of having its
 * server stream them over gRPC (Spark 3's spark.shuffle.readHostLocalDisk;
 * the check that it is the same file: src/storage/local-file.ts). On one
 * machine the stream costs the server a read, a protobuf copy and a frame
 * copy per chunk, and the reducer a receive (the serving bench's workers
 * spent 0.58-0.78 CPU-s on their main threads per build serving the shuffle;
 * 0.13-0.24 with the files read in place).
 *
 * The server is still asked (LocatePartition), so a dead worker or a lost
 * output fails the reducer's fetch exactly as a stream would, and the
 * server checks the partition against the file's index as for a fetch.
 */
import { LaminateError } from '../common/errors.js';
import type { PartitionFile } from '../protocol/messages.js';
import { localFile } from '../storage/local-file.js';

export { hostIdentity, openSameFile } from '../storage/local-file.js';

/** Buffer of a host-local run: the file is read as the merge goes, this much at a time (as a spooled run is). */
export const HOST_LOCAL_BUFFER = 64 * 1024;

/**
 * The answer to LocatePartition for the map output at `path`. Called by a
 * worker's shuffle server and a node's shuffle service after they checked
 * the partition against the file's index.
 * @throws LaminateError NOT_FOUND when the file is gone (the reducer reports a fetch failure).
 */
export async function partitionFile(path: string): Promise<PartitionFile> {
  try {
    return await localFile(path, { final: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new LaminateError('NOT_FOUND', `Map output '${path}' does not exist`, { cause: err });
    }
    throw err;
  }
}
