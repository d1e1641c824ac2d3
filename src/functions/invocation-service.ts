/**
 * The invocation service: runs function invocations on workers' containers.
 * Implements FunctionInvoker (one synchronous attempt; the asynchronous
 * policy with retries, backoff and dead letters) and FunctionDirectory (the
 * catalog's) for the triggers and the client API.
 *
 * - Per function, at most `concurrency` attempts run at once (all versions
 *   together); more wait in the function's queue, oldest first, and each
 *   that had to wait counts as a throttle. A synchronous caller waits up to
 *   its maxWaitMs (default the function's timeout), then gets THROTTLED.
 * - An attempt takes an idle (warm) container of its version, or cold-starts
 *   one: a new container id whose slot and memory the scheduler reserves on
 *   a worker with room (container-pool.ts), so functions and batch tasks
 *   share the cluster's capacity, which bounds the total.
 * - A worker's report ends the attempt; a container that ended with it
 *   (timeout, out of memory, exit) is released, others go back to idle and
 *   are stopped after idleStopMs. A lost worker ends its attempts with
 *   WORKER_LOST: a synchronous caller gets that, an asynchronous event runs
 *   again elsewhere with the same event id (not counted as a retry).
 * - Heartbeats reconcile: a container the worker no longer lists is
 *   forgotten (and its attempt ended), one the master does not know is stopped.
 *
 * Time moves only through tick(now) (the master calls it on its timer; tests
 * with a manual clock): backoffs, idle stops, queue waits and overdue reports
 * are checked there. Commands go out through `send`; nothing here does I/O
 * but the journal and the dead-letter append it is given.
 */
import { randomUUID } from 'node:crypto';
import { pack, unpack } from 'msgpackr';
import type { Clock } from '../common/clock.js';
import { errorMessage, LaminateError } from '../common/errors.js';
import {
  FUNCTION_LIMITS, type FunctionLogLine, type FunctionVersionInfo, type InvocationOutcome, type InvocationReport, type InvocationSource,
} from '../common/function-shapes.js';
import type { Logger } from '../common/logger.js';
import type { WorkerCommand } from '../common/task-attempt.js';
import { ContainerPool, type Container, type ContainerPlacement } from './container-pool.js';
import type { EventJournal } from './event-journal.js';
import type { FunctionCatalog } from './function-catalog.js';
import { FunctionLogs } from './function-logs.js';
import { MetricsCounter, type FunctionMetrics, type FunctionMetricsSource } from './function-metrics.js';
import type { DeliveryOutcome, DeployedFunction, FunctionChange, FunctionDirectory, FunctionInvoker } from './invoker.js';
import { packedEventBytes } from './packed-event.js';

export interface InvocationOptions {
  /** An idle container is stopped after this long. Default 5 minutes. */
  readonly idleStopMs?: number;
  /** First retry's backoff of an asynchronous event; doubled each retry. Default 1 s. */
  readonly retryBackoffMs?: number;
  readonly maxRetryBackoffMs?: number;
  /** A report this late past the attempt's deadline is given up on: the attempt ends TIMEOUT and its container is stopped. Default 10 s. */
  readonly reportGraceMs?: number;
  /** A container sent an invocation this recently may be missing from a heartbeat. Default 5 s. */
  readonly reconcileGraceMs?: number;
  /** Times an asynchronous event runs again after losing its worker, beyond its retries. Default 3. */
  readonly maxWorkerLosses?: number;
  /** Durations kept per function for p50/p99. Default 1,000. */
  readonly durationsKept?: number;
  readonly logLinesKept?: number;
  readonly logBytesKept?: number;
}

