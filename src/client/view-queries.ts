/**
 * Queries of a view's serving layer, as LaminateClient offers them: Get,
 * MultiGet and Scan, on the serving nodes the master knows
 * (serving-directory.ts). Keys are given as view keys (a string, or a
 * tuple of strings and numbers) and come back decoded; values come back as
 * the presented answers (topK's items, hll's estimate; a custom monoid's
 * accumulator as stored).
 *
 * Every answer comes from one version and says which (coverage). Where a
 * speed process runs for the view, answers are batch ⊕ speed, and the
 * coverage also names the speed side's offsets (speed, lag, freshnessMs,
 * uncovered partitions, watermark); `batchOnly` asks the batch alone,
 * `atLeast` waits (up to `waitMs`) until the answer counts the records
 * before those offsets (read your writes).
 *
 * A MultiGet of more keys than one request carries is split, and the parts
 * after the first are pinned to the first one's version; when the first
 * answer is merged with a speed side, all the keys are asked again in one
 * request instead (up to 100,000), so they share one speed snapshot. A
 * batch-only scan cut off by a node going away goes on from the next key
 * on another node holding the same version, so it neither repeats nor
 * skips an entry; a merged scan fails instead (another node's speed side
 * is another snapshot than the coverage already given).
 */
import { unpack } from 'msgpackr';
import { describe, LaminateError } from '../common/errors.js';
import type { Coverage, ScanQuery, ServedEntry, SpeedReadOptions } from '../common/serving-shapes.js';
import { decodeViewKey, encodeKeyPrefix, encodeViewKey, type KeyElement, type ViewKey } from '../common/view-key.js';
import { movableError, type ServingDirectory } from './serving-directory.js';

export type { Coverage, UncoveredPartition } from '../common/serving-shapes.js';

/** Keys per Get request when a MultiGet is split. */
const KEYS_PER_REQUEST = 10_000;
/** Most keys of a MultiGet merged with the speed side: a serving node's default most keys per Get (one request, one speed snapshot). */
const MAX_MERGED_KEYS = 100_000;

export interface QueryOptions {
  /** Read this version (one the serving layer keeps); default the current one. */
  readonly version?: number;
  /** The batch version alone, even where a speed process runs (the coverage then has no speed fields). */
  readonly batchOnly?: boolean;
  /**
   * Read your writes: per source partition, offsets the answer must count
   * the records before (an appended range's ends, say). The serving node
   * waits up to `waitMs` (default 5 s) for the speed side to get there,
   * else the read fails with TIMEOUT naming the partitions behind.
   */
  readonly atLeast?: readonly number[];
  readonly waitMs?: number;
}

/** A key's answer. `value` is undefined when not found. */
export interface KeyResult {
  readonly key: string | KeyElement[];
  readonly value: unknown;
  readonly found: boolean;
  /** Windowed views answered with a speed side: whether the key's window is final (the watermark passed its end). */
  readonly final?: boolean;
}

/** The answer of get(): the key's, with its coverage. */
export interface GetResult extends KeyResult {
  readonly coverage: Coverage;
}

/** The answer of multiGet(): one result per key, in the order asked, all from one version. */
export interface MultiGetResult {
  readonly view: string;
  readonly coverage: Coverage;
  readonly results: readonly KeyResult[];
}

export interface ScanOptions extends QueryOptions {
  /** Keys starting with this: a string prefix of string keys, or the first elements of tuple keys. */
  readonly prefix?: ViewKey;
  /** First key, inclusive. */
  readonly from?: ViewKey;
  /** Key to stop at, exclusive. */
  readonly to?: ViewKey;
  /** At most this many entries. */
  readonly limit?: number;
}

/** One entry of a scan. */
export interface ScanEntry {
  readonly key: string | KeyElement[];
  readonly value: unknown;
  /** As KeyResult's. */
  readonly final?: boolean;
}

/** The speed-side options of a query, checked. */
function speedOptions(o: QueryOptions): SpeedReadOptions {
  const { atLeast, waitMs } = o;
  if (atLeast !== undefined && (!Array.isArray(atLeast) || !atLeast.every((x) => Number.isSafeInteger(x) && x >= 0))) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected atLeast to be an array of offsets (non-negative integers), got ${describe(atLeast)}`);
  }
  if (waitMs !== undefined && (!Number.isSafeInteger(waitMs) || waitMs < 0)) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected waitMs to be a non-negative integer, got ${describe(waitMs)}`);
  }
  return {
    ...(o.batchOnly === true ? { batchOnly: true } : {}),
    ...(atLeast !== undefined ? { atLeast } : {}),
    ...(waitMs !== undefined ? { waitMs } : {}),
  };
}

/**
 * Which errors move a read to another node: with atLeast, a TIMEOUT is the
 * node's answer (the speed side did not get there in time; another node
 * asks the same speed processes), not a node gone.
 */
function movableFor(o: SpeedReadOptions): (err: unknown) => boolean {
  if (o.atLeast === undefined) return movableError;
  return (err) => movableError(err) && !(err instanceof LaminateError && err.code === 'TIMEOUT');
}

