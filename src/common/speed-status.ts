/**
 * The speed layer as status shows it (`laminate speed-status`, the Views
 * service's ListSpeedNodes): the speed processes the master hears from,
 * with their reports and what it assigned them, and per view the handoff
 * cut with the serving nodes that hold it back. Wire mapping in
 * src/protocol/view-rpc.ts.
 */
import type { SpeedViewReport } from './speed-shapes.js';

/** A view's partitions assigned to one speed process. */
export interface SpeedViewPartitions {
  readonly view: string;
  readonly partitions: readonly number[];
}

/** A live speed process (one heard from within the master's speed-node timeout). */
export interface SpeedNodeInfo {
  readonly nodeId: string;
  readonly address: string;
  readonly lastHeardAt: number;
  /** Its last report: what it folds and how far. */
  readonly views: readonly SpeedViewReport[];
  /** What the master assigned it (the report catches up within a heartbeat). */
  readonly assigned: readonly SpeedViewPartitions[];
}

/** A serving node whose served version keeps a view's handoff cut back. */
export interface HandoffHolder {
  readonly nodeId: string;
  /** The version it serves as current (served, for a node that is down). */
  readonly version: number;
  /** False: not heard from lately; its last report holds the handoff until it returns or is forgotten. */
  readonly live: boolean;
  readonly lastHeardAt: number;
}

/** One view's handoff: before `handoffCut`, speed state may be dropped. */
export interface SpeedHandoff {
  readonly view: string;
  readonly handoffCut: readonly number[];
  /** The boundaries the speed processes keep, oldest first. */
  readonly cuts: readonly (readonly number[])[];
  /** The master's current version; 0: none published. */
  readonly currentVersion: number;
  /** Serving nodes serving a version behind the current one: they keep the handoff cut from reaching it. */
  readonly heldBy: readonly HandoffHolder[];
}

export interface SpeedStatus {
  readonly nodes: readonly SpeedNodeInfo[];
  readonly handoffs: readonly SpeedHandoff[];
}