export interface InvocationServiceDeps {
  readonly catalog: Pick<FunctionCatalog, 'version' | 'live' | 'list' | 'subscribe'>;
  readonly placement: ContainerPlacement;
  /** Sends an `invoke` or `stopContainer` command down a worker's command stream. */
  readonly send: (workerId: string, command: WorkerCommand) => void;
  /** Appends a record to a dataset (the dead letters); resolves once durable. */
  readonly appendDeadLetter: (dataset: string, record: unknown) => Promise<void>;
  /** The durable queue of `invoke --async` events; without it invokeAsync is refused. */
  readonly journal?: EventJournal;
  readonly clock: Clock;
  readonly log: Logger;
  readonly options?: InvocationOptions;
  /** New ids (request ids, event ids); default random UUIDs. */
  readonly newId?: () => string;
}

/** An attempt waiting for its function's concurrency or for a container. */
interface Waiting {
  readonly requestId: string;
  readonly eventId: string;
  readonly fn: FunctionVersionInfo;
  readonly payload: Buffer;
  readonly source: InvocationSource;
  readonly enqueuedAt: number;
  readonly giveUpAt: number;
  /** Workers not to run on (the one an event was lost with), unless no other has room. */
  readonly avoid: ReadonlySet<string>;
  readonly settle: (o: InvocationOutcome) => void;
  readonly fail: (err: Error) => void;
  throttled: boolean;
}

interface Running {
  readonly w: Waiting;
  readonly container: Container;
  readonly startedAt: number;
  readonly deadline: number;
}

interface FunctionState {
  readonly name: string;
  running: number;
  queue: Waiting[];
  readonly metrics: MetricsCounter;
}

/** A sleep of the async policy, woken by tick(). */
interface Sleeper { readonly at: number; readonly wake: () => void }

const OPTION_DEFAULTS = {
  idleStopMs: 300_000, retryBackoffMs: 1_000, maxRetryBackoffMs: 60_000, reportGraceMs: 10_000, reconcileGraceMs: 5_000, maxWorkerLosses: 3, durationsKept: 1_000,
} as const;

export class InvocationService implements FunctionInvoker, FunctionDirectory, FunctionMetricsSource {
  readonly logs: FunctionLogs;
  private readonly o: Required<Omit<InvocationOptions, 'logLinesKept' | 'logBytesKept'>>;
  private readonly pool: ContainerPool;
  private readonly functions = new Map<string, FunctionState>();
  private readonly running = new Map<string, Running>();
  private sleepers: Sleeper[] = [];
  private readonly newId: () => string;
  private readonly log: Logger;
  private readonly unsubscribe: () => void;
  private stopped = false;

  constructor(private readonly d: InvocationServiceDeps) {
    this.o = { ...OPTION_DEFAULTS, ...d.options };
    this.log = d.log.child({ component: 'functions' });
    this.newId = d.newId ?? randomUUID;
    this.logs = new FunctionLogs({
      ...(d.options?.logLinesKept === undefined ? {} : { linesKept: d.options.logLinesKept }),
      ...(d.options?.logBytesKept === undefined ? {} : { bytesKept: d.options.logBytesKept }),
    });
    this.pool = new ContainerPool(d.placement, `fc${d.clock.now().toString(36)}`);
    this.unsubscribe = d.catalog.subscribe((change) => this.changed(change));
  }

  // ---- FunctionDirectory -------------------------------------------------------

  list(): readonly DeployedFunction[] {
    return this.d.catalog.list();
  }

  live(name: string): DeployedFunction | undefined {
    return this.d.catalog.live(name);
  }

  subscribe(listener: (change: FunctionChange) => void): () => void {
    return this.d.catalog.subscribe(listener);
  }

  // ---- FunctionInvoker ---------------------------------------------------------

