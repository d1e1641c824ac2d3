/**
 * The queries a serving node answers (the Serving service: Get, which is
 * MultiGet when it names several keys, and Scan) and their answers, as the
 * serving layer and the clients see them. Keys here are engine keys (the
 * strings src/common/view-key.ts encodes, in byte order = key order);
 * values are msgpack bytes of the presented value. Wire mapping in
 * src/protocol/serving-rpc.ts.
 */

/** A source partition whose records after the cut an answer does not count, and why. */
export interface UncoveredPartition {
  readonly partition: number;
  readonly reason: string;
}

/**
 * Which records an answer counts: the batch version read and its cut (every
 * source record before it), and, when a speed side was merged, the records
 * [cut_p, speed_p) of each partition p besides. The `speed` fields are all
 * absent for a batch-only answer (asked so, or no speed process runs for the
 * view); they are all present when a speed side was asked.
 */
export interface Coverage {
  readonly version: number;
  readonly cut: readonly number[];
  /** A: per source partition, the offset before which the answer counts every record (speed_p >= cut_p; = cut_p where uncovered). */
  readonly speed?: readonly number[];
  /** Records durable but not counted (end - A), summed over the partitions the speed side reported. */
  readonly lag?: number;
  /**
   * Now minus the oldest time, over the covered partitions, at which the
   * dataset store reported the partition's end that the speed side has since
   * folded up to (ReadChunk.readAtMs, the store's clock): every record
   * durable this long ago is counted. A follower at the end hears from the
   * store every second while idle, so an idle partition stays fresh. Across
   * hosts it carries the clocks' skew. Absent when no partition is
   * covered, or one never caught up.
   */
  readonly freshnessMs?: number;
  /** Partitions whose records after the cut are not counted (their speed_p = cut_p), and why; empty when every one is. */
  readonly uncovered?: readonly UncoveredPartition[];
  /** Windowed views: the speed side's watermark (ms since the epoch); a window ending at or before it is final. */
  readonly watermark?: number;
}

/** What a caller may ask of the speed side of a read. */
export interface SpeedReadOptions {
  /** Answer from the batch version alone, even when a speed side runs. */
  readonly batchOnly?: boolean;
  /**
   * Read your writes: per source partition, offsets the answer must count
   * records before (speed_p >= atLeast_p); the node waits up to `waitMs` for
   * the speed side to get there, else fails with DEADLINE_EXCEEDED.
   */
  readonly atLeast?: readonly number[];
  /**
   * How long to wait for `atLeast` (absent: DEFAULT_WAIT_MS); without
   * `atLeast`, how long the speed side may wait for partitions that have not
   * reached the version's cut yet (absent: no wait; those are uncovered).
   */
  readonly waitMs?: number;
}

/** How long a read waits for `atLeast` unless told. */
export const DEFAULT_WAIT_MS = 5000;

/** Get / MultiGet: every key is read from one version. */
export interface GetQuery extends SpeedReadOptions {
  readonly view: string;
  readonly keys: readonly string[];
  /** Absent: the node's current version of the view. */
  readonly version?: number;
}

/** One key's answer, or one entry of a scan. */
export interface ServedEntry {
  readonly key: string;
  /** msgpack of the presented value; empty when not found. */
  readonly value: Uint8Array;
  readonly found: boolean;
  /**
   * Windowed views, when a speed side was asked and the entry is found:
   * whether the watermark has passed the end of the key's window (its last
   * element is the window start): only a record later than the view's
   * allowed lateness can still change it (it is counted, not dropped).
   */
  readonly final?: boolean;
}

/** The answer of a Get: one entry per key asked, in the order asked. */
export interface GetAnswer {
  readonly view: string;
  readonly coverage: Coverage;
  readonly entries: readonly ServedEntry[];
}

/** Scan: keys in order from one version, within the intersection of the bounds. */
export interface ScanQuery extends SpeedReadOptions {
  readonly view: string;
  /** Absent: the node's current version. */
  readonly version?: number;
  /** Only keys starting with this (an engine-key prefix: encodeKeyPrefix). */
  readonly prefix?: string;
  /** First key, inclusive. */
  readonly from?: string;
  /** Key to stop at, exclusive. */
  readonly to?: string;
  /** At most this many entries; absent: no limit. */
  readonly limit?: number;
}

/**
 * One message of a Scan's answer: a chunk of entries (tens of KB), all of
 * one version. A scan answers at least one chunk (empty when no key is in
 * its bounds), so that its coverage is always told.
 */
export interface ScanChunkAnswer {
  readonly view: string;
  readonly coverage: Coverage;
  readonly entries: readonly ServedEntry[];
}
