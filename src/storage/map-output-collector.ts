/**
 * The sort buffer of a map attempt (Hadoop's MapOutputBuffer): collects what
 * map emits, partitioned, spills sorted (and combined) runs to disk when the
 * buffer is full, and merges the spills into one data file with an index.
 */
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, LaminateError } from '../common/errors.js';
import { BufferedFileWriter } from './buffered-file-writer.js';
import { CombineEmitter, type CombineFn } from './combine-emitter.js';
import { writeIndex, type MapOutput, type PartitionInfo } from './map-output-file.js';
import { mergeSpills, type Spill } from './map-output-merge.js';
import { writeCombined, writeSorted, type SpillCounts } from './map-output-spill.js';
import { packValue } from './record-codec.js';

export type { CombineFn } from './combine-emitter.js';
export type { MapOutput, PartitionInfo } from './map-output-file.js';

/** Options of a MapOutputCollector. */
export interface MapOutputCollectorOptions {
  /** Number of reduce partitions, >= 1. */
  readonly reducers: number;
  /** The partition of a key, an integer in [0, reducers). */
  readonly partition: (key: string) => number;
  /** The job's combiner, if any; it must emit only the key it is given. */
  readonly combine?: CombineFn;
  /** Spill once the estimated buffered bytes reach this (> 0). */
  readonly sortBufferBytes: number;
  /** An existing folder private to this attempt: spills and the output go here. */
  readonly workDir: string;
  /** Most spills merged at once (Hadoop's io.sort.factor). Default 64. */
  readonly mergeFactor?: number;
  /** Combine during the final merge when there are at least this many spills. Default 2. */
  readonly minSpillsForCombine?: number;
}

/** The collector's counters, named after Hadoop's task counters. */
export interface MapOutputCounters {
  /** Records emitted by map. */
  mapOutputRecords: number;
  /** Key and value bytes of those records (framing excluded); counted as they are spilled. */
  mapOutputBytes: number;
  combineInputRecords: number;
  combineOutputRecords: number;
  /** Records written to spills, plus those written by the final merge. */
  spilledRecords: number;
}

// Rough heap costs, to keep memory near sortBufferBytes. Without a combiner a
// record holds a key string and two array slots; with one, a repeated key
// costs only the value's slot in its group.
const RECORD_OVERHEAD = 48;
const GROUP_OVERHEAD = 96;
const VALUE_SLOT = 8;

/**
 * Collects one map attempt's output. Use: `collect` for every emitted
 * record (sync), `await spillIfNeeded()` after each map() call, then
 * `await close()` once. Memory stays near `sortBufferBytes` (plus one
 * buffer per merged spill), whatever the input size.
 */
export class MapOutputCollector {
  private readonly reducers: number;
  private readonly partitionOf: (key: string) => number;
  private readonly emitter: CombineEmitter | undefined;
  private readonly sortBufferBytes: number;
  private readonly workDir: string;
  private readonly mergeFactor: number;
  private readonly minSpillsForCombine: number;
  // Without a combiner: keys and values per partition, in emit order.
  private keys: string[][] = [];
  private values: unknown[][] = [];
  // With a combiner: values per key per partition, in emit order.
  private groups: Map<string, unknown[]>[] = [];
  private buffered = 0;
  private bufferedBytes = 0;
  private readonly spills: Spill[] = [];
  private closing: Promise<MapOutput> | undefined;
  private readonly counts: SpillCounts = { records: 0, outputBytes: 0, combineInput: 0 };
  private mapOutputRecords = 0;
  private spilledRecords = 0;

