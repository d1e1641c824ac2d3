/**
 * The `dataset:NAME` trigger: batches of newly appended records, per
 * partition and in offset order, as Lambda's event source mappings read a
 * Kinesis stream (one batch in flight per shard, a checkpoint per shard).
 *
 * - Start: a function new to the dataset starts at its log end when the
 *   trigger first starts (Lambda's LATEST): records appended before the deploy
 *   are history, not events. That position is saved before start() resolves.
 *   A dataset that does not exist yet starts at offset 0 once it is created.
 * - Batches: up to batchSize records from the partition's checkpoint, fewer
 *   when no more were durable, or when the encoded records pass
 *   maxBatchBytes (so that the JSON event stays under Lambda's 6 MB). A batch
 *   that came out short is recorded before delivery (`pendingEnd`), so that a
 *   restarted master forms exactly the same batch again; a full one is the
 *   same anyway, records being immutable. Records are read from the store
 *   about 512 KiB at a time per partition and batches cut from that
 *   (record-read-ahead.ts): one store read per batch cost more than the
 *   batch's whole delivery.
 * - Delivery: the invoker's asynchronous policy (retries with backoff, then
 *   the dead-letter dataset). The next batch of the partition waits until it
 *   has settled, succeeded or dead-lettered; then the checkpoint moves past
 *   it and is saved atomically, while the next batch is read and delivered.
 *   At least once: a crash between the delivery and the save being durable
 *   delivers the batch again, with the same event id
 *   (`FN:dataset:NAME:P:FIRST_OFFSET`).
 * - Waiting: on the store's waitForRecords (woken by the append), never a
 *   poll.
 * - Iterator age: per partition, how long ago the trigger first saw the
 *   oldest record it has not delivered yet (0 when caught up); after a
 *   restart, records appended while the master was down count from the
 *   restart.
 */
import { FUNCTION_LIMITS } from '../../common/function-shapes.js';
import type { ReadChunk } from '../../common/dataset-shapes.js';
import { LaminateError } from '../../common/errors.js';
import { datasetBatchEvent } from '../packed-event.js';
import { RecordReadAhead } from './record-read-ahead.js';
import { sleep, unlessAborted, type Trigger, type TriggerDeps } from './trigger.js';

/** What the trigger reads of the dataset store (the master's LogDatasetStore is one). */
export interface DatasetLog {
  read(dataset: string, partition: number, from: number, options?: { readonly endOffset?: number; readonly maxBytes?: number }): Promise<ReadChunk>;
  waitForRecords(dataset: string, partition: number, offset: number, signal?: AbortSignal): Promise<void>;
  /** NOT_FOUND for an unknown dataset. */
  currentCut(dataset: string): readonly number[];
}

/** Encoded record bytes per batch by default: half the 6 MB payload limit, leaving room for JSON's larger text. */
export const DEFAULT_MAX_BATCH_BYTES = FUNCTION_LIMITS.maxSyncPayloadBytes / 2;
/**
 * Bytes of records read from the store at a time per partition, ahead of the batches formed from them: two of a
 * producer's stored batches (256 KiB), ten trigger batches of 1,000 small records. Held per partition while its
 * batches are cut from it.
 */
export const DEFAULT_READ_AHEAD_BYTES = 512 * 1024;
/** How often a trigger whose dataset does not exist looks again. */
const MISSING_DATASET_RETRY_MS = 1000;
/** Backoff after a failed read or a delivery the invoker refused, doubled up to the max. */
const ERROR_BACKOFF_MS = 200;
const MAX_ERROR_BACKOFF_MS = 30_000;
/** Observations of the log end kept per partition for the iterator age (beyond: merged, erring old). */
const MAX_OBSERVATIONS = 64;

interface DatasetTriggerState {
  readonly dataset: string;
  /** Per partition: the offset of the first record not yet settled. */
  readonly next: number[];
  /** Per partition: the end of the batch in flight when it came out short (see above), else null. */
  readonly pendingEnd: (number | null)[];
}

