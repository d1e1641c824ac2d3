/**
 * What the console reads and does, in domain terms: the master builds one
 * (src/master/console-state.ts) from the very functions its gRPC handlers
 * call, so the console's JSON API and the CLI's status output read the same
 * status and cannot disagree.
 *
 * Who calls it: the console's routes, on each request and once a second per
 * open event stream. Reads are cheap (in memory) except views and speed,
 * which may read small manifests; actions are the operator's (kill, roll
 * back, redeploy, delete) and each is safe to repeat in the sense the
 * matching CLI command is.
 */
import type { DatasetDescription } from '../common/dataset-shapes.js';
import type { FunctionLogLine, FunctionSummary, FunctionVersionInfo } from '../common/function-shapes.js';
import type { JobStatus, WorkerStatus } from '../common/job-status.js';
import type { SpeedStatus } from '../common/speed-status.js';
import type { ServingNodeInfo, ViewInfo, ViewVersionList } from '../common/view-shapes.js';

export interface ConsoleSource {
  /** The master's gRPC address, its HTTP address, and when it started (ms since the epoch). */
  readonly master: { readonly address: string; readonly httpAddress: () => string; readonly startedAt: number };
  /** Every job the master keeps (running and the most recently finished), without their tasks. */
  jobs(): JobStatus[];
  /** One job with its tasks and attempts. @throws LaminateError NOT_FOUND */
  job(jobId: string): JobStatus;
  /** As `laminate kill`: false when the job had already ended. @throws LaminateError NOT_FOUND */
  killJob(jobId: string): { killed: boolean };
  workers(): WorkerStatus[];
  /** Serving nodes heard from lately. */
  servingNodes(): ServingNodeInfo[];
  speed(): Promise<SpeedStatus>;
  datasets(): DatasetDescription[];
  /** @throws LaminateError NOT_FOUND */
  dataset(name: string): DatasetDescription;
  views(): Promise<ViewInfo[]>;
  /** One view, reading only its own state. @throws LaminateError NOT_FOUND */
  view(name: string): Promise<ViewInfo>;
  /** How many views are deployed (cheap: no view's state is read). */
  viewCount(): number;
  /** @throws LaminateError NOT_FOUND */
  viewVersions(name: string): Promise<ViewVersionList>;
  /** As `laminate view rollback`. @throws LaminateError NOT_FOUND, INVALID_ARGUMENT, FAILED_PRECONDITION */
  rollbackView(name: string, version: number): Promise<ViewInfo>;
  functions(): FunctionSummary[];
  /** One function's live version and metrics. @throws LaminateError NOT_FOUND */
  functionSummary(name: string): FunctionSummary;
  /** Newest first. @throws LaminateError NOT_FOUND */
  functionVersions(name: string): FunctionVersionInfo[];
  /** The newest `limit` kept lines at or after `sinceMs`, oldest first. @throws LaminateError NOT_FOUND */
  functionLogs(name: string, query: { readonly sinceMs: number; readonly limit: number }): FunctionLogLine[];
  /** A new version with the live version's code and config (warm containers of the old one idle out). @throws LaminateError NOT_FOUND */
  redeployFunction(name: string): Promise<FunctionVersionInfo>;
  /** As `laminate function delete`. @throws LaminateError NOT_FOUND */
  deleteFunction(name: string): Promise<void>;
}
