/**
 * The master's side of its workers: registration, heartbeats, leaving, and
 * each worker's command stream, with the commands decided before the worker
 * attached held back until it does. This is the one place where a worker's
 * command stream opens and closes (attach and streamClosed).
 */
import type { Clock } from '../common/clock.js';
import { LaminateError } from '../common/errors.js';
import { formatWorkerId } from '../common/ids.js';
import type { WorkerStatus } from '../common/job-status.js';
import type { Logger } from '../common/logger.js';
import type { WorkerCommand } from '../common/task-attempt.js';
import type { CommandChannel } from '../protocol/master-rpc.js';
import type * as M from '../protocol/messages.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Decision } from '../scheduler/types.js';
import type { JobJournal } from './job-journal.js';

interface WorkerConn {
  readonly id: string;
  readonly shuffleAddress: string;
  /** Set while the worker's command stream is open. */
  channel?: CommandChannel;
  /** Commands decided while no stream was open, sent when one opens. */
  readonly backlog: WorkerCommand[];
}

export interface WorkerChannelsOptions {
  readonly scheduler: Scheduler;
  readonly journal: JobJournal;
  readonly clock: Clock;
  /** The master's logger. */
  readonly log: Logger;
  /** Told to every worker at registration. */
  readonly heartbeatIntervalMs: number;
  /** Carries out the scheduler's decisions (the master's). */
  readonly run: (decisions: readonly Decision[]) => void;
  /** Told the address of each shuffle service a worker registers with (every time). */
  readonly onShuffleService: (address: string) => void;
}

export class WorkerChannels {
  private readonly workers = new Map<string, WorkerConn>();
  private nextWorker = 1;
  /** Set by close(): streams the master ends itself say nothing of the workers. */
  private closing = false;

  constructor(private readonly o: WorkerChannelsOptions) {}

  /**
   * Hands out no worker id numbered below `next`: called at start with what
   * the journal holds, so a restarted master never gives a live worker's id
   * to another.
   */
  skipIdsBelow(next: number): void {
    this.nextWorker = Math.max(this.nextWorker, next);
  }

