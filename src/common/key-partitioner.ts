/**
 * Which partition a record goes to, on the producer's side.
 *
 * - With a key: hashPartition(key, partitions) (32-bit FNV-1a, the same
 *   function as the batch layer's reducers, src/common/partitioner.ts), so
 *   every record of a key lands in one partition, in append order, on every
 *   client and every Node.js version.
 * - Without a key: sticky, as Kafka's default since KIP-480. Records go to
 *   one partition until the producer closes the batch it is filling
 *   (`nextBatch()`), then to the next partition in round-robin order. This
 *   fills batches as large as per-record round robin would fill P small
 *   ones, while spreading records evenly over time. The first partition is
 *   chosen by the caller (`start`, default 0), so that several producers
 *   need not all begin on partition 0.
 * - Without a key, replaying (`runRecords` given): fixed runs of runRecords
 *   keyless records per partition in round-robin order from partition 0, so
 *   a record's partition depends only on its place in the stream, not on
 *   timing: a replay of the same stream puts each record where it went the
 *   first time, which lets the store recognise it by its sequence.
 *
 * One instance per producer and dataset; not shared between producers.
 */
import { describe, LaminateError } from '../common/errors.js';
import { hashPartition } from '../common/partitioner.js';

export class KeyPartitioner {
  private sticky: number;
  /** Replaying only: keyless records placed so far. */
  private keyless = 0;

  constructor(private readonly partitions: number, start = 0, private readonly runRecords?: number) {
    if (!Number.isSafeInteger(partitions) || partitions <= 0) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected a partition count that is a positive integer, got ${describe(partitions)}`);
    }
    if (!Number.isSafeInteger(start) || start < 0) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected a start partition that is a non-negative integer, got ${describe(start)}`);
    }
    if (runRecords !== undefined && (!Number.isSafeInteger(runRecords) || runRecords <= 0)) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected a run length that is a positive integer, got ${describe(runRecords)}`);
    }
    this.sticky = runRecords === undefined ? start % partitions : 0;
  }

  /**
   * Places one record: the partition of its key; without one, the sticky
   * partition (or, replaying, the partition of its run). Called exactly once
   * per record sent, in send order.
   */
  place(key?: string): number {
    if (key === undefined && this.runRecords !== undefined) {
      this.sticky = Math.floor(this.keyless / this.runRecords) % this.partitions;
      this.keyless++;
      return this.sticky;
    }
    return this.partition(key);
  }

  /** The partition of a record with this key; without one, the sticky partition. Places nothing. */
  partition(key?: string): number {
    if (key === undefined) return this.sticky;
    if (typeof key !== 'string') throw new LaminateError('INVALID_ARGUMENT', `Expected a key that is a string, got ${describe(key)}`);
    return hashPartition(key, this.partitions);
  }

  /** Moves keyless records on to the next partition; called when the producer closes a keyless batch. Replaying: nothing. */
  nextBatch(): void {
    if (this.runRecords !== undefined) return;
    this.sticky = (this.sticky + 1) % this.partitions;
  }
}

/**
 * A record's key taken from one of its fields (`laminate append --key
 * FIELD`): strings as they are, numbers and booleans as their JSON text;
 * undefined when the record has no such field or it is null (keyless then).
 * Objects and arrays are refused: their JSON text depends on key order.
 */
export function keyOfField(record: unknown, field: string): string | undefined {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return undefined;
  const value = (record as Record<string, unknown>)[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  throw new LaminateError('INVALID_ARGUMENT', `Expected field '${field}' of a record to be a string, number or boolean to partition by, got ${describe(value)}`);
}
