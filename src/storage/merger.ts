/**
 * The k-way merge of sorted runs (Hadoop's Merger): used by the map side to
 * merge spills into one output, and by the reduce side to merge the fetched
 * partitions of every map output and group their values by key.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, LaminateError } from '../common/errors.js';
import { isThenable } from '../common/thenable.js';
import { BufferedFileWriter } from './buffered-file-writer.js';
import { fileRun, type SortedRun } from './sorted-run.js';

/** Options of the merge functions. */
export interface MergeOptions {
  /**
   * The most inputs merged at once (Hadoop's io.sort.factor), default 64.
   * With more, batches are first merged into temporary runs.
   */
  readonly factor?: number;
  /** Where temporary runs go; default the OS temp folder. Removed afterwards. */
  readonly tmpDir?: string;
}

const DEFAULT_FACTOR = 64;

/**
 * Visits every record of `inputs` in ascending byte order of keys; records
 * with equal keys come in run order (all of run i's before run
 * i+1's) and, within a run, in their order there. `visit` sees the
 * run positioned on the record; it may return a promise to be awaited.
 * Returns the number of records.
 *
 * Called by mergeGroups, mergeToFile and the map-side spill merge. Consumes
 * and closes every run, also on error; do not call twice with the same
 * inputs.
 */
