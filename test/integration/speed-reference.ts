/**
 * The independent reference for merged answers (issue 9): what a view's
 * answer must equal, computed from the log alone. It reads a dataset's
 * records through the client's read API up to given per-partition offsets
 * (a coverage's speed vector, or a cut) and folds them, record after record,
 * with a plain JavaScript function the caller writes for the test (e.g. count
 * view events per page and minute). It shares no engine code: no
 * compileView, monoids, view keys or window arithmetic, so a bug there cannot
 * hide by being on both sides of the comparison.
 *
 * Used by the speed-layer tests, the streaming benchmark and the demo's
 * verdict. An answer with coverage { cut, speed: A } counts exactly the
 * records before A (batch: before cut; speed: [cut, A)); without `speed`, the
 * records before cut (answerOffsets).
 */
import { isDeepStrictEqual } from 'node:util';

/** One record as the reader yields it (LaminateClient.read's ReadRecord). */
export interface LogRecord {
  readonly partition: number;
  readonly offset: number;
  readonly record: unknown;
}

/** Where the reference reads from: LaminateClient satisfies it. */
export interface LogReader {
  read(dataset: string, options: { readonly partition: number; readonly from?: number; readonly endOffset?: number }): AsyncIterable<LogRecord>;
}

/**
 * The fold, written by the caller in plain JavaScript. `add` must replace a
 * key's value rather than mutate it in place: snapshots at several offsets
 * share values.
 */
export interface ReferenceFold<A> {
  /** Adds one record's contribution (zero or more keys) to `state`. */
  add(state: Map<string, A>, record: unknown): void;
  /** Combines one key's values from two partitions (a count: a + b). */
  combine(a: A, b: A): A;
}

/** The coverage fields the reference needs, as an answer carries them. */
export interface AnswerCoverage {
  readonly cut: readonly number[];
  /** Per partition, the offset the speed side had applied (A_p = cut_p where uncovered); absent for a batch-only answer. */
  readonly speed?: readonly number[] | undefined;
}

/**
 * The offsets before which an answer counts every record: its speed vector
 * when it has one, else its batch cut. Throws when the coverage contradicts
 * itself (a speed vector of another length, or an A_p before cut_p: the
 * speed side cannot have applied less than where it starts).
 */
export function answerOffsets(coverage: AnswerCoverage): number[] {
  const { cut, speed } = coverage;
  if (speed === undefined) return [...cut];
  if (speed.length !== cut.length) {
    throw new Error(`Expected the coverage's speed vector to have one offset per partition of its cut (${cut.length}), got ${speed.length}: [${speed.join(',')}]`);
  }
  speed.forEach((a, p) => {
    if (a < cut[p]!) throw new Error(`Expected speed offset A_${p} >= cut_${p} (${cut[p]}), got ${a}: the coverage contradicts itself`);
  });
  return [...speed];
}

/** Folds every record before upTo[p] of each partition p of `dataset`. */
export async function foldLog<A>(reader: LogReader, dataset: string, upTo: readonly number[], fold: ReferenceFold<A>): Promise<Map<string, A>> {
  const [state] = await foldLogAt(reader, dataset, [upTo], fold);
  return state!;
}

/**
 * The folds at several offset vectors (one Map per vector, in the order
 * given), reading each partition once, from 0 to the largest offset any
 * vector names for it: what checking many answers sampled during a run
 * needs. Partitions are folded apart and their states combined per vector.
 * Throws when the vectors differ in length, or a partition ends before an
 * offset asked (the log never loses a record, so that is an error of the
 * caller's, or of the log).
 */