  constructor(options: MapOutputCollectorOptions) {
    const { reducers, sortBufferBytes } = options;
    if (!Number.isSafeInteger(reducers) || reducers < 1) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected reducers to be a positive integer, got ${describe(reducers)}`);
    }
    if (!Number.isSafeInteger(sortBufferBytes) || sortBufferBytes <= 0) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected sortBufferBytes to be a positive integer, got ${describe(sortBufferBytes)}`);
    }
    this.mergeFactor = options.mergeFactor ?? 64;
    this.minSpillsForCombine = options.minSpillsForCombine ?? 2;
    this.reducers = reducers;
    this.partitionOf = options.partition;
    this.emitter = options.combine === undefined ? undefined : new CombineEmitter(options.combine);
    this.sortBufferBytes = sortBufferBytes;
    this.workDir = options.workDir;
    this.resetBuffers();
  }

  private resetBuffers(): void {
    this.keys = [];
    this.values = [];
    this.groups = [];
    for (let p = 0; p < this.reducers; p++) {
      if (this.emitter === undefined) {
        this.keys.push([]);
        this.values.push([]);
      } else {
        this.groups.push(new Map());
      }
    }
    this.buffered = 0;
    this.bufferedBytes = 0;
  }

  /**
   * Buffers one emitted record. Called by the map runner for every record map
   * emits: the hot path, sync. Objects are encoded at once, so changing them
   * after emit changes nothing.
   *
   * @throws LaminateError INVALID_ARGUMENT when the key is not a string or
   *   the partition function returns no valid partition; FAILED_PRECONDITION
   *   after close().
   */
  collect(key: string, value: unknown): void {
    if (typeof key !== 'string') {
      throw new LaminateError('INVALID_ARGUMENT', `Expected emit's key to be a string, got ${describe(key)}`);
    }
    if (this.closing !== undefined) {
      throw new LaminateError('FAILED_PRECONDITION', `Expected emit before the map output is closed, got emit of key '${key}' after`);
    }
    const p = this.partitionOf(key);
    if (p >>> 0 !== p || p >= this.reducers) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected the partition of key '${key}' to be an integer in [0, ${this.reducers}), got ${describe(p)}`);
    }
    let v = value;
    let size: number;
    if (typeof value === 'string') size = 16 + value.length * 2;
    else if (typeof value === 'number') size = 16;
    else {
      const packed = packValue(value);
      v = packed;
      size = 96 + packed.bytes.length;
    }
    if (this.emitter === undefined) {
      this.keys[p]!.push(key);
      this.values[p]!.push(v);
      size += key.length * 2 + RECORD_OVERHEAD;
    } else {
      const group = this.groups[p]!;
      const values = group.get(key);
      if (values === undefined) {
        group.set(key, [v]);
        size += key.length * 2 + GROUP_OVERHEAD;
      } else {
        values.push(v);
        size += VALUE_SLOT;
      }
    }
    this.bufferedBytes += size;
    this.buffered++;
    this.mapOutputRecords++;
  }

  /** Whether the buffer has reached sortBufferBytes. Cheap; call any time. */
  needsSpill(): boolean {
    return this.bufferedBytes >= this.sortBufferBytes;
  }

  /**
   * Spills the buffer when it is full. Called by the map runner after each
   * map() call; calling it again right after is a no-op.
   */
  async spillIfNeeded(): Promise<void> {
    if (this.bufferedBytes >= this.sortBufferBytes) await this.spill();
  }

  /** Writes the buffered records, sorted per partition, to a new spill file. */
  private async spill(): Promise<void> {
    const path = join(this.workDir, `spill${this.spills.length}.out`);
    const w = await BufferedFileWriter.open(path);
    const partitions: PartitionInfo[] = [];
    const recordsBefore = this.counts.records;
    try {
      for (let p = 0; p < this.reducers; p++) {
        const offset = w.position;
        const before = this.counts.records;
        if (this.emitter === undefined) await writeSorted(this.keys[p]!, this.values[p]!, w, this.counts);
        else await writeCombined(this.groups[p]!, w, this.emitter, this.counts);
        partitions.push({ offset, length: w.position - offset, records: this.counts.records - before });
        // Let the garbage collector take this partition while the next is written.
        if (this.emitter === undefined) {
          this.keys[p] = [];
          this.values[p] = [];
        } else {
          this.groups[p] = new Map();
        }
      }
      await w.close();
    } catch (err) {
      await w.abandon();
      throw err;
    }
    this.spills.push({ path, partitions });
    this.spilledRecords += this.counts.records - recordsBefore;
    this.resetBuffers();
  }

  /**
   * Spills what is left and merges every spill into `workDir/file.out` and
   * `workDir/file.index`. Called once by the map runner when map is done;
   * calling it again returns the same result without redoing the work.
   */
  close(): Promise<MapOutput> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<MapOutput> {
    if (this.buffered > 0 || this.spills.length === 0) await this.spill();
    const dataPath = join(this.workDir, 'file.out');
    const indexPath = join(this.workDir, 'file.index');
    let partitions: readonly PartitionInfo[];
    const only = this.spills.length === 1 ? this.spills[0] : undefined;
    if (only !== undefined) {
      await rename(only.path, dataPath);
      partitions = only.partitions;
    } else {
      const combine = this.emitter !== undefined && this.spills.length >= this.minSpillsForCombine ? this.emitter : undefined;
      const merged = await mergeSpills(this.spills, dataPath, { combine, factor: this.mergeFactor, tmpDir: this.workDir });
      partitions = merged.partitions;
      this.spilledRecords += merged.records;
      this.counts.combineInput += merged.combineInput;
      await Promise.all(this.spills.map((s) => rm(s.path, { force: true })));
    }
    await writeIndex(indexPath, partitions);
    return { dataPath, indexPath, partitions };
  }

  /** The counters so far; exact once close() has resolved. Cheap. */
  counters(): MapOutputCounters {
    return {
      mapOutputRecords: this.mapOutputRecords,
      mapOutputBytes: this.counts.outputBytes,
      combineInputRecords: this.counts.combineInput,
      combineOutputRecords: this.emitter?.emitted ?? 0,
      spilledRecords: this.spilledRecords,
    };
  }
}
