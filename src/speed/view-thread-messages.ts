/**
 * The messages between a speed engine (main thread) and the thread of one
 * of its views (src/speed/view-thread-main.ts). The thread holds the view's
 * state and runs its user code; the main thread holds nothing but the last
 * report it was sent.
 */
import type { SpeedAnswer, SpeedViewReport } from '../common/speed-shapes.js';

/** What a view thread is started with. */
export interface ViewThreadInit {
  readonly view: string;
  readonly definitionHash: string;
  readonly source: string;
  readonly bundlePath: string;
  readonly masterAddress: string;
  readonly checkpointDir: string;
  readonly checkpointIntervalMs: number;
  readonly idleTimeoutMs: number;
  /** Roll a pane after this long of folding (default 1000 ms). */
  readonly paneMs?: number;
  /** Closed segments compact after this long (default 5000 ms). */
  readonly settleMs?: number;
  /** Crash tests only: SpeedEngineOptions.faultKillAt. */
  readonly faultKillAt?: string;
}

/** The view's part of an assignment, as the thread needs it. */
export interface ViewThreadAssignment {
  readonly partitions: readonly number[];
  readonly cuts: readonly (readonly number[])[];
  readonly handoffCut: readonly number[];
}

export interface ThreadGet {
  readonly type: 'get';
  readonly id: number;
  readonly cut: readonly number[];
  readonly keys: readonly string[];
  readonly base?: readonly Uint8Array[];
  readonly atLeast?: readonly number[];
  readonly waitMs?: number;
}

export interface ThreadScan {
  readonly type: 'scan';
  readonly id: number;
  readonly cut: readonly number[];
  readonly prefix?: string;
  readonly from?: string;
  readonly to?: string;
  readonly limit?: number;
}

export type ToViewThread =
  | { readonly type: 'init'; readonly init: ViewThreadInit }
  | { readonly type: 'assign'; readonly assignment: ViewThreadAssignment }
  | ThreadGet
  | ThreadScan
  | { readonly type: 'close'; readonly id: number };

export type FromViewThread =
  | { readonly type: 'report'; readonly report: SpeedViewReport }
  | { readonly type: 'answer'; readonly id: number; readonly answer?: SpeedAnswer; readonly error?: { readonly code: string; readonly message: string } }
  | { readonly type: 'closed'; readonly id: number }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly fields: Record<string, unknown>; readonly msg: string }
  /** The bundle does not load (or is not a view): the thread cannot run. */
  | { readonly type: 'fatal'; readonly message: string };