export async function foldLogAt<A>(reader: LogReader, dataset: string, vectors: ReadonlyArray<readonly number[]>, fold: ReferenceFold<A>): Promise<Array<Map<string, A>>> {
  if (vectors.length === 0) return [];
  const partitions = vectors[0]!.length;
  for (const v of vectors) {
    if (v.length !== partitions) throw new Error(`Expected every offset vector to have ${partitions} partitions, got [${v.join(',')}]`);
    for (const o of v) {
      if (!Number.isSafeInteger(o) || o < 0) throw new Error(`Expected offsets to be non-negative integers, got [${v.join(',')}]`);
    }
  }
  // Per partition: the state at each offset some vector names.
  const perPartition: Array<Map<number, Map<string, A>>> = [];
  for (let p = 0; p < partitions; p++) {
    perPartition.push(await snapshotsOf(reader, dataset, p, vectors.map((v) => v[p]!), fold));
  }
  return vectors.map((v) => {
    const out = new Map<string, A>();
    v.forEach((offset, p) => {
      for (const [key, value] of perPartition[p]!.get(offset)!) {
        const before = out.get(key);
        out.set(key, before === undefined ? value : fold.combine(before, value));
      }
    });
    return out;
  });
}

/** One partition's fold at each of `offsets`, reading it once in order. */
async function snapshotsOf<A>(reader: LogReader, dataset: string, partition: number, offsets: readonly number[], fold: ReferenceFold<A>): Promise<Map<number, Map<string, A>>> {
  const targets = [...new Set(offsets)].sort((a, b) => a - b);
  const snapshots = new Map<number, Map<string, A>>();
  const state = new Map<string, A>();
  let next = 0; // the offset of the next record to fold
  let t = 0;
  const takeDue = (): void => {
    while (t < targets.length && targets[t] === next) snapshots.set(targets[t++]!, new Map(state));
  };
  takeDue();
  const end = targets[targets.length - 1]!;
  if (end > 0) {
    for await (const r of reader.read(dataset, { partition, from: 0, endOffset: end })) {
      if (r.offset !== next) throw new Error(`Expected partition ${partition} of ${dataset} to yield offset ${next}, got ${r.offset}`);
      fold.add(state, r.record);
      next++;
      takeDue();
      if (next === end) break;
    }
  }
  if (next < end) throw new Error(`Expected partition ${partition} of ${dataset} to have records up to offset ${end}, it ended at ${next}`);
  return snapshots;
}

/** One key where an answer and the reference disagree; undefined = absent. */
export interface Mismatch<A> {
  readonly key: string;
  readonly expected: A | undefined;
  readonly got: A | undefined;
}

/**
 * Compares an answer with the reference, exactly (deep equality, no
 * tolerance). `got` lists the answer's keys with their values (undefined:
 * not found). With `complete` (a scan of the whole view) every key of the
 * reference must be in the answer; otherwise (a get or multiGet) only the
 * keys asked are compared. Returns every mismatch, in the answer's order,
 * then the reference's keys the answer lacks.
 */
export function diffAnswer<A>(expected: ReadonlyMap<string, A>, got: Iterable<readonly [string, A | undefined]>, options: { readonly complete: boolean }): Array<Mismatch<A>> {
  const out: Array<Mismatch<A>> = [];
  const seen = new Set<string>();
  for (const [key, value] of got) {
    if (seen.has(key)) {
      out.push({ key, expected: expected.get(key), got: value });
      continue;
    }
    seen.add(key);
    const want = expected.get(key);
    if (!isDeepStrictEqual(want, value)) out.push({ key, expected: want, got: value });
  }
  if (options.complete) {
    for (const [key, want] of expected) if (!seen.has(key)) out.push({ key, expected: want, got: undefined });
  }
  return out;
}

/** A short description of mismatches for a failure message: the count and the first few. */
export function describeMismatches<A>(mismatches: ReadonlyArray<Mismatch<A>>, first = 5): string {
  if (mismatches.length === 0) return 'no mismatch';
  const shown = mismatches.slice(0, first).map((m) => `${m.key}: expected ${JSON.stringify(m.expected)}, got ${JSON.stringify(m.got)}`);
  return `${mismatches.length} mismatches (${shown.join('; ')}${mismatches.length > first ? '; ...' : ''})`;
}
