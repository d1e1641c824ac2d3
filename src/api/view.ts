/**
 * Views as users define them (`defineView`), and as the engine runs them
 * (`compileView`). One compiled view serves the batch build (its map and its
 * combine/reduce), the speed layer (its fold of new records) and the law
 * check at deploy: all three call the same mapRecord, so a key, a window or
 * a lift cannot mean one thing in one layer and another in the next.
 */
import { describe, errorMessage, LaminateError } from '../common/errors.js';
import { isThenable } from '../common/thenable.js';
import { encodeViewKey, type KeyElement, type ViewKey } from '../common/view-key.js';
import { assertMonoidLaws, type LawCheckOptions, type LawCheckResult } from './monoid-laws.js';
import { resolveMonoid, type Monoid, type MonoidLike, type ResolvedMonoid } from './monoid.js';

export type { KeyElement, ViewKey } from '../common/view-key.js';

/** Emits one (key, value): a key is a string or a tuple of strings and finite numbers. */
export type ViewEmit<V> = (key: ViewKey, value: V) => void;

/** A duration: whole milliseconds, or a string such as '500ms', '30s', '1m', '1.5h', '1d'. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

/**
 * An event-time window. Windows are [start, start + size), their starts the
 * multiples of `slide` since the epoch (so '1d' windows start at midnight
 * UTC). Tumbling without `slide` (slide = size): each record in exactly one
 * window. Sliding (hopping) with a slide < size: each record in every window
 * that contains its time, size / slide of them (rounded up or down when the
 * slide does not divide the size). The key becomes [key..., windowStart]: a
 * string key k becomes [k, windowStart], a tuple gets windowStart appended.
 */
export interface ViewWindow<R> {
  readonly size: Duration;
  readonly slide?: Duration;
  /**
   * Allowed lateness: how far behind the largest event time seen a record
   * may still arrive and be counted in a window the speed layer shows as
   * final. A window [start, start + size) is final once start + size <=
   * watermark, the watermark being the least recent largest event time over
   * the source's active partitions minus this. Default 0. Late records are
   * counted anyway (the batch layer counts them too); lateness only delays
   * the `final` flag so that fewer final answers change afterwards.
   */
  readonly lateness?: Duration;
  /** The record's event time: milliseconds since the epoch, or a Date. */
  time(record: R): number | Date;
}

/**
 * A view: the default export of a view module, written with defineView.
 * R is the type of the source dataset's records (JSON values); V of emitted
 * values; A of accumulators; P of the answers queries show.
 */
export interface ViewDefinition<R = any, V = any, A = any, P = any> {
  /** The dataset the view folds. */
  readonly source: string;
  /**
   * Called once per record, in the batch build and in the speed layer alike:
   * emits any number of (key, value). Synchronous and pure: it may run more
   * than once for a record (a retried task), and its emits must not depend
   * on anything but the record.
   */
  map(record: R, emit: ViewEmit<V>): void;
  /** How the values of one key combine: a built-in monoid, or { zero, plus }. */
  readonly merge: Monoid<A, V, P> | MonoidLike<A, V, P>;
  /** Optional: an event-time window; makes the window start part of the key. */
  readonly window?: ViewWindow<R>;
}

/**
 * Adds types to a view definition and checks it at once (so a view module
 * that is wrong fails when it loads, at deploy, naming what is wrong);
 * returns it unchanged. Throws INVALID_ARGUMENT as compileView does.
 */
export function defineView<R = any, V = any, A = any, P = any>(definition: ViewDefinition<R, V, A, P>): ViewDefinition<R, V, A, P> {
  compileView(definition);
  return definition;
}

/** A view's window with its durations resolved. */
export interface ResolvedWindow {
  readonly kind: 'tumbling' | 'sliding';
  readonly sizeMs: number;
  /** sizeMs for a tumbling window. */
  readonly slideMs: number;
  /** The allowed lateness (window.lateness), 0 when not given. */
  readonly latenessMs: number;
}

/** A view as the engine runs it. */
export interface CompiledView<A = unknown, P = unknown> {
  readonly source: string;
  readonly monoid: ResolvedMonoid<A, unknown, P>;
  /** Undefined for a view without a window. */
  readonly window: ResolvedWindow | undefined;
  /** The definition it was compiled from (for the law check and the definition's hash). */
  readonly definition: ViewDefinition;
  /**
   * Runs the view's map on one record and emits, for each (key, value) it
   * emits, the engine key (see src/common/view-key.ts; with a window, one per
   * window containing the record's time, the window start appended to the
   * key) and the lifted accumulator. Called once per record by the batch
   * map, the speed layer and the law check; safe to call again for the same
   * record (it emits the same again). One accumulator may be emitted under
   * several keys (windows): never mutate it. Throws what the user's map
   * throws, and INVALID_ARGUMENT for a bad key, a value lift refuses, a bad
   * event time, a map that returns a promise, or an emit after map returned.
   */
  mapRecord(record: unknown, emit: (key: string, acc: A) => void): void;
  /**
   * The record's event time in ms since the epoch (window.time, a Date made
   * a number), for the speed layer's watermark; undefined for a view without
   * a window. Called by the speed layer once per record that emitted
   * something (a record the map filters out may have no time). Throws
   * INVALID_ARGUMENT for a time that is not a finite number or valid Date,
   * and what window.time throws.
   */
  eventTime(record: unknown): number | undefined;
}

