/**
 * The monoid law check: before a view is deployed, its merge is tried on
 * accumulators lifted from values its map really emits (or, for an empty
 * dataset, on generated values), and a merge that is not associative,
 * commutative, with zero as identity, is refused with a counterexample. A
 * merge that breaks the laws gives answers that depend on how the engine
 * happened to group and order values (map-side combines, reducers, the speed
 * layer, incremental builds): wrong numbers nobody would notice.
 *
 * Who calls it: view deploy (via checkViewLaws in view.ts), and the tests of
 * every monoid. Pure and deterministic (seeded); calls the monoid's own
 * functions, which must be pure too.
 */
import { errorMessage, LaminateError } from '../common/errors.js';
import { resolveMonoid, type Monoid, type MonoidLike, type ResolvedMonoid } from './monoid.js';
import { findNonPlainData, formatValue, numberComparison, plainDataEqual, type NumberComparison } from './plain-data.js';
import { seededRandom } from '../common/seeded-random.js';

/**
 * Relative tolerance for numbers: results may differ by this fraction of the
 * largest magnitude among the operands (1e-9). Float addition rounds each
 * step by half an ulp (1.1e-16 relative), so regrouping a handful of sums
 * moves a result by ~1e-15 of its operands: 1e-9 leaves float sums room,
 * and still refuses a merge that is wrong by more than a billionth (which
 * a subtraction, a wrong zero or an average always is). Numbers compare
 * exactly when every number in the operands is a safe integer.
 */
export const DEFAULT_RELATIVE_TOLERANCE = 1e-9;

export interface LawCheckOptions {
  /** Seed of the generated values and of the triples picked (default 1): runs repeat. */
  readonly seed?: number;
  /** Most associativity triples, and most commutativity pairs, checked (default 300). */
  readonly maxTriples?: number;
  /** Most sample values used, the first distinct ones (default 48). */
  readonly maxValues?: number;
  /** See DEFAULT_RELATIVE_TOLERANCE. */
  readonly relativeTolerance?: number;
  /** 'values' (default): samples are emitted values, lifted here; 'accumulators': already lifted. */
  readonly samplesAre?: 'values' | 'accumulators';
}

export type MonoidLaw =
  | 'zero' | 'plain data' | 'lift' | 'plus' | 'no mutation'
  | 'left identity' | 'right identity' | 'commutativity' | 'associativity' | 'sumAll';

/** A broken law, with the values that show it. */
export interface LawViolation {
  readonly law: MonoidLaw;
  /** The monoid's name ('custom' for a user's object without one). */
  readonly monoid: string;
  /** For the user: what is broken, the counterexample, and why it matters. */
  readonly message: string;
  readonly a?: unknown;
  readonly b?: unknown;
  readonly c?: unknown;
  /** The two sides that should have been equal. */
  readonly left?: unknown;
  readonly right?: unknown;
}

export type LawCheckResult =
  | {
    readonly ok: true;
    readonly monoid: string;
    /** Accumulators the laws were checked on (lifted samples or generated values, and sums of them). */
    readonly values: number;
    /** Law instances evaluated. */
    readonly checks: number;
    /** When no samples were given: the families of generated values that fit the monoid. */
    readonly generated?: readonly string[];
    /** Set when nothing could be checked (no samples, and no generated value fits): why. */
    readonly untested?: string;
  }
  | { readonly ok: false; readonly violation: LawViolation };

/** An accumulator of the pool and how it was made, for messages. */
interface Item {
  readonly acc: unknown;
  readonly origin: string | undefined;
}

class Violation extends Error {
  constructor(readonly violation: LawViolation) {
    super(violation.message);
  }
}

