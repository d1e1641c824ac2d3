/**
 * The speed state of one (view, source partition): an ordered list of
 * segments, each the fold of the records [from, to) of the partition into a
 * map key -> accumulator. Pure: no I/O, no timers; time comes in as `now`
 * arguments, the records' map output as `emits` (the view thread runs the
 * user's map and hands over what it emitted).
 *
 * Invariants (checked by the unit tests after every step):
 * - segments are contiguous: segments[0].from === start, each one's `to` is
 *   the next one's `from`, and the last one, always present and the only
 *   open one, ends at `applied` (it is empty when from === applied);
 * - every closed segment is non-empty as a range (from < to);
 * - the fold of the segments from the one starting at C to the end is the
 *   fold of the records [C, applied): what a read "from cut C" answers.
 *
 * Boundaries (speed-spec "Exactness"): the assignment's cuts for this
 * partition (and the handoff cut) are kept boundaries. Folding rolls a new
 * segment exactly at a boundary it reaches, and every `paneMs` of folding (a
 * pane, so that the re-fold a late boundary needs stays small). A boundary
 * strictly inside a segment needs a split: the owner re-reads [from, to)
 * from the log (splitsNeeded / beginSplit / installSplit) while the old
 * segment keeps answering reads at the other cuts. Adjacent closed segments
 * are compacted into one when no kept boundary lies between them and both
 * closed at least `settleMs` ago.
 *
 * What each operation does in each case, and what it refuses or ignores:
 *
 *   apply(o)     o === applied, not stopped   -> folded (rolls first at a boundary or after a pane)
 *                o !== applied                -> refused (INTERNAL): the tailer lost its place; folding
 *                                                there would count a record twice or skip one
 *                stopped                      -> refused (INTERNAL): the map failed before o
 *   stop(o)      o === applied                -> stopped: nothing more folds until a reset
 *                otherwise                    -> refused (INTERNAL), as apply
 *   handoff(h)   start <= h <= applied        -> segments ending at or before h dropped (one holding h
 *                                                strictly inside stays until its split is installed)
 *                h > applied                  -> reset at h (skip ahead: the records before h are in
 *                                                every served batch version)
 *                h < start                    -> reset at h (rollback: refold from the log)
 *   setBoundaries(cuts)
 *                cut >= applied               -> remembered; folding rolls there
 *                cut at a segment's from      -> nothing to do
 *                start < cut < applied, inside -> that segment needs a split (the open one is closed
 *                                                first, at applied)
 *                cut < start                  -> ignored: dropped state cannot come back (reads there
 *                                                answer 'dropped'; a rollback comes as a handoff)
 *   installSplit the segment [from, to) still there and being split -> replaced by the parts
 *                otherwise                    -> ignored: a reset, a drop or a handoff removed the
 *                                                segment while the log was re-read (returns false)
 */
import { LaminateError } from '../common/errors.js';

/** One segment: the fold of the records [from, to). */
export interface Segment<A> {
  readonly from: number;
  /** For the open (last) segment, applied; it grows as records fold. */
  to: number;
  readonly entries: Map<string, A>;
  /** When it stopped being the open segment; undefined while open. */
  closedAt: number | undefined;
  /** When it opened (a pane rolls paneMs after this). */
  readonly openedAt: number;
}

/** A closed segment that a kept boundary lies strictly inside: re-read [from, to) and fold into parts at `at`. */
export interface SplitRequest {
  readonly from: number;
  readonly to: number;
  /** The boundaries strictly inside, ascending. */
  readonly at: readonly number[];
}

/** One part of a split, as the re-fold gives it. */
export interface SplitPart<A> {
  readonly from: number;
  readonly to: number;
  readonly entries: Map<string, A>;
}

/** Where a read from a cut stands on this partition. */
export type CutRead<A> =
  | { readonly covered: true; readonly segments: readonly Segment<A>[] }
  | { readonly covered: false; readonly reason: string };

export interface PartitionStateOptions {
  /** Roll the open segment after this long of folding (default 1000 ms). */
  readonly paneMs?: number;
  /** Closed segments compact only this long after closing (default 5000 ms). */
  readonly settleMs?: number;
}

/** A saved state to restore from (a checkpoint's segments). */
export interface RestoredState<A> {
  readonly start: number;
  readonly applied: number;
  readonly segments: readonly SplitPart<A>[];
}

