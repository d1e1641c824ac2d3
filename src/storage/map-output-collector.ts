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
import { CombinedValues, CombiningBuffer, type CombinedPartition } from './combining-buffer.js';
import { mapOutputFileName, writeIndex, type MapOutput, type PartitionInfo } from './map-output-file.js';
import { mergeSpills, type Spill } from './map-output-merge.js';
import { writeCombined, writeSorted, type SpillCounts } from './map-output-spill.js';
import { utf8Length } from './byte-sink.js';
import { encodedValueSize, packValue } from './record-codec.js';
import { EncodedRecords } from './encoded-records.js';

export type { CombineFn } from './combine-emitter.js';
export { EAGER_COMBINE_RUN_LENGTH, EAGER_COMBINE_RUNS } from './combining-buffer.js';
export type { MapOutput, PartitionInfo } from './map-output-file.js';

/**
 * When map-side combining stops paying (Trino's adaptive partial
 * aggregation, `adaptive_partial_aggregation.min_rows` and
 * `unique_rows_ratio_threshold`): once `minRecords` records are buffered
 * since the last spill, if the distinct keys among them are more than
 * `maxDistinctRatio` of the records, the combiner hardly shrinks anything
 * (a key seen once is passed through as it is), while the hash table, the
 * per-key slots and the combine calls cost more than the records they
 * save. The attempt then combines what it holds once, and buffers the rest
 * of its output plainly, sorted at each spill; the reducers (and the final
 * merge of several spills) still combine. A combiner may run any number of
 * times, so results do not change.
 */
export interface AdaptiveCombine {
  /** Records buffered before the ratio is judged (> 0). */
  readonly minRecords: number;
  /** Distinct keys per record above which combining stops, in (0, 1]. */
  readonly maxDistinctRatio: number;
}

/**
 * Judged after 20,000 records, stopped above 0.8 distinct keys per record
 * (Trino's ratio; Trino judges after 100,000 rows). The records judged go
 * through the table and are combined once more before they move: on the
 * serving benchmark's map task (500,000 records, 80% distinct keys) judging
 * at 100,000 saved 0.3 CPU-s of 2.9, at 20,000 1.2 CPU-s; 20,000 is still
 * plenty to tell a word count's repeats from unique keys.
 */
export const ADAPTIVE_COMBINE: AdaptiveCombine = { minRecords: 20_000, maxDistinctRatio: 0.8 };

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
  /** When to stop combining on the map side; false: never stop. Default ADAPTIVE_COMBINE. */
  readonly adaptiveCombine?: AdaptiveCombine | false;
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