const WHY: Record<MonoidLaw, string> = {
  zero: 'zero must be one fixed accumulator',
  'plain data': 'accumulators are stored and sent with msgpack, which carries null, booleans, numbers, strings, Uint8Array, arrays and plain objects unchanged, and nothing else',
  lift: 'lift must turn every emitted value into an accumulator',
  plus: 'plus must return an accumulator for any two',
  'no mutation': 'plus must not change its arguments: accumulators are shared (one emit lands in several windows, a stored value serves many queries)',
  'left identity': 'zero must change nothing, on either side: keys absent on one side (batch or speed, one task or another) are merged with zero',
  'right identity': 'zero must change nothing, on either side: keys absent on one side (batch or speed, one task or another) are merged with zero',
  commutativity: 'values reach a merge in no fixed order (tasks finish in any order; batch and speed sides meet either way)',
  associativity: 'the engine merges values in whatever groups its tasks see (map-side combines, reducers, incremental builds, the speed layer)',
  sumAll: 'sumAll must equal folding plus: the engine uses one or the other',
};

/**
 * Checks that `merge` is a commutative monoid on accumulators lifted from
 * `samples` (or, with no samples, on values generated by type: integers,
 * fractions, strings, arrays, mixed strings and numbers; the families that
 * the monoid's lift accepts and turns into accumulators of zero()'s shape,
 * see tryFamily; without lift, the values are the accumulators). Checks, in this
 * order, stopping at the first violation: zero() gives one value, of plain
 * data; lift and plus return plain data and do not throw; plus does not
 * mutate; left and right identity; commutativity; associativity; sumAll
 * equals folding plus. Throws INVALID_ARGUMENT only when `merge` has no
 * monoid's shape at all.
 */
export function checkMonoidLaws<A, V, P>(
  merge: Monoid<A, V, P> | MonoidLike<A, V, P>,
  samples: readonly unknown[] = [],
  options: LawCheckOptions = {},
): LawCheckResult {
  const monoid = resolveMonoid(merge) as ResolvedMonoid;
  const hasLift = (merge as { lift?: unknown }).lift !== undefined;
  const checker = new LawChecker(monoid, hasLift, {
    seed: options.seed ?? 1,
    maxTriples: options.maxTriples ?? 300,
    maxValues: options.maxValues ?? 48,
    relativeTolerance: options.relativeTolerance ?? DEFAULT_RELATIVE_TOLERANCE,
  });
  try {
    checker.checkZero();
    if (samples.length > 0) {
      const distinct = firstDistinct(samples, options.maxValues ?? 48);
      const items = options.samplesAre === 'accumulators'
        ? distinct.map((acc) => checker.admit(acc, undefined))
        : distinct.map((v) => checker.lifted(v, true)!);
      checker.checkPool(items);
      return { ok: true, monoid: monoid.name, values: checker.poolSize, checks: checker.checks };
    }
    const fitting: string[] = [];
    const rejected: string[] = [];
    for (const family of generatedFamilies(options.seed ?? 1, Math.min(options.maxValues ?? 48, 16))) {
      const items = checker.tryFamily(family.values);
      if (typeof items === 'string') {
        rejected.push(`${family.name}: ${items}`);
        continue;
      }
      fitting.push(family.name);
      checker.checkPool(items);
    }
    if (fitting.length === 0) {
      const untested = `no samples, and none of the generated values fit it (${rejected.join('; ')})`;
      return { ok: true, monoid: monoid.name, values: 0, checks: checker.checks, generated: [], untested };
    }
    return { ok: true, monoid: monoid.name, values: checker.poolSize, checks: checker.checks, generated: fitting };
  } catch (err) {
    if (err instanceof Violation) return { ok: false, violation: err.violation };
    throw err;
  }
}

/**
 * checkMonoidLaws, throwing INVALID_ARGUMENT with the violation's message
 * (what deploy shows a user) when a law is broken; the result otherwise.
 */
export function assertMonoidLaws<A, V, P>(
  merge: Monoid<A, V, P> | MonoidLike<A, V, P>,
  samples: readonly unknown[] = [],
  options: LawCheckOptions = {},
): Extract<LawCheckResult, { ok: true }> {
  const result = checkMonoidLaws(merge, samples, options);
  if (!result.ok) throw new LaminateError('INVALID_ARGUMENT', result.violation.message);
  return result;
}

interface ResolvedOptions {
  readonly seed: number;
  readonly maxTriples: number;
  readonly maxValues: number;
  readonly relativeTolerance: number;
}

class LawChecker {
  checks = 0;
  poolSize = 0;
  private readonly random: () => number;