export const DEFAULT_PANE_MS = 1000;
export const DEFAULT_SETTLE_MS = 5000;

/** Uncovered reasons, as answers and reports name them (the first word is the kind). */
export const UNCOVERED = {
  notReached: 'not reached',
  dropped: 'dropped',
  stopped: (offset: number, message: string): string => `stopped at offset ${offset}: ${message}`,
  busySplit: 'busy: splitting a segment at this cut',
  noBoundary: 'busy: no boundary at this cut (not a cut the assignment keeps)',
} as const;

export class PartitionState<A> {
  private segments: Segment<A>[] = [];
  /** The kept boundaries (the assignment's cuts and the handoff cut), ascending, distinct. */
  private boundaries: number[] = [];
  /** Segments (by from) whose split is being re-folded, with what they split at. */
  private readonly splitting = new Map<number, SplitRequest>();
  /** Segments (by from) whose split failed, and why: reads inside them say so. */
  private readonly splitFailed = new Map<number, string>();
  private stoppedAt: { offset: number; message: string } | undefined;
  private changes = 0;
  private readonly paneMs: number;
  private readonly settleMs: number;

  constructor(
    readonly partition: number,
    private readonly plus: (a: A, b: A) => A,
    start: number,
    now: number,
    options: PartitionStateOptions = {},
  ) {
    this.paneMs = options.paneMs ?? DEFAULT_PANE_MS;
    this.settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
    this.reset(start, now);
  }

  /** A state restored from a checkpoint (segments contiguous from start to applied; checked). */
  static restore<A>(partition: number, plus: (a: A, b: A) => A, saved: RestoredState<A>, now: number, options: PartitionStateOptions = {}): PartitionState<A> {
    const s = new PartitionState<A>(partition, plus, saved.start, now, options);
    let at = saved.start;
    const segments: Segment<A>[] = [];
    for (const p of saved.segments) {
      if (p.from !== at || p.to <= p.from) {
        throw new LaminateError('DATA_LOSS', `Expected saved segments contiguous from ${saved.start} and non-empty, got [${p.from}, ${p.to}) after ${at}`);
      }
      segments.push({ from: p.from, to: p.to, entries: p.entries, closedAt: now, openedAt: now });
      at = p.to;
    }
    if (at !== saved.applied) throw new LaminateError('DATA_LOSS', `Expected saved segments to end at applied ${saved.applied}, got ${at}`);
    segments.push({ from: at, to: at, entries: new Map(), closedAt: undefined, openedAt: now });
    s.segments = segments;
    return s;
  }

  /** The first offset the state counts. */
  get start(): number {
    return this.segments[0]!.from;
  }

  /** The offset of the next record to fold. */
  get applied(): number {
    return this.open.to;
  }

  get stopped(): { readonly offset: number; readonly message: string } | undefined {
    return this.stoppedAt;
  }

  /** Grows with every change (fold, drop, split, compaction, reset): a checkpoint is due when it moved. */
  get version(): number {
    return this.changes;
  }

  /** The segments, oldest first (the last one open). For checkpoints and tests; do not modify. */
  get allSegments(): readonly Segment<A>[] {
    return this.segments;
  }

  get keptBoundaries(): readonly number[] {
    return this.boundaries;
  }

  private get open(): Segment<A> {
    return this.segments[this.segments.length - 1]!;
  }

  /** Empties the state to start and apply at `at` (skip ahead, rollback, or a new state). */
  private reset(at: number, now: number): void {
    this.segments = [{ from: at, to: at, entries: new Map(), closedAt: undefined, openedAt: now }];
    this.splitting.clear();
    this.splitFailed.clear();
    this.stoppedAt = undefined;
    this.changes++;
  }

