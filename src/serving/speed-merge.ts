/**
 * The pure core of a merged read (DESIGN.md, "The Lambda layers beyond
 * batch"): batch[N](key) ⊕ speed(key; records from cut N to A), and the
 * coverage that names A. No I/O here: speed-reads.ts asks the speed
 * processes and hands their replies to these functions.
 *
 * - coverageOf: A per source partition from the replies (A_p = cut_p where
 *   a partition is uncovered: its process failed, said why, or no process
 *   folds it), the lag, the freshness and the watermark (only when every
 *   partition was answered for). A partition two
 *   replies both count would be counted twice: refused (UNAVAILABLE),
 *   never answered.
 * - SpeedSide: the speed accumulators of a read, by key, in one of two
 *   modes. 'plus' (a built-in monoid): the speed processes' accumulators,
 *   combined with the monoid, to be added to the batch one. 'replace' (a
 *   custom monoid, whose code the serving node does not run): the
 *   processes' answers already are batch ⊕ speed (the batch accumulator
 *   went as `base`), and replace the batch's.
 * - mergedValue: one key's answer from its batch accumulator and its speed
 *   side; accumulators are merged before the value is presented.
 * - mergeScanEntries: a key-ordered merge-join of the batch scan with the
 *   speed side's sorted entries, bounded by a limit and a horizon.
 *
 * Every function is pure (given `now`); safe to call any number of times.
 */
import { pack, unpack } from 'msgpackr';
import { errorMessage, LaminateError } from '../common/errors.js';
import type { Coverage, ServedEntry, UncoveredPartition } from '../common/serving-shapes.js';
import type { SpeedAnswer, SpeedLocation } from '../common/speed-shapes.js';
import { decodeViewKey } from '../common/view-key.js';
import type { Presentation } from '../view/monoid-by-name.js';
import { compareKeys } from '../view/view-merge.js';
import type { ViewEntry } from '../view/view-file-reader.js';

/** What one speed process gave a read: its answer, or why it gave none. */
export type SpeedReply =
  | { readonly location: SpeedLocation; readonly answer: SpeedAnswer }
  | { readonly location: SpeedLocation; readonly error: string };

/** The reason given for a partition that no speed process folds. */
export const NO_SPEED_PROCESS = 'no speed process';

/**
 * The reason given for a partition the master placed on a process whose
 * answer does not list it: the process no longer holds it (it moved, and
 * the serving node has not heard where yet) or does not hold it yet.
 */
export const NOT_ASSIGNED_HERE = 'not assigned here (moving between speed processes)';

/**
 * The coverage of an answer merged from batch version `version` (cut `cut`)
 * and the speed replies. `now` is the serving node's clock (ms since the
 * epoch), for the freshness.
 *
 * @throws LaminateError UNAVAILABLE when two replies both count one
 *   partition (two processes folding it during a move): merging both would
 *   count its records twice.
 */
export function coverageOf(version: number, cut: readonly number[], replies: readonly SpeedReply[], now: number): Coverage {
  const speed = [...cut];
  const covered = new Array<string | undefined>(cut.length);
  const reasons = new Array<string | undefined>(cut.length);
  let lag = 0;
  let oldestCaughtUp = Number.POSITIVE_INFINITY;
  let watermark: number | undefined;
  /** Partitions some answer speaks for (covered or not): only their event times are in its watermark. */
  const answered = new Array<boolean>(cut.length).fill(false);
  for (const r of replies) {
    const who = `speed process ${r.location.nodeId} (${r.location.address})`;
    if ('error' in r) {
      for (const p of r.location.partitions) if (p < cut.length) reasons[p] ??= `${who}: ${r.error}`;
      continue;
    }
    for (const p of r.location.partitions) {
      if (p < cut.length && !r.answer.partitions.some((pc) => pc.partition === p)) reasons[p] ??= `${who}: ${NOT_ASSIGNED_HERE}`;
    }
    if (r.answer.watermark !== undefined) watermark = watermark === undefined ? r.answer.watermark : Math.min(watermark, r.answer.watermark);
    for (const pc of r.answer.partitions) {
      const p = pc.partition;
      if (!Number.isSafeInteger(p) || p < 0 || p >= cut.length) continue;
      answered[p] = true;
      lag += pc.lag;
      if (pc.uncovered !== undefined) {
        reasons[p] ??= `${who}: ${pc.uncovered}`;
        continue;
      }
      const other = covered[p];
      if (other !== undefined) {
        throw new LaminateError('UNAVAILABLE', `Source partition ${p} is counted by two speed processes (${other} and ${who}): the answer would count its records twice; try again once it has moved`);
      }
      if (pc.applied < cut[p]!) {
        throw new LaminateError('INTERNAL', `${who} answered partition ${p} from cut ${cut[p]} with applied offset ${pc.applied}, before the cut`);
      }
      covered[p] = who;
      speed[p] = pc.applied;
      oldestCaughtUp = Math.min(oldestCaughtUp, pc.caughtUpAt > 0 ? pc.caughtUpAt : Number.NEGATIVE_INFINITY);
    }
  }
  const uncovered: UncoveredPartition[] = [];
  for (let p = 0; p < cut.length; p++) {
    if (covered[p] === undefined) uncovered.push({ partition: p, reason: reasons[p] ?? NO_SPEED_PROCESS });
  }
  // A partition counted twice was refused above; one whose reply listed it uncovered after another counted it is covered.
  const freshness = Number.isFinite(oldestCaughtUp) ? { freshnessMs: Math.max(0, now - oldestCaughtUp) } : {};
  // The view's watermark is the least over all its partitions: a partition no answer speaks for (its
  // process down, or none folds it) may still bring records of a window the others passed, so the
  // others' watermark alone would flag that window final too early. No watermark then (nothing final).
  if (answered.some((a) => !a)) watermark = undefined;
  return { version, cut, speed, lag, ...freshness, uncovered, ...(watermark !== undefined ? { watermark } : {}) };
}

