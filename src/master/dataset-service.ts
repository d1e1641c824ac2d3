/**
 * The Dataset service's handlers: what the gRPC Dataset service (see
 * src/protocol/dataset-rpc.ts) calls, wired to a DatasetStore. The store
 * checks every value it is given (names, partitions, offsets, bodies,
 * sequences) and throws a LaminateError, which goes back to the caller as its
 * status: a malformed RPC is an answer, never a crash. This file adds what
 * only a service needs: a bound on batches per call, follow reads, shutdown.
 *
 * Who calls it: the master, once at start (createDatasetService, given the
 * store it opened) and once at stop (close). Nothing here knows jobs or the scheduler, so that a dataset
 * role of its own can host the same handlers later.
 */
import { systemClock, type Clock } from '../common/clock.js';
import { LaminateError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { datasetService, type DatasetHandlers, type LocatedRanges, type ReadChunk, type ReadRequest } from '../protocol/dataset-rpc.js';
import { hostIdentity, localFile } from '../storage/local-file.js';
import type { ServiceRegistration } from '../protocol/master-rpc.js';
import type { DatasetStore } from '../dataset/types.js';
import { servedRecords } from '../dataset/dataset-metrics.js';

/** Most batches in one Append request (a producer sends one; `laminate append` a few). */
export const MAX_BATCHES_PER_APPEND = 4096;

export interface DatasetService {
  readonly handlers: DatasetHandlers;
  /** The gRPC service, for serveMaster's `extra`. */
  readonly registration: ServiceRegistration;
  /**
   * Ends every follow read with UNAVAILABLE (so that readers reconnect to the
   * next master), refuses new calls, and closes the store. Call before the
   * server closes, so that open follow streams do not hold its shutdown.
   * Never rejects (a failure is logged); safe to call twice.
   */
  close(): Promise<void>;
}

/**
 * A follower at the end of a partition gets an empty chunk this often while
 * nothing is appended, stamped with the time the store read its end: a
 * speed process caught up then knows it still counts everything durable
 * (its freshness does not age on an idle partition).
 */
export const DEFAULT_FOLLOW_IDLE_MS = 1000;

export interface DatasetServiceOptions {
  /** The store's clock, for `readAtMs`. Default the system clock. */
  readonly clock?: Clock;
  /** Default DEFAULT_FOLLOW_IDLE_MS. */
  readonly followIdleMs?: number;
}

/** Wires the Dataset service to `store`. The service owns the store from here on: close() closes it. */
export function createDatasetService(store: DatasetStore, logger: Logger, o: DatasetServiceOptions = {}): DatasetService {
  const clock = o.clock ?? systemClock;
  const followIdleMs = o.followIdleMs ?? DEFAULT_FOLLOW_IDLE_MS;
  const log = logger.child({ component: 'datasets' });
  const closing = new AbortController();
  let closed: Promise<void> | undefined;

  const open = (): void => {
    if (closing.signal.aborted) throw new LaminateError('UNAVAILABLE', 'The dataset service is shutting down');
  };

  async function* read(req: ReadRequest, callSignal: AbortSignal): AsyncGenerator<ReadChunk> {
    open();
    const { dataset, partition } = req;
    const signal = AbortSignal.any([callSignal, closing.signal]);
    const options = req.maxBytes === undefined ? {} : { maxBytes: req.maxBytes };
    let from = req.from;
    /** Set when a follower waited followIdleMs at the end: the next (empty) chunk goes out with its time. */
    let idle = false;
    for (let first = true; ; first = false) {
      // The store checks the dataset, partition, offsets and chunk size on
      // every read (NOT_FOUND, INVALID_ARGUMENT, OUT_OF_RANGE past the end),
      // and stops a chunk at the durable end.
      const read = await store.read(dataset, partition, from, req.endOffset === undefined ? options : { ...options, endOffset: req.endOffset });
      const chunk: ReadChunk = { ...read, readAtMs: clock.now() };
      if (first && !req.follow && req.endOffset !== undefined && req.endOffset > chunk.endOffset) {
        throw new LaminateError('OUT_OF_RANGE', `Expected an end offset of at most the end of ${dataset}/${partition} (${chunk.endOffset}), got ${req.endOffset}`, { ids: { dataset, partition, offset: req.endOffset } });
      }
      // A follower at the end gets the empty chunk too: it tells the reader
      // that its read is open (so a reconnecting client knows it is back).
      // So does an idle one, every followIdleMs (see DEFAULT_FOLLOW_IDLE_MS).
      if (chunk.count > 0 || (first && req.follow) || idle) {
        if (chunk.count > 0) servedRecords().inc({ dataset }, chunk.count);
        yield chunk;
        from = chunk.nextOffset;
      }
      idle = false;
      if (req.endOffset !== undefined && from >= req.endOffset) return;
      if (chunk.count > 0) continue;
      if (!req.follow) return;
      // Waits for records, or followIdleMs (then an empty chunk says the end is still there).
      const waited = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        waited.abort();
      }, followIdleMs);
      const onAbort = (): void => waited.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        await store.waitForRecords(dataset, partition, from, waited.signal);
      } catch (err) {
        if (timedOut && !signal.aborted) {
          idle = true;
          continue;
        }
        // The master stopping ends a follower with UNAVAILABLE so that it
        // reconnects; a follower that cancelled is gone and hears nothing.
        if (closing.signal.aborted && !callSignal.aborted) throw new LaminateError('UNAVAILABLE', 'The dataset service is shutting down', { cause: err });
        throw err;
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      }
    }
  }

  /**
   * LocateRange: the segment files holding records [from, end), each as this
   * host sees it (src/storage/local-file.ts), for a map on this host to read
   * them in place. A file that cannot be looked at (gone meanwhile, no
   * permission) makes the answer empty: the map reads through Read, which
   * gives the authoritative answer.
   */
  async function locateRange(dataset: string, partition: number, from: number, end: number): Promise<LocatedRanges> {
    open();
    const ranges = await store.localRanges!(dataset, partition, from, end);
    try {
      const files = await Promise.all(ranges.map((r) => localFile(r.path, { final: false })));
      return { host: hostIdentity(), ranges: ranges.map((r, i) => ({ ...r, path: files[i]!.path, dev: files[i]!.dev, ino: files[i]!.ino, stamp: files[i]!.stamp })) };
    } catch (err) {
      log.debug({ dataset, partition, err: (err as Error).message }, 'a segment file could not be looked at: its reader goes through Read');
      return { host: hostIdentity(), ranges: [] };
    }
  }

  const handlers: DatasetHandlers = {
    async createDataset(name, partitions) {
      open();
      const d = await store.createDataset(name, partitions === undefined ? {} : { partitions });
      log.info({ dataset: name, partitions: d.partitions.length }, 'dataset created (or already there with these settings)');
      return d;
    },
    describeDataset(name) {
      open();
      return store.describeDataset(name);
    },
    listDatasets() {
      open();
      return store.listDatasets();
    },
    initProducer(dataset, producerId) {
      open();
      // An empty id is "no producer" on the wire; the store checks the rest when batches come.
      if (producerId.length === 0) throw new LaminateError('INVALID_ARGUMENT', 'Expected a producer id, got an empty string');
      return store.currentCut(dataset).map((_, partition) => ({ partition, nextSequence: store.nextSequence(dataset, partition, producerId) }));
    },
    ...(store.localRanges ? { locateRange } : {}),
    async append(batches) {
      open();
      if (batches.length === 0 || batches.length > MAX_BATCHES_PER_APPEND) {
        throw new LaminateError('INVALID_ARGUMENT', `Expected 1 to ${MAX_BATCHES_PER_APPEND} batches in an append, got ${batches.length}`);
      }
      return store.append(batches);
    },
    read,
  };

  return {
    handlers,
    registration: datasetService(handlers),
    close() {
      closed ??= (async () => {
        closing.abort();
        // A store that fails to close must not keep the master from stopping.
        await store.close().catch((err: unknown) => log.error({ err }, 'dataset store did not close cleanly'));
      })();
      return closed;
    },
  };
}