  /**
   * Folds the record at `offset` (which must be `applied`), whose map
   * emitted `emits`. Rolls a new segment first when `offset` is a kept
   * boundary or the open segment is a pane old. Called once per record.
   */
  apply(offset: number, emits: readonly (readonly [string, A])[], now: number): void {
    if (this.stoppedAt !== undefined) {
      throw new LaminateError('INTERNAL', `Expected no fold on partition ${this.partition} after its map stopped at offset ${this.stoppedAt.offset}, got offset ${offset}`);
    }
    if (offset !== this.applied) {
      throw new LaminateError('INTERNAL', `Expected the record at offset ${this.applied} of partition ${this.partition} next, got offset ${offset}`);
    }
    const open = this.open;
    if (open.from < offset && (this.isBoundary(offset) || now - open.openedAt >= this.paneMs)) this.roll(now);
    const entries = this.open.entries;
    for (const [key, acc] of emits) {
      const before = entries.get(key);
      entries.set(key, before === undefined ? acc : this.plus(before, acc));
    }
    this.open.to = offset + 1;
    this.changes++;
  }

  /** The map threw on the record at `offset` (=== applied): nothing more folds until a reset. */
  stop(offset: number, message: string): void {
    if (offset !== this.applied) {
      throw new LaminateError('INTERNAL', `Expected the map to stop at the next offset ${this.applied} of partition ${this.partition}, got ${offset}`);
    }
    this.stoppedAt = { offset, message };
    this.changes++;
  }

  /** Closes the open segment at applied and opens an empty one there. */
  private roll(now: number): void {
    const open = this.open;
    open.closedAt = now;
    this.segments.push({ from: open.to, to: open.to, entries: new Map(), closedAt: undefined, openedAt: now });
  }

  private isBoundary(offset: number): boolean {
    return binarySearch(this.boundaries, offset) >= 0;
  }

  /**
   * The kept boundaries of this partition: the assignment's cuts and its
   * handoff cut. Replaces the previous set. Closes the open segment when a
   * new boundary falls strictly inside it, so that it can be split (see
   * splitsNeeded). Safe to repeat.
   */
  setBoundaries(cuts: Iterable<number>, now: number): void {
    this.boundaries = [...new Set(cuts)].sort((a, b) => a - b);
    const open = this.open;
    if (this.boundaries.some((c) => c > open.from && c < open.to)) this.roll(now);
  }

  /**
   * Applies the handoff cut `h`: drops segments that end at or before it,
   * or resets the state at h when h is past applied (skip ahead) or before
   * start (rollback). Returns 'reset' when the tailer must restart from the
   * new applied offset. Safe to repeat.
   */
  handoff(h: number, now: number): 'kept' | 'dropped' | 'reset' {
    if (h > this.applied || h < this.start) {
      this.reset(h, now);
      return 'reset';
    }
    let n = 0;
    while (n < this.segments.length - 1 && this.segments[n]!.to <= h) n++;
    if (n === this.segments.length - 1 && this.open.to <= h && this.open.from < h) {
      // Everything folded is before h (h === applied): the open segment goes too.
      this.segments = [{ from: h, to: h, entries: new Map(), closedAt: undefined, openedAt: now }];
      this.forgetSplitsBefore(h);
      this.changes++;
      return 'dropped';
    }
    if (n === 0) return 'kept';
    this.segments = this.segments.slice(n);
    this.forgetSplitsBefore(this.start);
    this.changes++;
    return 'dropped';
  }

  private forgetSplitsBefore(start: number): void {
    for (const from of [...this.splitting.keys()]) if (from < start) this.splitting.delete(from);
    for (const from of [...this.splitFailed.keys()]) if (from < start) this.splitFailed.delete(from);
  }

  /** Closed segments with a kept boundary strictly inside that are not being split yet. */
  splitsNeeded(): SplitRequest[] {
    const out: SplitRequest[] = [];
    for (const s of this.segments) {
      if (s.closedAt === undefined || this.splitting.has(s.from) || this.splitFailed.has(s.from)) continue;
      const at = this.boundaries.filter((c) => c > s.from && c < s.to);
      if (at.length > 0) out.push({ from: s.from, to: s.to, at });
    }
    return out;
  }

  /** Marks a split as being re-folded (reads at its inner cuts answer busy; compaction leaves it). */
  beginSplit(req: SplitRequest): void {
    this.splitting.set(req.from, req);
  }

