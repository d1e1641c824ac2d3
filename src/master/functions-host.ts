/**
 * The master's functions (issue 10), wired: the catalog and code store, the
 * journal of asynchronous events and the invocation service under
 * `<data>/functions/`, container reservations through the scheduler,
 * commands down the workers' streams, dead letters appended to the
 * master's dataset store, and the handlers of the Functions service and of
 * the Master service's ReportInvocation and GetFunctionCode. The master
 * makes one at start and calls workerLost / heartbeat / tick / stop.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../common/clock.js';
import { LaminateError } from '../common/errors.js';
import type { FunctionCode, FunctionLogLine, InvocationReport } from '../common/function-shapes.js';
import type { Logger } from '../common/logger.js';
import type { WorkerCommand } from '../common/task-attempt.js';
import type { LogDatasetStore } from '../dataset/log-dataset-store.js';
import { loadMasterKey } from '../functions/code-crypto.js';
import { EventJournal } from '../functions/event-journal.js';
import { FunctionCatalog } from '../functions/function-catalog.js';
import { InvocationService, type InvocationOptions } from '../functions/invocation-service.js';
import { functionsService, type FunctionLogsQuery, type FunctionsHandlers } from '../protocol/functions-rpc.js';
import type { ServiceRegistration } from '../protocol/master-rpc.js';
import type * as M from '../protocol/messages.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Decision } from '../scheduler/types.js';
import { encodeBody } from '../storage/record-body.js';

export interface FunctionsHostDeps {
  /** `<data>/functions`. */
  readonly dir: string;
  /** `--function-code`: where the sealed code is kept, a folder or `s3://bucket/prefix`; absent: `<dir>/code`. */
  readonly codeDir?: string;
  /** `--key-file`: the master key; absent: generated into `<dir>/master.key` (mode 0600). */
  readonly keyFile?: string;
  readonly scheduler: Scheduler;
  /** Carries out scheduler decisions a release caused (tasks placed in the freed room). */
  readonly run: (decisions: readonly Decision[]) => void;
  readonly send: (workerId: string, command: WorkerCommand) => void;
  readonly store: LogDatasetStore;
  readonly clock: Clock;
  readonly log: Logger;
  readonly options?: InvocationOptions;
  /**
   * Resolves once every deploy and delete told so far has been applied to the
   * triggers (the master's TriggerManager.settled, bound late: the triggers
   * start after this host). Absent: deploy and delete do not wait.
   */
  readonly triggersApplied?: () => Promise<void>;
}

/**
 * How long deploy and delete wait for the master to start (or stop) the
 * version's triggers before they answer anyway. The wait is what makes "the
 * files in the folder when it is deployed", or "the log end when it is
 * deployed", mean the moment deploy answers: the trigger takes that baseline
 * as it starts, and a client that writes right after its deploy answered
 * found its first file counted as already there (CI, 2 December). The bound:
 * stopping a replaced trigger waits for its delivery in flight, which may
 * run as long as the function's timeout; deploy answers after this long and
 * the triggers are applied as soon as they can be, as before.
 */
export const TRIGGERS_WAIT_MS = 5000;

export interface FunctionsHost {
  readonly catalog: FunctionCatalog;
  readonly service: InvocationService;
  readonly registration: ServiceRegistration;
  /** What the Functions service's RPCs call, for other fronts (the console) to call the same. */
  readonly handlers: FunctionsHandlers;
  reportInvocation(report: InvocationReport): void;
  getFunctionCode(req: M.GetFunctionCodeRequest): Promise<FunctionCode>;
}