  /** RegisterWorker: a new id for the worker, journaled before it is told. */
  async register(req: M.RegisterWorkerRequest): Promise<M.RegisterWorkerResponse> {
    if (!Number.isInteger(req.slots) || req.slots <= 0 || !Number.isInteger(req.memoryMb) || req.memoryMb <= 0) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected a worker with positive slots and memory, got slots=${req.slots} memoryMb=${req.memoryMb}`);
    }
    if (!/^[^:\s]+:\d+$/.test(req.shuffleAddress)) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected the worker's shuffle address as HOST:PORT, got '${req.shuffleAddress}'`);
    }
    const id = formatWorkerId(this.nextWorker++);
    // Journaled so that a restarted master never hands out an id a live worker still holds.
    await this.o.journal.append({ type: 'worker', workerId: id });
    const external = req.externalShuffle;
    this.workers.set(id, { id, shuffleAddress: req.shuffleAddress, backlog: [] });
    this.o.log.info({ workerId: id, slots: req.slots, memoryMb: req.memoryMb, shuffle: req.shuffleAddress, externalShuffle: external, name: req.name },
      'worker registered');
    if (external) this.o.onShuffleService(req.shuffleAddress);
    const capacity = { slots: req.slots, memoryMb: req.memoryMb };
    this.o.run(this.o.scheduler.registerWorker(id, capacity, this.o.clock.now(), external ? req.shuffleAddress : undefined));
    return { workerId: id, heartbeatIntervalMs: this.o.heartbeatIntervalMs };
  }

  /** Heartbeat: a worker the scheduler does not know (lost, or from before a restart) is told to register again. */
  heartbeat(req: M.HeartbeatRequest): M.HeartbeatResponse {
    const { known, decisions } = this.o.scheduler.heartbeat(req.workerId, this.o.clock.now(), req.runningAttemptIds);
    this.o.run(decisions);
    if (!known) this.o.log.info({ workerId: req.workerId }, 'heartbeat from an unknown or lost worker: told to register again');
    return { reregister: !known };
  }

  /** Leave: a worker shutting down; its work is rescheduled at once. */
  leave(req: M.LeaveRequest): void {
    if (!this.workers.has(req.workerId)) return;
    this.o.log.info({ workerId: req.workerId }, 'worker leaving: rescheduling its work');
    this.o.run(this.o.scheduler.removeWorker(req.workerId, 'the worker left', this.o.clock.now()));
  }

  /**
   * Attach: the worker's command stream opens. A second stream replaces the
   * first; the backlog goes down the new one.
   * @throws LaminateError NOT_FOUND for a worker not registered, or lost.
   */
  attach(req: M.AttachRequest, channel: CommandChannel): void {
    const w = this.workers.get(req.workerId);
    if (!w || !this.o.scheduler.worker(req.workerId)?.alive) {
      throw new LaminateError('NOT_FOUND', `Unknown worker '${req.workerId}': register first`);
    }
    const old = w.channel;
    w.channel = channel;
    old?.end();
    for (const cmd of w.backlog.splice(0)) channel.send(cmd);
    channel.onClose(() => this.streamClosed(w, channel));
  }

  /**
   * A worker's command stream closed: the worker went away, the network cut
   * it, or the master ended it (a replacing stream, a lost worker, stop).
   *
   * When the master did not end it and no newer stream replaced it, the
   * worker is taken as lost at once: a killed process closes its connection,
   * so its work is rescheduled within milliseconds instead of after the
   * heartbeat timeout. A worker that is in fact alive (a cut connection)
   * hears at its next attach or heartbeat that it is unknown and registers
   * again under a new id; reports of the old id's attempts are then late
   * events the scheduler ignores (see attempt-transitions.ts).
   */
  private streamClosed(w: WorkerConn, channel: CommandChannel): void {
    if (w.channel !== channel) return; // replaced by a newer stream, or already forgotten
    delete w.channel;
    if (this.closing || !this.workers.has(w.id)) return;
    this.o.log.warn({ workerId: w.id }, 'command stream closed by the worker side: worker lost');
    this.o.run(this.o.scheduler.workerDisconnected(w.id, 'its command stream closed (the process died or the connection broke)', this.o.clock.now()));
  }

  /** Sends a command down the worker's stream, or holds it until the worker attaches. Unknown workers are skipped. */
  send(workerId: string, cmd: WorkerCommand): void {
    const w = this.workers.get(workerId);
    if (!w) return;
    if (w.channel) w.channel.send(cmd);
    else w.backlog.push(cmd);
  }

  /** Sends a command to every registered worker. */
  broadcast(cmd: WorkerCommand): void {
    for (const id of this.workers.keys()) this.send(id, cmd);
  }

  /** The scheduler declared the worker lost (or it left): ends its stream and forgets it. Safe to call twice. */
  forget(workerId: string): void {
    const w = this.workers.get(workerId);
    this.workers.delete(workerId);
    w?.channel?.end();
  }

  /** The worker's shuffle server, or '' for a worker this master does not know (gone). */
  shuffleAddress(workerId: string): string {
    return this.workers.get(workerId)?.shuffleAddress ?? '';
  }

  /** ListWorkers: every worker the scheduler knows, live and lost. */
  statuses(): WorkerStatus[] {
    return this.o.scheduler.allWorkers().map((w) => ({
      workerId: w.id, shuffleAddress: w.shuffleService ?? this.shuffleAddress(w.id), alive: w.alive,
      slots: w.capacity.slots, usedSlots: w.usedSlots, memoryMb: w.capacity.memoryMb, usedMemoryMb: w.usedMemoryMb,
      lastHeartbeatMs: w.lastHeartbeat, runningAttemptIds: [...w.running], externalShuffle: w.shuffleService !== undefined,
    }));
  }

  /** Ends every open command stream (the master is stopping). */
  close(): void {
    this.closing = true;
    for (const w of this.workers.values()) w.channel?.end();
  }
}