  /**
   * Replaces the segment [from, to) being split with `parts` (contiguous,
   * from `from` to `to`, as the re-fold of the log gave them). Returns false,
   * changing nothing, when that segment is gone (see the table above).
   */
  installSplit(from: number, to: number, parts: readonly SplitPart<A>[], now: number): boolean {
    const req = this.splitting.get(from);
    this.splitting.delete(from);
    const i = this.segments.findIndex((s) => s.from === from);
    const seg = this.segments[i];
    if (req === undefined || seg === undefined || seg.to !== to || seg.closedAt === undefined) return false;
    let at = from;
    for (const p of parts) {
      if (p.from !== at || p.to <= p.from) throw new LaminateError('INTERNAL', `Expected split parts contiguous from ${from}, got [${p.from}, ${p.to}) after ${at}`);
      at = p.to;
    }
    if (at !== to) throw new LaminateError('INTERNAL', `Expected split parts to end at ${to}, got ${at}`);
    const closedAt = seg.closedAt;
    this.segments.splice(i, 1, ...parts.map((p) => ({ from: p.from, to: p.to, entries: p.entries, closedAt, openedAt: now })));
    this.changes++;
    return true;
  }

  /** The re-fold of a split failed (the map threw on a record it folded before): reads inside it say why. */
  failSplit(from: number, message: string): void {
    if (this.splitting.delete(from)) this.splitFailed.set(from, message);
  }

  /** Forgets that the split of the segment at `from` failed, so that splitsNeeded asks for it again. */
  clearFailedSplit(from: number): void {
    this.splitFailed.delete(from);
  }

  /**
   * Merges adjacent closed segments with no kept boundary between them,
   * both closed at least settleMs before `now` and neither being split.
   * Called every few seconds; safe to call any time.
   */
  compact(now: number): void {
    const out: Segment<A>[] = [];
    let merged = false;
    for (const s of this.segments) {
      const prev = out[out.length - 1];
      if (prev !== undefined && this.mergeable(prev, s, now)) {
        out[out.length - 1] = this.merge(prev, s);
        merged = true;
      } else {
        out.push(s);
      }
    }
    if (merged) {
      this.segments = out;
      this.changes++;
    }
  }

  private mergeable(a: Segment<A>, b: Segment<A>, now: number): boolean {
    const settled = (s: Segment<A>): boolean => s.closedAt !== undefined && now - s.closedAt >= this.settleMs;
    return settled(a) && settled(b) && !this.isBoundary(b.from) && !this.splitting.has(a.from) && !this.splitting.has(b.from)
      && !this.splitFailed.has(a.from) && !this.splitFailed.has(b.from);
  }

  /** One segment for [a.from, b.to): the larger map takes the other's entries (segments own their maps). */
  private merge(a: Segment<A>, b: Segment<A>): Segment<A> {
    const [big, small] = a.entries.size >= b.entries.size ? [a.entries, b.entries] : [b.entries, a.entries];
    for (const [key, acc] of small) {
      const before = big.get(key);
      // plus is commutative, so which side is which does not matter.
      big.set(key, before === undefined ? acc : this.plus(before, acc));
    }
    return { from: a.from, to: b.to, entries: big, closedAt: Math.max(a.closedAt!, b.closedAt!), openedAt: a.openedAt };
  }

  /**
   * Whether a read from cut `c` can be answered here, and from which
   * segments (their fold is the fold of [c, applied)). See UNCOVERED for
   * the reasons; 'busy' and 'not assigned here' reasons come from the owner.
   */
  readFrom(c: number): CutRead<A> {
    if (this.stoppedAt !== undefined) return { covered: false, reason: UNCOVERED.stopped(this.stoppedAt.offset, this.stoppedAt.message) };
    if (c > this.applied) return { covered: false, reason: UNCOVERED.notReached };
    if (c < this.start) return { covered: false, reason: UNCOVERED.dropped };
    if (c === this.applied) return { covered: true, segments: [] };
    const i = this.segments.findIndex((s) => s.from === c);
    if (i >= 0) return { covered: true, segments: this.segments.slice(i) };
    const inside = this.segments.find((s) => s.from < c && c < s.to)!;
    const failed = this.splitFailed.get(inside.from);
    if (failed !== undefined) return { covered: false, reason: `busy: the split at this cut failed: ${failed}` };
    // A kept boundary inside a segment is being split, or will be at the owner's next look at splitsNeeded.
    if (this.isBoundary(c)) return { covered: false, reason: UNCOVERED.busySplit };
    return { covered: false, reason: UNCOVERED.noBoundary };
  }
}

/** The index of `x` in ascending `xs`, or -1. */
function binarySearch(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = xs[mid]!;
    if (v === x) return mid;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
