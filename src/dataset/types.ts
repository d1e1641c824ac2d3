/**
 * The dataset store's contract: what the master's Dataset service (and later
 * the speed layer, functions and a standalone dataset role) calls. The store
 * knows nothing of jobs or the scheduler.
 *
 * A dataset has P partitions fixed at creation; a partition is an append-only
 * log of segment files; each record gets the next dense offset of its
 * partition and is visible to readers only once durable (fsync'd).
 */
/** One partition as `laminate dataset describe` shows it. */
export interface PartitionDescription {
  readonly partition: number;
  /** The offset the next record will get (= records ever appended to it). */
  readonly endOffset: number;
  readonly segments: number;
  readonly records: number;
  /** Bytes of its segment files on disk. */
  readonly bytes: number;
}

export interface DatasetDescription {
  readonly name: string;
  readonly partitions: readonly PartitionDescription[];
  /** ms since the epoch. */
  readonly createdAt: number;
}

export interface CreateDatasetOptions {
  /** Default 4 (DEFAULT_PARTITIONS). */
  readonly partitions?: number;
}

/**
 * One batch of records for one partition, as a producer sends it. With a
 * producer id and sequence the append is idempotent: a batch that repeats one
 * of the producer's last batches on that partition is stored once and answered
 * with the offsets it got the first time.
 */
export interface AppendBatch {
  readonly dataset: string;
  readonly partition: number;
  /** The records, encoded as a record body (see record-body.ts). */
  readonly body: Uint8Array;
  /** How many records the body holds; checked against the body. */
  readonly count: number;
  /** Set together with `sequence`, or neither. */
  readonly producerId?: string;
  /**
   * Kafka's rule: the sequence number of the batch's first record; the
   * producer's next batch on this partition starts at sequence + count.
   */
  readonly sequence?: number;
}

export interface AppendResult {
  readonly partition: number;
  readonly firstOffset: number;
  readonly count: number;
  /** True when this batch repeated one already stored (nothing new was written). */
  readonly duplicate: boolean;
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
 * Records of one partition from an offset. A chunk may hold fewer records
 * than maxBytes would allow: it ends at a segment's end, or before a damaged
 * batch (the read from there reports DATA_LOSS). Read on from nextOffset.
 */
export interface ReadChunk {
  readonly partition: number;
  /** Offset of the first record in `body`. */
  readonly firstOffset: number;
  readonly count: number;
  /** A record body (record-body.ts) of `count` records from `firstOffset` on. */
  readonly body: Uint8Array;
  /** firstOffset + count: where the next read starts. */
  readonly nextOffset: number;
  /** The partition's durable end when the chunk was read. */
  readonly endOffset: number;
}

/**
 * A sequence out of order is OUT_OF_ORDER_SEQUENCE (see AppendBatch.sequence
 * and producer-state.ts): the message names the sequence expected and the
 * one got.
 */

/** A cut: per partition, "every record before this offset". */
export type Cut = readonly number[];

export interface DatasetStore {
  /** Creates a dataset; repeating with equal settings is a no-op; other settings: ALREADY_EXISTS. */
  createDataset(name: string, options?: CreateDatasetOptions): Promise<DatasetDescription>;
  /** NOT_FOUND for an unknown dataset. */
  describeDataset(name: string): DatasetDescription;
  listDatasets(): DatasetDescription[];
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
