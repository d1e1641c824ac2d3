/**
 * A scan over a whole view version: the scans of its files (one per
 * reducer partition, keys spread among them by hash) merged into one key
 * order, as LevelDB's MergingIterator (table/merger.cc) merges its tables.
 */
import { LaminateError } from '../common/errors.js';
import { compareKeys } from '../storage/key-order.js';
import type { ViewEntry } from './view-file-reader.js';

interface Head {
  readonly it: AsyncIterator<ViewEntry, unknown, undefined>;
  entry: ViewEntry;
  readonly source: number;
}

/**
 * Yields the entries of every source in ascending key order, at most
 * `limit` of them. Sources must each be in key order and share no key
 * (files of one version never do: a key that appears in two is DATA_LOSS).
 * A binary heap of the sources' next entries picks each one. Ending early
 * (limit, break, an error) returns every source, so their files can close.
 * Called by the serving layer once per Scan of a version.
 */
export async function* mergeScans(sources: readonly AsyncIterable<ViewEntry>[], limit = Number.POSITIVE_INFINITY): AsyncGenerator<ViewEntry, void, undefined> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const open = new Set(iterators);
  try {
    if (limit <= 0) return;
    const firsts = await Promise.all(iterators.map((it) => it.next()));
    const heap: Head[] = [];
    firsts.forEach((r, source) => {
      if (r.done === true) open.delete(iterators[source]!);
      else push(heap, { it: iterators[source]!, entry: r.value, source });
    });
    let remaining = limit;
    while (heap.length > 0) {
      const top = heap[0]!;
      yield top.entry;
      if (--remaining === 0) return;
      const previous = top.entry.key;
      const r = await top.it.next();
      if (r.done === true) {
        open.delete(top.it);
        pop(heap);
      } else {
        top.entry = r.value;
        siftDown(heap, 0);
      }
      const next = heap[0];
      if (next !== undefined && compareKeys(previous, next.entry.key) >= 0) {
        throw new LaminateError('DATA_LOSS', `Expected the files of a view version to hold each key once and in order, got ${JSON.stringify(next.entry.key)} after ${JSON.stringify(previous)} (from source ${next.source})`);
      }
    }
  } finally {
    await Promise.all(
      [...open].map(async (it) => {
        await it.return?.();
      }),
    );
  }
}

function less(a: Head, b: Head): boolean {
  return compareKeys(a.entry.key, b.entry.key) < 0;
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