export async function mergeRecords(
  inputs: readonly SortedRun[],
  visit: (run: SortedRun) => void | Promise<void>,
  options: MergeOptions = {},
): Promise<number> {
  const factor = options.factor ?? DEFAULT_FACTOR;
  if (!Number.isSafeInteger(factor) || factor < 2) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected the merge factor to be an integer >= 2, got ${describe(factor)}`);
  }
  const opened = new Set<SortedRun>(inputs);
  let tmp: string | undefined;
  try {
    let runs = inputs;
    if (runs.length > factor) {
      tmp = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'merge-'));
      runs = await reduceRuns(runs, factor, tmp, opened);
    }
    return await heapMerge(runs, visit);
  } finally {
    const closing = await Promise.allSettled([...opened].map((s) => s.close()));
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
    const failed = closing.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  }
}

/**
 * Merges contiguous batches of runs into temporary files until at most
 * `factor` remain, rewriting as little as it can in one pass (Hadoop merges
 * the first pass partially for the same reason). Batches are contiguous so
 * that equal keys keep run order.
 */
async function reduceRuns(runs: readonly SortedRun[], factor: number, tmp: string, opened: Set<SortedRun>): Promise<readonly SortedRun[]> {
  let count = 0;
  while (runs.length > factor) {
    let excess = runs.length - factor;
    const next: SortedRun[] = [];
    let i = 0;
    while (excess > 0) {
      const take = Math.min(factor, excess + 1);
      const path = join(tmp, `run-${count++}`);
      const { bytes } = await writeRun(runs.slice(i, i + take), path);
      const merged = fileRun(path, 0, bytes);
      opened.add(merged);
      next.push(merged);
      i += take;
      excess -= take - 1;
    }
    runs = next.concat(runs.slice(i));
  }
  return runs;
}

interface HeapEntry {
  readonly run: SortedRun;
  readonly order: number;
  /** keyPrefix of the run's current key, updated whenever it advances. */
  prefix: number;
}

/** Key bytes that keyPrefix reads: 48 bits, exact as a number. */
const PREFIX_BYTES = 6;

/** Keys up to this many bytes are compared and copied in JavaScript, cheaper than a native call. */
const SHORT_KEY = 32;

/**
 * The first 6 bytes of the run's current key as a big-endian number,
 * missing bytes as 0. Keys whose prefixes differ compare as their prefixes
 * do; equal prefixes (shared first bytes, or a short key against one
 * continuing with zero bytes) need the byte comparison.
 */
function keyPrefix(s: SortedRun): number {
  const buf = s.buf;
  const at = s.keyStart;
  const length = s.keyEnd - at;
  if (length >= PREFIX_BYTES) {
    return ((buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!) * 16777216 + ((buf[at + 3]! << 16) | (buf[at + 4]! << 8) | buf[at + 5]!);
  }
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < 3; i++) hi = (hi << 8) | (i < length ? buf[at + i]! : 0);
  for (let i = 3; i < 6; i++) lo = (lo << 8) | (i < length ? buf[at + i]! : 0);
  return hi * 16777216 + lo;
}

/** Whether a's current key sorts before b's (run order breaks ties). */
function before(a: HeapEntry, b: HeapEntry): boolean {
  if (a.prefix !== b.prefix) return a.prefix < b.prefix;
  const c = compareAfterPrefix(a.run, b.run);
  return c < 0 || (c === 0 && a.order < b.order);
}

/**
 * Compares the current keys of two segments whose keyPrefix values are
 * equal, in place (no views). Equal prefixes mean their first
 * min(PREFIX_BYTES, either length) bytes are equal. Short keys are compared
 * in JavaScript: in a merge of map outputs most ties are one key met in
 * several runs, and Buffer#compare's argument checks and native call cost
 * several times the loop.
 */
function compareAfterPrefix(sa: SortedRun, sb: SortedRun): number {
  const ab = sa.buf;
  const bb = sb.buf;
  const at = sa.keyStart;
  const bt = sb.keyStart;
  const la = sa.keyEnd - at;
  const lb = sb.keyEnd - bt;
  const n = la < lb ? la : lb;
  if (n > SHORT_KEY) return ab.compare(bb, bt, sb.keyEnd, at, sa.keyEnd);
  for (let i = n < PREFIX_BYTES ? n : PREFIX_BYTES; i < n; i++) {
    const d = ab[at + i]! - bb[bt + i]!;
    if (d !== 0) return d;
  }
  return la - lb;
}

function siftDown(heap: HeapEntry[], i: number): void {
  const n = heap.length;
  const entry = heap[i]!;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= n) break;
    const right = left + 1;
    const child = right < n && before(heap[right]!, heap[left]!) ? right : left;
    if (!before(heap[child]!, entry)) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = entry;
}

async function heapMerge(runs: readonly SortedRun[], visit: (run: SortedRun) => void | Promise<void>): Promise<number> {
  const heap: HeapEntry[] = [];
  for (let order = 0; order < runs.length; order++) {
    const run = runs[order]!;
    let more = run.next();
    if (more !== true && more !== false) more = await more;
    if (more) heap.push({ run, order, prefix: keyPrefix(run) });
  }
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
  let records = 0;
  while (heap.length > 0) {
    const top = heap[0]!;
    const visited = visit(top.run);
    if (visited !== undefined) await visited;
    records++;
    let more = top.run.next();
    if (more !== true && more !== false) more = await more;
    if (more) {
      top.prefix = keyPrefix(top.run);
    } else {
      const last = heap.pop()!;
      if (heap.length === 0) break;
      heap[0] = last;
    }
    siftDown(heap, 0);
  }
  return records;
}

/** Whether `a[at, at + length)` equals `b[0, length)`. */
function sameBytes(a: Buffer, at: number, b: Buffer, length: number): boolean {
  if (length > SHORT_KEY) return a.compare(b, 0, length, at, at + length) === 0;
  for (let i = 0; i < length; i++) if (a[at + i] !== b[i]) return false;
  return true;
}

/** Copies `src[at, at + length)` to `dst[0, length)`. */
function copyBytes(src: Buffer, at: number, dst: Buffer, length: number): void {
  if (length > SHORT_KEY) {
    src.copy(dst, 0, at, at + length);
    return;
  }
  for (let i = 0; i < length; i++) dst[i] = src[at + i]!;
}

/**
 * Merges `inputs` and calls `onGroup` once per distinct key, in ascending
 * byte order of keys, with the decoded values of that key from every
 * run (run i's before run i+1's). Awaits `onGroup` only when it
 * returns a thenable. Holds one group's values and one buffer per run.
 *
 * Called by the reduce runner (once per reduce attempt) and by the map-side
 * merge when it combines. Consumes and closes the inputs; not for calling
 * twice with the same inputs.
 */
export async function mergeGroups(
  inputs: readonly SortedRun[],
  onGroup: (key: string, values: unknown[]) => void | Promise<void>,
  options: MergeOptions = {},
): Promise<{ groups: number; records: number }> {
  let groups = 0;
  let key = '';
  let values: unknown[] = [];
  let keyBuf = Buffer.allocUnsafe(256);
  let keyLength = -1;
  const visit = (s: SortedRun): void | Promise<void> => {
    const length = s.keyEnd - s.keyStart;
    if (length === keyLength && sameBytes(s.buf, s.keyStart, keyBuf, length)) {
      values.push(s.value());
      return undefined;
    }
    const done = keyLength >= 0 ? onGroup(key, values) : undefined;
    if (keyLength >= 0) groups++;
    if (length > keyBuf.length) keyBuf = Buffer.allocUnsafe(Math.max(length, keyBuf.length * 2));
    copyBytes(s.buf, s.keyStart, keyBuf, length);
    keyLength = length;
    key = s.key();
    values = [s.value()];
    return isThenable(done) ? Promise.resolve(done).then(() => undefined) : undefined;
  };
  const records = await mergeRecords(inputs, visit, options);
  if (keyLength >= 0) {
    const done = onGroup(key, values);
    if (isThenable(done)) await done;
    groups++;
  }
  return { groups, records };
}

/**
 * Merges `inputs` into one sorted run at `outPath` (the records copied as
 * they are), for multi-pass merges and map-side spill merges. Returns the
 * run's record count and size. Consumes and closes the inputs; overwrites
 * `outPath`, and removes it on error.
 */
export async function mergeToFile(
  inputs: readonly SortedRun[],
  outPath: string,
  options: MergeOptions = {},
): Promise<{ records: number; bytes: number }> {
  let writer: BufferedFileWriter | undefined;
  try {
    writer = await BufferedFileWriter.open(outPath);
  } catch (err) {
    await Promise.allSettled(inputs.map((s) => s.close()));
    throw err;
  }
  const w = writer;
  try {
    const records = await mergeRecords(inputs, (s) => {
      w.writeBytes(s.buf, s.recordStart, s.valueEnd);
      return w.needsFlush() ? w.flush() : undefined;
    }, options);
    return { records, bytes: await w.close() };
  } catch (err) {
    await w.abandon();
    await rm(outPath, { force: true });
    throw err;
  }
}

/** One pass of a multi-pass merge: at most `factor` runs, so no recursion. */
function writeRun(runs: readonly SortedRun[], path: string): Promise<{ records: number; bytes: number }> {
  return mergeToFile(runs, path, { factor: Math.max(2, runs.length) });
}
