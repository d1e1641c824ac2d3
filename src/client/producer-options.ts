/**
 * A producer's settings: what a user may pass (ProducerOptions), compiled
 * once into a complete, checked ResolvedProducerOptions. The defaults follow
 * Kafka's idempotent producer where a Kafka user would look for them.
 */
import { randomUUID } from 'node:crypto';
import { describe, LaminateError } from '../common/errors.js';
import { MAX_PRODUCER_ID_BYTES } from '../common/ids.js';
import { requirePositiveInt } from '../common/validate.js';
import { keyOfField } from '../common/key-partitioner.js';
import { DEFAULT_MAX_RECORD_BYTES, type DatasetRecord } from '../storage/record-body.js';

/**
 * How records are spread over partitions: the name of a field of the record
 * (records are objects), or a function of the record. Records whose key is
 * undefined or null, and every record when no key is given, go to a sticky
 * partition (see Producer).
 */
export type PartitionKey = string | ((record: DatasetRecord) => unknown);

export interface ProducerOptions {
  /**
   * The idempotent producer's id: the store keeps each producer's sequences,
   * so a retried batch is stored once. Default a random UUID. Give the same
   * id to a producer that replaces one that stopped (a restarted process), and
   * it continues that producer's sequences; never give one id to two live
   * producers (their batches would be refused as out of order).
   */
  readonly producerId?: string;
  /** Partition by this field or function; default sticky partitioning. */
  readonly key?: PartitionKey;
  /**
   * Replay a stream from its start (needs producerId): for a process that
   * restarts an import it may have half done before, e.g. `laminate append
   * FILE --producer-id ID` run again. Records are numbered from 0 per
   * partition, as they were the first time, and the store skips those the
   * producer with this id had already stored and stores the rest: each
   * record is stored once, however the earlier run ended. The caller must
   * send the same records in the same order, with the same key (or none) and
   * the same partition count; unkeyed records then go to partitions in fixed
   * runs of REPLAY_RUN_RECORDS (not sticky), so that their partition does
   * not depend on timing. Records stored by the earlier run are acknowledged
   * with `alreadyStored: true` and their offset, or -1 where the store no
   * longer remembers it. Default false: continue the
   * producer's sequences (a replay's records would be stored again).
   */
  readonly replay?: boolean;
  /** How long a batch waits for more records before it is sent. Default 5 ms (Kafka's linger.ms since 4.0). */
  readonly lingerMs?: number;
  /**
   * A batch is sent once it holds this many bytes of records. Default 1 MiB
   * (DEFAULT_MAX_BATCH_BYTES); a batch's buffer starts at the size of its
   * partition's last batch (64 KiB at first) and doubles as records come.
   */
  readonly maxBatchBytes?: number;
  /** Bytes of records buffered and unacknowledged before send waits. Default 32 MiB (Kafka's buffer.memory). */
  readonly bufferBytes?: number;
  /** Batches in flight per partition, 1 to 5 (Kafka's bound for idempotence). Default 5. */
  readonly maxInFlight?: number;
  /**
   * A record not acknowledged this long after it was sent fails, and with it
   * the producer. Default 2 minutes (Kafka's delivery.timeout.ms): a master
   * restart within it costs the caller only a wait.
   */
  readonly deliveryTimeoutMs?: number;
  /** Deadline of one Append call. Default 30 s (Kafka's request.timeout.ms). */
  readonly requestTimeoutMs?: number;
  /** First wait before a retry; doubles up to retryBackoffMaxMs. Defaults 100 ms and 1 s (Kafka's). */
  readonly retryBackoffMs?: number;
  readonly retryBackoffMaxMs?: number;
  /** Largest record, encoded. Default 1 MiB, the store's default. */
  readonly maxRecordBytes?: number;
}

export interface ResolvedProducerOptions {
  readonly producerId: string;
  readonly key: PartitionKey | undefined;
  readonly replay: boolean;
  readonly lingerMs: number;
  readonly maxBatchBytes: number;
  readonly bufferBytes: number;
  readonly maxInFlight: number;
  readonly deliveryTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  readonly maxRecordBytes: number;
}