/** Opens the catalog (and the master key) and the journal, replays unsettled async events. Called once at the master's start. */
export async function startFunctions(d: FunctionsHostDeps): Promise<FunctionsHost> {
  await mkdir(d.dir, { recursive: true, mode: 0o700 });
  const { key, generated } = await loadMasterKey(d.keyFile, join(d.dir, 'master.key'));
  if (generated) d.log.info({ path: join(d.dir, 'master.key') }, 'generated the key that encrypts function code at rest (keep it: without it the stored code cannot be opened)');
  const catalog = await FunctionCatalog.open(d.dir, key, ...(d.codeDir === undefined ? [] : [d.codeDir]));
  const journal = await EventJournal.open(join(d.dir, 'async-events.jsonl'));
  const service = new InvocationService({
    catalog, journal, clock: d.clock, log: d.log, send: d.send, ...(d.options ? { options: d.options } : {}),
    placement: {
      reserve: (id, memoryMb, avoid) => d.scheduler.reserveContainer(id, memoryMb, avoid)?.workerId,
      release: (id) => d.run(d.scheduler.releaseContainer(id, d.clock.now())),
      couldEverHost: (memoryMb) => d.scheduler.couldEverHostContainer(memoryMb),
    },
    appendDeadLetter: (dataset, record) => appendRecord(d.store, dataset, record),
  });
  service.recover();
  const handlers: FunctionsHandlers = {
    deploy: async (req) => {
      const deployed = await catalog.deploy(req, d.clock.now());
      await triggersApplied(d);
      return deployed;
    },
    list: () => catalog.list().map((f) => ({ live: catalog.version(f.name), metrics: service.metrics(f.name)! })),
    versions: (name) => catalog.versions(name),
    delete: async (name) => {
      await catalog.delete(name);
      await triggersApplied(d);
    },
    invoke: (name, payload, version, jsonBytes) => service.invoke(name, payload, { source: 'api', ...(version === undefined ? {} : { version }), ...(jsonBytes === undefined ? {} : { jsonBytes }) }),
    invokeAsync: (name, payload) => service.invokeAsync(name, payload, 'api'),
    logs: (name, query, signal) => logStream(service, catalog, name, query, signal),
  };
  return {
    catalog, service, handlers, registration: functionsService(handlers),
    reportInvocation: (r) => service.report(r),
    getFunctionCode: (r) => {
      // The code and its key go only to a worker the master sent an invocation of that version to.
      if (!service.runsVersion(r.workerId, r.function, r.version)) {
        throw new LaminateError('FAILED_PRECONDITION', `Worker '${r.workerId}' runs no container of version ${r.version} of function '${r.function}': its code is not given out`);
      }
      return catalog.code(r.function, r.version);
    },
  };
}

/** Waits (at most TRIGGERS_WAIT_MS) for the triggers to follow the catalog. */
function triggersApplied(d: FunctionsHostDeps): Promise<void> {
  return d.triggersApplied === undefined ? Promise.resolve() : waitBounded(d.triggersApplied, TRIGGERS_WAIT_MS);
}

/**
 * Resolves once `applied()` settles or `boundMs` has passed, whichever is
 * first; never rejects (a trigger that cannot start is the manager's to
 * log, and the deploy it follows has succeeded). Exported for its test.
 */
export async function waitBounded(applied: () => Promise<void>, boundMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => { timer = setTimeout(resolve, boundMs); });
  try {
    await Promise.race([applied().catch(() => undefined), bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** Appends one record to `dataset` of the master's store, creating the dataset (default partitions) when missing. */
async function appendRecord(store: LogDatasetStore, dataset: string, record: unknown): Promise<void> {
  let partitions: number;
  try {
    partitions = store.describeDataset(dataset).partitions.length;
  } catch (err) {
    if (!(err instanceof LaminateError && err.code === 'NOT_FOUND')) throw err;
    partitions = (await store.createDataset(dataset)).partitions.length;
  }
  const body = encodeBody([record as never]);
  await store.append([{ dataset, partition: Math.floor(Math.random() * partitions), body, count: 1 }]);
}

/** Lines buffered for one follower that reads slower than they come. */
const FOLLOW_BUFFER_LINES = 10_000;

/** The kept lines of a function, then (follow) each new one until `signal` aborts. */
async function* logStream(service: InvocationService, catalog: FunctionCatalog, name: string, query: FunctionLogsQuery, signal: AbortSignal): AsyncGenerator<FunctionLogLine> {
  const kept = service.logs.lines(name, query);
  if (kept.length === 0 && !catalog.live(name)) throw new LaminateError('NOT_FOUND', `No function '${name}'`);
  if (!query.follow) {
    yield* kept;
    return;
  }
  // Subscribed before the kept lines are sent, so that none falls between.
  const queue: FunctionLogLine[] = [...kept];
  let wake: (() => void) | undefined;
  const unfollow = service.logs.follow(name, (line) => {
    // A follower that does not keep up loses the oldest lines rather than the master's memory.
    if (queue.length >= FOLLOW_BUFFER_LINES) queue.shift();
    queue.push(line);
    wake?.();
  });
  const onAbort = (): void => wake?.();
  signal.addEventListener('abort', onAbort);
  try {
    while (!signal.aborted) {
      const line = queue.shift();
      if (line) {
        yield line;
        continue;
      }
      await new Promise<void>((resolve) => { wake = resolve; });
      wake = undefined;
    }
  } finally {
    unfollow();
    signal.removeEventListener('abort', onAbort);
  }
}