function version(options: QueryOptions): number | undefined {
  const v = options.version;
  if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a version that is a positive integer, got ${describe(v)}`);
  }
  return v;
}

function resultOf(e: ServedEntry): KeyResult {
  const r = { key: decodeViewKey(e.key), value: e.found ? unpack(e.value) : undefined, found: e.found };
  return e.final === undefined ? r : { ...r, final: e.final };
}

export class ViewQueries {
  constructor(private readonly directory: ServingDirectory) {}

  /** One key's value from the current version (or `version`). NOT_FOUND for an unknown view or version; a missing key is found: false. */
  async get(view: string, key: ViewKey, options: QueryOptions = {}): Promise<GetResult> {
    const r = await this.multiGet(view, [key], options);
    return { ...r.results[0]!, coverage: r.coverage };
  }

  /** Several keys' values, all from one version. */
  async multiGet(view: string, keys: readonly ViewKey[], options: QueryOptions = {}): Promise<MultiGetResult> {
    if (!Array.isArray(keys)) throw new LaminateError('INVALID_ARGUMENT', `Expected an array of keys, got ${describe(keys)}`);
    let pinned = version(options);
    const speed = speedOptions(options);
    const encoded = keys.map((k) => encodeViewKey(k));
    const results: KeyResult[] = [];
    let coverage: Coverage | undefined;
    let first = true;
    // One request at least, so that an empty MultiGet still says which version it would read.
    for (let i = 0; first || i < encoded.length; i += KEYS_PER_REQUEST) {
      first = false;
      const part = encoded.slice(i, i + KEYS_PER_REQUEST);
      const answer = await this.directory.withNode(view, pinned, (node) => node.get(view, part, pinned, speed), movableFor(speed));
      coverage ??= answer.coverage;
      pinned ??= answer.coverage.version;
      if (answer.coverage.speed !== undefined && encoded.length > part.length) {
        // Merged: each request reads the speed side at its own moment, so all keys go in one.
        return this.mergedInOne(view, encoded, answer.coverage.version, speed);
      }
      for (const e of answer.entries) results.push(resultOf(e));
    }
    return { view, coverage: coverage!, results };
  }

  /** A merged MultiGet of more keys than KEYS_PER_REQUEST: one request (one speed snapshot), up to MAX_MERGED_KEYS. */
  private async mergedInOne(view: string, encoded: readonly string[], pinned: number, speed: SpeedReadOptions): Promise<MultiGetResult> {
    if (encoded.length > MAX_MERGED_KEYS) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected at most ${MAX_MERGED_KEYS} keys in a MultiGet merged with the speed side (one snapshot of it), got ${encoded.length}: split it, or ask batchOnly`);
    }
    const answer = await this.directory.withNode(view, pinned, (node) => node.get(view, encoded, pinned, speed), movableFor(speed));
    return { view, coverage: answer.coverage, results: answer.entries.map(resultOf) };
  }

  /**
   * The entries within the bounds, in key order, from one version: an async
   * iterable whose `coverage` is known once the first chunk has arrived.
   * Bounds are checked here, at once.
   */
  scan(view: string, options: ScanOptions = {}): ViewScan {
    const limit = options.limit;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected a scan limit that is a non-negative integer, got ${describe(limit)}`);
    }
    const query: ScanQuery = {
      view,
      ...(options.version !== undefined ? { version: version(options)! } : {}),
      ...(options.prefix !== undefined ? { prefix: encodeKeyPrefix(options.prefix) } : {}),
      ...(options.from !== undefined ? { from: encodeViewKey(options.from) } : {}),
      ...(options.to !== undefined ? { to: encodeViewKey(options.to) } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...speedOptions(options),
    };
    return new ViewScan(this.directory, query);
  }
}

/** Wire limits are int32: a larger limit is enforced by the client alone. */
const MAX_WIRE_LIMIT = 0x7fffffff;

/** A scan of a view, iterated once. */
export class ViewScan implements AsyncIterable<ScanEntry> {
  private seen: Coverage | undefined;
  private started = false;

  constructor(private readonly directory: ServingDirectory, private readonly query: ScanQuery) {}

  /** The version read and its cut (and speed side); undefined until the first chunk has arrived. */
  get coverage(): Coverage | undefined {
    return this.seen;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ScanEntry, void, undefined> {
    if (this.started) throw new LaminateError('FAILED_PRECONDITION', 'A scan is iterated once; call scan() again');
    this.started = true;
    const { view } = this.query;
    let remaining = this.query.limit ?? Number.POSITIVE_INFINITY;
    let from = this.query.from;
    let version = this.query.version;
    const tried = new Set<string>();
    let lastErr: unknown;
    for (;;) {
      const node = await this.directory.next(view, version, tried);
      if (node === undefined) throw lastErr ?? (await this.directory.whyNone(view, version));
      const query: ScanQuery = {
        ...this.query,
        ...(version !== undefined ? { version } : {}),
        ...(from !== undefined ? { from } : {}),
        ...(remaining <= MAX_WIRE_LIMIT ? { limit: remaining } : {}),
      };
      try {
        for await (const chunk of node.scan(query)) {
          this.seen ??= chunk.coverage;
          // Whatever node goes on with this scan reads the same version.
          version ??= chunk.coverage.version;
          for (const e of chunk.entries) {
            if (remaining <= 0) return;
            remaining--;
            // The next key after e.key: the scan resumes there on another node.
            from = `${e.key}\u0000`;
            const key = decodeViewKey(e.key);
            yield e.final === undefined ? { key, value: unpack(e.value) } : { key, value: unpack(e.value), final: e.final };
          }
        }
        return;
      } catch (err) {
        // Going on elsewhere would merge another speed snapshot than the coverage given.
        if (!movableFor(this.query)(err) || this.seen?.speed !== undefined) throw err;
        this.directory.failed(node.address, err);
        lastErr = err;
      }
    }
  }
}
