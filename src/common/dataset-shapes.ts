/**
 * The shapes of the master dataset that cross module boundaries: the store
 * (src/dataset) answers with them, the Dataset service (src/protocol) carries
 * them, and the client hands them to users. One definition here, since
 * protocol and client may not import the store.
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

/**
 * One batch of records for one partition, as a producer sends it. With a
 * producer id and sequence the append is idempotent: a batch that repeats one
 * of the producer's last batches on that partition is stored once and answered
 * with the offsets it got the first time.
 */
export interface AppendBatch {
  readonly dataset: string;
  readonly partition: number;
  /** The records, encoded as a record body (see src/storage/record-body.ts). */
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
  /**
   * With producerId: the producer is replaying, from sequence 0, a stream
   * that a producer with its id may have sent before (a restarted import).
   * Records whose sequences the producer already had stored are skipped,
   * however the replay batches them, and the rest are stored; without it,
   * only an exact repeat of one of the last batches is recognised.
   */
  readonly replay?: boolean;
}

export interface AppendResult {
  readonly partition: number;
  readonly firstOffset: number;
  readonly count: number;
  /** True when this batch repeated one already stored (nothing new was written). */
  readonly duplicate: boolean;
  /**
   * Replay only: the batch's first `skipped` records were stored by an
   * earlier run of the producer (their offsets are no longer known) and were
   * not stored again; `count` records from firstOffset are this batch's
   * rest (firstOffset is -1 when count is 0). 0 otherwise.
   */
  readonly skipped: number;
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
  /** A record body (src/storage/record-body.ts) of `count` records from `firstOffset` on. */
  readonly body: Uint8Array;
  /** firstOffset + count: where the next read starts. */
  readonly nextOffset: number;
  /** The partition's durable end when the chunk was read. */
  readonly endOffset: number;
  /**
   * When (ms since the epoch, the dataset store's clock) the store read
   * `endOffset` as the durable end: set by the Dataset service on every
   * chunk it streams, absent from the store's own reads. A reader that has
   * applied up to endOffset counts every record durable at that time.
   */
  readonly readAtMs?: number;
}

/** A cut: per partition, "every record before this offset". */
export type Cut = readonly number[];
