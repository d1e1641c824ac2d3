/**
 * The boundary between a speed process's shell (src/speed/speed-node.ts:
 * master heartbeats, the Speed gRPC service) and its engine (the views'
 * folding, each in an isolated thread with a heap limit; their state,
 * checkpoints and tailing).
 *
 * The shell calls `assign` after every heartbeat with the master's latest
 * assignment, `report` to build the next heartbeat, and `get`/`scan` for
 * each read a serving node asks. The engine never talks to the master's
 * Views service itself; it reads the source datasets (Dataset service) and
 * the bundles the shell fetched for it.
 */
import type { Logger } from '../common/logger.js';
import type { SpeedAnswer, SpeedAssignment, SpeedGetQuery, SpeedScanQuery, SpeedViewReport } from '../common/speed-shapes.js';

export interface SpeedEngineOptions {
  /** host:port of the master's Dataset service (the source logs). */
  readonly masterAddress: string;
  /** The folder of checkpoints, shared by every speed process that may take a partition over. */
  readonly checkpointDir: string;
  /** Heap limit of each view's thread, in MB. */
  readonly viewMemoryMb: number;
  /** How often each partition's state and applied offset are saved (default 1000 ms). */
  readonly checkpointIntervalMs: number;
  /** A partition with no new record for this long does not hold a view's watermark back. */
  readonly idleTimeoutMs: number;
  /**
   * Crash tests only (LAMINATE_FAULT_KILL_AT, read by cli/speed.ts): the
   * process SIGKILLs itself right after this step of a checkpoint write,
   * `checkpoint:temp-written` | `checkpoint:renamed` | `checkpoint:folder-synced`.
   * A step name rather than a callback, since checkpoints are written in the view threads.
   */
  readonly faultKillAt?: string;
  /** The local path of a deployed bundle, fetched from the master once per hash. */
  bundlePath(hash: string): Promise<string>;
  readonly log: Logger;
}

export interface SpeedEngine {
  /**
   * Runs what `assignment` lists and nothing else: starts new views and
   * partitions (from their checkpoint, else from the handoff cut), stops
   * (after a last checkpoint) those no longer listed, keeps boundaries at
   * the listed cuts, and drops state before the handoff cut. Called after
   * every heartbeat; safe to repeat with the same assignment.
   */
  assign(assignment: SpeedAssignment): Promise<void>;
  /** The views and partitions this engine folds, for the next heartbeat. Cheap; no I/O. */
  report(): SpeedViewReport[];
  /**
   * The speed side of `q.keys` from exactly `q.cut` on, over this engine's
   * partitions of the view, from one snapshot. A partition that cannot
   * start exactly at the cut (state dropped before it, not reached yet,
   * stopped, busy, not assigned here) is listed with `uncovered` and its
   * applied offset equal to the cut: never folded in part.
   *
   * @throws LaminateError NOT_FOUND for a view this engine does not run.
   */
  get(q: SpeedGetQuery): Promise<SpeedAnswer>;
  /** As get, for the keys within the scan's bounds, in key order, at most `limit` of them. */
  scan(q: SpeedScanQuery): Promise<SpeedAnswer>;
  /** Saves a last checkpoint of every partition and stops the threads. Safe to repeat. */
  close(): Promise<void>;
}
