/**
 * The shapes of views as the master's catalog, its Views service and the
 * clients see them: deployments, builds, versions, and what serving nodes
 * report and are told. Wire mapping in src/protocol/view-rpc.ts.
 */
import type { SpeedLocation } from './speed-shapes.js';

/** A view's deployed settings. */
export interface ViewSettings {
  readonly name: string;
  readonly source: string;
  /** SHA-256 of the definition's bundle: an incremental build needs the same one as its base. */
  readonly definitionHash: string;
  /** The monoid's name: sum, count, min, max, setUnion, topK(k), hll(p), or a custom one's. */
  readonly merge: string;
  /** View files per version (the build's reducers). */
  readonly partitions: number;
  /** Builds scheduled every this many ms; 0: only when asked. */
  readonly everyMs: number;
  /** Versions kept besides the current one. */
  readonly keep: number;
  readonly deployedAt: number;
}

/** A view as deployed, with what is current. */
export interface ViewInfo extends ViewSettings {
  /** 0 when no version is published yet. */
  readonly currentVersion: number;
  /** The current version's cut; empty when none. */
  readonly currentCut: readonly number[];
  /** The last build's error when it failed; '' otherwise. */
  readonly lastBuildError: string;
}

export type ViewBuildState = 'RUNNING' | 'PUBLISHED' | 'FAILED';

/** One build of a view: started, published, or failed. */
export interface ViewBuild {
  readonly view: string;
  readonly version: number;
  readonly cut: readonly number[];
  readonly jobId: string;
  readonly state: ViewBuildState;
  /** FAILED: why; '' otherwise. */
  readonly error: string;
  readonly incremental: boolean;
  /** Incremental: the version merged with; 0 otherwise. */
  readonly baseVersion: number;
}

/** A published version, as `laminate view versions` lists it. */
export interface ViewVersionInfo {
  readonly version: number;
  readonly cut: readonly number[];
  /** Source records folded into it. */
  readonly records: number;
  readonly keys: number;
  readonly bytes: number;
  readonly jobId: string;
  readonly builtAt: number;
  readonly current: boolean;
  /** Serving nodes that acknowledged loading it. */
  readonly servedBy: readonly string[];
  /** `node: reason` for each live serving node that refused to load it (a damaged file). */
  readonly refusedBy: readonly string[];
  readonly definitionHash: string;
}

/** What happened to a view, as the master's catalog records it (the last 100 events per view are kept). */
export interface ViewHistoryEntry {
  /** Epoch ms. */
  readonly at: number;
  readonly event: ViewHistoryEventKind;
  /** The version published, rolled back to, or whose build failed; absent for a deploy. */
  readonly version?: number;
  /** A deploy's definition, a rollback's `from version N`, a failed build's error. */
  readonly detail?: string;
}

export type ViewHistoryEventKind = 'deployed' | 'published' | 'rolled back' | 'build failed';

export interface ViewVersionList {
  readonly view: string;
  /** Newest first. */
  readonly versions: readonly ViewVersionInfo[];
  /** Recent builds, newest first, failed ones included. */
  readonly builds: readonly ViewBuild[];
  /** The view's history, newest first: deploys, publishes, rollbacks (a rollback deletes nothing: it is an event here), failed builds. */
  readonly history: readonly ViewHistoryEntry[];
}

export interface DeployViewRequest {
  readonly name: string;
  readonly bundle: Buffer;
  readonly source: string;
  readonly definitionHash: string;
  readonly merge: string;
  /** Absent: the default. */
  readonly partitions?: number;
  readonly everyMs?: number;
  readonly keep?: number;
  /** The view's window size in ms (its key's last element is the window start); absent or 0: no window. */
  readonly windowSizeMs?: number;
}

export interface BuildViewRequest {
  readonly name: string;
  /** Absent: the source's durable end now. */
  readonly cut?: readonly number[];
  readonly full: boolean;
  /** Answer once the build is published or failed, rather than at its start. */
  readonly wait: boolean;
}

/** A version a serving node has loaded (its acknowledgement), or refused. */
export interface LoadedVersion {
  readonly view: string;
  readonly version: number;
}

export interface ServingHeartbeat {
  readonly nodeId: string;
  readonly address: string;
  readonly loaded: readonly LoadedVersion[];
  readonly refused: readonly LoadedVersion[];
  readonly refusalReason: string;
  /** The version it serves as current, one per view it serves (the speed layer's handoff waits for these). */
  readonly current?: readonly LoadedVersion[];
  /** Its last heartbeat before a graceful stop: the master forgets it at once. */
  readonly leaving?: boolean;
}

export interface ServedVersion {
  readonly version: number;
  readonly cut: readonly number[];
  /** The version's folder in the view store. */
  readonly dir: string;
}

/** What one view should serve: its current version first, then the previous ones kept. */
export interface ServedView {
  readonly view: string;
  readonly merge: string;
  readonly current: number;
  readonly versions: readonly ServedVersion[];
  /** Where the view's speed side runs: one entry per speed process; absent or empty: none (answers are batch-only). */
  readonly speed?: readonly SpeedLocation[];
  /** The view's window size in ms; absent or 0: no window. */
  readonly windowSizeMs?: number;
  /** The source dataset's partitions (the length of every cut); absent: the current version's cut's. */
  readonly sourcePartitions?: number;
}

export interface ServingNodeInfo {
  readonly nodeId: string;
  readonly address: string;
  readonly lastHeardAt: number;
  readonly loaded: readonly LoadedVersion[];
}

/** What changed from version a to version b of a view. Keys are encoded (src/common/view-key.ts). */
export interface ViewDiff {
  readonly view: string;
  readonly a: number;
  readonly b: number;
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
  readonly unchanged: number;
  /** The first few keys of each kind, in key order. */
  readonly addedKeys: readonly string[];
  readonly removedKeys: readonly string[];
  readonly changedKeys: readonly string[];
}