/**
 * Unkeyed records per partition before a replaying producer moves to the
 * next: about 256 KiB of 200-byte records (maxBatchBytes was 256 KiB then), so batches stay large.
 * Part of what a replay must repeat: changing it breaks replays of imports
 * begun before the change.
 */
export const REPLAY_RUN_RECORDS = 1024;

/** Kafka allows at most 5 batches in flight per partition with idempotence; so do we. */
export const MAX_IN_FLIGHT = 5;

/**
 * maxBatchBytes when the user gives none: 1 MiB. Against 256 KiB (three pairs
 * of the ingest benchmark's throughput loop, 2 December): 7-29% more records
 * a second and 9-43% less of the master's CPU per record, its per-call work
 * (an HTTP/2 stream, headers, a group-commit entry) paid a quarter as often.
 * Far below the store's 16 MiB batch bound and the 64 MiB message bound the
 * project sets on its gRPC channels (src/protocol/load.ts).
 */
export const DEFAULT_MAX_BATCH_BYTES = 1024 * 1024;

function nonNegativeInt(flag: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${flag} to be a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

/** Fills the defaults and checks every setting, naming the first that is wrong. */
export function resolveProducerOptions(o: ProducerOptions = {}): ResolvedProducerOptions {
  const producerId = o.producerId ?? randomUUID();
  // The store's limit, in the same unit (UTF-8 bytes), so an id it would refuse on every append is refused here at once.
  if (typeof producerId !== 'string' || producerId.length === 0 || Buffer.byteLength(producerId, 'utf8') > MAX_PRODUCER_ID_BYTES) {
    const got = typeof producerId === 'string' && producerId.length > 0 ? `one of ${Buffer.byteLength(producerId, 'utf8')} bytes` : describe(producerId);
    throw new LaminateError('INVALID_ARGUMENT', `Expected producerId to be a string of 1 to ${MAX_PRODUCER_ID_BYTES} UTF-8 bytes, got ${got}`);
  }
  if (o.key !== undefined && typeof o.key !== 'function' && (typeof o.key !== 'string' || o.key.length === 0)) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected key to be a field name or a function, got ${describe(o.key)}`);
  }
  if (o.replay !== undefined && typeof o.replay !== 'boolean') {
    throw new LaminateError('INVALID_ARGUMENT', `Expected replay to be a boolean, got ${describe(o.replay)}`);
  }
  if (o.replay === true && o.producerId === undefined) {
    throw new LaminateError('INVALID_ARGUMENT', 'Expected a producerId with replay (the store recognises what that producer stored before), got none');
  }
  const retryBackoffMs = requirePositiveInt('retryBackoffMs', o.retryBackoffMs ?? 100);
  return {
    producerId,
    key: o.key,
    replay: o.replay === true,
    lingerMs: nonNegativeInt('lingerMs', o.lingerMs ?? 5),
    maxBatchBytes: requirePositiveInt('maxBatchBytes', o.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES),
    bufferBytes: requirePositiveInt('bufferBytes', o.bufferBytes ?? 32 * 1024 * 1024),
    maxInFlight: requirePositiveInt('maxInFlight', o.maxInFlight ?? MAX_IN_FLIGHT, MAX_IN_FLIGHT),
    deliveryTimeoutMs: requirePositiveInt('deliveryTimeoutMs', o.deliveryTimeoutMs ?? 120_000),
    requestTimeoutMs: requirePositiveInt('requestTimeoutMs', o.requestTimeoutMs ?? 30_000),
    retryBackoffMs,
    retryBackoffMaxMs: Math.max(retryBackoffMs, requirePositiveInt('retryBackoffMaxMs', o.retryBackoffMaxMs ?? 1000)),
    maxRecordBytes: requirePositiveInt('maxRecordBytes', o.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES),
  };
}

/**
 * The key of a record as the string that is hashed, or undefined for "no
 * key" (the sticky partition). A field's value follows keyOfField (strings as
 * they are, numbers and booleans as JSON, null or missing: no key, objects
 * refused); a function's result follows the same rules.
 */
export function recordKey(key: PartitionKey | undefined, record: DatasetRecord): string | undefined {
  if (key === undefined) return undefined;
  if (typeof key === 'string') return keyOfField(record, key);
  return keyOfField({ key: key(record) }, 'key');
}
