/**
 * The shape of a view's `merge`: a commutative monoid over accumulators, in
 * the style of Twitter's Algebird. A view's map emits values; `lift` turns
 * each into an accumulator; `plus` merges accumulators (in any grouping and
 * any order, so the batch layer may combine on the map side and the speed
 * layer may fold records one at a time, and both give the same answer);
 * `zero` is the accumulator of no values; `present` turns an accumulator into
 * the answer a query shows. Views store accumulators, never presented
 * answers, so version N+1 can be version N plus the new records, and a query
 * can merge the batch side with the speed side.
 *
 * Accumulators must be plain data that msgpack carries unchanged: null,
 * booleans, numbers, strings, Uint8Array, arrays and plain objects of those.
 */
import { describe, LaminateError } from '../common/errors.js';

/**
 * A commutative monoid over accumulators of type A, fed with emitted values
 * of type V, presenting answers of type P. The built-ins (sum, count, min,
 * max, setUnion, topK, hll) are Monoids.
 *
 * Laws (checked at deploy by checkMonoidLaws): for all accumulators a, b, c,
 * plus(plus(a, b), c) = plus(a, plus(b, c)); plus(a, b) = plus(b, a);
 * plus(zero(), a) = a = plus(a, zero()).
 *
 * plus must not mutate its arguments: an accumulator may be shared (one
 * emit lands in several windows; the batch side of a query is read by many
 * requests). It may return one of them unchanged (e.g. when the other is zero).
 */
export interface Monoid<A = unknown, V = unknown, P = unknown> {
  /** Names the monoid in messages and in the view's definition: 'sum', 'topK(10)', 'hll(14)'. */
  readonly name: string;
  /** The identity: the accumulator of no values. A new value (or an immutable one) per call. */
  zero(): A;
  /** Merges two accumulators into a new one; associative, commutative; never mutates a or b. */
  plus(a: A, b: A): A;
  /** The accumulator of one emitted value. Default: the value itself. */
  lift?(value: V): A;
  /** The answer a query shows for an accumulator. Default: the accumulator itself. */
  present?(acc: A): P;
  /**
   * Merges many accumulators at once; must equal folding plus from zero (the
   * law check compares them). Optional: a monoid whose plus copies a large
   * accumulator (hll's registers) offers it so that reducers and combiners
   * merge n values in one pass instead of n copies (Algebird's sumOption).
   */
  sumAll?(accs: readonly A[]): A;
}

/**
 * What a view's `merge` may be: a built-in Monoid, or a user's object with
 * `zero` (the identity, or a function returning it) and `plus`, and
 * optionally the rest of Monoid's members.
 */
export interface MonoidLike<A = unknown, V = unknown, P = unknown> {
  readonly name?: string;
  readonly zero: A | (() => A);
  plus(a: A, b: A): A;
  lift?(value: V): A;
  present?(acc: A): P;
  sumAll?(accs: readonly A[]): A;
}

/** A monoid with every member present, defaults filled: what the engine calls. */
export interface ResolvedMonoid<A = unknown, V = unknown, P = unknown> {
  readonly name: string;
  zero(): A;
  plus(a: A, b: A): A;
  lift(value: V): A;
  present(acc: A): P;
  sumAll(accs: readonly A[]): A;
  /** Whether the monoid has a sumAll of its own (false: the default fold of plus). */
  readonly hasSumAll: boolean;
}

const BUILT_INS = 'sum, count, min, max, setUnion, topK(k), hll(precision)';

/**
 * Checks a view's `merge` and fills its defaults. Called once per view
 * definition (by compileView and checkMonoidLaws); calls zero() once to check
 * that it gives a value. Throws INVALID_ARGUMENT naming what is wrong.
 */
export function resolveMonoid<A, V, P>(merge: MonoidLike<A, V, P> | Monoid<A, V, P>, where = 'merge'): ResolvedMonoid<A, V, P> {
  if (typeof merge === 'function') {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${where} to be a monoid (${BUILT_INS}) or an object { zero, plus }, got a function: call it, as in topK(10) or hll(14)`);
  }
  if (merge === null || typeof merge !== 'object') {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${where} to be a monoid (${BUILT_INS}) or an object { zero, plus }, got ${describe(merge)}`);
  }
  const m = merge as unknown as Record<string, unknown>;
  if (typeof m.plus !== 'function') {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${where}.plus to be a function (a, b) => accumulator, got ${describe(m.plus)}`);
  }
  if (m.zero === undefined) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${where}.zero to be the identity accumulator or a function returning it, got undefined`);
  }
  for (const member of ['lift', 'present', 'sumAll'] as const) {
    if (m[member] !== undefined && typeof m[member] !== 'function') {
      throw new LaminateError('INVALID_ARGUMENT', `Expected ${where}.${member} to be a function when given, got ${describe(m[member])}`);
    }
  }
  if (m.name !== undefined && (typeof m.name !== 'string' || m.name === '')) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${where}.name to be a non-empty string when given, got ${describe(m.name)}`);
  }
  const given = merge as MonoidLike<A, V, P>;
  const zeroMember = m.zero;
  const zero: () => A = typeof zeroMember === 'function' ? () => (zeroMember as () => A).call(merge) : () => zeroMember as A;
  const first = zero();
  if (first === undefined) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${where}.zero() to return the identity accumulator, got undefined`);
  }
  const plus = (a: A, b: A): A => given.plus(a, b);
  const lift = given.lift;
  const present = given.present;
  const sumAll = given.sumAll;
  return {
    name: given.name ?? 'custom',
    zero,
    plus,
    lift: lift === undefined ? (v: V) => v as unknown as A : (v: V) => lift.call(given, v),
    present: present === undefined ? (a: A) => a as unknown as P : (a: A) => present.call(given, a),
    sumAll: sumAll === undefined ? (accs) => foldPlus(zero, plus, accs) : (accs) => sumAll.call(given, accs),
    hasSumAll: sumAll !== undefined,
  };
}

/** Folds accumulators with plus from zero: the meaning of sumAll. */
export function foldPlus<A>(zero: () => A, plus: (a: A, b: A) => A, accs: readonly A[]): A {
  if (accs.length === 0) return zero();
  let acc = accs[0] as A;
  for (let i = 1; i < accs.length; i++) acc = plus(acc, accs[i] as A);
  return acc;
}
