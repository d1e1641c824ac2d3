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
import type { SpeedViewHandlers } from '../protocol/view-rpc.js';
import type { ViewService } from './view-service.js';
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
  readonly views: ViewService;
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
    servingNodes: () => d.views.handlers.listServingNodes(),
    speed: () => d.speed.listSpeedNodes(),
    datasets: () => d.store.listDatasets(),
    dataset: (name) => d.store.describeDataset(name),
    views: async () => d.views.handlers.listViews(),
    view: (name) => d.views.view(name),
    viewCount: () => d.views.count(),
    viewVersions: (name) => d.views.handlers.viewVersions(name),
    rollbackView: (name, version) => d.views.handlers.rollbackView(name, version),
    // The Functions service's own handlers: the console lists and deletes as `laminate function` does.
    functions: () => d.functions.handlers.list(),
    functionSummary: (name) => {
      const live = catalog.live(name);
      if (!live) throw new LaminateError('NOT_FOUND', `No function '${name}'`);
      return { live, metrics: service.metrics(name)! };
    },
    functionVersions: (name) => d.functions.handlers.versions(name).slice().sort((a, b) => b.version - a.version),
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
    deleteFunction: (name) => d.functions.handlers.delete(name),
  };
}
