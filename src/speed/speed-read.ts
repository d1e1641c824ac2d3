/**
 * Reads of a view's speed state from a cut, over the partitions one speed
 * process folds: which partitions can answer from exactly that cut (their
 * coverage, speed-spec "Exactness"), and the fold, per key, of their
 * segments from the cut on. Pure: the view thread calls these on its live
 * state, synchronously, so that one answer is one snapshot.
 *
 * A partition's coverage:
 *
 *   owner busy (restoring a checkpoint, thread down) -> uncovered, the owner's reason
 *   stopped (the map threw at offset o)             -> uncovered 'stopped at offset o: ...'
 *   cut > applied                                   -> uncovered 'not reached' (a caller may wait)
 *   cut < start                                     -> uncovered 'dropped'
 *   cut inside a segment                            -> uncovered 'busy: ...' (split being re-folded)
 *   cut === applied                                 -> covered, nothing to fold
 *   cut at a segment's start                        -> covered, those segments folded
 *
 * An uncovered partition reports applied = the cut (it counts nothing after
 * it) and adds nothing to any key.
 */
import { describe, LaminateError } from '../common/errors.js';
import type { SpeedPartitionCoverage } from '../common/speed-shapes.js';
import { compareKeys } from '../storage/key-order.js';
import type { PartitionState, Segment } from './partition-state.js';

/** One partition as a read sees it. */
export interface PartitionSource<A> {
  readonly partition: number;
  /** Undefined while there is no state yet (restoring). */
  readonly state: PartitionState<A> | undefined;
  /** Set while the partition cannot be read at any cut, and why. */
  readonly busy?: string | undefined;
  /** The durable end the tailer last saw. */
  readonly end: number;
  /** When applied last equalled the end the tailer saw (ms since the epoch), 0 if never. */
  readonly caughtUpAt: number;
}

/** Scan bounds, as ScanQuery's (engine keys). */
export interface ScanBounds {
  readonly prefix?: string | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly limit?: number | undefined;
}

export interface ReadResult<A> {
  readonly partitions: SpeedPartitionCoverage[];
  /** Keys the covered partitions hold something for: a Get's in the order asked, a Scan's in key order. */
  readonly entries: Array<readonly [string, A]>;
}