export interface DatasetTriggerOptions {
  readonly dataset: string;
  readonly batchSize: number;
  readonly maxBatchBytes?: number;
  /** Bytes read from the store at a time per partition (record-read-ahead.ts); the memory a partition holds beyond its batch. */
  readonly readAheadBytes?: number;
}

export class DatasetTrigger implements Trigger {
  private readonly abort = new AbortController();
  private state: DatasetTriggerState | undefined;
  private loops: Promise<void>[] = [];
  /** Per partition: [log end seen, when first seen], oldest first. */
  private readonly observed: [number, number][][] = [];
  private readonly maxBatchBytes: number;
  private readonly readAheadBytes: number;
  /** Per partition: records read ahead of the batches. */
  private readonly readAhead: RecordReadAhead[] = [];
  /** The latest checkpoint save, not awaited by the partition loops (stop() waits for it). */
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly deps: TriggerDeps & { readonly store: DatasetLog }, private readonly options: DatasetTriggerOptions) {
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.readAheadBytes = options.readAheadBytes ?? DEFAULT_READ_AHEAD_BYTES;
  }

  async start(): Promise<void> {
    const saved = await this.deps.state.load() as DatasetTriggerState | undefined;
    if (saved?.dataset === this.options.dataset) {
      this.state = saved;
      this.deps.log.info({ dataset: saved.dataset, next: saved.next }, 'dataset trigger resumes from its checkpoints');
    } else {
      const ends = this.ends();
      this.state = { dataset: this.options.dataset, next: ends ? [...ends] : [], pendingEnd: ends ? ends.map(() => null) : [] };
      await this.deps.state.save(this.state);
      this.deps.log.info({ dataset: this.options.dataset, next: this.state.next }, ends ? 'dataset trigger starts at the log end' : 'dataset trigger waits for its dataset to be created');
    }
    this.loops = [this.run().catch((err: unknown) => {
      this.deps.log.error({ err, dataset: this.options.dataset }, 'dataset trigger stopped by an error: it resumes from its checkpoints at the next start');
    })];
  }

  /** Resolves once every checkpoint saved so far is durable (or failed). */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
    await this.saving;
  }

  /**
   * How far behind the log end each partition is, in ms (0: caught up).
   * Called by metrics whenever they are read; cheap.
   */
  iteratorAges(): { partition: number; ageMs: number }[] {
    const now = this.deps.clock.now();
    return (this.state?.next ?? []).map((next, partition) => {
      const first = this.observed[partition]?.find(([end]) => end > next);
      return { partition, ageMs: first === undefined ? 0 : Math.max(0, now - first[1]) };
    });
  }

  private ends(): readonly number[] | undefined {
    try {
      return this.deps.store.currentCut(this.options.dataset);
    } catch (err) {
      if (err instanceof LaminateError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const state = this.state!;
    // A dataset created after the deploy: every record of it is new.
    while (state.next.length === 0) {
      const ends = this.ends();
      if (ends) {
        state.next.push(...ends.map(() => 0));
        state.pendingEnd.push(...ends.map(() => null));
        await this.deps.state.save(state);
        break;
      }
      if (!(await sleep(MISSING_DATASET_RETRY_MS, signal))) return;
    }
    await Promise.all(state.next.map((_, p) => this.runPartition(p)));
  }

  private observe(partition: number, end: number): void {
    const list = (this.observed[partition] ??= []);
    const last = list[list.length - 1];
    if (last !== undefined && last[0] >= end) return;
    list.push([end, this.deps.clock.now()]);
    if (list.length > MAX_OBSERVATIONS) list.splice(list.length - 2, 1); // keeps the oldest times: the age errs old, never young
  }

  private forget(partition: number, next: number): void {
    const list = this.observed[partition];
    while (list !== undefined && list.length > 0 && list[0]![0] <= next) list.shift();
  }

  private async runPartition(p: number): Promise<void> {
    const { dataset } = this.options;
    const signal = this.abort.signal;
    const state = this.state!;
    const log = this.deps.log.child({ dataset, partition: p });
    let backoff = ERROR_BACKOFF_MS;
    const failed = async (err: unknown, what: string): Promise<boolean> => {
      log.warn({ err, retryInMs: backoff }, `${what}: trying again`);
      const ok = await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, MAX_ERROR_BACKOFF_MS);
      return ok;
    };
    while (!signal.aborted) {
      const next = state.next[p]!;
      const pendingEnd = state.pendingEnd[p] ?? null;
      let batch: { bodies: Uint8Array[]; count: number };
      try {
        batch = await this.readBatch(p, next, pendingEnd, signal);
      } catch (err) {
        if (signal.aborted) return;
        if (!(await failed(err, `could not read ${dataset}/${p} at ${next}`))) return;
        continue;
      }
      if (signal.aborted) return;
      const count = batch.count;
      if (count < this.options.batchSize && pendingEnd === null) {
        // Short: record where it ends, so that a restart forms this same batch again.
        state.pendingEnd[p] = next + count;
        try {
          await this.deps.state.save(state);
        } catch (err) {
          // Delivered all the same; a restart may then form this batch with more records (same first offset and event id).
          log.error({ err }, 'could not record the end of a short batch');
        }
      }
      const eventId = `${this.deps.functionName}:dataset:${dataset}:${p}:${next}`;
      try {
        // The records stay as stored: only the container decodes them (packed-event.ts).
        const event = datasetBatchEvent(dataset, p, next, batch.bodies, count);
        const outcome = await unlessAborted(this.deps.invoker.deliver(this.deps.functionName, event, { eventId, source: 'dataset' }), signal);
        // Settled, even if the trigger is stopping: recorded below, so that it is not delivered again.
        if (outcome === undefined) return;
        if (outcome.status === 'function-deleted') return;
        if (outcome.status === 'dead-lettered') log.warn({ eventId, firstOffset: next, count, attempts: outcome.attempts }, 'batch dead-lettered: the partition moves on');
      } catch (err) {
        if (signal.aborted) return;
        if (!(await failed(err, `delivery of ${eventId} refused`))) return;
        continue;
      }
      backoff = ERROR_BACKOFF_MS;
      state.next[p] = next + count;
      state.pendingEnd[p] = null;
      this.forget(p, state.next[p]);
      // Not awaited: the next batch is read and delivered while the checkpoint is written (two fsyncs, a few ms
      // of each batch's round before). A crash before it is durable delivers this batch again with the same
      // event id, as a crash between delivery and save always could (at least once); saves are applied in
      // order, and a short batch's pendingEnd (above) is still durable before its delivery.
      this.saving = this.deps.state.save(state).catch((err: unknown) => {
        // The batch stays delivered; a crash before a later save delivers it again (at least once).
        log.error({ err }, 'could not save the checkpoint');
      });
    }
  }

  /**
   * The batch from `next`, as the store's record bodies: waits for at least
   * one record, then takes up to the batch's end from the partition's
   * read-ahead (record-read-ahead.ts), fewer when no more are durable or
   * past maxBatchBytes. Empty only when aborted.
   */
  private async readBatch(p: number, next: number, pendingEnd: number | null, signal: AbortSignal): Promise<{ bodies: Uint8Array[]; count: number }> {
    const { dataset, batchSize } = this.options;
    const { store } = this.deps;
    const ahead = (this.readAhead[p] ??= new RecordReadAhead(async (from, maxBytes) => {
      const chunk = await store.read(dataset, p, from, { maxBytes });
      this.observe(p, chunk.endOffset);
      return chunk;
    }, this.readAheadBytes));
    // A batch re-formed after a restart reads to its recorded end whatever its size.
    const limits = { count: (pendingEnd ?? next + batchSize) - next, maxBytes: pendingEnd === null ? this.maxBatchBytes : Infinity };
    while (!signal.aborted) {
      // The log end now, for the iterator age: the read-ahead reads the store only now and then.
      const end = this.ends()?.[p];
      if (end !== undefined) this.observe(p, end);
      const batch = await ahead.take(next, limits);
      // datasetBatchEvent checks this count against the bodies' prefixes.
      if (batch.count > 0) return { bodies: batch.bodies, count: batch.count };
      await store.waitForRecords(dataset, p, next, signal);
    }
    return { bodies: [], count: 0 };
  }
}