  async invoke(name: string, payload: unknown, options: { readonly source: InvocationSource; readonly version?: number; readonly maxWaitMs?: number; readonly jsonBytes?: number }): Promise<InvocationOutcome> {
    const fn = this.d.catalog.version(name, options.version);
    const bytes = options.jsonBytes ?? jsonBytes(payload);
    if (bytes > FUNCTION_LIMITS.maxSyncPayloadBytes) {
      return { ok: false, code: 'PAYLOAD_TOO_LARGE', message: `Expected a payload of at most ${FUNCTION_LIMITS.maxSyncPayloadBytes} bytes (JSON) for a synchronous invocation, got ${bytes}`, durationMs: 0, coldStart: false };
    }
    return this.attempt(fn, payload, this.newId(), options.source, options.maxWaitMs ?? fn.config.timeoutMs, new Set());
  }

  async deliver(name: string, event: unknown, options: { readonly eventId: string; readonly source: InvocationSource }): Promise<DeliveryOutcome> {
    this.d.catalog.version(name); // NOT_FOUND before anything runs
    const errors: { code: string; message: string; at: number }[] = [];
    const avoid = new Set<string>();
    let attempts = 0;
    let losses = 0;
    let fn = this.d.catalog.live(name);
    while (fn) {
      let outcome: InvocationOutcome;
      try {
        outcome = await this.attempt(fn, event, options.eventId, options.source, Infinity, avoid);
      } catch (err) {
        if (err instanceof LaminateError && err.code === 'NOT_FOUND') break;
        throw err;
      }
      attempts++;
      if (outcome.ok) return { status: 'succeeded', attempts };
      if (outcome.code === 'WORKER_LOST' && losses < this.o.maxWorkerLosses) {
        losses++;
        this.note(fn, options.eventId, 'warn', `event ${options.eventId} lost its worker: running it again elsewhere with the same event id`);
        fn = this.d.catalog.live(name);
        continue;
      }
      errors.push({ code: outcome.code, message: outcome.message, at: this.d.clock.now() });
      if (errors.length > fn.config.retries) return this.deadLetter(fn, event, options.eventId, errors, attempts);
      await this.sleep(Math.min(this.o.maxRetryBackoffMs, this.o.retryBackoffMs * 2 ** (errors.length - 1)));
      fn = this.d.catalog.live(name);
    }
    return { status: 'function-deleted', attempts };
  }