  constructor(private readonly monoid: ResolvedMonoid, private readonly hasLift: boolean, private readonly options: ResolvedOptions) {
    this.random = seededRandom(options.seed);
  }

  checkZero(): void {
    const z1 = this.callUser('zero', () => this.monoid.zero(), {});
    this.requirePlain(z1, 'zero()', {});
    const z2 = this.monoid.zero();
    this.checks++;
    if (!plainDataEqual(z1, z2, this.exact())) {
      this.fail('zero', `zero() returned ${formatValue(z1)}, then ${formatValue(z2)}`, { left: z1, right: z2 });
    }
  }

  /** The pool item of one emitted value; with `strict` false, undefined when lift refuses it (generated values). */
  lifted(value: unknown, strict: boolean): Item | undefined {
    let acc: unknown;
    try {
      acc = this.monoid.lift(value);
    } catch (err) {
      if (!strict) return undefined;
      this.fail('lift', `lift(${formatValue(value)}) threw: ${errorMessage(err)}`, { a: value });
    }
    if (acc === undefined || findNonPlainData(acc) !== undefined) {
      if (!strict) return undefined;
      if (acc === undefined) this.fail('lift', `lift(${formatValue(value)}) returned undefined`, { a: value });
      this.requirePlain(acc, `lift(${formatValue(value)})`, { a: value });
    }
    return { acc, origin: this.hasLift ? `lift(${formatValue(value, 40)})` : undefined };
  }

  admit(acc: unknown, origin: string | undefined): Item {
    this.requirePlain(acc, 'a sample accumulator', { a: acc });
    return { acc, origin };
  }

  /**
   * The pool of a family of generated values, or why it does not fit the
   * monoid: lift refuses one of them, or gives an accumulator of another
   * shape than zero()'s (a number where zero has a string, other keys...).
   * A family that does not fit is a type mismatch, not a broken law: a
   * user's lift is typed by TypeScript, not checked at run time. Once a
   * family fits, plus is held to every law on it.
   */
  tryFamily(values: readonly unknown[]): Item[] | string {
    const zero = this.monoid.zero();
    const items: Item[] = [];
    for (const v of values) {
      const item = this.lifted(v, false);
      if (item === undefined) return `lift refuses ${formatValue(v, 40)}`;
      if (!sameShape(zero, item.acc, this.hasLift)) {
        return `${this.hasLift ? `lift(${formatValue(v, 40)}) is ${formatValue(item.acc, 40)}` : formatValue(v, 40)}, not of the shape of zero() = ${formatValue(zero, 40)}`;
      }
      items.push(item);
    }
    return items;
  }

  /** Extends lifted items with sums of a few of them, then checks every law on the pool. */
  checkPool(lifted: readonly Item[]): void {
    const pool = [...lifted];
    const sums = Math.min(16, lifted.length);
    for (let i = 0; i < sums && lifted.length > 1; i++) {
      let item = this.pick(lifted);
      const n = 1 + Math.floor(this.random() * 3);
      for (let j = 0; j < n; j++) {
        const other = this.pick(lifted);
        item = { acc: this.plus(item, other), origin: `plus(${item.origin ?? formatValue(item.acc, 40)}, ${other.origin ?? formatValue(other.acc, 40)})` };
      }
      pool.push(item);
    }
    this.poolSize += pool.length;
    const zero: Item = { acc: this.monoid.zero(), origin: 'zero()' };
    for (const a of pool) {
      this.expectEqual('left identity', [zero, a], this.plus(zero, a), a.acc, 'plus(zero, a)', 'a', { a });
      this.expectEqual('right identity', [a, zero], this.plus(a, zero), a.acc, 'plus(a, zero)', 'a', { a });
    }
    for (const t of this.tuples(pool, 2)) {
      const [a, b] = t as [Item, Item];
      this.expectEqual('commutativity', [a, b], this.plus(a, b), this.plus(b, a), 'plus(a, b)', 'plus(b, a)', { a, b });
    }
    for (const t of this.tuples(pool, 3)) {
      const [a, b, c] = t as [Item, Item, Item];
      const left = this.plus({ acc: this.plus(a, b), origin: undefined }, c);
      const right = this.plus(a, { acc: this.plus(b, c), origin: undefined });
      this.expectEqual('associativity', [a, b, c], left, right, 'plus(plus(a, b), c)', 'plus(a, plus(b, c))', { a, b, c });
    }
    if (this.monoid.hasSumAll) {
      for (let i = 0; i < Math.min(pool.length, 24); i++) {
        const list = Array.from({ length: Math.floor(this.random() * 5) }, () => this.pick(pool));
        const folded = list.reduce<unknown>((acc, x) => this.plus({ acc, origin: undefined }, x), this.monoid.zero());
        const summed = this.callUser('sumAll', () => this.monoid.sumAll(list.map((x) => x.acc)), {});
        this.requirePlain(summed, 'sumAll(...)', {});
        this.expectEqual('sumAll', list, summed, folded, `sumAll([${list.map((x) => formatValue(x.acc, 60)).join(', ')}])`, 'folding plus over them', {});
      }
    }
  }

