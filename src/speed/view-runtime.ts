/**
 * One view's speed side, as its thread runs it: per assigned partition, a
 * PartitionState restored from its checkpoint (or started at the handoff
 * cut), a tailer folding the new records with the view's map and monoid, a
 * checkpoint every interval when it changed, splits re-folded from the log,
 * and the reads a serving node asks, each answered synchronously from the
 * live state (one snapshot).
 *
 * Per partition, what the runtime does on each event:
 *
 *   assigned, not running          -> restore (busy 'restoring'), then tail from applied
 *   no longer assigned             -> stop tailing, last checkpoint, forget
 *   boundaries / handoff 'reset'   -> tail again from the new applied (its checkpoint is
 *                                     rewritten at the next tick)
 *   a boundary inside a segment    -> re-read [from, to) and split (reads there busy meanwhile)
 *   the map throws at offset o     -> stop at o (reported; every read lists it uncovered);
 *                                     tailing ends until a reset (rollback or skip ahead)
 *   a read fails (master down)     -> retried with a backoff from applied; nothing lost
 *   a split's re-read fails        -> retried at the next assignment (the old segment keeps
 *                                     answering the other cuts)
 *   a chunk not at applied         -> ignored with an error log, tailing restarts from applied
 *                                     (never folds a record twice or skips one)
 */
import { pack, unpack } from 'msgpackr';
import type { CompiledView } from '../api/view.js';
import { errorMessage, LaminateError } from '../common/errors.js';
import type { ReadChunk } from '../common/dataset-shapes.js';
import type { SpeedAnswer, SpeedEntry, SpeedPartitionReport, SpeedViewReport } from '../common/speed-shapes.js';
import type { DatasetClient } from '../protocol/dataset-rpc.js';
import { decodeBody } from '../storage/record-body.js';
import type { Checkpoint } from './checkpoint-codec.js';
import { loadCheckpoint, writeCheckpoint } from './checkpoint-store.js';
import { PartitionState, type SplitPart, type SplitRequest } from './partition-state.js';
import { PartitionTailer, readRange } from './partition-tailer.js';
import { readKeys, readReady, readScan, type PartitionSource } from './speed-read.js';
import type { ThreadGet, ThreadScan, ViewThreadAssignment, ViewThreadInit } from './view-thread-messages.js';
import { WatermarkTracker } from './watermark.js';