/** Most windows one record may fall in (size / slide): a guard against a slide given in the wrong unit. */
export const MAX_WINDOWS_PER_RECORD = 1000;

/**
 * Dataset names, as src/dataset/catalog.ts checks them (DATASET_NAME_RE; the
 * test of this module checks they agree): api/ may not import dataset/.
 */
export const SOURCE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const DEFINITION_MEMBERS = new Set(['source', 'map', 'merge', 'window']);
const WINDOW_MEMBERS = new Set(['size', 'slide', 'lateness', 'time']);
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Checks a view definition and resolves it: the monoid with its defaults,
 * the window's durations. Called by defineView when a module loads, and once
 * by each layer that runs the view; pure (calls merge.zero once). Throws
 * INVALID_ARGUMENT naming the first thing wrong.
 */
export function compileView<A = unknown, P = unknown>(definition: ViewDefinition<any, any, A, P>): CompiledView<A, P> {
  if (definition === null || typeof definition !== 'object') {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a view definition { source, map, merge, window? }, got ${describe(definition)}`);
  }
  const def = definition as unknown as Record<string, unknown>;
  const unknown = Object.keys(def).filter((k) => !DEFINITION_MEMBERS.has(k));
  if (unknown.length > 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a view definition with only source, map, merge and window, got ${unknown.map((k) => `'${k}'`).join(', ')}`);
  }
  if (typeof def.source !== 'string' || !SOURCE_NAME_RE.test(def.source)) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected the view's source to be a dataset name of 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit, got ${describe(def.source)}`);
  }
  if (typeof def.map !== 'function') {
    throw new LaminateError('INVALID_ARGUMENT', `Expected the view to have a map function (record, emit) => void, got ${describe(def.map)}`);
  }
  const monoid = resolveMonoid(definition.merge, "the view's merge");
  const window = def.window === undefined ? undefined : resolveWindow(def.window);
  const time = window === undefined ? undefined : (definition.window!.time.bind(definition.window) as (r: unknown) => unknown);
  const map = definition.map.bind(definition) as (record: unknown, emit: ViewEmit<unknown>) => unknown;
  const { lift } = monoid;

  const mapRecord = (record: unknown, emit: (key: string, acc: A) => void): void => {
    let open = true;
    let starts: number[] | undefined; // the record's window starts, computed at its first emit
    const emitValue: ViewEmit<unknown> = (key, value) => {
      if (!open) throw new LaminateError('INVALID_ARGUMENT', 'Expected emit to be called while map runs, got a call after map returned');
      if (window === undefined) {
        const encoded = encodeViewKey(key);
        emit(encoded, lift(value));
        return;
      }
      // Validate the key once, before the window makes it a tuple.
      encodeViewKey(key);
      starts ??= windowStarts(window, eventTime(time!, record));
      const acc = lift(value);
      const prefix: KeyElement[] = typeof key === 'string' ? [key] : [...key];
      for (const start of starts) emit(encodeViewKey([...prefix, start]), acc);
    };
    try {
      const result = map(record, emitValue);
      if (isThenable(result)) {
        Promise.resolve(result).catch(() => undefined); // its outcome no longer matters
        throw new LaminateError('INVALID_ARGUMENT', "Expected the view's map to return nothing, got a promise: a view's map is synchronous (the speed layer runs it record by record)");
      }
    } finally {
      open = false;
    }
  };

  const eventTimeOf = (record: unknown): number | undefined => (time === undefined ? undefined : eventTime(time, record));
  return { source: def.source, monoid, window, definition: definition as ViewDefinition, mapRecord, eventTime: eventTimeOf };
}

/**
 * The starts of the windows that contain time t, in increasing order: every
 * multiple s of the slide with s <= t < s + size.
 */
export function windowStarts(window: ResolvedWindow, t: number): number[] {
  const { sizeMs, slideMs } = window;
  const last = Math.floor(t / slideMs) * slideMs;
  const starts: number[] = [];
  let s = last;
  while (s > t - sizeMs) s -= slideMs;
  for (s += slideMs; s <= last; s += slideMs) starts.push(s === 0 ? 0 : s);
  return starts;
}

