/**
 * The manifest entries of the view files a build's reducers committed: for
 * each partition its size, whole-file CRC-32, records and key range.
 *
 * The CRC is the one the file's writer computed as it wrote (the reduce
 * attempt sends its file's summary with its outcome: OutputFileSummary),
 * taken once the file as stored agrees with it: its tail, footer and index
 * open cleanly (a truncated file, or one whose tail is damaged, does not),
 * and its size, record count and first and last keys are the reported ones.
 * That reads a few kilobytes of a file. A file with no summary (its task
 * committed before the master restarted: summaries are kept in memory only),
 * or one that disagrees with it, is read whole and its CRC computed here.
 *
 * Either way the manifest then names the file's bytes: a serving node checks
 * every byte of every file against the manifest before it serves the
 * version (verify-version.ts), and a file damaged after its writer finished
 * is refused there, the version before it serving on (as for damage after
 * the publish).
 *
 * Why not read every file whole, as the master did: that pass took 108 ms
 * of the 129 ms from the serving benchmark's build job ending to its
 * version's publish (107 MB of files, bench/README.md, serving), grows with
 * the view, and on an object store downloads the whole build to the master.
 * Hadoop's committers take the same view of task outputs: the attempt's
 * own report of what it wrote, not a second read of it.
 *
 * Who calls it: the view service, once per build it publishes (again after
 * a master restart: it only reads).
 */
import { formatPartFile } from '../common/ids.js';
import type { Logger } from '../common/logger.js';
import type { OutputFileSummary } from '../common/task-attempt.js';
import { joinStorePath } from '../storage/store-path.js';
import { ViewFileReader } from '../view/view-file-reader.js';
import type { ViewManifestFile } from '../view/view-manifest.js';

/**
 * Files opened at once. Opening one is a few small reads through libuv's
 * thread pool (4 threads), or round trips to an object store; just after a
 * build the master's pool also carries the job's end (journal, committer),
 * and four files opened one after another took 9-23 ms each (the serving
 * benchmark, one run, 3 December).
 */
const PARALLEL_FILES = 4;

/** What an opened file says of itself, beside its writer's summary. */
interface Opened {
  readonly bytes: number;
  readonly records: number;
  readonly firstKey: string | undefined;
  readonly lastKey: string | undefined;
}

/** Whether a stored file is the one its writer summed up, as far as its size, tail, footer and index tell. Pure. */
export function agrees(reported: OutputFileSummary, file: Opened): boolean {
  return reported.bytes === file.bytes && reported.records === file.records
    && reported.firstKey === file.firstKey && reported.lastKey === file.lastKey
    && Number.isSafeInteger(reported.checksum) && reported.checksum >= 0 && reported.checksum <= 0xffffffff;
}

export interface BuildFiles {
  readonly files: ViewManifestFile[];
  /** Files read whole to compute their CRC (no summary, or one they disagree with); 0 in the usual case. */
  readonly readWhole: number;
}

/**
 * The entries of partitions 0..partitions-1 under `dir` (a version folder,
 * local or on an object store), in partition order. `reported(p)`: the
 * summary partition p's committed attempt sent, if the master has it.
 *
 * @throws what ViewFileReader.openStored and verify throw for a missing or damaged file (NOT_FOUND, DATA_LOSS): nothing is published then.
 */
export async function buildFiles(dir: string, partitions: number, reported: (partition: number) => OutputFileSummary | undefined, log: Logger): Promise<BuildFiles> {
  const files = new Array<ViewManifestFile>(partitions);
  let readWhole = 0;
  let next = 0;
  let failed = false;
  const one = async (p: number): Promise<void> => {
    // The part files the build job's reducers committed (FileOutputCommitter's names).
    const name = formatPartFile(p);
    const reader = await ViewFileReader.openStored(joinStorePath(dir, name));
    try {
      const entry = { name, partition: p, records: reader.records, firstKey: reader.firstKey ?? null, lastKey: reader.lastKey ?? null };
      const summary = reported(p);
      if (summary !== undefined && agrees(summary, reader)) {
        files[p] = { ...entry, bytes: reader.bytes, checksum: summary.checksum };
        return;
      }
      if (summary !== undefined) {
        log.warn({ file: name, reported: summary, bytes: reader.bytes, records: reader.records }, 'a view file differs from what its reducer reported: reading it whole');
      }
      const check = await reader.verify();
      readWhole++;
      files[p] = { ...entry, bytes: check.bytes, checksum: check.checksum };
    } finally {
      await reader.close();
    }
  };
  // A few files at once: each open waits on the file system (the thread pool, or an object store's round trips).
  await Promise.all(Array.from({ length: Math.min(PARALLEL_FILES, partitions) }, async () => {
    while (!failed && next < partitions) {
      await one(next++).catch((err: unknown) => {
        failed = true;
        throw err;
      });
    }
  }));
  return { files, readWhole };
}