/** What the runtime logs through (the thread forwards it to the process's logger). */
export interface RuntimeLog {
  debug(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

interface Part {
  readonly partition: number;
  state: PartitionState<unknown> | undefined;
  busy: string | undefined;
  end: number;
  caughtUpAt: number;
  tailer: PartitionTailer | undefined;
  /** The state version last saved; a checkpoint is due when the state's moved past it. */
  saved: number;
  saving: Promise<void> | undefined;
  removed: boolean;
  lastCheckpoint?: { durationMs: number; bytes: number };
}

interface Waiting {
  readonly ready: () => boolean;
  readonly answer: () => void;
  readonly timer: NodeJS.Timeout;
}

const EMPTY: readonly number[] = [];

export class ViewRuntime {
  private readonly parts = new Map<number, Part>();
  private assignment: ViewThreadAssignment = { partitions: [], cuts: [], handoffCut: [] };
  private readonly watermark: WatermarkTracker;
  private readonly plus: (a: unknown, b: unknown) => unknown;
  private readonly timer: NodeJS.Timeout;
  private waiting: Waiting[] = [];
  private closed = false;
  private reportDue = true;

  constructor(
    private readonly init: ViewThreadInit,
    private readonly view: CompiledView,
    private readonly client: DatasetClient,
    private readonly log: RuntimeLog,
  ) {
    this.plus = view.monoid.plus;
    this.watermark = new WatermarkTracker(view.window?.latenessMs ?? 0, init.idleTimeoutMs);
    this.timer = setInterval(() => this.tick(), init.checkpointIntervalMs);
    this.timer.unref();
  }

  /** Applies the view's latest assignment. Called for every assignment message; safe to repeat. */
  assign(a: ViewThreadAssignment): void {
    if (this.closed) return;
    this.assignment = a;
    const wanted = new Set(a.partitions);
    for (const part of this.parts.values()) if (!wanted.has(part.partition)) void this.remove(part);
    for (const p of a.partitions) {
      const part = this.parts.get(p);
      if (part === undefined) void this.start(p);
      else if (part.state !== undefined) this.applyAssignment(part, part.state);
    }
    this.reportDue = true;
    this.wake();
  }

  private handoffOf(p: number): number {
    return this.assignment.handoffCut[p] ?? 0;
  }

  /** Boundaries and handoff of the current assignment on one running partition; restarts its tail on a reset. */
  private applyAssignment(part: Part, state: PartitionState<unknown>): void {
    const p = part.partition;
    const now = Date.now();
    const h = this.handoffOf(p);
    state.setBoundaries([...this.assignment.cuts.map((c) => c[p] ?? 0), h], now);
    const before = { start: state.start, applied: state.applied };
    if (state.handoff(h, now) === 'reset') {
      this.log.info({ partition: p, handoffCut: h, ...before }, h > before.applied ? 'skipped ahead to the handoff cut (the batch side counts the records before it)' : 'rolled back to the handoff cut: refolding from the log');
      this.watermark.remove(p);
      // It counted every record durable before caughtUpAt; after a rollback it no longer does.
      part.caughtUpAt = 0;
      this.tail(part);
    }
    this.runSplits(part, state);
  }

  private async start(p: number): Promise<void> {
    const part: Part = { partition: p, state: undefined, busy: 'busy: restoring', end: 0, caughtUpAt: 0, tailer: undefined, saved: -1, saving: undefined, removed: false };
    this.parts.set(p, part);
    const { view, definitionHash } = this.init;
    let saved: Checkpoint | undefined;
    try {
      saved = await loadCheckpoint(this.init.checkpointDir, { view, definitionHash, partition: p }, {
        warn: (fields, msg) => this.log.warn({ partition: p, ...fields }, msg),
      });
    } catch (err) {
      this.log.warn({ partition: p, err: errorMessage(err) }, 'checkpoint not loaded: refolding from the handoff cut');
    }
    if (part.removed || this.closed) return;
    const now = Date.now();
    const options = { ...(this.init.paneMs !== undefined ? { paneMs: this.init.paneMs } : {}), ...(this.init.settleMs !== undefined ? { settleMs: this.init.settleMs } : {}) };
    let state: PartitionState<unknown>;
    if (saved !== undefined) {
      state = PartitionState.restore(p, this.plus, saved, now, options);
      part.saved = state.version;
      this.watermark.restore(p, saved.watermark);
      this.log.info({ partition: p, start: saved.start, applied: saved.applied, segments: saved.segments.length }, 'restored from its checkpoint');
    } else {
      state = new PartitionState(p, this.plus, this.handoffOf(p), now, options);
      this.log.info({ partition: p, from: state.applied }, 'no checkpoint: folding from the handoff cut');
    }
    part.state = state;
    part.end = Math.max(part.end, state.applied);
    part.busy = undefined;
    const h = this.handoffOf(p);
    state.setBoundaries([...this.assignment.cuts.map((c) => c[p] ?? 0), h], now);
    state.handoff(h, now);
    this.tail(part);
    this.runSplits(part, state);
    this.reportDue = true;
    this.wake();
  }

  /** (Re)starts tailing the partition from its applied offset. */
  private tail(part: Part): void {
    part.tailer?.stop();
    part.tailer = undefined;
    const state = part.state;
    if (state === undefined || state.stopped !== undefined || part.removed || this.closed) return;
    let lastWarn = 0;
    const tailer: PartitionTailer = new PartitionTailer({
      client: this.client, dataset: this.init.source, partition: part.partition,
      position: () => state.applied,
      onChunk: (chunk) => part.tailer === tailer && this.fold(part, state, chunk),
      onError: (err, retryInMs) => {
        // A master restart fails every read at once; one warning a few seconds is enough.
        if (Date.now() - lastWarn > 5000) {
          lastWarn = Date.now();
          this.log.warn({ partition: part.partition, err: errorMessage(err), retryInMs }, 'source read failed: retrying from the applied offset');
        }
      },
    });
    part.tailer = tailer;
  }

  /** Folds one chunk into the state; false when the map failed (tailing stops). */
  private fold(part: Part, state: PartitionState<unknown>, chunk: ReadChunk): boolean {
    const p = part.partition;
    part.end = Math.max(part.end, chunk.endOffset);
    if (chunk.count > 0) {
      if (chunk.firstOffset !== state.applied) {
        this.log.error({ partition: p, firstOffset: chunk.firstOffset, applied: state.applied }, 'a chunk not at the applied offset: ignored, tailing again from applied');
        queueMicrotask(() => this.tail(part));
        return true;
      }
      const records = decodeBody(chunk.body);
      const now = Date.now();
      const windowed = this.view.window !== undefined && typeof this.view.eventTime === 'function';
      // One record's emits, kept until its map has returned (a map that throws half way folds
      // nothing of that record); the array and the callback are reused across the chunk.
      const emits: Array<readonly [string, unknown]> = [];
      const emit = (key: string, acc: unknown): void => {
        emits.push([key, acc]);
      };
      for (let i = 0; i < records.length; i++) {
        const offset = chunk.firstOffset + i;
        const record = records[i];
        emits.length = 0;
        let t: number | undefined;
        try {
          this.view.mapRecord(record, emit);
          if (windowed && emits.length > 0) t = this.view.eventTime(record);
        } catch (err) {
          state.stop(offset, errorMessage(err));
          this.log.warn({ partition: p, offset, err: errorMessage(err) }, "the view's map threw: the partition stops before this record");
          this.reportDue = true;
          this.wake();
          return false;
        }
        state.apply(offset, emits, now);
        if (t !== undefined) this.watermark.observe(p, t, now);
      }
    }
    // Caught up with the end the store reported: every record durable when it read that end is
    // counted, so freshness is measured from the store's time (a chunk's transit is not hidden).
    if (state.applied >= part.end) part.caughtUpAt = chunk.readAtMs ?? Date.now();
    this.reportDue = true;
    this.wake();
    return true;
  }

  /** Starts the re-folds the state's boundaries need. */
  private runSplits(part: Part, state: PartitionState<unknown>): void {
    for (const req of state.splitsNeeded()) {
      state.beginSplit(req);
      void this.split(part, state, req);
    }
  }

  private async split(part: Part, state: PartitionState<unknown>, req: SplitRequest): Promise<void> {
    const edges = [req.from, ...req.at, req.to];
    const parts: SplitPart<unknown>[] = edges.slice(1).map((to, i) => ({ from: edges[i]!, to, entries: new Map<string, unknown>() }));
    let k = 0;
    let failedAt: number | undefined;
    try {
      await readRange(this.client, this.init.source, part.partition, req.from, req.to, (first, body) => {
        const records = decodeBody(body);
        for (let i = 0; i < records.length; i++) {
          const offset = first + i;
          while (offset >= parts[k]!.to) k++;
          const entries = parts[k]!.entries;
          failedAt = offset;
          this.view.mapRecord(records[i], (key, acc) => {
            const before = entries.get(key);
            entries.set(key, before === undefined ? acc : this.plus(before, acc));
          });
        }
        failedAt = undefined;
      });
    } catch (err) {
      if (failedAt !== undefined) {
        // The map threw on a record it folded before: a map that is not pure. Reads at these cuts say so.
        state.failSplit(req.from, `the map threw at offset ${failedAt} on re-reading it: ${errorMessage(err)}`);
        this.log.error({ partition: part.partition, offset: failedAt, err: errorMessage(err) }, 'split failed: the map threw on a record it folded before');
      } else {
        // The old segment keeps answering; the next assignment asks again.
        state.failSplit(req.from, errorMessage(err));
        this.log.warn({ partition: part.partition, from: req.from, to: req.to, err: errorMessage(err) }, 'split re-read failed: retried later');
        setTimeout(() => this.retrySplit(part, state, req.from), 1000).unref();
      }
      return;
    }
    if (state.installSplit(req.from, req.to, parts, Date.now())) {
      this.log.debug({ partition: part.partition, from: req.from, to: req.to, at: req.at }, 'segment split');
      // A handoff at one of the new boundaries may now drop the part before it.
      if (part.state === state) state.handoff(this.handoffOf(part.partition), Date.now());
      this.reportDue = true;
      this.wake();
    }
  }

  private retrySplit(part: Part, state: PartitionState<unknown>, from: number): void {
    if (part.state !== state || part.removed || this.closed) return;
    state.clearFailedSplit(from);
    this.runSplits(part, state);
  }

  /** Stops a partition moved away: last checkpoint, then forgotten. */
  private async remove(part: Part): Promise<void> {
    if (part.removed) return;
    part.removed = true;
    part.tailer?.stop();
    this.parts.delete(part.partition);
    this.watermark.remove(part.partition);
    await this.save(part);
    this.log.info({ partition: part.partition }, 'partition no longer assigned here: stopped after a last checkpoint');
  }

  /** Saves a checkpoint of the partition when its state changed (or waits for the one being written). */
  private async save(part: Part): Promise<void> {
    while (part.saving !== undefined) await part.saving;
    const state = part.state;
    if (state === undefined || state.version === part.saved) return;
    const version = state.version;
    const segments = state.allSegments.filter((s) => s.to > s.from).map((s) => ({ from: s.from, to: s.to, entries: s.entries }));
    const c: Checkpoint = {
      view: this.init.view, definitionHash: this.init.definitionHash, partition: part.partition,
      start: state.start, applied: state.applied, segments, watermark: this.watermark.state(part.partition),
    };
    // writeCheckpoint encodes before its first await: the live maps are read in this tick only.
    const killAt = this.init.faultKillAt;
    const onStep = killAt === undefined ? undefined : (step: string): void => {
      // The crash-test hook: the whole process dies here, as in a power cut.
      if (`checkpoint:${step}` === killAt) process.kill(process.pid, 'SIGKILL');
    };
    const started = performance.now();
    part.saving = writeCheckpoint(this.init.checkpointDir, c, onStep).then(
      (bytes) => {
        part.saved = version;
        part.lastCheckpoint = { durationMs: performance.now() - started, bytes };
      },
      (err: unknown) => { this.log.error({ partition: part.partition, err: errorMessage(err) }, 'checkpoint write failed: retried at the next interval'); },
    ).finally(() => { part.saving = undefined; });
    await part.saving;
  }

  private tick(): void {
    const now = Date.now();
    for (const part of this.parts.values()) {
      part.state?.compact(now);
      void this.save(part);
    }
  }

  private sources(): PartitionSource<unknown>[] {
    return this.assignment.partitions.map((p) => {
      const part = this.parts.get(p);
      if (part === undefined) return { partition: p, state: undefined, busy: 'busy: starting', end: 0, caughtUpAt: 0 };
      return { partition: p, state: part.state, busy: part.busy, end: part.end, caughtUpAt: part.caughtUpAt };
    });
  }

  /** The view's report for the next heartbeat. */
  report(): SpeedViewReport {
    const partitions: SpeedPartitionReport[] = this.assignment.partitions.map((p) => {
      const part = this.parts.get(p);
      const state = part?.state;
      const h = this.handoffOf(p);
      return {
        partition: p,
        applied: state?.applied ?? h,
        start: state?.start ?? h,
        end: Math.max(part?.end ?? 0, state?.applied ?? h),
        caughtUpAt: part?.caughtUpAt ?? 0,
        ...(state?.stopped !== undefined ? { stopped: { ...state.stopped } } : {}),
        ...(part === undefined || part.busy !== undefined ? { busy: part?.busy ?? 'busy: starting' } : {}),
        ...(part?.lastCheckpoint !== undefined ? { lastCheckpoint: { ...part.lastCheckpoint } } : {}),
      };
    });
    const watermark = this.currentWatermark();
    return { view: this.init.view, definitionHash: this.init.definitionHash, partitions, ...(watermark !== undefined ? { watermark } : {}) };
  }

  /** True once after anything a report shows changed (the thread posts a report then). */
  takeReportDue(): boolean {
    const due = this.reportDue;
    this.reportDue = false;
    return due;
  }

  /**
   * Answers a Get through `reply`: at once, or (waitMs) once every
   * partition reached the cut and atLeast or cannot by waiting, or at the
   * deadline as it then stands. Throws INVALID_ARGUMENT at once for a bad
   * cut or base; `fail` gets what the answer throws later (nothing expected).
   */
  get(q: ThreadGet, reply: (a: SpeedAnswer) => void, fail: (err: unknown) => void): void {
    if (q.base !== undefined && q.base.length > 0 && q.base.length !== q.keys.length) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected one base accumulator per key (${q.keys.length}), got ${q.base.length}`);
    }
    const ready = (): boolean => readReady(this.sources(), q.cut, q.atLeast ?? EMPTY);
    if ((q.waitMs ?? 0) <= 0 || ready()) return reply(this.answerGet(q));
    this.waitFor(ready, () => {
      try {
        reply(this.answerGet(q));
      } catch (err) {
        fail(err);
      }
    }, q.waitMs!);
  }

  private answerGet(q: ThreadGet): SpeedAnswer {
    const r = readKeys(this.sources(), q.cut, q.keys, this.plus);
    let entries: SpeedEntry[];
    if (q.base !== undefined && q.base.length > 0) {
      const base = new Map<string, Uint8Array>();
      q.keys.forEach((key, i) => { if (!base.has(key)) base.set(key, q.base![i]!); });
      entries = r.entries.map(([key, acc]) => {
        const b = base.get(key);
        return { key, acc: packed(b === undefined || b.length === 0 ? acc : this.plus(unpack(b), acc)) };
      });
    } else {
      entries = r.entries.map(([key, acc]) => ({ key, acc: packed(acc) }));
    }
    return this.withWatermark({ view: this.init.view, partitions: r.partitions, entries });
  }

  /** Answers a Scan from the live state. Throws INVALID_ARGUMENT for a bad cut or limit. */
  scan(q: ThreadScan): SpeedAnswer {
    const r = readScan(this.sources(), q.cut, q, this.plus);
    return this.withWatermark({ view: this.init.view, partitions: r.partitions, entries: r.entries.map(([key, acc]) => ({ key, acc: packed(acc) })) });
  }

  /**
   * The view's watermark, or none while a partition is still being restored
   * (just started, or moved here): the tracker does not know it yet, so the
   * others' watermark alone would mark final windows it may still add to,
   * and a watermark once given never goes back.
   */
  private currentWatermark(): number | undefined {
    if (this.view.window === undefined) return undefined;
    for (const part of this.parts.values()) if (part.state === undefined) return undefined;
    return this.watermark.watermark(Date.now());
  }

  private withWatermark(a: SpeedAnswer): SpeedAnswer {
    const w = this.currentWatermark();
    return w === undefined ? a : { ...a, watermark: w };
  }

  private waitFor(ready: () => boolean, answer: () => void, waitMs: number): void {
    const w: Waiting = {
      ready, answer,
      timer: setTimeout(() => {
        this.waiting = this.waiting.filter((x) => x !== w);
        answer();
      }, waitMs),
    };
    this.waiting.push(w);
  }

  /** Answers the waiting reads that are now ready. */
  private wake(): void {
    if (this.waiting.length === 0) return;
    const still: Waiting[] = [];
    for (const w of this.waiting) {
      if (this.closed || w.ready()) {
        clearTimeout(w.timer);
        w.answer();
      } else {
        still.push(w);
      }
    }
    this.waiting = still;
  }

  /** Stops tailing and saves a last checkpoint of every partition. Safe to repeat. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.wake();
    for (const part of this.parts.values()) part.tailer?.stop();
    await Promise.all([...this.parts.values()].map((part) => this.save(part)));
    await Promise.all([...this.parts.values()].map((part) => part.tailer?.done ?? Promise.resolve()));
  }
}

/** msgpack of an accumulator, in a buffer of its own (msgpackr's is reused by the next pack). */
function packed(acc: unknown): Uint8Array {
  return Buffer.from(pack(acc));
}
