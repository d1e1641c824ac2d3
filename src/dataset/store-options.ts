/**
 * The dataset store's options: what a caller may pass, compiled once into a
 * complete, validated, readonly set with every default filled (STYLE.md).
 */
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../common/clock.js';
import { describe, LaminateError } from '../common/errors.js';
import { MAX_BODY_BYTES_IN_FORMAT } from './batch-format.js';
import { nodeFileSystem, type FileSystem } from './file-system.js';
import { defaultSyncsInFlight, limitSyncs, threadPoolSize } from './sync-limit.js';
import { DEFAULT_MAX_RECORD_BYTES } from '../storage/record-body.js';

const MiB = 1024 * 1024;

export interface DatasetStoreOptions {
  /** The folder holding every dataset (created if missing). Required. */
  readonly dir: string;
  /** The process logger; the store logs through a child { component: 'dataset-store' }. Required. */
  readonly logger: Logger;
  /** Append times and producer expiry. Default the system clock. */
  readonly clock?: Clock;
  /** The file system; tests pass one that counts fsyncs or fails. Default node's. */
  readonly fs?: FileSystem;
  /** A segment rolls once it holds this many bytes. Default 64 MiB (a batch is never split, so a segment may pass it by one batch). */
  readonly segmentBytes?: number;
  /** Largest record, encoded. Default 1 MiB (Kafka's message.max.bytes). */
  readonly maxRecordBytes?: number;
  /** Largest batch body. Default 16 MiB; at most 256 MiB (the format's ceiling). */
  readonly maxBatchBytes?: number;
  /**
   * Bytes of batch bodies accepted but not yet acknowledged, store-wide;
   * appends past it wait (back-pressure). Default 64 MiB. A batch larger than
   * the bound is let in alone, once nothing else is in flight.
   */
  readonly maxInFlightBytes?: number;
  /** An offset index entry at least every this many bytes of a segment. Default 64 KiB. */
  readonly indexIntervalBytes?: number;
  /** Offset indexes of sealed segments kept in memory (least recently read dropped). Default 1024. */
  readonly maxCachedIndexes?: number;
  /** A producer idle this long is forgotten. Default 7 days (Kafka's transactional.id.expiration.ms). */
  readonly producerExpirationMs?: number;
  /** Producers remembered per partition; past it the least recently appending is forgotten. Default 10 000. */
  readonly maxProducersPerPartition?: number;
  /** ReadOptions.maxBytes when a read gives none. Default 256 KiB. */
  readonly defaultReadBytes?: number;
  /** Most a read may ask for in ReadOptions.maxBytes. Default 16 MiB. */
  readonly maxReadBytes?: number;
  /** Datasets at most. Default 10 000. */
  readonly maxDatasets?: number;
  /**
   * fsyncs in flight at once, store-wide (sync-limit.ts). Default half of
   * libuv's thread pool (UV_THREADPOOL_SIZE; 8 under the `laminate` launcher's 16).
   */
  readonly maxSyncsInFlight?: number;
}

export interface ResolvedDatasetStoreOptions {
  readonly dir: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly fs: FileSystem;
  readonly segmentBytes: number;
  readonly maxRecordBytes: number;
  readonly maxBatchBytes: number;
  readonly maxInFlightBytes: number;
  readonly indexIntervalBytes: number;
  readonly maxCachedIndexes: number;
  readonly producerExpirationMs: number;
  readonly maxProducersPerPartition: number;
  readonly defaultReadBytes: number;
  readonly maxReadBytes: number;
  readonly maxDatasets: number;
  readonly maxSyncsInFlight: number;
}

function int(name: string, value: number | undefined, dflt: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? dflt;
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected dataset store option ${name} to be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return v;
}

/** Fills the defaults above and checks every value; throws INVALID_ARGUMENT. Called once per store. */
export function resolveDatasetStoreOptions(o: DatasetStoreOptions): ResolvedDatasetStoreOptions {
  if (typeof o.dir !== 'string' || o.dir.length === 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected dataset store option dir to be a folder path, got ${describe(o.dir)}`);
  }
  const maxRecordBytes = int('maxRecordBytes', o.maxRecordBytes, DEFAULT_MAX_RECORD_BYTES, 1, MAX_BODY_BYTES_IN_FORMAT - 4);
  const maxBatchBytes = int('maxBatchBytes', o.maxBatchBytes, 16 * MiB, maxRecordBytes + 4, MAX_BODY_BYTES_IN_FORMAT);
  const maxReadBytes = int('maxReadBytes', o.maxReadBytes, 16 * MiB);
  const maxSyncsInFlight = int('maxSyncsInFlight', o.maxSyncsInFlight, defaultSyncsInFlight(threadPoolSize(process.env.UV_THREADPOOL_SIZE)));
  return {
    dir: o.dir,
    logger: o.logger.child({ component: 'dataset-store' }),
    clock: o.clock ?? systemClock,
    fs: limitSyncs(o.fs ?? nodeFileSystem, maxSyncsInFlight),
    maxSyncsInFlight,
    segmentBytes: int('segmentBytes', o.segmentBytes, 64 * MiB, 1024),
    maxRecordBytes,
    maxBatchBytes,
    maxInFlightBytes: int('maxInFlightBytes', o.maxInFlightBytes, 64 * MiB),
    indexIntervalBytes: int('indexIntervalBytes', o.indexIntervalBytes, 64 * 1024),
    maxCachedIndexes: int('maxCachedIndexes', o.maxCachedIndexes, 1024),
    producerExpirationMs: int('producerExpirationMs', o.producerExpirationMs, 7 * 24 * 3600 * 1000),
    maxProducersPerPartition: int('maxProducersPerPartition', o.maxProducersPerPartition, 10_000),
    defaultReadBytes: int('defaultReadBytes', o.defaultReadBytes, 256 * 1024, 1, maxReadBytes),
    maxReadBytes,
    maxDatasets: int('maxDatasets', o.maxDatasets, 10_000),
  };
}