  /** plus(a, b), refusing a throw, an undefined or non-plain result, or a mutated argument. */
  private plus(a: Item, b: Item): unknown {
    const before = [structuredClone(a.acc), structuredClone(b.acc)];
    const show = { a: a.acc, b: b.acc };
    const r = this.callUser('plus', () => this.monoid.plus(a.acc, b.acc), show, `plus(a, b) for a = ${this.describe(a)}, b = ${this.describe(b)}`);
    this.requirePlain(r, `plus(a, b) for a = ${this.describe(a)}, b = ${this.describe(b)}`, show);
    this.checks++;
    if (!plainDataEqual(a.acc, before[0], this.exact()) || !plainDataEqual(b.acc, before[1], this.exact())) {
      const which = plainDataEqual(a.acc, before[0], this.exact()) ? `b: ${formatValue(before[1])} became ${formatValue(b.acc)}` : `a: ${formatValue(before[0])} became ${formatValue(a.acc)}`;
      this.fail('no mutation', `plus(a, b) changed its argument ${which}`, { a: before[0], b: before[1], left: a.acc, right: b.acc });
    }
    return r;
  }

  private expectEqual(law: MonoidLaw, operands: readonly Item[], left: unknown, right: unknown, leftName: string, rightName: string, named: Partial<Record<'a' | 'b' | 'c', Item>>): void {
    this.checks++;
    const numbers = numberComparison([...operands.map((o) => o.acc), left, right], this.options.relativeTolerance);
    if (plainDataEqual(left, right, numbers)) return;
    const names = Object.entries(named).map(([k, v]) => `${k} = ${this.describe(v)}`);
    const values = Object.fromEntries(Object.entries(named).map(([k, v]) => [k, v.acc]));
    const verb = law === 'associativity' ? 'is not associative' : law === 'commutativity' ? 'is not commutative' : `breaks ${law}`;
    this.fail(law, `${verb}: ${leftName} = ${formatValue(left)} but ${rightName} = ${formatValue(right)}${names.length > 0 ? `, for ${names.join(', ')}` : ''}`, { ...values, left, right }, true);
  }

  private callUser<T>(what: 'zero' | 'plus' | 'sumAll', fn: () => T, show: Record<string, unknown>, context?: string): T {
    let r: T;
    try {
      r = fn();
    } catch (err) {
      this.fail(what === 'zero' ? 'zero' : 'plus', `${context ?? `${what}()`} threw: ${errorMessage(err)}`, show);
    }
    if (r === undefined) this.fail(what === 'zero' ? 'zero' : 'plus', `${context ?? `${what}()`} returned undefined`, show);
    return r;
  }

  private requirePlain(v: unknown, what: string, show: Record<string, unknown>): void {
    const found = v === undefined ? 'undefined' : findNonPlainData(v);
    if (found !== undefined) this.fail('plain data', `${what} is not plain data: it holds ${found}`, show);
  }

