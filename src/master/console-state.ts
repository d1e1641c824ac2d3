/**
 * The master's ConsoleSource (src/console/console-source.ts): the console's
 * reads and actions wired to the same functions the master's gRPC handlers
 * call (job status, ListWorkers, the Views and Functions services, the
 * dataset store), so the console and the CLI show one status.
 *
 * Who calls it: the master, once at start, after its services exist.
 */
import { LaminateError } from '../common/errors.js';
import type { JobStatus, WorkerStatus } from '../common/job-status.js';
import type { ConsoleSource } from '../console/console-source.js';
import type { LogDatasetStore } from '../dataset/log-dataset-store.js';
import { openCode } from '../functions/code-crypto.js';
import type { SpeedViewHandlers, ViewHandlers } from '../protocol/view-rpc.js';
import type { FunctionsHost } from './functions-host.js';

export interface ConsoleStateDeps {
  readonly address: string;
  readonly httpAddress: () => string;
  readonly startedAt: number;
  readonly jobIds: () => string[];
  /** As GetJob (withTasks) and ListJobs. */
  readonly status: (jobId: string, withTasks: boolean) => JobStatus;
  readonly killJob: (jobId: string) => { killed: boolean };
  readonly workers: () => WorkerStatus[];
  readonly views: ViewHandlers;
  readonly speed: SpeedViewHandlers;
  readonly store: LogDatasetStore;
  readonly functions: FunctionsHost;
  readonly now: () => number;
}

export function consoleState(d: ConsoleStateDeps): ConsoleSource {
  const { catalog, service } = d.functions;
  const liveFunction = (name: string): void => {
    if (!catalog.live(name)) throw new LaminateError('NOT_FOUND', `No function '${name}'`);
  };
  return {
    master: { address: d.address, httpAddress: d.httpAddress, startedAt: d.startedAt },
    jobs: () => d.jobIds().map((id) => d.status(id, false)),
    job: (jobId) => d.status(jobId, true),
    killJob: (jobId) => d.killJob(jobId),
    workers: () => d.workers(),
    servingNodes: () => d.views.listServingNodes(),
    speed: () => d.speed.listSpeedNodes(),
    datasets: () => d.store.listDatasets(),
    dataset: (name) => d.store.describeDataset(name),
    views: async () => d.views.listViews(),
    viewVersions: (name) => d.views.viewVersions(name),
    rollbackView: (name, version) => d.views.rollbackView(name, version),
    functions: () => catalog.list().flatMap((f) => {
      const live = catalog.live(f.name);
      const metrics = service.metrics(f.name);
      return live !== undefined && metrics !== undefined ? [{ live, metrics }] : [];
    }),
    functionVersions: (name) => {
      liveFunction(name);
      return catalog.versions(name).slice().sort((a, b) => b.version - a.version);
    },
    functionLogs: (name, query) => {
      liveFunction(name);
      return service.logs.lines(name, query);
    },
    redeployFunction: async (name) => {
      const live = catalog.live(name);
      if (!live) throw new LaminateError('NOT_FOUND', `No function '${name}' to redeploy`);
      const sealed = await catalog.code(name, live.version);
      return catalog.deploy({ name, code: openCode(sealed.dataKey, sealed), config: live.config }, d.now());
    },
    deleteFunction: (name) => catalog.delete(name),
  };
}