/**
 * Folds records into a map of engine key -> accumulator, one record after
 * the other: what every build and the speed layer must equal (the
 * sequential reference of tests, and the speed layer's fold). Adds to
 * `into` when given; returns it.
 */
export function foldRecords<A>(view: CompiledView<A, unknown>, records: Iterable<unknown>, into = new Map<string, A>()): Map<string, A> {
  const { plus } = view.monoid;
  for (const record of records) {
    view.mapRecord(record, (key, acc) => {
      const before = into.get(key);
      into.set(key, before === undefined ? acc : plus(before, acc));
    });
  }
  return into;
}

/**
 * The monoid law check of a view at deploy: runs its map on `records` (a
 * sample of its source) and checks its merge on the accumulators they give,
 * or on generated values when they give none (see checkMonoidLaws). Throws
 * INVALID_ARGUMENT with the counterexample when a law is broken, and when
 * the map fails on a sample record (saying which); returns what was checked.
 */
export function checkViewLaws(view: CompiledView, records: readonly unknown[], options: LawCheckOptions = {}): Extract<LawCheckResult, { ok: true }> {
  const accs: unknown[] = [];
  records.forEach((record, i) => {
    try {
      view.mapRecord(record, (_key, acc) => accs.push(acc));
    } catch (err) {
      throw new LaminateError('INVALID_ARGUMENT', `The view's map failed on sample record ${i} of ${records.length}: ${errorMessage(err)}`, { cause: err });
    }
  });
  return assertMonoidLaws(view.definition.merge, accs, { ...options, samplesAre: 'accumulators' });
}

function resolveWindow(window: unknown): ResolvedWindow {
  if (window === null || typeof window !== 'object') {
    throw new LaminateError('INVALID_ARGUMENT', `Expected the view's window to be { size, slide?, lateness?, time }, got ${describe(window)}`);
  }
  const w = window as Record<string, unknown>;
  const unknown = Object.keys(w).filter((k) => !WINDOW_MEMBERS.has(k));
  if (unknown.length > 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected the view's window to have only size, slide, lateness and time, got ${unknown.map((k) => `'${k}'`).join(', ')}`);
  }
  if (typeof w.time !== 'function') {
    throw new LaminateError('INVALID_ARGUMENT', `Expected window.time to be a function (record) => milliseconds since the epoch, got ${describe(w.time)}`);
  }
  const sizeMs = parseDuration(w.size, 'window.size');
  // Zero is a lateness (the default), not a size: 0 and '0s' are accepted here only.
  const latenessMs = w.lateness === undefined || w.lateness === 0 || (typeof w.lateness === 'string' && /^0+(\.0+)?(ms|s|m|h|d)$/.test(w.lateness)) ? 0 : parseDuration(w.lateness, 'window.lateness');
  if (w.slide === undefined) return { kind: 'tumbling', sizeMs, slideMs: sizeMs, latenessMs };
  const slideMs = parseDuration(w.slide, 'window.slide');
  if (slideMs > sizeMs) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected window.slide to be at most window.size (${sizeMs} ms), got ${slideMs} ms: windows would leave gaps`);
  }
  if (Math.ceil(sizeMs / slideMs) > MAX_WINDOWS_PER_RECORD) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected window.size / window.slide to be at most ${MAX_WINDOWS_PER_RECORD} (windows per record), got ${sizeMs} ms / ${slideMs} ms = ${Math.ceil(sizeMs / slideMs)}`);
  }
  return { kind: slideMs === sizeMs ? 'tumbling' : 'sliding', sizeMs, slideMs, latenessMs };
}

/** Milliseconds of a Duration; throws INVALID_ARGUMENT unless a positive whole number of them. */
export function parseDuration(value: unknown, what: string): number {
  let ms: number | undefined;
  if (typeof value === 'number') {
    ms = value;
  } else if (typeof value === 'string') {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value);
    if (m !== null) ms = Math.round(Number(m[1]) * UNITS[m[2]!]! * 1000) / 1000;
  }
  if (ms === undefined || !Number.isSafeInteger(ms) || ms <= 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${what} to be a positive whole number of milliseconds or a duration such as '500ms', '30s', '1m', '1h', '1d', got ${typeof value === 'number' ? String(value) : describe(value)}`);
  }
  return ms;
}

function eventTime(time: (record: unknown) => unknown, record: unknown): number {
  const t = time(record);
  const ms = t instanceof Date ? t.getTime() : t;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    const got = t instanceof Date ? 'an invalid Date' : typeof t === 'number' ? String(t) : describe(t);
    throw new LaminateError('INVALID_ARGUMENT', `Expected window.time(record) to return milliseconds since the epoch (a finite number) or a Date, got ${got}`);
  }
  return ms;
}