/**
 * The partitions whose A is behind `atLeast` (missing entries of a shorter
 * `atLeast` ask for nothing), with where each is; empty when the coverage
 * reaches it. A batch-only coverage is at its cut.
 */
export function behind(coverage: Coverage, atLeast: readonly number[]): string[] {
  const a = coverage.speed ?? coverage.cut;
  const out: string[] = [];
  for (let p = 0; p < atLeast.length; p++) {
    const at = a[p] ?? 0;
    if (at < atLeast[p]!) out.push(`partition ${p} at ${at} < ${atLeast[p]}`);
  }
  return out;
}

/** What the merge needs of a built-in monoid (monoidByName's): its plus, which never mutates its arguments. */
export interface Plus {
  plus(a: unknown, b: unknown): unknown;
}

/** The speed accumulators of one read, by engine key (see the module comment). */
export type SpeedSide =
  | { readonly mode: 'plus'; readonly monoid: Plus; readonly accs: ReadonlyMap<string, unknown> }
  | { readonly mode: 'replace'; readonly accs: ReadonlyMap<string, Uint8Array> };

/**
 * The 'plus' side of the replies: every answered key's accumulators
 * (msgpack) decoded and combined with `monoid`. Replies that failed give
 * nothing; an answer's entries count only its covered partitions (the
 * speed process folds nothing of an uncovered one in).
 *
 * @throws LaminateError INTERNAL when an accumulator is not msgpack.
 */
export function plusSide(replies: readonly SpeedReply[], monoid: Plus): SpeedSide {
  const accs = new Map<string, unknown>();
  for (const r of replies) {
    if ('error' in r) continue;
    for (const e of r.answer.entries) {
      let acc: unknown;
      try {
        acc = unpack(e.acc);
      } catch (err) {
        throw new LaminateError('INTERNAL', `Speed process ${r.location.nodeId} (${r.location.address}) answered key ${JSON.stringify(e.key)} with an accumulator that is not msgpack: ${errorMessage(err)}`, { cause: err });
      }
      accs.set(e.key, accs.has(e.key) ? monoid.plus(accs.get(e.key), acc) : acc);
    }
  }
  return { mode: 'plus', monoid, accs };
}

/**
 * One key's answer: `stored` is its batch accumulator as the view file
 * holds it (msgpack; undefined when the batch has none), the speed side
 * what the speed processes add. Accumulators are merged first, then
 * presented; without a speed part the stored bytes are presented as a
 * batch-only read presents them (as they are, for an identity).
 *
 * @throws LaminateError FAILED_PRECONDITION when `present` or `plus`
 *   refuses an accumulator (a custom monoid deployed under a built-in's
 *   name), naming the key.
 */
export function mergedValue(key: string, stored: Buffer | undefined, side: SpeedSide | undefined, presentation: Presentation): { found: boolean; value: Buffer } {
  try {
    if (side !== undefined && side.accs.has(key)) {
      if (side.mode === 'replace') {
        const acc = side.accs.get(key)!;
        return { found: true, value: presentStored(Buffer.isBuffer(acc) ? acc : Buffer.from(acc.buffer, acc.byteOffset, acc.byteLength), presentation) };
      }
      const speedAcc = side.accs.get(key);
      const acc = stored === undefined ? speedAcc : side.monoid.plus(unpack(stored), speedAcc);
      return { found: true, value: presentation.identity ? pack(acc) : pack(presentation.present(acc)) };
    }
    if (stored === undefined) return { found: false, value: EMPTY };
    return { found: true, value: presentStored(stored, presentation) };
  } catch (err) {
    throw new LaminateError('FAILED_PRECONDITION', `the value of key ${JSON.stringify(key)} is not an accumulator of merge '${presentation.merge}' (${errorMessage(err)})`, { cause: err });
  }
}

const EMPTY = Buffer.alloc(0);

function presentStored(stored: Buffer, presentation: Presentation): Buffer {
  return presentation.identity ? stored : pack(presentation.present(unpack(stored)));
}

