/**
 * The built-in monoid a deployed view names: the catalog keeps a view's
 * `merge` as the monoid's name ('sum', 'count', 'min', 'max', 'setUnion',
 * 'topK(10)', 'hll(14)'), and a serving node, which never loads the view's
 * bundle, needs the monoid back to present a stored accumulator as the
 * answer a user sees (topK's sorted items, hll's estimate).
 *
 * A custom monoid (`{ zero, plus }`, deployed as 'custom' or under a name
 * of its own) is code in the bundle that only the batch and speed layers
 * run: for it this gives undefined, and its answers are the accumulators as
 * stored (what its `present` would be given), since running user code in
 * the serving node would put it on every query's path.
 *
 * A custom monoid that calls itself by a built-in name ('sum', say) is read
 * as that built-in. For sum, count, min, max and setUnion that changes
 * nothing (their `present` is the identity); for topK and hll, whose
 * accumulators have a shape of their own, the serving layer fails a read
 * whose accumulator `present` throws on (hll checks its sketch; topK
 * needs an array of [item, count] pairs).
 *
 * Pure; safe to call any number of times.
 */
import { count, hll, max, min, setUnion, sum, topK } from '../api/monoids.js';
import type { Monoid } from '../api/monoid.js';

const FIXED: ReadonlyMap<string, Monoid> = new Map<string, Monoid>(
  [sum, count, min, max, setUnion].map((m) => [m.name, m as Monoid]),
);

const TOP_K_RE = /^topK\(([1-9]\d{0,8})\)$/;
const HLL_RE = /^hll\((\d{1,2})\)$/;

/**
 * The built-in monoid named `name` exactly as a built-in names itself, or
 * undefined for any other name (a custom monoid's). Called by a serving
 * node once per view version it loads.
 */
export function monoidByName(name: string): Monoid | undefined {
  const fixed = FIXED.get(name);
  if (fixed !== undefined) return fixed;
  try {
    const k = TOP_K_RE.exec(name);
    if (k !== null) return topK(Number(k[1])) as Monoid;
    const p = HLL_RE.exec(name);
    if (p !== null) return hll(Number(p[1])) as Monoid;
  } catch {
    // A parameter the built-in refuses (hll(40)): not a name a built-in gives itself.
  }
  return undefined;
}

/**
 * How a view's stored accumulators become answers: `present` for a
 * built-in whose answer differs from its accumulator (topK, hll), none
 * (`identity`) for the others and for custom monoids.
 */
export interface Presentation {
  /** The monoid's name as deployed. */
  readonly merge: string;
  /** True when answers are the accumulators as stored (no decode needed). */
  readonly identity: boolean;
  /** The answer for an accumulator (decoded msgpack); the accumulator itself when `identity`. */
  present(acc: unknown): unknown;
}

/** The Presentation of a view whose merge is `merge`. Pure. */
export function presentationOf(merge: string): Presentation {
  const monoid = monoidByName(merge);
  const present = monoid?.present;
  if (monoid === undefined || present === undefined) return { merge, identity: true, present: (acc) => acc };
  return { merge, identity: false, present: (acc) => present.call(monoid, acc) };
}
