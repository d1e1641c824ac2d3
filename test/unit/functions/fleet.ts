/**
 * A fake worker fleet for the invocation service: the real scheduler for
 * reservations, a command channel that records what the service sends, and
 * answers (reports) the test writes; a manual clock moved by advance().
 */
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { ManualClock } from '../../../src/common/clock.js';
import type { InvocationErrorCode, InvokeCommand } from '../../../src/common/function-shapes.js';
import { silentLogger } from '../../../src/common/logger.js';
import type { WorkerCommand } from '../../../src/common/task-attempt.js';
import { EventJournal } from '../../../src/functions/event-journal.js';
import { FunctionCatalog } from '../../../src/functions/function-catalog.js';
import type { FunctionConfigInput } from '../../../src/functions/function-config.js';
import { InvocationService, type InvocationOptions } from '../../../src/functions/invocation-service.js';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import type { Decision } from '../../../src/scheduler/types.js';

export interface Sent { readonly workerId: string; readonly command: WorkerCommand }

export class Fleet {
  readonly clock = new ManualClock(1_000_000);
  readonly scheduler = new Scheduler({ heartbeatTimeoutMs: 1_000_000 });
  readonly sent: Sent[] = [];
  readonly deadLetters: { dataset: string; record: unknown }[] = [];
  readonly decisions: Decision[] = [];
  service!: InvocationService;
  catalog!: FunctionCatalog;
  journal?: EventJournal;
  private ids = 0;

  static async start(dir: string, options: InvocationOptions = {}, withJournal = false): Promise<Fleet> {
    const f = new Fleet();
    f.catalog = await FunctionCatalog.open(join(dir, 'functions'), Buffer.alloc(32, 1));
    if (withJournal) f.journal = await EventJournal.open(join(dir, 'async-events.jsonl'));
    f.service = f.newService(options);
    return f;
  }

  /** A service over the same catalog, scheduler and journal (as after a master restart, the workers kept). */
  newService(options: InvocationOptions = {}): InvocationService {
    return new InvocationService({
      catalog: this.catalog,
      placement: {
        reserve: (id, memoryMb, avoid) => this.scheduler.reserveContainer(id, memoryMb, avoid)?.workerId,
        release: (id) => { this.decisions.push(...this.scheduler.releaseContainer(id, this.clock.now())); },
        couldEverHost: (mb) => this.scheduler.couldEverHostContainer(mb),
      },
      send: (workerId, command) => { this.sent.push({ workerId, command }); },
      appendDeadLetter: (dataset, record) => {
        this.deadLetters.push({ dataset, record });
        return Promise.resolve();
      },
      ...(this.journal ? { journal: this.journal } : {}),
      clock: this.clock, log: silentLogger(), options, newId: () => `id-${++this.ids}`,
    });
  }

  addWorker(id: string, slots = 4, memoryMb = 4096): void {
    this.decisions.push(...this.scheduler.registerWorker(id, { slots, memoryMb }, this.clock.now()));
    this.service.capacityChanged();
  }

  deploy(name: string, config: FunctionConfigInput = {}): Promise<unknown> {
    return this.catalog.deploy({ name, code: Buffer.from(`// ${name}`), config }, this.clock.now());
  }

  invokes(): (InvokeCommand & { workerId: string })[] {
    return this.sent.flatMap((s) => (s.command.type === 'invoke' ? [{ ...s.command.invoke, workerId: s.workerId }] : []));
  }

  stops(): { workerId: string; containerId: string }[] {
    return this.sent.flatMap((s) => (s.command.type === 'stopContainer' ? [{ workerId: s.workerId, containerId: s.command.containerId }] : []));
  }

  /** The invoke commands not yet answered. */
  readonly answered = new Set<string>();
  open(): (InvokeCommand & { workerId: string })[] {
    return this.invokes().filter((i) => !this.answered.has(i.requestId));
  }

  succeed(i: InvokeCommand & { workerId: string }, result: unknown, extra: { coldStart?: boolean; durationMs?: number } = {}): void {
    this.answered.add(i.requestId);
    this.service.report({
      requestId: i.requestId, workerId: i.workerId, containerId: i.containerId, outcome: { ok: true, result: Buffer.from(pack(result)) },
      durationMs: extra.durationMs ?? 5, coldStart: extra.coldStart ?? false, initMs: extra.coldStart ? 40 : 0, containerGone: false,
      logs: [{ at: this.clock.now(), level: 'info', message: `handled ${i.requestId}` }], maxMemoryUsedMb: 30,
    });
  }

  failWith(i: InvokeCommand & { workerId: string }, code: InvocationErrorCode, message: string, containerGone = false): void {
    this.answered.add(i.requestId);
    this.service.report({
      requestId: i.requestId, workerId: i.workerId, containerId: i.containerId, outcome: { ok: false, code, message },
      durationMs: 7, coldStart: false, initMs: 0, containerGone, logs: [], maxMemoryUsedMb: 30,
    });
  }

  advance(ms: number): void {
    this.clock.advance(ms);
    this.service.tick();
  }
}

/** Lets promise callbacks run (the service settles attempts synchronously; awaiting callers resume a few microtasks later). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** Waits (event-loop turns, no timers) until `cond` holds; fails after many turns. */
export async function until(cond: () => boolean, what = 'the condition'): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (cond()) return;
    await new Promise<void>((r) => setImmediate(r));
  }
  throw new Error(`gave up waiting for ${what}`);
}