/**
 * Whether the window of a windowed view's key has ended by `watermark`:
 * its start (the key tuple's last element) plus `windowSizeMs` at or
 * before it. False for a key that is not a tuple ending in a number.
 */
export function isFinal(key: string, windowSizeMs: number, watermark: number | undefined): boolean {
  if (watermark === undefined) return false;
  let decoded: ReturnType<typeof decodeViewKey>;
  try {
    decoded = decodeViewKey(key);
  } catch {
    return false;
  }
  if (typeof decoded === 'string') return false;
  const start = decoded[decoded.length - 1];
  return typeof start === 'number' && start + windowSizeMs <= watermark;
}

/**
 * The keys of a speed scan side in key order, up to the horizon: the
 * least last key of the sources that were cut off by the limit (`limited`:
 * those that returned as many entries as the limit), since beyond it a
 * cut-off source may hold keys not seen. Keys past the horizon are
 * dropped; undefined horizon: every key.
 */
export function horizonOf(lastKeysOfLimited: readonly string[]): string | undefined {
  let h: string | undefined;
  for (const k of lastKeysOfLimited) if (h === undefined || compareKeys(k, h) < 0) h = k;
  return h;
}

/** The keys of `side` within the horizon, sorted. */
export function sortedSideKeys(side: SpeedSide, horizon: string | undefined): string[] {
  const keys = [...side.accs.keys()].filter((k) => horizon === undefined || compareKeys(k, horizon) <= 0);
  return keys.sort(compareKeys);
}

/** The last keys of the replies that returned as many entries as `limit` (cut off by it); none without a limit. */
export function limitedLasts(replies: readonly SpeedReply[], limit: number | undefined): string[] {
  if (limit === undefined) return [];
  const out: string[] = [];
  for (const r of replies) {
    if (!('answer' in r)) continue;
    const n = r.answer.entries.length;
    if (n > 0 && n >= limit) out.push(r.answer.entries[n - 1]!.key);
  }
  return out;
}

/**
 * The 'plus' side of a scan's replies (each the speed side of the same
 * bounds, at most `limit` keys, in key order): the side, its keys in order
 * up to the horizon, and the horizon (absent: every key is known).
 */
export function plusScanSide(replies: readonly SpeedReply[], monoid: Plus, limit: number | undefined): { side: SpeedSide; keys: string[]; horizon?: string } {
  const side = plusSide(replies, monoid);
  const horizon = horizonOf(limitedLasts(replies, limit));
  return { side, keys: sortedSideKeys(side, horizon), ...(horizon !== undefined ? { horizon } : {}) };
}

export interface ScanMergeOptions {
  /** At most this many entries. */
  readonly limit?: number;
  /** No key after this one (inclusive bound): see horizonOf. */
  readonly horizon?: string;
  /** Windowed views: entries get `final` from the watermark. */
  readonly windowSizeMs?: number;
  readonly watermark?: number;
  /** Whether entries get a `final` flag (windowed view, speed side asked). */
  readonly flagFinal?: boolean;
}

/**
 * The merged entries of a scan, in key order: the batch's (key-ordered
 * batches of stored accumulators, within the scan's bounds and limit) and
 * the speed side's keys (`speedKeys`, sorted, within the same bounds),
 * each key once, its value batch ⊕ speed. Stops at `limit` entries and
 * after the horizon. Yields arrays of entries (one per batch of the batch
 * scan, and one for the speed keys after its end).
 */
export async function* mergeScanEntries(
  batch: AsyncIterable<readonly ViewEntry[]>,
  speedKeys: readonly string[],
  side: SpeedSide | undefined,
  presentation: Presentation,
  options: ScanMergeOptions = {},
): AsyncGenerator<ServedEntry[], void, undefined> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const horizon = options.horizon;
  let emitted = 0;
  let j = 0;
  const entry = (key: string, stored: Buffer | undefined): ServedEntry => {
    const { found, value } = mergedValue(key, stored, side, presentation);
    return options.flagFinal === true ? { key, value, found, final: isFinal(key, options.windowSizeMs ?? 0, options.watermark) } : { key, value, found };
  };
  if (limit <= 0) return;
  let done = false;
  for await (const b of batch) {
    const out: ServedEntry[] = [];
    for (const e of b) {
      while (j < speedKeys.length && emitted < limit && compareKeys(speedKeys[j]!, e.key) < 0) {
        out.push(entry(speedKeys[j++]!, undefined));
        emitted++;
      }
      // Past the horizon: every speed key (all within it) is out already.
      if (emitted >= limit || (horizon !== undefined && compareKeys(e.key, horizon) > 0)) {
        done = true;
        break;
      }
      if (j < speedKeys.length && speedKeys[j] === e.key) j++;
      out.push(entry(e.key, e.value));
      emitted++;
    }
    if (out.length > 0) yield out;
    if (done || emitted >= limit) return;
  }
  const out: ServedEntry[] = [];
  while (j < speedKeys.length && emitted < limit) {
    out.push(entry(speedKeys[j++]!, undefined));
    emitted++;
  }
  if (out.length > 0) yield out;
}
