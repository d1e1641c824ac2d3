/**
 * The console API's answers as the pages read them (docs: the README's
 * "Console" section; the server's shapes are in src/common/*.ts). The
 * browser code imports nothing outside src/console/ui/, so the fields the
 * pages use are restated here; a field the server adds is ignored, and one
 * it drops shows as missing in the browser test.
 */

export interface ApiError {
  readonly code: string;
  readonly message: string;
}

export interface Overview {
  readonly at: number;
  readonly master: { readonly address: string; readonly httpAddress: string; readonly startedAt: number };
  readonly counts: {
    readonly jobsRunning: number; readonly jobsTotal: number; readonly workersAlive: number; readonly workersLost: number;
    readonly datasets: number; readonly views: number; readonly functions: number; readonly servingNodes: number; readonly speedNodes: number;
  };
}

export type JobState = 'PENDING' | 'RUNNING' | 'COMMITTING' | 'SUCCEEDED' | 'FAILED' | 'KILLED';

export interface StatusFailure {
  readonly code: string;
  readonly message: string;
  readonly attemptId: string;
  readonly workerId: string;
}

export interface TaskCounts {
  readonly total: number;
  readonly pending: number;
  readonly running: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly killed: number;
}

export interface AttemptStatus {
  readonly attemptId: string;
  readonly workerId: string;
  readonly state: string;
  readonly startMs: number;
  /** 0 while running. */
  readonly finishMs: number;
  readonly speculative: boolean;
  readonly failure: StatusFailure | null;
}

export interface TaskStatus {
  readonly taskId: string;
  readonly kind: string;
  readonly state: string;
  readonly attempts: readonly AttemptStatus[];
}

export interface JobStatus {
  readonly jobId: string;
  readonly name: string;
  readonly state: JobState;
  readonly message: string;
  readonly submitMs: number;
  /** 0 until it starts. */
  readonly startMs: number;
  /** 0 until it finishes. */
  readonly finishMs: number;
  readonly outputDir: string;
  readonly maps: TaskCounts | null;
  readonly reduces: TaskCounts | null;
  readonly counters: readonly { readonly name: string; readonly value: number }[];
  readonly failures: readonly StatusFailure[];
  readonly tasks: readonly TaskStatus[];
  readonly cuts: readonly { readonly dataset: string; readonly offsets: readonly number[] }[];
}

export interface WorkerStatus {
  readonly workerId: string;
  readonly shuffleAddress: string;
  readonly alive: boolean;
  readonly slots: number;
  readonly usedSlots: number;
  readonly memoryMb: number;
  readonly usedMemoryMb: number;
  readonly lastHeartbeatMs: number;
  readonly runningAttemptIds: readonly string[];
  readonly externalShuffle: boolean;
}

export interface LoadedVersion {
  readonly view: string;
  readonly version: number;
}

export interface ServingNodeInfo {
  readonly nodeId: string;
  readonly address: string;
  readonly lastHeardAt: number;
  readonly loaded: readonly LoadedVersion[];
}

export interface SpeedPartitionReport {
  readonly partition: number;
  readonly applied: number;
  readonly start: number;
  readonly end: number;
  /** 0 if never. */
  readonly caughtUpAt: number;
  readonly stopped?: { readonly offset: number; readonly message: string };
  readonly busy?: string;
}

export interface SpeedViewReport {
  readonly view: string;
  readonly definitionHash: string;
  readonly partitions: readonly SpeedPartitionReport[];
  readonly watermark?: number;
}

export interface HandoffHolder {
  readonly nodeId: string;
  readonly version: number;
  readonly live: boolean;
  readonly lastHeardAt: number;
}

export interface SpeedHandoff {
  readonly view: string;
  readonly handoffCut: readonly number[];
  readonly cuts: readonly (readonly number[])[];
  readonly currentVersion: number;
  readonly heldBy: readonly HandoffHolder[];
}

export interface SpeedNodeInfo {
  readonly nodeId: string;
  readonly address: string;
  readonly lastHeardAt: number;
  readonly views: readonly SpeedViewReport[];
  readonly assigned: readonly { readonly view: string; readonly partitions: readonly number[] }[];
}

export interface ClusterAnswer {
  readonly at: number;
  readonly workers: readonly WorkerStatus[];
  readonly servingNodes: readonly ServingNodeInfo[];
  readonly speed: { readonly nodes: readonly SpeedNodeInfo[]; readonly handoffs: readonly SpeedHandoff[] };
}

