/**
 * The dataset store's contract: what the master's Dataset service (and later
 * the speed layer, functions and a standalone dataset role) calls. The store
 * knows nothing of jobs or the scheduler.
 *
 * A dataset has P partitions fixed at creation; a partition is an append-only
 * log of segment files; each record gets the next dense offset of its
 * partition and is visible to readers only once durable (fsync'd).
 */
import type { AppendBatch, AppendResult, Cut, DatasetDescription, ReadChunk } from '../common/dataset-shapes.js';

export type { AppendBatch, AppendResult, Cut, DatasetDescription, PartitionDescription, ReadChunk } from '../common/dataset-shapes.js';

export interface CreateDatasetOptions {
  /** Default 4 (DEFAULT_PARTITIONS). */
  readonly partitions?: number;
}

export interface ReadOptions {
  /** Stop before this offset (a cut); default the partition's durable end (an end past it is the durable end). */
  readonly endOffset?: number;
  /**
   * Soft cap on the body returned (at least one record is returned, whatever
   * its size). Default 256 KiB; at most the store's maxReadBytes (16 MiB).
   */
  readonly maxBytes?: number;
}

/**
 * Records [fromOffset, toOffset) of a partition in one segment file: bytes
 * [start, end) of it hold them in whole batches (with records before
 * fromOffset and from toOffset on, sliced off by the reader).
 */
export interface LocalSegmentRange {
  readonly path: string;
  readonly start: number;
  readonly end: number;
  readonly fromOffset: number;
  readonly toOffset: number;
}

/**
 * The store. A sequence out of order is OUT_OF_ORDER_SEQUENCE (see
 * AppendBatch.sequence and producer-state.ts): the message names the
 * sequence expected and the one got.
 */
export interface DatasetStore {
  /** Creates a dataset; repeating with equal settings is a no-op; other settings: ALREADY_EXISTS. */
  createDataset(name: string, options?: CreateDatasetOptions): Promise<DatasetDescription>;
  /** NOT_FOUND for an unknown dataset. */
  describeDataset(name: string): DatasetDescription;
  listDatasets(): DatasetDescription[];
  /**
   * Where durable records [from, end) of a partition are on this disk, one
   * range per segment they touch, in order (a store on disk: for a map on
   * this host to read them in place; a store without files does not offer
   * it, and LocateRange answers UNIMPLEMENTED).
   * NOT_FOUND for an unknown dataset or partition, OUT_OF_RANGE past the end.
   */
  localRanges?(dataset: string, partition: number, from: number, end: number): Promise<LocalSegmentRange[]>;
  /**
   * Appends batches (possibly to several partitions and datasets) and resolves
   * once every one of them is durable, with one result per batch, in order.
   * Waits when the bytes in flight pass the store's bound (back-pressure).
   * Safe to repeat with a producer id: repeats are answered, not stored again.
   *
   * Every batch is checked before any is written (unknown dataset or
   * partition: NOT_FOUND; a bad body, count, record or producer field:
   * INVALID_ARGUMENT), so such an error changes nothing. A sequence out of
   * order (OUT_OF_ORDER_SEQUENCE) or a failed write (UNAVAILABLE) concerns
   * one batch: the call rejects with it once every batch has settled, and
   * batches of it to other partitions may have been stored (a retry with the
   * same producer id and sequences is answered for those as duplicates).
   */
  append(batches: readonly AppendBatch[]): Promise<AppendResult[]>;
  /**
   * Reads durable records from `from` on, verifying checksums (a corrupt batch
   * is a DATA_LOSS error naming dataset, partition and offset).
   * `from` beyond the end: OUT_OF_RANGE. An empty chunk
   * (count 0) when `from` is at the end (or at `endOffset`).
   */
  read(dataset: string, partition: number, from: number, options?: ReadOptions): Promise<ReadChunk>;
  /** Resolves once the partition's durable end passes `offset`, or rejects CANCELLED on abort. */
  waitForRecords(dataset: string, partition: number, offset: number, signal?: AbortSignal): Promise<void>;
  /** The durable end offsets of every partition: the cut "everything now". */
  currentCut(dataset: string): Cut;
  /**
   * The sequence the store expects next from `producerId` on a partition: 0
   * for a producer it does not know (new, or idle past the producer expiry,
   * 7 days by default). A producer restarting with a known id asks this to
   * go on numbering its batches; a producer the partition does not know must
   * start at 0 (OUT_OF_ORDER_SEQUENCE otherwise).
   */
  nextSequence(dataset: string, partition: number, producerId: string): number;
  /** Flushes and closes files; appends after close are refused with UNAVAILABLE. */
  close(): Promise<void>;
}
