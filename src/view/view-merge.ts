/**
 * A scan over a whole view version: the scans of its files (one per
 * reducer partition, keys spread among them by hash) merged into one key
 * order, as LevelDB's MergingIterator (table/merger.cc) merges its tables.
 *
 * The merge works on batches (ViewFileReader.scanBatches: one array per
 * block), so it awaits once per block of a source rather than once per
 * entry, and yields batches, which the serving layer sends as the messages
 * of a Scan stream.
 */
import { LaminateError } from '../common/errors.js';
import { compareKeys } from '../storage/key-order.js';
import type { ViewEntry } from './view-file-reader.js';

/** The one key order (src/storage/key-order.ts), for the serving layer, which reads storage only through view/. */
export { compareKeys } from '../storage/key-order.js';

/** Options of mergeScanBatches. */
export interface MergeOptions {
  /** At most this many entries in all. Default: no limit. */
  readonly limit?: number;
  /** Entries per batch yielded (the last may be shorter). Default 1024. */
  readonly batchSize?: number;
}

/** One source's place: its current batch and the next entry in it. */
interface Head {
  readonly it: AsyncIterator<readonly ViewEntry[], unknown, undefined>;
  batch: readonly ViewEntry[];
  i: number;
  readonly source: number;
}

/**
 * Yields the entries of every source in ascending key order, in batches
 * of `batchSize`, at most `limit` entries. Sources yield batches, each in
 * key order, and share no key (files of one version never do: a key in two
 * of them, or a source out of order, is DATA_LOSS). A binary heap of the
 * sources' next entries picks each one. Ending early (limit, break, an
 * error) returns every source, so their files can close. Called by the
 * serving layer once per Scan of a version.
 */
export async function* mergeScanBatches(sources: readonly AsyncIterable<readonly ViewEntry[]>[], options: MergeOptions = {}): AsyncGenerator<ViewEntry[], void, undefined> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const batchSize = options.batchSize ?? 1024;
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const open = new Set(iterators);
  /** The next non-empty batch of a source, or undefined at its end (then it is no longer open). */
  const nextBatch = async (it: AsyncIterator<readonly ViewEntry[], unknown, undefined>): Promise<readonly ViewEntry[] | undefined> => {
    for (;;) {
      const r = await it.next();
      if (r.done === true) {
        open.delete(it);
        return undefined;
      }
      if (r.value.length > 0) return r.value;
    }
  };
  try {
    if (limit <= 0) return;
    const firsts = await Promise.all(iterators.map(nextBatch));
    const heap: Head[] = [];
    firsts.forEach((batch, source) => {
      if (batch !== undefined) push(heap, { it: iterators[source]!, batch, i: 0, source });
    });
    let remaining = limit;
    let out: ViewEntry[] = [];
    let previous: string | undefined;
    while (heap.length > 0) {
      const top = heap[0]!;
      const entry = top.batch[top.i]!;
      if (previous !== undefined && compareKeys(previous, entry.key) >= 0) {
        throw new LaminateError('DATA_LOSS', `Expected the files of a view version to hold each key once and in order, got ${JSON.stringify(entry.key)} after ${JSON.stringify(previous)} (from source ${top.source})`);
      }
      previous = entry.key;
      out.push(entry);
      if (--remaining === 0) break;
      if (out.length >= batchSize) {
        yield out;
        out = [];
      }
      if (++top.i === top.batch.length) {
        const batch = await nextBatch(top.it);
        if (batch === undefined) {
          pop(heap);
          continue;
        }
        top.batch = batch;
        top.i = 0;
      }
      siftDown(heap, 0);
    }
    if (out.length > 0) yield out;
  } finally {
    await Promise.all(
      [...open].map(async (it) => {
        await it.return?.();
      }),
    );
  }
}

/** mergeScanBatches' entries one by one, at most `limit`. */
export async function* mergeScans(sources: readonly AsyncIterable<readonly ViewEntry[]>[], limit?: number): AsyncGenerator<ViewEntry, void, undefined> {
  for await (const batch of mergeScanBatches(sources, limit === undefined ? {} : { limit })) yield* batch;
}

function keyOf(h: Head): string {
  return h.batch[h.i]!.key;
}

function less(a: Head, b: Head): boolean {
  return compareKeys(keyOf(a), keyOf(b)) < 0;
}

function push(heap: Head[], h: Head): void {
  heap.push(h);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!less(heap[i]!, heap[parent]!)) break;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

function pop(heap: Head[]): void {
  const last = heap.pop()!;
  if (heap.length === 0) return;
  heap[0] = last;
  siftDown(heap, 0);
}

function siftDown(heap: Head[], i: number): void {
  const n = heap.length;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < n && less(heap[l]!, heap[m]!)) m = l;
    if (r < n && less(heap[r]!, heap[m]!)) m = r;
    if (m === i) return;
    [heap[i], heap[m]] = [heap[m]!, heap[i]!];
    i = m;
  }
}
