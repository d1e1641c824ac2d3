/**
 * The sort buffer of a map attempt (Hadoop's MapOutputBuffer): collects what
 * map emits, partitioned, spills sorted (and combined) runs to disk when the
 * buffer is full, and merges the spills into one data file with an index.
 */
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, LaminateError } from '../common/errors.js';
import { isThenable } from '../common/thenable.js';
import { BufferedFileWriter } from './buffered-file-writer.js';
import { CombineEmitter, type CombineFn } from './combine-emitter.js';
import { writeIndex, type MapOutput, type PartitionInfo } from './map-output-file.js';
import { mergeSpills, type Spill } from './map-output-merge.js';
import { addToGroup, emittedBytes, groupValues, isGroup, newGroup, replaceGroup, unpackValues, writeCombined, writeSorted, type SpillCounts } from './map-output-spill.js';
import { packValue, type PackedValue } from './record-codec.js';

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
  /** An existing folder: spills and the output go here, as `<name>.*`. */
  readonly workDir: string;
  /** Names this attempt's files in workDir, which attempts may share. Default 'file'. */
  readonly name?: string;
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
// Strings are counted at a byte a character: V8 keeps Latin-1 strings so, and
// the sort buffer is a fraction of the heap, leaving room for the rest.
const RECORD_OVERHEAD = 48;
const GROUP_OVERHEAD = 96;
const VALUE_SLOT = 8;

/**
 * With a combiner, a key's values are combined as soon as this many pile up
 * (Spark's map-side combine), so a frequent key holds a handful of values
 * rather than one per emit, and spills come later.
 */
export const EAGER_COMBINE_VALUES = 64;

/**
 * Collects one map attempt's output. Use: `collect` for every emitted
 * record (sync), `settle()` after each map() call (awaiting its result only
 * when it returns a promise), then `await close()` once. Memory stays near
 * `sortBufferBytes` (plus one buffer per merged spill), whatever the input
 * size.
 */
