/**
 * Where a reduce attempt's output goes: a text part file (`key<TAB>value`
 * lines), or, for a view's build, a view file (keys in order, values as
 * msgpack, checksummed blocks and an index: src/view/view-file-writer.ts)
 * that the serving layer loads as it is: no second pass over text.
 *
 * An incremental view build gives the reducer the file of the same
 * partition in the version before (`base`): the reducer's keys and the
 * base's are merged in key order, a key in both getting
 * merge(baseValue, reducedValue), a key only in the base copied byte for
 * byte, so a build costs a pass over the old view plus the new records
 * rather than a fold of the whole dataset.
 */
import { pack, unpack } from 'msgpackr';
import { errorMessage, LaminateError, NonRetryableError } from '../common/errors.js';
import { compareKeys } from '../storage/key-order.js';
import { OutputWriter } from '../storage/output-format.js';
import { ViewFileReader, type ViewEntry } from '../view/view-file-reader.js';
import type { OutputFileSummary } from '../common/task-attempt.js';
import { ViewFileWriter, type ViewFileSummary } from '../view/view-file-writer.js';

/** What the reduce runner writes through: write is sync (emit calls it); the rest awaited between groups and at the end. */
export interface ReduceOutput {
  write(key: string, value: unknown): void;
  needsFlush(): boolean;
  flush(): Promise<void>;
  /** Finishes the file: a view file's summary (what its manifest entry records), undefined for text. */
  close(): Promise<OutputFileSummary | undefined>;
  /** After a failure: removes or abandons what was written. Safe to call twice. */
  abort(): Promise<void>;
}

/** Reduced keys held before an incremental build merges them with its base (see openReduceOutput). */
const PENDING_RUN = 1024;

/** An earlier version's view file to merge with, and how values of a key in both merge. */
export interface MergeBase {
  readonly path: string;
  merge(key: string, base: unknown, fresh: unknown): unknown;
}

/** An unsorted or repeated key, or a value too large: the same on every attempt, so the build fails at once. */
function refused(err: unknown): unknown {
  if (err instanceof LaminateError && err.code === 'INVALID_ARGUMENT') return new NonRetryableError(`The view file of this reducer refused a record: ${errorMessage(err)}`, { cause: err });
  return err;
}

/** A text part file's writer as a ReduceOutput (text files have no summary). */
export function textOutput(w: OutputWriter): ReduceOutput {
  return {
    write: (key, value) => w.write(key, value),
    needsFlush: () => w.needsFlush(),
    flush: () => w.flush(),
    close: async () => {
      await w.close();
      return undefined;
    },
    abort: () => w.abort(),
  };
}

/** What a view file's writer reports, as the attempt's outcome carries it. */
function summaryOf(s: ViewFileSummary): OutputFileSummary {
  return { records: s.records, bytes: s.bytes, checksum: s.checksum, firstKey: s.firstKey, lastKey: s.lastKey };
}

/** Opens the output of one reduce attempt at `path` (its temporary path under the committer). */
export async function openReduceOutput(kind: 'text' | 'view', path: string, base?: MergeBase): Promise<ReduceOutput> {
  if (kind === 'text') return textOutput(await OutputWriter.open(path));
  // The base first: a missing or damaged base then leaves no writer open behind it.
  const reader = base === undefined ? undefined : await ViewFileReader.openStored(base.path);
  let w: ViewFileWriter;
  try {
    w = await ViewFileWriter.create(path);
  } catch (err) {
    await reader?.close();
    throw err;
  }
  const add = (key: string, bytes: Uint8Array): void => {
    try {
      w.add(key, bytes);
    } catch (err) {
      throw refused(err);
    }
  };
  if (base === undefined || reader === undefined) {
    return {
      write: (key, value) => add(key, pack(value)),
      needsFlush: () => w.needsFlush(),
      flush: () => w.flush(),
      close: async () => summaryOf(await w.finish()),
      abort: () => w.abort(),
    };
  }
  const batches = reader.scanBatches({});
  let batch: readonly ViewEntry[] = [];
  let at = 0;
  /** The base's next entry, or undefined at its end. */
  const head = async (): Promise<ViewEntry | undefined> => {
    while (at >= batch.length) {
      const next = await batches.next();
      if (next.done) return undefined;
      batch = next.value;
      at = 0;
    }
    return batch[at];
  };
  // Emits wait here until flush(): reading the base is asynchronous, emit is not. They are
  // merged in runs of PENDING_RUN, so the reduce awaits once per run, not once per key.
  const pending: Array<[string, unknown]> = [];
  const drain = async (until?: string): Promise<void> => {
    for (let e = await head(); e !== undefined && (until === undefined || compareKeys(e.key, until) < 0); e = await head()) {
      add(e.key, e.value);
      at++;
    }
  };
  const flush = async (): Promise<void> => {
    for (const [key, value] of pending.splice(0)) {
      await drain(key);
      const e = await head();
      if (e !== undefined && e.key === key) {
        add(key, pack(base.merge(key, unpack(e.value), value)));
        at++;
      } else {
        add(key, pack(value));
      }
      if (w.needsFlush()) await w.flush();
    }
  };
  const closeBase = async (): Promise<void> => {
    await batches.return(undefined);
    await reader.close();
  };
  return {
    write(key, value) {
      pending.push([key, value]);
    },
    needsFlush: () => pending.length >= PENDING_RUN || w.needsFlush(),
    async flush() {
      await flush();
      await w.flush();
    },
    async close() {
      await flush();
      await drain();
      await closeBase();
      return summaryOf(await w.finish());
    },
    async abort() {
      await closeBase().catch(() => {});
      await w.abort();
    },
  };
}
