/**
 * The speed layer as the other processes see it: what a speed process
 * reports to the master (its heartbeat), what the master assigns to it
 * (views, partitions, cuts), and the reads a serving node asks of it to
 * merge with a batch version. Wire mapping in src/protocol/speed-rpc.ts.
 *
 * Vocabulary (DESIGN.md, "The Lambda layers beyond batch"):
 * - a **cut** is a vector of per-partition offsets, "every record before
 *   these"; the batch version N counts exactly the records before its cut;
 * - the speed side of a view, per source partition, folds the records from
 *   a cut on; its **applied** offset is the offset of the next record it
 *   will fold (so it counts [cut, applied));
 * - the **handoff cut** is the cut of the oldest version that some serving
 *   node still serves as current: speed state before it may be dropped, and
 *   only it (DESIGN rule 3).
 */

/** One source partition of a view on a speed process, as reported. */
export interface SpeedPartitionReport {
  readonly partition: number;
  /** The offset of the next record to fold: the state counts every record before it (from `start`). */
  readonly applied: number;
  /** The first offset the state counts (its oldest kept boundary); applied === start for an empty state. */
  readonly start: number;
  /** The partition's end offset as last seen by the tailer (durable records). */
  readonly end: number;
  /** When (ms since the epoch) `applied` last equalled the end the tailer saw; 0 if never. */
  readonly caughtUpAt: number;
  /** Set when the view's map threw on a record: folding stopped before this offset. */
  readonly stopped?: { readonly offset: number; readonly message: string };
  /** Set while the partition cannot be read at any cut (restoring a checkpoint, refolding from an earlier cut). */
  readonly busy?: string;
  /** The last checkpoint this process wrote of the partition (as Flink's lastCheckpointDuration/Size); absent before the first. Not sent to the master. */
  readonly lastCheckpoint?: { readonly durationMs: number; readonly bytes: number };
}

/** One view on a speed process, as reported in its heartbeat. */
export interface SpeedViewReport {
  readonly view: string;
  readonly definitionHash: string;
  readonly partitions: readonly SpeedPartitionReport[];
  /**
   * The view's watermark over this process's partitions, ms since the epoch
   * (least over recently active partitions of the largest event time seen,
   * minus the allowed lateness); absent for a view without a window or
   * before any record.
   */
  readonly watermark?: number;
}

/** A speed process's heartbeat to the master (every second). */
export interface SpeedHeartbeat {
  /** Chosen by the process, stable across its restarts (kept in its data folder). */
  readonly nodeId: string;
  /** host:port of its Speed service. */
  readonly address: string;
  readonly views: readonly SpeedViewReport[];
}

/** One view the master assigns to a speed process. */
export interface SpeedViewAssignment {
  readonly view: string;
  /** The source dataset. */
  readonly source: string;
  /** The deployed bundle, in the master's bundle store (GetBundle). */
  readonly bundleHash: string;
  readonly definitionHash: string;
  /** The monoid's name as deployed ('sum', 'topK(10)', 'custom', ...). */
  readonly merge: string;
  /** The source partitions this process folds; the others are other processes'. */
  readonly partitions: readonly number[];
  /**
   * Cuts the state must keep a boundary at, oldest first: the cuts of the
   * versions serving nodes serve or keep, and of builds running or about to
   * run. A read "from cut C" is answerable only at a boundary.
   */
  readonly cuts: readonly (readonly number[])[];
  /**
   * Where folding starts and before which state may be dropped: the cut of
   * the oldest version some serving node (live or down, not forgotten)
   * serves as current; all zeros before any version.
   */
  readonly handoffCut: readonly number[];
}

/** The master's answer to a speed heartbeat: everything this process should run now. */
export interface SpeedAssignment {
  readonly views: readonly SpeedViewAssignment[];
}

/** Where a serving node finds the speed side of a view: one entry per speed process. */
export interface SpeedLocation {
  readonly nodeId: string;
  readonly address: string;
  readonly partitions: readonly number[];
}

/** A serving node's read of the speed side: keys, from exactly `cut` on. */
export interface SpeedGetQuery {
  readonly view: string;
  /** The batch version's cut; each partition's fold must start exactly there. */
  readonly cut: readonly number[];
  /**
   * The definition the batch version was built with: a speed side running
   * another (the view was redeployed) answers every partition uncovered,
   * since the two halves would fold different maps. Absent: not checked.
   */
  readonly definitionHash?: string;
  readonly keys: readonly string[];
  /**
   * Optional: msgpack of the batch accumulator of each key (empty: none), for
   * a view whose monoid is custom (the serving node runs no user code): the
   * answer's accumulators are then base ⊕ speed.
   */
  readonly base?: readonly Uint8Array[];
  /** Wait up to this long for every partition to reach these offsets (read your writes); absent: no wait. */
  readonly atLeast?: readonly number[];
  readonly waitMs?: number;
}

/** A scan of the speed side, from exactly `cut` on, within bounds (as ScanQuery's). */
export interface SpeedScanQuery {
  readonly view: string;
  readonly cut: readonly number[];
  /** As SpeedGetQuery's. */
  readonly definitionHash?: string;
  readonly prefix?: string;
  readonly from?: string;
  readonly to?: string;
  readonly limit?: number;
}

/** How one partition's part of an answer stands. */
export interface SpeedPartitionCoverage {
  readonly partition: number;
  /** The answer counts records [cut, applied) of this partition; applied === cut when uncovered. */
  readonly applied: number;
  /** Records durable but not yet folded (end - applied), as the tailer last saw. */
  readonly lag: number;
  readonly caughtUpAt: number;
  /** Set when this partition's records after the cut are not in the answer, and why. */
  readonly uncovered?: string;
}

/** One key's speed accumulator (msgpack); keys the speed side has nothing for are absent. */
export interface SpeedEntry {
  readonly key: string;
  readonly acc: Uint8Array;
}

/**
 * A speed process's answer for the partitions it folds: all read from one
 * snapshot of its state. Entries of a Get in no particular order; of a
 * Scan, in key order.
 */
export interface SpeedAnswer {
  readonly view: string;
  readonly partitions: readonly SpeedPartitionCoverage[];
  readonly entries: readonly SpeedEntry[];
  readonly watermark?: number;
}
