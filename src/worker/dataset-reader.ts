/**
 * How a map attempt reads a dataset split: over gRPC from the Dataset
 * service of the master its worker registered with, in chunks (of MAP_READ_BYTES
 * of records each), decoded a chunk at a time; or, for a
 * split in an archived segment, straight from the archive (archive-reader.ts).
 *
 * A container thread keeps one channel per master address for its life, so
 * that the attempts it runs share a connection.
 */
import { LaminateError } from '../common/errors.js';
import type { DatasetSplit } from '../common/input-split.js';
import { decodeBody } from '../storage/record-body.js';
import { DatasetClient } from '../protocol/dataset-rpc.js';
import { readArchivedSplit } from '../dataset/archive-reader.js';
import type { DatasetAccess, DatasetRecordChunk } from '../storage/input-formats/dataset.js';

/**
 * Bytes of records per chunk a map attempt asks for: 1 MiB rather than the
 * store's default 256 KiB, so that a split of 60 MB costs the master 60
 * segment reads (each an open, a pread, a CRC check of its batches and a
 * close) and 60 gRPC messages rather than 240. Memory: one chunk and its
 * decoded records per running map attempt.
 */
export const MAP_READ_BYTES = 1024 * 1024;

const clients = new Map<string, DatasetClient>();

function clientFor(address: string): DatasetClient {
  let c = clients.get(address);
  if (!c) clients.set(address, (c = new DatasetClient(address)));
  return c;
}

/**
 * Reads dataset splits from the Dataset service at `masterAddress`. Reads
 * only; plans no splits (that is the master's, next to its store). A lost
 * connection fails the read with UNAVAILABLE, and so the attempt, which the
 * master retries.
 */
export function remoteDatasetAccess(masterAddress: string): DatasetAccess {
  return {
    splitRanges() {
      return Promise.reject(new LaminateError('FAILED_PRECONDITION', 'Expected dataset splits to be planned by the master, got a request in a worker'));
    },
    async *readRange(split: DatasetSplit): AsyncGenerator<DatasetRecordChunk> {
      // Records in an archived segment come from the archive, not through the master.
      if (split.archive !== undefined) {
        yield* readArchivedSplit(split);
        return;
      }
      const chunks = clientFor(masterAddress).read({
        dataset: split.dataset, partition: split.partition, from: split.startOffset, endOffset: split.endOffset, follow: false,
        maxBytes: MAP_READ_BYTES,
      });
      for await (const chunk of chunks) {
        if (chunk.count > 0) yield { firstOffset: chunk.firstOffset, records: decodeBody(chunk.body) };
      }
    },
  };
}