export class MapOutputCollector {
  private readonly reducers: number;
  private readonly partitionOf: (key: string) => number;
  private readonly emitter: CombineEmitter | undefined;
  private readonly sortBufferBytes: number;
  private readonly workDir: string;
  private readonly name: string;
  private readonly mergeFactor: number;
  private readonly minSpillsForCombine: number;
  // Without a combiner: keys and values per partition, in emit order.
  private keys: string[][] = [];
  private values: unknown[][] = [];
  // With a combiner: values per key (all partitions), in emit order; the
  // partition is worked out once per distinct key, at spill time. A key with
  // one value maps to the value itself (a string, number or PackedValue),
  // one with more to a ValueGroup.
  private groups = new Map<string, unknown>();
  // Keys whose values reached EAGER_COMBINE_VALUES since they were last combined.
  private due: string[] = [];
  private eagerCombineOutput = 0;
  // Whether any buffered value may be a PackedValue (to unpack before combining).
  private hasPacked = false;
  private readonly combineFn: CombineFn | undefined;
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
    this.combineFn = options.combine;
    this.sortBufferBytes = sortBufferBytes;
    this.workDir = options.workDir;
    this.name = options.name ?? 'file';
    this.resetBuffers();
  }

  private resetBuffers(): void {
    this.keys = [];
    this.values = [];
    this.groups = new Map();
    this.due = [];
    this.hasPacked = false;
    if (this.emitter === undefined) {
      for (let p = 0; p < this.reducers; p++) {
        this.keys.push([]);
        this.values.push([]);
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
    if (typeof key !== 'string' || this.closing !== undefined) this.rejectEmit(key);
    let v = value;
    let size: number;
    if (typeof value === 'number') size = 16;
    else if (typeof value === 'string') size = 16 + value.length;
    else {
      v = this.pack(value);
      size = 96 + (v as PackedValue).bytes.length;
    }
    if (this.emitter === undefined) size += this.collectPlain(key, v);
    else {
      // The common path with a combiner: one Map lookup, and a counter
      // increment or an array slot for a key seen before.
      const groups = this.groups;
      const group = groups.get(key);
      if (group === undefined) {
        groups.set(key, v);
        size += key.length + GROUP_OVERHEAD;
      } else {
        size += VALUE_SLOT;
        if (!isGroup(group)) groups.set(key, newGroup(group, v));
        else if (addToGroup(group, v) === EAGER_COMBINE_VALUES) this.due.push(key);
      }
    }
    this.bufferedBytes += size;
    this.buffered++;
    this.mapOutputRecords++;
  }

  /** Throws the error of an emit collect() refuses: a key that is no string, or an emit after close(). */
  private rejectEmit(key: unknown): never {
    if (typeof key !== 'string') {
      throw new LaminateError('INVALID_ARGUMENT', `Expected emit's key to be a string, got ${describe(key)}`);
    }
    throw new LaminateError('FAILED_PRECONDITION', `Expected emit before the map output is closed, got emit of key '${key}' after`);
  }

  /** Encodes a value that is neither a string nor a number, as emitted. */
  private pack(value: unknown): PackedValue {
    const packed = packValue(value);
    this.hasPacked = true;
    return packed;
  }

  /** Buffers one record without a combiner; returns its key's share of the estimated size. */
  private collectPlain(key: string, v: unknown): number {
    const p = this.checkedPartition(key);
    this.keys[p]!.push(key);
    this.values[p]!.push(v);
    return key.length + RECORD_OVERHEAD;
  }

  private checkedPartition(key: string): number {
    const p = this.partitionOf(key);
    if (p >>> 0 !== p || p >= this.reducers) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected the partition of key '${key}' to be an integer in [0, ${this.reducers}), got ${describe(p)}`);
    }
    return p;
  }

  /**
   * Combines the keys whose values piled up, then spills if the buffer is
   * full. Called by the map runner after each map() call; returns a promise
   * only when there is something to wait for (an async combiner, a spill).
   */
  settle(): Promise<void> | undefined {
    if (this.due.length > 0) {
      const pending = this.combineDue();
      if (pending !== undefined) return pending.then(() => this.spillIfNeeded());
    }
    return this.bufferedBytes >= this.sortBufferBytes ? this.spill() : undefined;
  }

  private combineDue(): Promise<void> | undefined {
    while (this.due.length > 0) {
      const key = this.due.pop()!;
      const pending = this.combineNow(key);
      if (pending !== undefined) return pending.then(() => this.combineDue());
    }
    return undefined;
  }

  /** Replaces one key's buffered values by what the combiner makes of them. */
  private combineNow(key: string): Promise<void> | undefined {
    const group = this.groups.get(key);
    const combine = this.combineFn;
    if (!isGroup(group) || combine === undefined) return undefined;
    const values = groupValues(group);
    this.counts.outputBytes += emittedBytes(key, values, group.combined);
    this.counts.combineInput += values.length;
    const out: unknown[] = [];
    const emit = (k: string, value: unknown): void => {
      if (k !== key) throw new LaminateError('INVALID_ARGUMENT', `Expected combine to emit the key it was given ('${key}'), got ${describe(k)}`);
      if (typeof value === 'string' || typeof value === 'number') out.push(value);
      else {
        this.hasPacked = true;
        out.push(packValue(value));
      }
    };
    const n = values.length;
    const replace = (): void => {
      replaceGroup(group, out);
      this.eagerCombineOutput += out.length;
      this.bufferedBytes -= Math.max(0, n - out.length) * VALUE_SLOT;
    };
    const done = combine(key, this.hasPacked ? unpackValues(values) : values, emit);
    if (isThenable(done)) {
      return Promise.resolve(done).then(replace);
    }
    replace();
    return undefined;
  }

  /** Whether the buffer has reached sortBufferBytes. Cheap; call any time. */
  needsSpill(): boolean {
    return this.bufferedBytes >= this.sortBufferBytes;
  }

  /**
   * Spills the buffer when it is full; calling it again right after is a
   * no-op. settle() does this (after combining) for the map runner; this
   * entry point spills without combining what is due first.
   */
  async spillIfNeeded(): Promise<void> {
    if (this.bufferedBytes >= this.sortBufferBytes) await this.spill();
  }

  /** Writes the buffered records, sorted per partition, to a new spill file. */
  private async spill(finalPath?: string): Promise<void> {
    const path = finalPath ?? join(this.workDir, `${this.name}.spill${this.spills.length}`);
    const w = await BufferedFileWriter.open(path);
    const partitions: PartitionInfo[] = [];
    const recordsBefore = this.counts.records;
    // With a combiner: each partition's distinct keys and their values, as parallel arrays.
    const partKeys: string[][] = [];
    const partGroups: unknown[][] = [];
    if (this.emitter !== undefined) {
      for (let p = 0; p < this.reducers; p++) {
        partKeys.push([]);
        partGroups.push([]);
      }
      // forEach, not for-of: no entry array per key.
      this.groups.forEach((group, key) => {
        const p = this.checkedPartition(key);
        partKeys[p]!.push(key);
        partGroups[p]!.push(group);
      });
      this.groups = new Map();
    }
    try {
      for (let p = 0; p < this.reducers; p++) {
        const offset = w.position;
        const before = this.counts.records;
        if (this.emitter === undefined) await writeSorted(this.keys[p]!, this.values[p]!, w, this.counts);
        else await writeCombined(partKeys[p]!, partGroups[p]!, w, this.emitter, this.counts, this.hasPacked);
        partitions.push({ offset, length: w.position - offset, records: this.counts.records - before });
        // Let the garbage collector take this partition while the next is written.
        if (this.emitter === undefined) {
          this.keys[p] = [];
          this.values[p] = [];
        } else {
          partKeys[p] = [];
          partGroups[p] = [];
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
   * Spills what is left and merges every spill into `workDir/<name>.out`,
   * with its index as the file's footer. Called once by the map runner when map is done;
   * calling it again returns the same result without redoing the work.
   */
  close(): Promise<MapOutput> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<MapOutput> {
    const dataPath = join(this.workDir, `${this.name}.out`);
    // Nothing spilled yet (the usual case): the one spill is the output.
    if (this.spills.length === 0) await this.spill(dataPath);
    else if (this.buffered > 0) await this.spill();
    let partitions: readonly PartitionInfo[];
    const only = this.spills.length === 1 ? this.spills[0] : undefined;
    if (only !== undefined) {
      if (only.path !== dataPath) await rename(only.path, dataPath);
      partitions = only.partitions;
    } else {
      const combine = this.emitter !== undefined && this.spills.length >= this.minSpillsForCombine ? this.emitter : undefined;
      const merged = await mergeSpills(this.spills, dataPath, { combine, factor: this.mergeFactor, tmpDir: this.workDir });
      partitions = merged.partitions;
      this.spilledRecords += merged.records;
      this.counts.combineInput += merged.combineInput;
      await Promise.all(this.spills.map((s) => rm(s.path, { force: true })));
    }
    writeIndex(dataPath, partitions);
    return { dataPath, partitions };
  }

  /** The counters so far; exact once close() has resolved. Cheap. */
  counters(): MapOutputCounters {
    return {
      mapOutputRecords: this.mapOutputRecords,
      mapOutputBytes: this.counts.outputBytes,
      combineInputRecords: this.counts.combineInput,
      combineOutputRecords: (this.emitter?.emitted ?? 0) + this.eagerCombineOutput,
      spilledRecords: this.spilledRecords,
    };
  }
}