export interface JobsAnswer {
  readonly at: number;
  readonly jobs: readonly JobStatus[];
}

export interface JobAnswer {
  readonly at: number;
  readonly job: JobStatus;
}

export interface PartitionDescription {
  readonly partition: number;
  readonly endOffset: number;
  readonly segments: number;
  readonly records: number;
  readonly bytes: number;
}

export interface DatasetSummary {
  readonly name: string;
  readonly partitions: readonly PartitionDescription[];
  readonly createdAt: number;
  readonly records: number;
  readonly bytes: number;
  readonly endOffsets: readonly number[];
  readonly recordsPerSec: number;
  readonly bytesPerSec: number;
}

export interface HistorySample {
  readonly at: number;
  readonly records: number;
  readonly bytes: number;
}

export interface DatasetsAnswer {
  readonly at: number;
  readonly datasets: readonly DatasetSummary[];
}

export interface DatasetAnswer {
  readonly at: number;
  readonly dataset: DatasetSummary;
  readonly history: readonly HistorySample[];
}

export interface ViewInfo {
  readonly name: string;
  readonly source: string;
  readonly definitionHash: string;
  readonly merge: string;
  readonly partitions: number;
  readonly everyMs: number;
  readonly keep: number;
  readonly deployedAt: number;
  /** 0 when no version is published yet. */
  readonly currentVersion: number;
  readonly currentCut: readonly number[];
  readonly lastBuildError: string;
}

export interface ViewBuild {
  readonly view: string;
  readonly version: number;
  readonly cut: readonly number[];
  readonly jobId: string;
  readonly state: string;
  readonly error: string;
  readonly incremental: boolean;
  readonly baseVersion: number;
}

export interface ViewVersionInfo {
  readonly version: number;
  readonly cut: readonly number[];
  readonly records: number;
  readonly keys: number;
  readonly bytes: number;
  readonly jobId: string;
  readonly builtAt: number;
  readonly current: boolean;
  readonly servedBy: readonly string[];
  readonly refusedBy: readonly string[];
}

export interface ViewsAnswer {
  readonly at: number;
  readonly views: readonly ViewInfo[];
}

export interface ViewAnswer {
  readonly at: number;
  readonly view: ViewInfo;
  /** Newest first. */
  readonly versions: readonly ViewVersionInfo[];
  readonly builds: readonly ViewBuild[];
  readonly servingNodes: readonly {
    readonly nodeId: string; readonly address: string; readonly lastHeardAt: number;
    /** 0: none. */
    readonly serves: number;
    readonly loaded: readonly number[];
  }[];
  readonly speed: {
    readonly handoff: SpeedHandoff | null;
    readonly nodes: readonly { readonly nodeId: string; readonly address: string; readonly report: SpeedViewReport | null; readonly partitions: readonly number[] }[];
  };
}

export interface FunctionVersionInfo {
  readonly name: string;
  readonly version: number;
  readonly codeSha256: string;
  readonly codeBytes: number;
  readonly config: {
    readonly memoryMb: number;
    readonly timeoutMs: number;
    readonly concurrency: number;
    readonly retries: number;
    readonly deadLetter?: string;
    readonly env: Readonly<Record<string, string>>;
    readonly triggers: readonly ({ readonly kind: string } & Readonly<Record<string, unknown>>)[];
  };
  readonly createdAt: number;
}

export interface FunctionMetrics {
  readonly name: string;
  readonly invocations: number;
  readonly errors: number;
  readonly throttles: number;
  readonly coldStarts: number;
  readonly initMsMean: number;
  readonly durationP50Ms: number;
  readonly durationP99Ms: number;
  readonly deadLetters: number;
  readonly running: number;
  readonly queued: number;
  readonly containers: number;
  readonly iteratorAgeMs?: number;
}

export interface FunctionSummary {
  readonly live: FunctionVersionInfo;
  readonly metrics: FunctionMetrics;
}

export interface FunctionsAnswer {
  readonly at: number;
  readonly functions: readonly FunctionSummary[];
}

export interface FunctionAnswer {
  readonly at: number;
  readonly function: FunctionSummary;
  readonly versions: readonly FunctionVersionInfo[];
}

export interface FunctionLogLine {
  readonly at: number;
  readonly function: string;
  readonly version: number;
  readonly requestId: string;
  readonly eventId: string;
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
}

export interface LogsAnswer {
  readonly at: number;
  readonly lines: readonly FunctionLogLine[];
}