  private fail(law: MonoidLaw, detail: string, values: Partial<Record<'a' | 'b' | 'c' | 'left' | 'right', unknown>>, isLaw = false): never {
    const lead = isLaw ? `merge '${this.monoid.name}' ${detail}` : `merge '${this.monoid.name}': ${detail}`;
    throw new Violation({ law, monoid: this.monoid.name, message: `${lead}. Expected a monoid: ${WHY[law]}.`, ...values });
  }

  private describe(item: Item): string {
    const shown = formatValue(item.acc);
    return item.origin === undefined || item.origin === shown ? shown : `${shown} (${item.origin})`;
  }

  private exact(): NumberComparison {
    return { exact: true, scale: 0, relativeTolerance: 0 };
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  /** Every k-tuple of the first few items (small counterexamples first), then seeded random ones, at most maxTriples in all. */
  private *tuples(pool: readonly Item[], k: 2 | 3): Generator<Item[]> {
    const first = pool.slice(0, k === 2 ? 8 : 5);
    let n = 0;
    const max = this.options.maxTriples;
    const exhaustive = (prefix: Item[]): Item[][] =>
      prefix.length === k ? [prefix] : first.flatMap((x) => exhaustive([...prefix, x]));
    for (const t of exhaustive([])) {
      if (n++ >= max) return;
      yield t;
    }
    while (n++ < max) yield Array.from({ length: k }, () => this.pick(pool));
  }
}

/**
 * Whether `acc` could be an accumulator of the same type as `zero`: the same
 * primitive type, bytes for bytes, an array for an array (element by element
 * as far as zero has elements), an object with the same keys, each of the
 * same shape. A null zero (min and max: "no value yet") says nothing of the
 * type, so it matches anything when a lift does (lift checks its own values),
 * and nothing otherwise.
 */
function sameShape(zero: unknown, acc: unknown, nullMatches: boolean): boolean {
  if (zero === null) return nullMatches;
  if (zero instanceof Uint8Array) return acc instanceof Uint8Array;
  if (Array.isArray(zero)) {
    if (!Array.isArray(acc)) return false;
    for (let i = 0; i < Math.min(zero.length, acc.length); i++) if (!sameShape(zero[i], acc[i], nullMatches)) return false;
    return true;
  }
  if (typeof zero === 'object' && zero !== undefined) {
    if (acc === null || typeof acc !== 'object' || Array.isArray(acc) || acc instanceof Uint8Array) return false;
    const keys = Object.keys(zero);
    const accKeys = Object.keys(acc);
    if (keys.length !== accKeys.length) return false;
    const a = acc as Record<string, unknown>;
    const z = zero as Record<string, unknown>;
    return keys.every((k) => Object.prototype.hasOwnProperty.call(a, k) && sameShape(z[k], a[k], nullMatches));
  }
  return typeof zero === typeof acc;
}

/** The first `max` samples that differ (by their printed form): repeats test nothing new. */
function firstDistinct(samples: readonly unknown[], max: number): unknown[] {
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const s of samples) {
    if (out.length >= max) break;
    const key = formatValue(s, 400);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(s);
  }
  return out;
}

interface Family {
  readonly name: string;
  readonly values: readonly unknown[];
}

const CHARS = ['a', 'b', 'c', 'z', ' ', '\u00e9', '\u4e2d', '\u{1f600}'];

/** Seeded values of each type a view commonly emits. */
function generatedFamilies(seed: number, n: number): Family[] {
  const random = seededRandom(seed ^ 0x5bd1e995);
  const int = (): number => Math.floor((random() - 0.5) * 200);
  const fraction = (): number => (random() - 0.5) * 10 ** Math.floor(random() * 8 - 2);
  const string = (): string => Array.from({ length: Math.floor(random() * 4) }, () => CHARS[Math.floor(random() * CHARS.length)]!).join('');
  const element = (): number | string => (random() < 0.5 ? int() : string());
  const list = <T>(f: () => T): T[] => Array.from({ length: n }, f);
  return [
    { name: 'integers', values: list(int) },
    { name: 'fractions', values: list(fraction) },
    { name: 'strings', values: list(string) },
    { name: 'arrays', values: list(() => Array.from({ length: Math.floor(random() * 4) }, element)) },
    { name: 'strings and numbers', values: list(element) },
  ];
}