/** The cut's offset for `partition`; INVALID_ARGUMENT when the cut does not name it. */
export function cutOffset(cut: readonly number[], partition: number): number {
  const c = cut[partition];
  if (c === undefined || !Number.isSafeInteger(c) || c < 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a cut with a non-negative offset for partition ${partition}, got ${describe(c)} (cut of ${cut.length} partitions)`);
  }
  return c;
}

/** The coverage of one partition from cut offset `c`, and the segments to fold when covered. */
export function partitionRead<A>(src: PartitionSource<A>, c: number): { coverage: SpeedPartitionCoverage; segments: readonly Segment<A>[] } {
  const uncovered = (reason: string): { coverage: SpeedPartitionCoverage; segments: readonly Segment<A>[] } => ({
    coverage: { partition: src.partition, applied: c, lag: Math.max(0, src.end - c), caughtUpAt: src.caughtUpAt, uncovered: reason },
    segments: [],
  });
  if (src.busy !== undefined) return uncovered(src.busy);
  if (src.state === undefined) return uncovered('busy: restoring');
  const r = src.state.readFrom(c);
  if (!r.covered) return uncovered(r.reason);
  const applied = src.state.applied;
  return { coverage: { partition: src.partition, applied, lag: Math.max(0, src.end - applied), caughtUpAt: src.caughtUpAt }, segments: r.segments };
}

/** The fold of `key` over segments of several partitions; undefined when none holds it. */
function foldKey<A>(key: string, segments: readonly Segment<A>[], plus: (a: A, b: A) => A): A | undefined {
  let acc: A | undefined;
  for (const s of segments) {
    const v = s.entries.get(key);
    if (v !== undefined) acc = acc === undefined ? v : plus(acc, v);
  }
  return acc;
}

function covering<A>(sources: readonly PartitionSource<A>[], cut: readonly number[]): { partitions: SpeedPartitionCoverage[]; segments: Segment<A>[] } {
  const partitions: SpeedPartitionCoverage[] = [];
  const segments: Segment<A>[] = [];
  for (const src of sources) {
    const r = partitionRead(src, cutOffset(cut, src.partition));
    partitions.push(r.coverage);
    segments.push(...r.segments);
  }
  return { partitions, segments };
}

/** The speed side of `keys` from `cut` (repeated keys answered once, in the order first asked). */
export function readKeys<A>(sources: readonly PartitionSource<A>[], cut: readonly number[], keys: readonly string[], plus: (a: A, b: A) => A): ReadResult<A> {
  const { partitions, segments } = covering(sources, cut);
  const entries: Array<readonly [string, A]> = [];
  const seen = new Set<string>();
  if (segments.length > 0) {
    for (const key of keys) {
      if (seen.has(key)) continue;
      seen.add(key);
      const acc = foldKey(key, segments, plus);
      if (acc !== undefined) entries.push([key, acc]);
    }
  }
  return { partitions, entries };
}

/** Whether `key` is within the bounds (prefix, from inclusive, to exclusive; byte order). */
export function inBounds(key: string, b: ScanBounds): boolean {
  if (b.prefix !== undefined && !key.startsWith(b.prefix)) return false;
  if (b.from !== undefined && compareKeys(key, b.from) < 0) return false;
  if (b.to !== undefined && compareKeys(key, b.to) >= 0) return false;
  return true;
}

/**
 * Each segment map's keys in key order, sorted once: a segment's map only
 * ever gains keys (folds and compaction add, nothing deletes), so a sorted
 * copy is valid while the map's size is unchanged. Closed panes are sorted
 * once; the open one again only when it has new keys. Kept beside the maps
 * (weakly), so it goes when they do.
 */
const sortedKeys = new WeakMap<Map<string, unknown>, string[]>();

function keysInOrder(entries: Map<string, unknown>): string[] {
  let keys = sortedKeys.get(entries);
  if (keys === undefined || keys.length !== entries.size) {
    keys = [...entries.keys()].sort(compareKeys);
    sortedKeys.set(entries, keys);
  }
  return keys;
}

/** The first index of `keys` (in key order) not before `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The speed side of the keys within `bounds` from `cut`, in key order, at most `limit` of them. */
export function readScan<A>(sources: readonly PartitionSource<A>[], cut: readonly number[], bounds: ScanBounds, plus: (a: A, b: A) => A): ReadResult<A> {
  const limit = bounds.limit;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a scan limit that is a non-negative integer, got ${describe(limit)}`);
  }
  const { partitions, segments } = covering(sources, cut);
  if (limit === undefined) {
    // Every key in bounds: one sort of their union costs less than merging the segments' runs.
    const keys = new Set<string>();
    for (const seg of segments) for (const key of seg.entries.keys()) if (inBounds(key, bounds)) keys.add(key);
    return { partitions, entries: [...keys].sort(compareKeys).map((key) => [key, foldKey(key, segments, plus)!] as const) };
  }
  // Where the bounds start: the later of `from` and the prefix (keys with a prefix are contiguous in key order).
  const first = bounds.prefix !== undefined && (bounds.from === undefined || compareKeys(bounds.prefix, bounds.from) > 0) ? bounds.prefix : bounds.from;
  // A merge of the segments' sorted keys from there (a heap of cursors by their key), repeats folded once.
  const cursors: Array<{ keys: string[]; at: number }> = [];
  for (const seg of segments) {
    const keys = keysInOrder(seg.entries);
    const at = first === undefined ? 0 : lowerBound(keys, first);
    if (at < keys.length) cursors.push({ keys, at });
  }
  const heap = new CursorHeap(cursors);
  const entries: Array<readonly [string, A]> = [];
  let last: string | undefined;
  while (heap.size > 0 && entries.length < limit) {
    const key = heap.popKey();
    if (key === last) continue;
    last = key;
    // Past the bounds' end: every key after this one is too.
    if (bounds.to !== undefined && compareKeys(key, bounds.to) >= 0) break;
    if (bounds.prefix !== undefined && !key.startsWith(bounds.prefix)) break;
    entries.push([key, foldKey(key, segments, plus)!]);
  }
  return { partitions, entries };
}

/** A min-heap of cursors over sorted key arrays, by each cursor's current key. */
class CursorHeap {
  private readonly h: Array<{ keys: string[]; at: number }>;

  constructor(cursors: Array<{ keys: string[]; at: number }>) {
    this.h = cursors;
    for (let i = (this.h.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  get size(): number {
    return this.h.length;
  }

  /** The least current key; its cursor moves on (and leaves the heap at its end). */
  popKey(): string {
    const top = this.h[0]!;
    const key = top.keys[top.at++]!;
    if (top.at >= top.keys.length) {
      const lastCursor = this.h.pop()!;
      if (this.h.length > 0 && lastCursor !== top) this.h[0] = lastCursor;
    }
    if (this.h.length > 0) this.down(0);
    return key;
  }

  private key(i: number): string {
    const c = this.h[i]!;
    return c.keys[c.at]!;
  }

  private down(i: number): void {
    const n = this.h.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && compareKeys(this.key(l), this.key(m)) < 0) m = l;
      if (r < n && compareKeys(this.key(r), this.key(m)) < 0) m = r;
      if (m === i) return;
      const t = this.h[i]!;
      this.h[i] = this.h[m]!;
      this.h[m] = t;
      i = m;
    }
  }
}

/**
 * Whether a read from `cut` (with read-your-writes offsets `atLeast`) is
 * worth answering now rather than after waiting: every partition either
 * covered and at atLeast, or uncovered for a reason waiting cannot change
 * (stopped, dropped, a failed split). Not ready: not reached, a split or
 * a restore under way, no boundary at the cut yet, applied below atLeast.
 */
export function readReady<A>(sources: readonly PartitionSource<A>[], cut: readonly number[], atLeast?: readonly number[]): boolean {
  for (const src of sources) {
    const { coverage } = partitionRead(src, cutOffset(cut, src.partition));
    const reason = coverage.uncovered;
    if (reason === undefined) {
      const want = atLeast?.[src.partition];
      if (want !== undefined && coverage.applied < want) return false;
      continue;
    }
    // A cut with no boundary yet may get one at the next assignment (a version just published): worth waiting.
    if (reason.startsWith('stopped') || reason === 'dropped' || reason.startsWith('busy: the split')) continue;
    return false;
  }
  return true;
}
