/**
 * The dataset input format's access to a local store (see
 * storage/input-formats/dataset.ts): split planning from the store's batch
 * positions, and reads straight from its segments. The master plans the
 * splits of its jobs with it; tests read splits through it without gRPC.
 */
import type { DatasetSplit } from '../common/input-split.js';
import type { DatasetAccess, DatasetRecordChunk } from '../storage/input-formats/dataset.js';
import type { LogDatasetStore } from './log-dataset-store.js';
import { decodeBody } from '../storage/record-body.js';

/** Reads and plans over `store`; the store stays the caller's to close. */
export function storeDatasetAccess(store: Pick<LogDatasetStore, 'splitRanges' | 'read'>): DatasetAccess {
  return {
    splitRanges: (dataset, partition, endOffset, targetBytes) => store.splitRanges(dataset, partition, endOffset, targetBytes),
    async *readRange(split: DatasetSplit): AsyncGenerator<DatasetRecordChunk> {
      for (let from = split.startOffset; from < split.endOffset;) {
        const chunk = await store.read(split.dataset, split.partition, from, { endOffset: split.endOffset });
        // An empty chunk before the end cannot happen for records before a
        // valid cut; stop rather than spin, and let the format report the gap.
        if (chunk.count === 0) return;
        yield { firstOffset: chunk.firstOffset, records: decodeBody(chunk.body) };
        from = chunk.nextOffset;
      }
    },
  };
}
