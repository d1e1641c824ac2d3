/**
 * The dataset store on local disk: the catalog of datasets, one PartitionLog
 * per partition, back-pressure over all of them. This is what the master's
 * Dataset service holds (one per process, opened at start, closed at stop);
 * it knows nothing of jobs.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { describe, LaminateError } from '../common/errors.js';
import { validateAppendBatch } from './append-validation.js';
import { ByteBudget } from './byte-budget.js';
import { readCatalogEntry, validateDatasetName, validatePartitionCount, writeCatalogEntry, type CatalogEntry, type CatalogRead } from './catalog.js';
import { CLEAN_SHUTDOWN_FILE } from './layout.js';
import { PartitionLog } from './partition-log.js';
import { IndexCache } from './segment.js';
import { splitRanges, type OffsetRange } from './split-ranges.js';
import { resolveDatasetStoreOptions, type DatasetStoreOptions, type ResolvedDatasetStoreOptions } from './store-options.js';
import type { AppendBatch, AppendResult, CreateDatasetOptions, Cut, DatasetDescription, DatasetStore, LocalSegmentRange, ReadChunk, ReadOptions } from './types.js';
import { appendedBytes, appendedRecords, appendSeconds } from './dataset-metrics.js';
import type { SealedSegmentInfo } from './archive-manifest.js';

interface OpenDataset {
  readonly entry: CatalogEntry;
  readonly partitions: readonly PartitionLog[];
}

export class LogDatasetStore implements DatasetStore {
  private readonly datasets = new Map<string, OpenDataset>();
  /** Datasets whose catalog entry is unreadable: every call naming them fails with this. */
  private readonly unreadable = new Map<string, LaminateError>();
  private readonly creating = new Map<string, Promise<unknown>>();
  private readonly budget: ByteBudget;
  private readonly indexCache: IndexCache;
  private readonly logger: Logger;
  private closing: Promise<void> | undefined;
  /** Set once open() finished: only such a store may leave the clean-shutdown mark (see closeOnce). */
  private opened = false;

  private constructor(private readonly options: ResolvedDatasetStoreOptions, private readonly cleanShutdown: boolean) {
    this.budget = new ByteBudget(options.maxInFlightBytes);
    this.indexCache = new IndexCache(options.maxCachedIndexes);
    this.logger = options.logger;
  }

  /**
   * Opens the store under `options.dir` (created if missing): reads every
   * dataset's catalog entry and recovers every partition (see
   * partition-recovery.ts). Called once per process; the folder must not be
   * opened by two stores at once.
   */
  static async open(options: DatasetStoreOptions): Promise<LogDatasetStore> {
    const o = resolveDatasetStoreOptions(options);
    const fs = o.fs;
    await fs.mkdir(o.dir);
    const marker = join(o.dir, CLEAN_SHUTDOWN_FILE);
    const cleanShutdown = (await fs.fileSize(marker)) !== undefined;
    const store = new LogDatasetStore(o, cleanShutdown);
    try {
      for (const name of (await fs.list(o.dir)).sort()) {
        if (name === CLEAN_SHUTDOWN_FILE) continue;
        let read: CatalogRead;
        try {
          read = await readCatalogEntry(fs, o.dir, name);
        } catch (err) {
          if (!(err instanceof LaminateError)) throw err;
          store.unreadable.set(name, err);
          o.logger.error({ err, dataset: name }, 'dataset catalog entry unreadable; the dataset is unavailable');
          continue;
        }
        if (read.kind === 'none') {
          o.logger.warn({ entry: name, why: read.why }, 'entry of the datasets folder that is no dataset ignored');
          continue;
        }
        store.datasets.set(name, { entry: read.entry, partitions: await store.openPartitions(read.entry) });
      }
    } catch (err) {
      await store.close();
      throw err;
    }
    // From here on a crash is not a clean shutdown.
    if (cleanShutdown) {
      await fs.remove(marker);
      await fs.syncDir(o.dir);
    }
    store.opened = true;
    o.logger.info({ dir: o.dir, datasets: store.datasets.size, cleanShutdown }, 'dataset store open');
    return store;
  }

  private async openPartitions(entry: CatalogEntry): Promise<PartitionLog[]> {
    const logs: PartitionLog[] = [];
    try {
      for (let p = 0; p < entry.partitions; p++) {
        logs.push(await PartitionLog.open({ options: this.options, indexCache: this.indexCache, dataset: entry.name, partition: p, cleanShutdown: this.cleanShutdown }));
      }
    } catch (err) {
      await Promise.all(logs.map((l) => l.close()));
      throw err;
    }
    return logs;
  }

  async createDataset(name: string, options: CreateDatasetOptions = {}): Promise<DatasetDescription> {
    validateDatasetName(name);
    const partitions = validatePartitionCount(options.partitions);
    this.checkOpen();
    for (;;) {
      const pending = this.creating.get(name);
      if (pending === undefined) break;
      await pending.catch(() => undefined);
    }
    const existing = this.datasets.get(name);
    if (existing !== undefined) {
      if (existing.entry.partitions !== partitions) {
        throw new LaminateError(
          'ALREADY_EXISTS',
          `Expected dataset ${describe(name)} to be new or to have ${partitions} partitions, got one that exists with ${existing.entry.partitions}`,
          { ids: { dataset: name } },
        );
      }
      return this.describeDataset(name);
    }
    const unreadable = this.unreadable.get(name);
    if (unreadable !== undefined) throw unreadable;
    if (this.datasets.size >= this.options.maxDatasets) {
      throw new LaminateError('RESOURCE_EXHAUSTED', `Expected at most ${this.options.maxDatasets} datasets, got a request for one more (${describe(name)})`, { ids: { dataset: name } });
    }
    const creation = (async () => {
      const entry: CatalogEntry = { name, partitions, createdAt: this.options.clock.now() };
      await writeCatalogEntry(this.options.fs, this.options.dir, entry);
      this.datasets.set(name, { entry, partitions: await this.openPartitions(entry) });
      this.logger.info({ dataset: name, partitions }, 'dataset created');
    })();
    this.creating.set(name, creation);
    try {
      await creation;
    } finally {
      this.creating.delete(name);
    }
    return this.describeDataset(name);
  }

  describeDataset(name: string): DatasetDescription {
    const ds = this.dataset(name);
    return { name, partitions: ds.partitions.map((p) => p.describe()), createdAt: ds.entry.createdAt };
  }

  listDatasets(): DatasetDescription[] {
    return [...this.datasets.keys()].sort().map((name) => this.describeDataset(name));
  }

  async append(batches: readonly AppendBatch[]): Promise<AppendResult[]> {
    const arrived = performance.now();
    this.checkOpen();
    if (!Array.isArray(batches)) throw new LaminateError('INVALID_ARGUMENT', `Expected an array of batches, got ${describe(batches)}`);
    let bytes = 0;
    const logs = batches.map((b) => {
      const log = this.partition(b.dataset, b.partition);
      validateAppendBatch(b, this.options);
      bytes += b.body.byteLength;
      return log;
    });
    if (batches.length === 0) return [];
    await this.budget.acquire(bytes);
    try {
      const settled = await Promise.allSettled(batches.map((b, i) => logs[i]!.append(b)));
      const failed = settled.find((s) => s.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      const results = settled.map((s) => (s as PromiseFulfilledResult<AppendResult>).value);
      countAppended(batches, results);
      appendSeconds().observe((performance.now() - arrived) / 1000);
      return results;
    } finally {
      this.budget.release(bytes);
    }
  }

  async read(dataset: string, partition: number, from: number, options: ReadOptions = {}): Promise<ReadChunk> {
    const log = this.partition(dataset, partition);
    const ids = { dataset, partition };
    requireOffset('from', from, ids);
    if (options.endOffset !== undefined) requireOffset('endOffset', options.endOffset, ids);
    const maxBytes = options.maxBytes ?? this.options.defaultReadBytes;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1 || maxBytes > this.options.maxReadBytes) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected maxBytes to be an integer from 1 to ${this.options.maxReadBytes}, got ${describe(options.maxBytes)}`, { ids });
    }
    return log.read(from, options.endOffset, maxBytes);
  }

  async waitForRecords(dataset: string, partition: number, offset: number, signal?: AbortSignal): Promise<void> {
    const log = this.partition(dataset, partition);
    requireOffset('offset', offset, { dataset, partition });
    await log.waitForRecords(offset, signal);
  }

  currentCut(dataset: string): Cut {
    return this.dataset(dataset).partitions.map((p) => p.durableEnd);
  }

  /**
   * Offset ranges tiling [0, endOffset) of a partition, each about
   * `targetBytes` of records and starting at a batch start (split-ranges.ts):
   * the map tasks of a batch job over a cut. Called by the master once per
   * partition of a job's dataset input; reads only (it may build the offset
   * index of sealed segments, as reads do).
   *
   * @throws LaminateError NOT_FOUND for an unknown dataset or partition;
   *   INVALID_ARGUMENT for a bad offset or size; OUT_OF_RANGE past the durable end.
   */
  async splitRanges(dataset: string, partition: number, endOffset: number, targetBytes: number): Promise<OffsetRange[]> {
    const log = this.partition(dataset, partition);
    requireOffset('endOffset', endOffset, { dataset, partition });
    if (endOffset > log.durableEnd) {
      throw new LaminateError('OUT_OF_RANGE', `Expected an end offset of dataset ${describe(dataset)} partition ${partition} of at most its end ${log.durableEnd}, got ${endOffset}`, { ids: { dataset, partition, offset: endOffset } });
    }
    const { marks, endPosition } = await log.batchMarks(endOffset);
    return splitRanges(marks, endOffset, endPosition, targetBytes);
  }

  /** A partition's sealed segments, oldest first (see PartitionLog.sealedSegments). NOT_FOUND for an unknown dataset or partition. */
  sealedSegments(dataset: string, partition: number): SealedSegmentInfo[] {
    return this.partition(dataset, partition).sealedSegments();
  }

  /** See PartitionLog.localRanges. */
  async localRanges(dataset: string, partition: number, from: number, end: number): Promise<LocalSegmentRange[]> {
    const log = this.partition(dataset, partition);
    requireOffset('from', from, { dataset, partition });
    requireOffset('endOffset', end, { dataset, partition });
    return log.localRanges(from, end);
  }

  /** See PartitionLog.sealedByteRange. */
  sealedByteRange(dataset: string, partition: number, baseOffset: number, from: number, end: number): Promise<{ start: number; end: number }> {
    return this.partition(dataset, partition).sealedByteRange(baseOffset, from, end);
  }

  nextSequence(dataset: string, partition: number, producerId: string): number {
    return this.partition(dataset, partition).nextSequence(producerId);
  }

  /** Back-pressure now: bytes of appends accepted and not yet acknowledged, and appends waiting for room. For metrics and tests. */
  stats(): { inFlightBytes: number; waitingAppends: number } {
    return { inFlightBytes: this.budget.inFlight, waitingAppends: this.budget.waiting };
  }

  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    this.budget.close('The dataset store is closing');
    await Promise.allSettled([...this.creating.values()]);
    const logs = [...this.datasets.values()].flatMap((d) => d.partitions);
    await Promise.all(logs.map((l) => l.close()));
    // A clean mark only when every write made it: recovery then treats any bad batch as damage, never as a torn tail.
    // And never from an open cut short: partitions it did not reach may still have torn tails to cut.
    if (this.opened && logs.every((l) => !l.failed)) {
      try {
        await this.options.fs.writeFileSynced(join(this.options.dir, CLEAN_SHUTDOWN_FILE), Buffer.from(`${new Date(this.options.clock.now()).toISOString()}\n`));
        await this.options.fs.syncDir(this.options.dir);
      } catch (err) {
        this.logger.warn({ err }, 'clean-shutdown mark not written; the next open recovers as after a crash');
      }
    }
    this.logger.info({ datasets: this.datasets.size }, 'dataset store closed');
  }

  private checkOpen(): void {
    if (this.closing !== undefined) throw new LaminateError('UNAVAILABLE', 'Expected an open dataset store, got one closing or closed');
  }

  private dataset(name: string): OpenDataset {
    const ds = this.datasets.get(name);
    if (ds !== undefined) return ds;
    const unreadable = this.unreadable.get(name);
    if (unreadable !== undefined) throw unreadable;
    throw new LaminateError('NOT_FOUND', `Expected an existing dataset, got ${describe(name)}`, { ids: typeof name === 'string' ? { dataset: name } : {} });
  }

  private partition(dataset: string, partition: number): PartitionLog {
    const ds = this.dataset(dataset);
    const log = Number.isInteger(partition) ? ds.partitions[partition] : undefined;
    if (log === undefined) {
      throw new LaminateError(
        'NOT_FOUND',
        `Expected a partition of dataset ${describe(dataset)} from 0 to ${ds.partitions.length - 1}, got ${describe(partition)}`,
        { ids: { dataset, ...(typeof partition === 'number' ? { partition } : {}) } },
      );
    }
    return log;
  }
}

function requireOffset(name: string, value: unknown, ids: { dataset: string; partition: number }): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${name} to be a non-negative integer, got ${describe(value)}`, { ids });
  }
}

/** Counts what a call appended for the metrics: batches stored anew, not duplicates. */
function countAppended(batches: readonly AppendBatch[], results: readonly AppendResult[]): void {
  const records = appendedRecords();
  const bytes = appendedBytes();
  results.forEach((r, i) => {
    if (r.duplicate || r.count === 0) return;
    const b = batches[i]!;
    records.inc({ dataset: b.dataset }, r.count);
    bytes.inc({ dataset: b.dataset }, b.body.byteLength);
  });
}
