/**
 * The final merge of a map attempt: every spill's partitions merged into one
 * data file, partition after partition, combining again when asked.
 */
import { BufferedFileWriter } from './buffered-file-writer.js';
import type { CombineEmitter } from './combine-emitter.js';
import type { PartitionInfo } from './map-output-file.js';
import { mergeGroups, mergeRecords } from './merger.js';
import { fileRun } from './sorted-run.js';

/** A spill file and where each partition lies in it. */
export interface Spill {
  readonly path: string;
  readonly partitions: readonly PartitionInfo[];
}

/** Options of mergeSpills. */
export interface MergeSpillsOptions {
  /** Combine each key group while merging; undefined copies records as they are. */
  readonly combine: CombineEmitter | undefined;
  readonly factor: number;
  /** Where multi-pass merges put temporary runs. */
  readonly tmpDir: string;
}

/**
 * Merges `spills` into `dataPath`. Returns the partitions of the merged
 * file, the records written and the records handed to the combiner. Called
 * once per map attempt by MapOutputCollector.close(); overwrites `dataPath`.
 */
export async function mergeSpills(
  spills: readonly Spill[],
  dataPath: string,
  options: MergeSpillsOptions,
): Promise<{ partitions: PartitionInfo[]; records: number; combineInput: number }> {
  const { combine, factor, tmpDir } = options;
  const reducers = spills[0]?.partitions.length ?? 0;
  const w = await BufferedFileWriter.open(dataPath);
  const partitions: PartitionInfo[] = [];
  let total = 0;
  let combineInput = 0;
  try {
    for (let p = 0; p < reducers; p++) {
      const runs = [];
      for (const spill of spills) {
        const part = spill.partitions[p];
        if (part !== undefined && part.length > 0) runs.push(fileRun(spill.path, part.offset, part.length));
      }
      const offset = w.position;
      let records: number;
      if (combine === undefined) {
        records = await mergeRecords(runs, (s) => {
          w.writeBytes(s.buf, s.recordStart, s.valueEnd);
          return w.needsFlush() ? w.flush() : undefined;
        }, { factor, tmpDir });
      } else {
        combine.setSink(w);
        const before = combine.emitted;
        await mergeGroups(runs, (key, values) => {
          combineInput += values.length;
          const done = combine.run(key, values);
          if (done !== undefined) return done.then(() => (w.needsFlush() ? w.flush() : undefined));
          return w.needsFlush() ? w.flush() : undefined;
        }, { factor, tmpDir });
        records = combine.emitted - before;
      }
      partitions.push({ offset, length: w.position - offset, records });
      total += records;
    }
    await w.close();
  } catch (err) {
    await w.abandon();
    throw err;
  }
  return { partitions, records: total, combineInput };
}