  /**
   * `invoke --async`: journals the event (fsync'd) and answers its id; the
   * event is then delivered with the asynchronous policy, and again after a
   * master restart (recover) until it settles.
   * @throws LaminateError NOT_FOUND for an unknown function, INVALID_ARGUMENT for a payload over 256 KB, FAILED_PRECONDITION without a journal.
   */
  async invokeAsync(name: string, payload: unknown, source: InvocationSource = 'api'): Promise<{ eventId: string }> {
    this.d.catalog.version(name);
    const bytes = jsonBytes(payload);
    if (bytes > FUNCTION_LIMITS.maxAsyncPayloadBytes) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected a payload of at most ${FUNCTION_LIMITS.maxAsyncPayloadBytes} bytes (JSON) for an asynchronous invocation, got ${bytes}`);
    }
    const journal = this.d.journal;
    if (!journal) throw new LaminateError('FAILED_PRECONDITION', 'This master keeps no journal of asynchronous invocations');
    const e = { eventId: this.newId(), function: name, event: payload, source, at: this.d.clock.now() };
    await journal.add(e);
    this.deliverJournaled(e.eventId, name, payload, source);
    return { eventId: e.eventId };
  }

  /** Delivers again every journaled event not settled (same event ids). Called once at the master's start. */
  recover(): number {
    const events = this.d.journal?.unsettled() ?? [];
    for (const e of events) this.deliverJournaled(e.eventId, e.function, e.event, e.source);
    if (events.length > 0) this.log.info({ events: events.length }, 'delivering asynchronous events journaled before the restart');
    return events.length;
  }

  private deliverJournaled(eventId: string, name: string, event: unknown, source: InvocationSource): void {
    const journal = this.d.journal!;
    this.deliver(name, event, { eventId, source }).then(
      () => journal.done(eventId),
      async (err: unknown) => {
        // A function deleted meanwhile settles the event; a stopping master leaves it for the next.
        if (err instanceof LaminateError && err.code === 'NOT_FOUND') await journal.done(eventId);
        else if (!this.stopped) this.log.error({ err, eventId }, 'an asynchronous event could not be delivered');
      },
    ).catch((err: unknown) => this.log.error({ err, eventId }, 'could not mark an asynchronous event settled: it will run again after a restart'));
  }

  // ---- the worker side -----------------------------------------------------------

  /**
   * ReportInvocation: a worker tells how an attempt ended. A report of an
   * attempt already ended (given up on, or its worker declared lost) is
   * ignored.
   * @throws LaminateError INVALID_ARGUMENT for a report from another worker than the attempt's.
   */
  report(r: InvocationReport): void {
    const run = this.running.get(r.requestId);
    if (!run) {
      this.log.debug({ requestId: r.requestId, workerId: r.workerId }, 'late invocation report ignored');
      if (r.containerGone) this.pool.remove(r.containerId);
      return;
    }
    if (run.container.workerId !== r.workerId || run.container.id !== r.containerId) {
      throw new LaminateError('INVALID_ARGUMENT', `Invocation ${r.requestId} runs in ${run.container.id} on ${run.container.workerId}, not in ${r.containerId} on ${r.workerId}`);
    }
    for (const l of r.logs) this.addLog(run.w, l.level, l.message, l.at);
    const base = { durationMs: r.durationMs, coldStart: r.coldStart };
    let outcome: InvocationOutcome;
    if (r.outcome.ok) {
      try {
        outcome = { ok: true, result: r.outcome.result.length === 0 ? undefined : unpack(r.outcome.result) as unknown, ...base };
      } catch (err) {
        outcome = { ok: false, code: 'RESULT_NOT_SERIALIZABLE', message: `The result does not decode: ${errorMessage(err)}`, ...base };
      }
    } else {
      outcome = { ok: false, code: r.outcome.code, message: r.outcome.message, ...base };
    }
    this.finish(run, outcome, r.containerGone, r.initMs);
  }

  /**
   * The scheduler lost a worker: its containers are gone (their reservations
   * already released), their attempts end WORKER_LOST. Safe to repeat.
   */
  workerLost(workerId: string): void {
    for (const c of this.pool.onWorker(workerId)) {
      const run = [...this.running.values()].find((r) => r.container === c);
      if (run) this.finish(run, { ok: false, code: 'WORKER_LOST', message: `worker ${workerId} was lost while running the invocation`, durationMs: this.d.clock.now() - run.startedAt, coldStart: false }, true, 0);
      else this.pool.remove(c.id);
    }
  }

  /**
   * A heartbeat's container ids: a container the worker should have (sent
   * an invocation more than reconcileGraceMs ago) but does not list is
   * forgotten; one it lists that the master does not know is stopped.
   */
  heartbeat(workerId: string, containerIds: readonly string[]): void {
    const now = this.d.clock.now();
    const listed = new Set(containerIds);
    for (const c of this.pool.onWorker(workerId)) {
      if (listed.has(c.id) || now - c.lastSent < this.o.reconcileGraceMs) continue;
      const run = [...this.running.values()].find((r) => r.container === c);
      this.log.warn({ containerId: c.id, workerId }, 'a container the worker no longer has: forgotten');
      if (run) this.finish(run, { ok: false, code: 'PROCESS_EXITED', message: `worker ${workerId} no longer has container ${c.id} (its report was lost)`, durationMs: now - run.startedAt, coldStart: false }, true, 0);
      else this.pool.remove(c.id);
    }
    for (const id of listed) {
      if (!this.pool.get(id)) this.d.send(workerId, { type: 'stopContainer', containerId: id, reason: 'the master does not know this container' });
    }
  }

  /**
   * Whether `workerId` holds a container of version `version` of `name`: only
   * such a worker is given the version's code (GetFunctionCode).
   */
  runsVersion(workerId: string, name: string, version: number): boolean {
    return this.pool.onWorker(workerId).some((c) => c.function === name && c.version === version);
  }

  /** Moves time on: backoffs end, queue waits give up, overdue attempts end, idle containers stop; then places what waits. */
  tick(): void {
    const now = this.d.clock.now();
    const due = this.sleepers.filter((s) => s.at <= now);
    if (due.length > 0) {
      this.sleepers = this.sleepers.filter((s) => s.at > now);
      for (const s of due) s.wake();
    }
    for (const st of this.functions.values()) {
      const expired = st.queue.filter((w) => w.giveUpAt <= now);
      if (expired.length === 0) continue;
      st.queue = st.queue.filter((w) => w.giveUpAt > now);
      for (const w of expired) {
        w.settle({ ok: false, code: 'THROTTLED', message: `No room to run ${w.fn.name} within ${now - w.enqueuedAt} ms (its concurrency is ${w.fn.config.concurrency}, and the cluster's slots and memory are shared)`, durationMs: 0, coldStart: false });
      }
    }
    for (const run of [...this.running.values()]) {
      if (now <= run.deadline + this.o.reportGraceMs) continue;
      this.stopContainer(run.container, 'no report past its timeout');
      this.finish(run, { ok: false, code: 'TIMEOUT', message: `No report from worker ${run.container.workerId} within ${this.o.reportGraceMs} ms after the ${run.w.fn.config.timeoutMs} ms timeout`, durationMs: now - run.startedAt, coldStart: false }, true, 0);
    }
    for (const c of this.pool.all()) {
      if (!c.busy && now - c.idleSince >= this.o.idleStopMs) this.stopContainer(c, `idle for ${now - c.idleSince} ms`);
    }
    this.pump();
  }

  /** Something freed capacity (a batch attempt ended, a worker joined): place what waits. */
  capacityChanged(): void {
    this.pump();
  }

  /** Ends every wait (callers get UNAVAILABLE; journaled events stay for the next start) and stops listening to the catalog. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    const err = new LaminateError('UNAVAILABLE', 'The master is stopping');
    for (const st of this.functions.values()) for (const w of st.queue.splice(0)) w.fail(err);
    for (const run of this.running.values()) run.w.fail(err);
    this.running.clear();
  }

  // ---- metrics and logs --------------------------------------------------------

  allMetrics(): FunctionMetrics[] {
    const names = new Set([...this.functions.keys(), ...this.d.catalog.list().map((f) => f.name)]);
    return [...names].sort().map((n) => this.metrics(n)!);
  }

  metrics(name: string): FunctionMetrics | undefined {
    const st = this.functions.get(name);
    if (!st && !this.d.catalog.live(name)) return undefined;
    const s = st ?? this.state(name);
    const ages = this.iteratorAges(name);
    return s.metrics.snapshot(name, { running: s.running, queued: s.queue.length, containers: this.pool.count(name) }, ages.length > 0 ? Math.max(...ages) : undefined);
  }

  /**
   * Where metrics() asks for a function's dataset triggers' iterator ages (ms,
   * one per partition), at each snapshot: the triggers start after this
   * service, so the master sets it once they run. Until then, none.
   */
  setIteratorAges(source: (name: string) => readonly number[]): void {
    this.iteratorAges = source;
  }

  private iteratorAges: (name: string) => readonly number[] = () => [];

  // ---- internals -----------------------------------------------------------------

  private state(name: string): FunctionState {
    let st = this.functions.get(name);
    if (!st) {
      st = { name, running: 0, queue: [], metrics: new MetricsCounter(this.o.durationsKept) };
      this.functions.set(name, st);
    }
    return st;
  }

  private attempt(fn: FunctionVersionInfo, payload: unknown, eventId: string, source: InvocationSource, maxWaitMs: number, avoid: ReadonlySet<string>): Promise<InvocationOutcome> {
    if (this.stopped) return Promise.reject(new LaminateError('UNAVAILABLE', 'The master is stopping'));
    const now = this.d.clock.now();
    if (!this.d.placement.couldEverHost(fn.config.memoryMb)) {
      return Promise.resolve({ ok: false, code: 'THROTTLED', message: `No worker has ${fn.config.memoryMb} MB for ${fn.name} (lower --memory, or add a worker with more)`, durationMs: 0, coldStart: false });
    }
    let encoded: Buffer;
    try {
      // A dataset batch comes encoded from the log's own bytes (packed-event.ts).
      encoded = packedEventBytes(payload) ?? Buffer.from(pack(payload));
    } catch (err) {
      return Promise.reject(new LaminateError('INVALID_ARGUMENT', `The payload cannot be encoded: ${errorMessage(err)}`, { cause: err }));
    }
    return new Promise<InvocationOutcome>((resolve, reject) => {
      const st = this.state(fn.name);
      const w: Waiting = {
        requestId: this.newId(), eventId, fn, payload: encoded, source, enqueuedAt: now, giveUpAt: now + maxWaitMs, avoid,
        settle: resolve, fail: reject, throttled: false,
      };
      st.queue.push(w);
      this.pump();
      if (st.queue.includes(w)) {
        w.throttled = true;
        st.metrics.throttles++;
      }
    });
  }

  /** Starts every waiting attempt that has concurrency and a container now, oldest functions' first. */
  private pump(): void {
    if (this.stopped) return;
    const now = this.d.clock.now();
    const waiting = [...this.functions.values()].filter((s) => s.queue.length > 0).sort((a, b) => a.queue[0]!.enqueuedAt - b.queue[0]!.enqueuedAt);
    for (const st of waiting) {
      while (st.queue.length > 0) {
        const w = st.queue[0]!;
        const concurrency = this.d.catalog.live(st.name)?.config.concurrency ?? w.fn.config.concurrency;
        if (st.running >= concurrency) break;
        const c = this.pool.takeWarm(w.fn.name, w.fn.version, w.avoid, now)
          ?? this.pool.create(w.fn.name, w.fn.version, w.fn.config.memoryMb, w.avoid, now, (idle) => this.sendStop(idle, 'its slot is wanted by another function'));
        if (!c) break;
        st.queue.shift();
        this.start(st, w, c, now);
      }
    }
  }

  private start(st: FunctionState, w: Waiting, c: Container, now: number): void {
    st.running++;
    const deadline = now + w.fn.config.timeoutMs;
    this.running.set(w.requestId, { w, container: c, startedAt: now, deadline });
    this.d.send(c.workerId, {
      type: 'invoke',
      invoke: {
        requestId: w.requestId, eventId: w.eventId, function: w.fn.name, version: w.fn.version, codeSha256: w.fn.codeSha256, containerId: c.id,
        memoryMb: w.fn.config.memoryMb, timeoutMs: w.fn.config.timeoutMs, payload: w.payload, env: w.fn.config.env, deadline,
      },
    });
  }

  private finish(run: Running, outcome: InvocationOutcome, containerGone: boolean, initMs: number): void {
    const { w, container } = run;
    if (!this.running.delete(w.requestId)) return;
    const st = this.state(w.fn.name);
    st.running--;
    const live = this.d.catalog.live(w.fn.name);
    if (containerGone) this.pool.remove(container.id);
    else if (!live || live.version !== container.version) this.stopContainer(container, 'its version is no longer live');
    else {
      container.busy = false;
      container.idleSince = this.d.clock.now();
    }
    st.metrics.attemptEnded(outcome.ok, outcome.durationMs, outcome.coldStart, initMs);
    const how = outcome.ok ? 'succeeded' : `failed ${outcome.code}: ${outcome.message}`;
    this.addLog(w, outcome.ok ? 'info' : 'error', `END ${how} in ${outcome.durationMs.toFixed(1)} ms${outcome.coldStart ? ` (cold start, init ${initMs.toFixed(1)} ms)` : ''}`);
    w.settle(outcome);
    this.pump();
  }

  private stopContainer(c: Container, reason: string): void {
    if (!this.pool.remove(c.id)) return;
    this.sendStop(c, reason);
  }

  private sendStop(c: Container, reason: string): void {
    this.log.debug({ containerId: c.id, workerId: c.workerId, reason }, 'stopping a function container');
    this.d.send(c.workerId, { type: 'stopContainer', containerId: c.id, reason });
  }

  private async deadLetter(fn: FunctionVersionInfo, event: unknown, eventId: string, errors: { code: string; message: string; at: number }[], attempts: number): Promise<DeliveryOutcome> {
    this.state(fn.name).metrics.deadLetters++;
    const record = { event, eventId, function: fn.name, version: fn.version, attempts: errors };
    const summary = errors.map((e) => e.code).join(', ');
    if (fn.config.deadLetter === undefined) {
      this.note(fn, eventId, 'error', `event ${eventId} dropped after ${attempts} attempts (${summary}): the function has no --dead-letter dataset`);
    } else {
      try {
        await this.d.appendDeadLetter(fn.config.deadLetter, record);
        this.note(fn, eventId, 'error', `event ${eventId} sent to dead-letter dataset ${fn.config.deadLetter} after ${attempts} attempts (${summary})`);
      } catch (err) {
        this.log.error({ err, function: fn.name, eventId, record }, 'could not append to the dead-letter dataset: the event is in this log line only');
        this.note(fn, eventId, 'error', `event ${eventId} could not be appended to dead-letter dataset ${fn.config.deadLetter}: ${errorMessage(err)}`);
      }
    }
    return { status: 'dead-lettered', attempts, errors: errors.map(({ code, message }) => ({ code, message })) };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((wake) => { this.sleepers.push({ at: this.d.clock.now() + ms, wake }); });
  }

  /** A catalog change: a deleted function's waiting attempts end NOT_FOUND, its idle containers stop. */
  private changed(change: FunctionChange): void {
    const name = change.type === 'deleted' ? change.name : change.fn.name;
    for (const c of this.pool.all()) {
      if (c.function !== name || c.busy) continue;
      if (change.type === 'deleted' || c.version !== change.fn.version) this.stopContainer(c, change.type === 'deleted' ? 'its function was deleted' : 'a newer version was deployed');
    }
    if (change.type !== 'deleted') return;
    const st = this.functions.get(name);
    for (const w of st?.queue.splice(0) ?? []) w.fail(new LaminateError('NOT_FOUND', `Function '${name}' was deleted before the invocation could run`));
    this.logs.forget(name);
  }

  private addLog(w: Waiting, level: FunctionLogLine['level'], message: string, at = this.d.clock.now()): void {
    this.logs.add({ at, function: w.fn.name, version: w.fn.version, requestId: w.requestId, eventId: w.eventId, level, message });
  }

  private note(fn: FunctionVersionInfo, eventId: string, level: FunctionLogLine['level'], message: string): void {
    this.logs.add({ at: this.d.clock.now(), function: fn.name, version: fn.version, requestId: '', eventId, level, message });
  }
}

/**
 * Bytes of `value` as JSON (0 for undefined).
 * @throws LaminateError INVALID_ARGUMENT for a payload JSON cannot hold (circular, BigInt).
 */
function jsonBytes(value: unknown): number {
  let s: string | undefined;
  try {
    s = JSON.stringify(value) as string | undefined;
  } catch (err) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a JSON payload, got one that does not serialise: ${errorMessage(err)}`, { cause: err });
  }
  return s === undefined ? 0 : Buffer.byteLength(s);
}
