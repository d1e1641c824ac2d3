/** The messages between a worker and the thread of one of its containers. */
import type { AttemptLaunch, AttemptOutcome } from '../common/task-attempt.js';
import type { SecurityConfig } from '../protocol/security-config.js';

/** A task attempt as a container runs it: the launch plus where things are on this worker. */
export interface ContainerTask {
  readonly launch: AttemptLaunch;
  readonly workerId: string;
  readonly bundlePath: string;
  /**
   * The job's folder on this worker, shared by its attempts: an attempt's
   * files there are named `<attemptId>.*` (no folder of its own: creating one
   * costs as much as a short task's other disk work).
   */
  readonly workDir: string;
  /** The worker's master (HOST:PORT): map attempts over datasets read from its Dataset service. */
  readonly masterAddress: string;
  /** Attempts read map outputs and dataset segments on this host from their files (WorkerOptions.hostLocalReads). */
  readonly hostLocalReads: boolean;
}

/**
 * An attempt's outcome as its container hands it to the worker: what the
 * master is told, and for a successful map attempt, the output file the
 * worker keeps and serves (never sent to the master).
 */
export type ContainerOutcome = AttemptOutcome & { readonly dataPath?: string };

export type ToContainer = { readonly type: 'run'; readonly task: ContainerTask };
export type FromContainer =
  | { readonly type: 'result'; readonly attemptId: string; readonly result: ContainerOutcome }
  /** A blank container's warm-up ended (container-warm-up.ts). */
  | { readonly type: 'warmed-up'; readonly report: WarmUpReport };

/** How a blank container's warm-up ended (container-warm-up.ts), for the worker's log. */
export interface WarmUpReport {
  readonly outcome: 'done' | 'stopped' | 'failed';
  /** Wall time of the warm-up, in the thread. */
  readonly ms: number;
  /** Synthetic records it was to run. */
  readonly records: number;
  /** When failed: why. */
  readonly message?: string;
  /** When done: the synthetic map's counters (map-runner.ts) and REDUCE_OUTPUT_RECORDS. */
  readonly counters?: Readonly<Record<string, number>>;
}

/** What a container thread is started with. */
export interface ContainerData {
  /** The thread's gRPC clients call with its process's token and TLS (security-config.ts). */
  readonly security?: SecurityConfig;
  /** Set for a blank container that warms up when idle: the folder its warm-up writes in, its own. */
  readonly warmUpDir?: string;
}