// Rough cost of a record without a combiner beside its encoded bytes
// (EncodedRecords): its location's array slot, and at the spill its sort's
// arrays (record-key-sort.ts: about 40 bytes, and 16 more per level of keys
// tied on their first bytes past those they all share); with the key's length added
// (pushPlain), as when a key string was kept per record, so that spills come
// where they did: an over-estimate, on the safe side. (With a combiner,
// CombiningBuffer keeps its own estimate.)
const RECORD_OVERHEAD = 48;

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
  /** With a combiner, until adaptive combining stops it: the values of each distinct key (all partitions). */
  private table: CombiningBuffer | undefined;
  private readonly adaptive: AdaptiveCombine | false;
  /** Buffered records at which the distinct-key ratio is next judged (Infinity: not in this spill). */
  private judgeAt = Infinity;
  /** COMBINE_OUTPUT_RECORDS of the table once it is dropped. */
  private tableCombineOutput = 0;
  /** Bytes of combined records carried into the plain buffers, already counted in outputBytes by the table. */
  private carriedBytes = 0;
  private readonly sortBufferBytes: number;
  private readonly workDir: string;
  private readonly name: string;
  private readonly mergeFactor: number;
  private readonly minSpillsForCombine: number;
  // Without a combiner: the locations of the records in `encoded`, per partition, in emit order.
  private locations: number[][] = [];
  /** Without a combiner: the buffered records' bytes, encoded at emit. */
  private readonly encoded = new EncodedRecords();
  /** Without a combiner: key and value bytes of the records buffered, counted in outputBytes at the spill. */
  private plainOutputBytes = 0;
  // Records collected since the last spill.
  private buffered = 0;
  // Without a combiner: the estimated bytes buffered.
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
    this.table = options.combine === undefined ? undefined : new CombiningBuffer(options.combine, this.counts);
    this.adaptive = options.adaptiveCombine ?? ADAPTIVE_COMBINE;
    if (this.adaptive !== false && !(this.adaptive.minRecords > 0 && this.adaptive.maxDistinctRatio > 0 && this.adaptive.maxDistinctRatio <= 1)) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected adaptiveCombine to have minRecords > 0 and maxDistinctRatio in (0, 1], got ${JSON.stringify(this.adaptive)}`);
    }
    this.sortBufferBytes = sortBufferBytes;
    this.workDir = options.workDir;
    this.name = options.name ?? 'file';
    this.resetBuffers();
  }

  private resetBuffers(): void {
    this.locations = [];
    this.encoded.reset();
    this.plainOutputBytes = 0;
    this.table?.reset();
    if (this.table === undefined) {
      for (let p = 0; p < this.reducers; p++) this.locations.push([]);
    }
    this.buffered = 0;
    this.bufferedBytes = 0;
    this.judgeAt = this.table !== undefined && this.adaptive !== false ? this.adaptive.minRecords : Infinity;
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
    const v = typeof value === 'number' || typeof value === 'string' ? value : packValue(value);
    // With a combiner (the common path): one Map lookup, and a counter
    // increment for a key's repeated value.
    if (this.table !== undefined) this.table.add(key, v);
    else this.collectPlain(key, v);
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

  /** Buffers one record without a combiner: its bytes encoded now, where they are kept for the sort. */
  private collectPlain(key: string, v: unknown): void {
    this.pushPlain(this.checkedPartition(key), key, v);
  }

  private pushPlain(p: number, key: string, v: unknown): void {
    const encoded = this.encoded;
    const before = encoded.bytes;
    this.locations[p]!.push(encoded.add(key, v));
    this.plainOutputBytes += encoded.lastBytes;
    this.bufferedBytes += key.length + RECORD_OVERHEAD + (encoded.bytes - before);
  }

  /** The estimated bytes buffered. */
  private bufferedSize(): number {
    return this.table !== undefined ? this.table.bytes : this.bufferedBytes;
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
    const table = this.table;
    if (table !== undefined && table.hasDue()) {
      const pending = table.combineDue();
      if (pending !== undefined) return pending.then(() => this.spillIfNeeded());
    }
    if (this.buffered >= this.judgeAt) return this.judgeCombining();
    return this.bufferedSize() >= this.sortBufferBytes ? this.spill() : undefined;
  }

  /**
   * Judges whether combining pays (see AdaptiveCombine). When the buffered
   * records are mostly distinct keys, the combiner runs once on what the
   * table holds and its output moves to the plain buffers, where the rest
   * of the attempt's output goes too; otherwise the table stays until the
   * next spill. Called by settle() once per spill window.
   */
  private async judgeCombining(): Promise<void> {
    this.judgeAt = Infinity;
    const table = this.table;
    const adaptive = this.adaptive;
    if (table === undefined || adaptive === false || table.keyCount <= adaptive.maxDistinctRatio * this.buffered) {
      await this.spillIfNeeded();
      return;
    }
    const parts = await table.combineAll(this.reducers, (key) => this.checkedPartition(key));
    this.tableCombineOutput = table.combineOutput;
    this.table = undefined;
    const buffered = this.buffered;
    this.resetBuffers();
    this.buffered = buffered;
    for (let p = 0; p < this.reducers; p++) {
      const { keys, values } = parts[p]!;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const v = values[i];
        for (const each of v instanceof CombinedValues ? v.values : [v]) {
          this.pushPlain(p, key, each);
          this.carriedBytes += utf8Length(key) + encodedValueSize(each);
        }
      }
    }
    await this.spillIfNeeded();
  }

  /** Whether the buffer has reached sortBufferBytes. Cheap; call any time. */
  needsSpill(): boolean {
    return this.bufferedSize() >= this.sortBufferBytes;
  }

  /**
   * Spills the buffer when it is full; calling it again right after is a
   * no-op. settle() does this (after combining) for the map runner; this
   * entry point spills without combining what is due first.
   */
  async spillIfNeeded(): Promise<void> {
    if (this.bufferedSize() >= this.sortBufferBytes) await this.spill();
  }

  /** Writes the buffered records, sorted per partition, to a new spill file. */
  private async spill(finalPath?: string): Promise<void> {
    const path = finalPath ?? join(this.workDir, `${this.name}.spill${this.spills.length}`);
    const w = await BufferedFileWriter.open(path);
    const partitions: PartitionInfo[] = [];
    const recordsBefore = this.counts.records;
    try {
      // With a combiner: what it made of each key, per partition.
      const parts: (CombinedPartition | undefined)[] | undefined = await this.table?.combineAll(this.reducers, (key) => this.checkedPartition(key));
      for (let p = 0; p < this.reducers; p++) {
        const offset = w.position;
        const before = this.counts.records;
        if (parts === undefined) {
          await writeSorted(this.locations[p]!, this.encoded, w);
          this.counts.records += this.locations[p]!.length;
          // Let the garbage collector take this partition while the next is written.
          this.locations[p] = [];
        } else {
          this.counts.records += await writeCombined(parts[p]!, w);
          parts[p] = undefined;
        }
        partitions.push({ offset, length: w.position - offset, records: this.counts.records - before });
      }
      await w.close();
    } catch (err) {
      await w.abandon();
      throw err;
    }
    this.counts.outputBytes += this.plainOutputBytes;
    // The combined records carried over were counted by the table when map emitted them.
    this.counts.outputBytes -= this.carriedBytes;
    this.carriedBytes = 0;
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
    const dataPath = join(this.workDir, mapOutputFileName(this.name));
    // Nothing spilled yet (the usual case): the one spill is the output.
    if (this.spills.length === 0) await this.spill(dataPath);
    else if (this.buffered > 0) await this.spill();
    this.encoded.release();
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
      combineOutputRecords: (this.emitter?.emitted ?? 0) + (this.table?.combineOutput ?? this.tableCombineOutput),
      spilledRecords: this.spilledRecords,
    };
  }
}
