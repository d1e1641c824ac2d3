/**
 * Cuts: one offset per partition of a dataset, meaning "every record before
 * these". A batch build reads exactly the records before a cut, and the speed
 * layer folds exactly the records from it on, so every record is on one side.
 *
 * Text form: the offsets in partition order, comma-separated: "1200,0,310,77"
 * (as in `--input dataset:clicks@1200,0,310,77`). Everything here is pure.
 */
import { describe, LaminateError } from '../common/errors.js';
import { parseOffsetList } from '../common/dataset-input.js';
import type { Cut } from './types.js';

export type { Cut } from './types.js';

/** How two cuts of one dataset relate: partial order, offset by offset. */
export type CutOrder = 'equal' | 'before' | 'after' | 'concurrent';

/** One partition's records between two cuts: offsets [from, to). */
export interface CutRange {
  readonly partition: number;
  readonly from: number;
  readonly to: number;
}

/** Parses "1200,0,310,77"; throws INVALID_ARGUMENT naming the bad part. */
export function parseCut(text: string): Cut {
  if (typeof text !== 'string' || text.length === 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a cut of comma-separated offsets such as '1200,0,310,77', got ${describe(text)}`);
  }
  return parseOffsetList(text, `cut '${text}'`);
}

/** The text form of a cut; parseCut(formatCut(c)) equals c. */
export function formatCut(cut: Cut): string {
  return cut.join(',');
}

/**
 * Checks a cut against a dataset whose durable ends are `ends` (its current
 * cut): one offset per partition (INVALID_ARGUMENT), each a non-negative
 * integer (INVALID_ARGUMENT) and at most its partition's end (OUT_OF_RANGE,
 * naming dataset, partition and offset). Returns the cut.
 */
export function validateCut(dataset: string, cut: Cut, ends: Cut): Cut {
  if (!Array.isArray(cut) || cut.length !== ends.length) {
    const got = Array.isArray(cut) ? `${cut.length} offset${cut.length === 1 ? '' : 's'}` : describe(cut);
    throw new LaminateError(
      'INVALID_ARGUMENT',
      `Expected a cut of ${ends.length} offsets (one per partition of dataset ${describe(dataset)}), got ${got}`,
      { ids: { dataset } },
    );
  }
  cut.forEach((offset, partition) => {
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected the cut's offset for partition ${partition} of dataset ${describe(dataset)} to be a non-negative integer, got ${describe(offset)}`, { ids: { dataset, partition } });
    }
    const end = ends[partition]!;
    if (offset > end) {
      throw new LaminateError(
        'OUT_OF_RANGE',
        `Expected the cut's offset for partition ${partition} of dataset ${describe(dataset)} to be at most its end ${end}, got ${offset}`,
        { ids: { dataset, partition, offset } },
      );
    }
  });
  return cut;
}

/** The cut before every record: all zeros. */
export function emptyCut(partitions: number): Cut {
  return new Array<number>(partitions).fill(0);
}

/** Whether the record at (partition, offset) is before the cut, i.e. read by a build over it. */
export function isBeforeCut(cut: Cut, partition: number, offset: number): boolean {
  const end = cut[partition];
  return end !== undefined && offset < end;
}

/** Relates two cuts of the same dataset; throws INVALID_ARGUMENT when their lengths differ. */
export function compareCuts(a: Cut, b: Cut): CutOrder {
  sameLength(a, b);
  let less = false;
  let greater = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < b[i]!) less = true;
    else if (a[i]! > b[i]!) greater = true;
  }
  if (less && greater) return 'concurrent';
  if (less) return 'before';
  if (greater) return 'after';
  return 'equal';
}

/**
 * The records after `from` and before `to`, per partition (empty ranges
 * left out). `from` must not be after `to` on any partition
 * (INVALID_ARGUMENT): the speed layer's window from a build's cut to now.
 */
export function cutRanges(from: Cut, to: Cut): CutRange[] {
  sameLength(from, to);
  const ranges: CutRange[] = [];
  for (let p = 0; p < from.length; p++) {
    const f = from[p]!;
    const t = to[p]!;
    if (f > t) throw new LaminateError('INVALID_ARGUMENT', `Expected cut ${formatCut(from)} to be at or before cut ${formatCut(to)}, got partition ${p} at ${f} after ${t}`);
    if (f < t) ranges.push({ partition: p, from: f, to: t });
  }
  return ranges;
}

/** How many records lie between two cuts (see cutRanges). */
export function recordsBetween(from: Cut, to: Cut): number {
  return cutRanges(from, to).reduce((n, r) => n + (r.to - r.from), 0);
}

/** How many records are before a cut. */
export function recordsBefore(cut: Cut): number {
  return cut.reduce((n, o) => n + o, 0);
}

/** Offset by offset, the later of two cuts (the least cut at or after both). */
export function maxCut(a: Cut, b: Cut): Cut {
  sameLength(a, b);
  return a.map((o, i) => Math.max(o, b[i]!));
}

/** Offset by offset, the earlier of two cuts. */
export function minCut(a: Cut, b: Cut): Cut {
  sameLength(a, b);
  return a.map((o, i) => Math.min(o, b[i]!));
}

function sameLength(a: Cut, b: Cut): void {
  if (a.length !== b.length) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected two cuts of the same dataset (as many offsets), got ${a.length} and ${b.length} offsets`);
  }
}
