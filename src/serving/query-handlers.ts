/**
 * The queries a serving node answers, over its version set: Get (one key or
 * many: MultiGet) and Scan. Each takes a lease on one version for its whole
 * run, so its answer comes from that version alone, and says which one
 * (coverage: the version and its cut).
 *
 * Get routes each key to the one file that may hold it (fileForKey: the
 * reducer's hash partition, and the file's key range), reads each file's
 * keys in one multiGet, the files' reads running together. Scan merges the
 * files whose ranges meet its bounds in key order (mergeScanBatches) and
 * answers in chunks of about `scanChunkBytes`, never a message per entry.
 *
 * On a view with speed processes (and unless asked batch-only), each read
 * also asks the speed side from exactly the held version's cut
 * (speed-reads.ts), merges accumulators per key (batch ⊕ speed), and
 * answers with the coverage of both (the speed offsets A, lag, freshness,
 * uncovered partitions, watermark) and, for a windowed view, whether each
 * key's window is final. A scan merge-joins the batch's key order with the
 * speed side's sorted keys (speed-merge.ts mergeScanEntries).
 *
 * Values are answered as msgpack of the presented value (LoadedVersion.answer).
 * A block that fails its checksum fails the request with DATA_LOSS naming
 * the view, version and file; nothing is answered from it.
 */
import { describe, LaminateError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { DEFAULT_WAIT_MS, type Coverage, type GetAnswer, type GetQuery, type ScanChunkAnswer, type ScanQuery, type ServedEntry, type SpeedReadOptions } from '../common/serving-shapes.js';
import { packEntries, PackedWriter, SCAN_CHUNK_HEADROOM } from '../protocol/packed-entries.js';
import type { PackedGetAnswer, PackedScanChunkAnswer } from '../protocol/serving-rpc.js';
import { BlockCursor } from '../view/view-block.js';
import { writeKeyBytes } from '../view/view-file-format.js';
import type { ViewEntry } from '../view/view-file-reader.js';
import { fileForKey, filesForScan } from '../view/view-manifest.js';
import { mergeScanBatches } from '../view/view-merge.js';
import type { LoadedVersion } from './loaded-version.js';
import { packedScan } from './packed-scan.js';
import { RowCache } from './row-cache.js';
import { behind, isFinal, mergeScanEntries } from './speed-merge.js';
import type { SpeedPlacement, SpeedReads, SpeedScanRead } from './speed-reads.js';
import type { VersionSet } from './version-set.js';

/** Default bytes of keys and values per Scan message: tens of KB, where gRPC streams fastest per byte. */
export const DEFAULT_SCAN_CHUNK_BYTES = 64 * 1024;
/** getPacked's first answer buffer: a MultiGet of 100 keys of ~120 bytes each; it grows for larger ones. */
const GET_PACK_BYTES = 64 * 1024;
/** getPacked's key buffer is kept up to this size between Gets (one key of a third of it); a larger one is let go. */
const MAX_KEPT_SCRATCH_BYTES = 64 * 1024;
/** Default most keys one Get may name. */
export const DEFAULT_MAX_GET_KEYS = 100_000;

export interface QueryHandlerOptions {
  readonly log: Logger;
  /** Default DEFAULT_SCAN_CHUNK_BYTES. */
  readonly scanChunkBytes?: number;
  /** Default DEFAULT_MAX_GET_KEYS. */
  readonly maxGetKeys?: number;
  /** The speed side; absent: every answer is batch-only. */
  readonly speed?: SpeedReads;
  /** Where a view's speed side runs (what the master last said); undefined or no location: batch-only. */
  readonly placement?: (view: string) => SpeedPlacement | undefined;
  /** Hot keys' values for Gets packed straight from the blocks (row-cache.ts); absent or of 0 bytes: none. */
  readonly rowCache?: RowCache;
}

export interface QueryHandlers {
  get(query: GetQuery): Promise<GetAnswer>;
  scan(query: ScanQuery, signal?: AbortSignal): AsyncGenerator<ScanChunkAnswer, void, undefined>;
  /** get()'s answer with its entries packed (packed-entries.ts), as the Serving service sends it. */
  getPacked(query: GetQuery): Promise<PackedGetAnswer>;
  /** scan()'s chunks with their entries packed (packed-entries.ts), as the Serving service sends them. */
  scanPacked(query: ScanQuery, signal?: AbortSignal): AsyncGenerator<PackedScanChunkAnswer, void, undefined>;
}

/** Per-entry bytes counted besides key and value when sizing a chunk (framing of the message's fields). */
const ENTRY_OVERHEAD_BYTES = 8;

/** How often a read waiting for a speed process to be placed looks again. */
const PLACEMENT_POLL_MS = 50;

export function createQueryHandlers(versions: VersionSet, options: QueryHandlerOptions): QueryHandlers {
  const log = options.log.child({ component: 'queries' });
  const chunkBytes = options.scanChunkBytes ?? DEFAULT_SCAN_CHUNK_BYTES;
  const maxKeys = options.maxGetKeys ?? DEFAULT_MAX_GET_KEYS;

  /** Logs a read-time DATA_LOSS (a copy damaged after it was verified) and returns the error to throw. */
  const failed = (v: LoadedVersion, err: unknown, partition?: number): unknown => {
    const e = v.explain(err, partition);
    if (e instanceof LaminateError && e.code === 'DATA_LOSS') log.error({ view: v.view, version: v.version, err: e }, 'damaged view file found at read time');
    return e;
  };

  /** Where the view's speed processes are now, as the node's last heartbeat told; undefined: none. */
  const placed = (view: string): SpeedPlacement | undefined => {
    const p = options.placement?.(view);
    return p === undefined || p.speed.length === 0 ? undefined : p;
  };

  /** The speed placement a read uses, or undefined for a batch-only read. */
  const placementFor = async (v: LoadedVersion, o: SpeedReadOptions): Promise<SpeedPlacement | undefined> => {
    if (o.batchOnly === true || options.speed === undefined) return undefined;
    let p = placed(v.view);
    if (p !== undefined || o.atLeast === undefined || behind(v.coverage, o.atLeast).length === 0) return p;
    // Read your writes asked before this node has heard of a speed process for the
    // view (just deployed, or the node just started): it learns of one at its next
    // heartbeat, so wait for it as long as the read may wait rather than fail at once.
    const deadline = Date.now() + (o.waitMs ?? DEFAULT_WAIT_MS);
    while (p === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, PLACEMENT_POLL_MS));
      p = placed(v.view);
    }
    return p;
  };

  /** A batch-only read asked for atLeast: the cut alone must reach it (nothing to wait for). */
  const checkBatchOnly = (v: LoadedVersion, o: SpeedReadOptions): void => {
    if (o.atLeast === undefined) return;
    const late = behind(v.coverage, o.atLeast);
    if (late.length > 0) {
      throw new LaminateError('TIMEOUT', `View '${v.view}': a batch-only answer from version ${v.version} does not reach the offsets asked (at least ${o.atLeast.join(',')}): ${late.join('; ')}`, { ids: { view: v.view } });
    }
  };

  /** The stored accumulators of `keys` in version v (undefined: not there), each file read once. */
  async function readBatch(v: LoadedVersion, keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    const out = new Array<Buffer | undefined>(keys.length);
    const byPartition = new Map<number, number[]>();
    for (let i = 0; i < keys.length; i++) {
      const file = fileForKey(v.manifest, keys[i]!);
      if (file === undefined) continue;
      const group = byPartition.get(file.partition);
      if (group === undefined) byPartition.set(file.partition, [i]);
      else group.push(i);
    }
    await Promise.all([...byPartition].map(async ([partition, indexes]) => {
      const reader = v.reader(partition);
      let values: (Buffer | undefined)[];
      try {
        values = indexes.length === 1 ? [await reader.get(keys[indexes[0]!]!)] : await reader.multiGet(indexes.map((i) => keys[i]!));
      } catch (err) {
        throw failed(v, err, partition);
      }
      for (let j = 0; j < indexes.length; j++) out[indexes[j]!] = values[j];
    }));
    return out;
  }

  /** A Get naming more keys than maxKeys is refused, whichever way it is answered. */
  const checkKeyCount = (q: GetQuery): void => {
    if (q.keys.length > maxKeys) throw new LaminateError('INVALID_ARGUMENT', `Expected at most ${maxKeys} keys in one Get, got ${q.keys.length}`);
  };

  async function get(q: GetQuery): Promise<GetAnswer> {
    checkKeyCount(q);
    const lease = versions.acquire(q.view, q.version);
    const v = lease.version;
    try {
      const stored = await readBatch(v, q.keys);
      const placement = await placementFor(v, q);
      if (placement === undefined) {
        checkBatchOnly(v, q);
        const entries = q.keys.map((key, i): ServedEntry => {
          const a = v.answer(key, stored[i]);
          return { key, value: a.value, found: a.found };
        });
        return { view: v.view, coverage: v.coverage, entries };
      }
      const r = await options.speed!.get(v.view, v.version, { cut: v.manifest.cut, definitionHash: v.manifest.definitionHash }, v.presentation.merge, placement, q.keys, stored, q);
      const windowed = placement.windowSizeMs > 0;
      const entries = q.keys.map((key, i): ServedEntry => {
        const a = v.answer(key, stored[i], r.side);
        return windowed && a.found ? { key, ...a, final: isFinal(key, placement.windowSizeMs, r.coverage.watermark) } : { key, ...a };
      });
      return { view: v.view, coverage: r.coverage, entries };
    } finally {
      lease.release();
    }
  }

  // getPacked's scratch: shared by every Get of the node, as no await falls between a Get's first key and its answer.
  let scratch = Buffer.allocUnsafeSlow(256);
  const cursor = new BlockCursor();
  const writer = new PackedWriter(GET_PACK_BYTES);
  const rows = options.rowCache?.enabled === true ? options.rowCache : undefined;
  /** Each loaded version's owner number in the row cache: its entries are found only under it. */
  const rowOwners = new WeakMap<LoadedVersion, number>();
  const rowOwner = (v: LoadedVersion): number => {
    let owner = rowOwners.get(v);
    if (owner === undefined) {
      owner = rows!.register();
      rowOwners.set(v, owner);
    }
    return owner;
  };

  /** Whether a read of v is batch-only as get() and scan() would make it: asked so, no speed side, or none placed and no offsets to wait for. */
  const batchOnlyRead = (v: LoadedVersion, q: SpeedReadOptions): boolean =>
    q.batchOnly === true || options.speed === undefined || (q.atLeast === undefined && placed(v.view) === undefined);

  /**
   * The Serving service's Get: get()'s answer with its entries packed
   * (packed-entries.ts). A batch-only Get of a view whose stored values are
   * its answers (Presentation.identity) is packed straight from the blocks:
   * each key's UTF-8 written into one scratch buffer, looked up, and its
   * value copied from the block into the answer, with no key buffer, value
   * view, answer or entry object per key (the node's CPU per MultiGet key
   * over gRPC fell from a median 3.51 to 2.89 us: bench/README.md,
   * serving). With a row cache (row-cache.ts), a key found there is
   * copied from it without the block lookup, and a key found in its block
   * is offered to it. Any other Get, and one whose block must be read in
   * the thread pool (an object store's file not cached: then the lookups
   * start over the general way, under a new lease), goes through get().
   * The same bytes either way (a test compares them).
   */
  async function getPacked(q: GetQuery): Promise<PackedGetAnswer> {
    const packed = await packedFromBlocks(q);
    if (packed !== undefined) return packed;
    const a = await get(q);
    return { view: a.view, coverage: a.coverage, packed: packEntries(a.entries) };
  }

  /** getPacked's direct way; undefined when the Get must go the general way. Synchronous but for acquire's errors. */
  async function packedFromBlocks(q: GetQuery): Promise<PackedGetAnswer | undefined> {
    checkKeyCount(q);
    const lease = versions.acquire(q.view, q.version);
    const v = lease.version;
    try {
      if (!v.presentation.identity || !batchOnlyRead(v, q)) return undefined;
      checkBatchOnly(v, q);
      writer.clear();
      const owner = rows === undefined ? 0 : rowOwner(v);
      for (const key of q.keys) {
        if (3 * key.length > scratch.length) scratch = Buffer.allocUnsafeSlow(Math.max(3 * key.length, 2 * scratch.length));
        const file = fileForKey(v.manifest, key);
        // As get(): a key no file can hold is answered not found unchecked (packEntries writes it as
        // Buffer#write does); one looked up must be well-formed (keyBytes' check).
        const length = file === undefined ? scratch.write(key, 0, 'utf8') : writeKeyBytes(key, scratch);
        let found = false;
        if (file !== undefined) {
          const hash = owner === 0 ? 0 : RowCache.hash(owner, scratch, length);
          const hit = owner === 0 ? undefined : rows!.get(owner, scratch, length, hash);
          if (hit !== undefined) {
            writer.addFound(scratch, length, hit.arena, hit.valueStart, hit.valueEnd);
            continue;
          }
          let r: boolean | Promise<unknown>;
          try {
            r = v.reader(file.partition).lookup(scratch, length, cursor);
          } catch (err) {
            throw failed(v, err, file.partition);
          }
          if (typeof r !== 'boolean') {
            r.catch(() => undefined); // get() reads the block again and reports its failure.
            writer.clear();
            return undefined;
          }
          found = r;
          if (found && owner !== 0) rows!.put(owner, scratch, length, hash, cursor.block!.data, cursor.valueStart, cursor.valueEnd);
        }
        if (found) writer.addFound(scratch, length, cursor.block!.data, cursor.valueStart, cursor.valueEnd);
        else writer.addNotFound(scratch, length, v.answer(key, undefined).value);
      }
      return { view: v.view, coverage: v.coverage, packed: writer.copy() };
    } catch (err) {
      writer.clear();
      throw err;
    } finally {
      lease.release();
      // Nothing of this Get kept past it: the cursor's block (perhaps of a version about to retire), an outsized key buffer.
      cursor.block = undefined;
      if (scratch.length > MAX_KEPT_SCRATCH_BYTES) scratch = Buffer.allocUnsafeSlow(256);
    }
  }

  /** A scan's limit, checked, and its bounds. */
  const scanBounds = (q: ScanQuery): { limit: number | undefined; bounds: { from?: string; to?: string; prefix?: string } } => {
    const limit = q.limit;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected a scan limit that is a non-negative integer, got ${describe(limit)}`);
    }
    const bounds = {
      ...(q.from !== undefined ? { from: q.from } : {}),
      ...(q.to !== undefined ? { to: q.to } : {}),
      ...(q.prefix !== undefined ? { prefix: q.prefix } : {}),
    };
    return { limit, bounds };
  };

  async function* scan(q: ScanQuery, signal?: AbortSignal): AsyncGenerator<ScanChunkAnswer, void, undefined> {
    const { limit, bounds } = scanBounds(q);
    const lease = versions.acquire(q.view, q.version);
    const v = lease.version;
    try {
      const placement = await placementFor(v, q);
      let speed: SpeedScanRead | undefined;
      if (placement === undefined) checkBatchOnly(v, q);
      else speed = await options.speed!.scan(v.view, v.version, { cut: v.manifest.cut, definitionHash: v.manifest.definitionHash }, v.presentation.merge, placement, bounds, limit, q, (keys) => readBatch(v, keys));
      const coverage: Coverage = speed?.coverage ?? v.coverage;
      const files = filesForScan(v.manifest, bounds);
      const sources: AsyncIterable<ViewEntry[]>[] = files.map((f) => v.reader(f.partition).scanBatches({ ...bounds, ...(limit !== undefined ? { limit } : {}) }));
      const batch = mergeScanBatches(sources, { batchSize: 512, ...(limit !== undefined ? { limit } : {}) });
      const merged = mergeScanEntries(batch, speed?.keys ?? [], speed?.side, v.presentation, {
        ...(limit !== undefined ? { limit } : {}),
        ...(speed?.horizon !== undefined ? { horizon: speed.horizon } : {}),
        ...(speed !== undefined && placement!.windowSizeMs > 0
          ? { flagFinal: true, windowSizeMs: placement!.windowSizeMs, ...(coverage.watermark !== undefined ? { watermark: coverage.watermark } : {}) }
          : {}),
      });
      let entries: ServedEntry[] = [];
      let bytes = 0;
      let sent = false;
      try {
        for await (const out of merged) {
          for (const e of out) {
            entries.push(e);
            // key.length counts UTF-16 units: close enough to bytes for sizing a chunk.
            bytes += e.key.length + e.value.length + ENTRY_OVERHEAD_BYTES;
            if (bytes >= chunkBytes) {
              yield { view: v.view, coverage, entries };
              sent = true;
              entries = [];
              bytes = 0;
            }
          }
          if (signal?.aborted === true) return;
        }
      } catch (err) {
        if (err instanceof LaminateError && err.code === 'FAILED_PRECONDITION') {
          throw new LaminateError(err.code, `View '${v.view}' version ${v.version}: ${err.message}`, { cause: err, ids: { view: v.view, version: v.version } });
        }
        throw failed(v, err);
      }
      if (entries.length > 0 || !sent) yield { view: v.view, coverage, entries };
    } finally {
      lease.release();
    }
  }

  /**
   * A batch-only scan of a view whose stored values are its answers
   * (no speed side, Presentation.identity) is packed straight from the
   * blocks (packed-scan.ts); any other goes through scan() and is packed
   * chunk by chunk. The same entries and chunk sizes either way.
   */
  async function* scanPacked(q: ScanQuery, signal?: AbortSignal): AsyncGenerator<PackedScanChunkAnswer, void, undefined> {
    const { limit, bounds } = scanBounds(q);
    const lease = versions.acquire(q.view, q.version);
    const v = lease.version;
    try {
      const direct = v.presentation.identity && batchOnlyRead(v, q);
      if (!direct) {
        for await (const c of scan(q, signal)) yield { view: c.view, coverage: c.coverage, packed: packEntries(c.entries) };
        return;
      }
      checkBatchOnly(v, q);
      const files = filesForScan(v.manifest, bounds);
      const cursors = files.map((f) => v.reader(f.partition).scanCursor({ ...bounds, ...(limit !== undefined ? { limit } : {}) }));
      try {
        for await (const c of packedScan(cursors, limit ?? Number.POSITIVE_INFINITY, chunkBytes, () => signal?.aborted === true, SCAN_CHUNK_HEADROOM)) {
          yield { view: v.view, coverage: v.coverage, packed: c.packed, headroom: c.headroom };
        }
      } catch (err) {
        if (err instanceof LaminateError && err.code === 'FAILED_PRECONDITION') {
          throw new LaminateError(err.code, `View '${v.view}' version ${v.version}: ${err.message}`, { cause: err, ids: { view: v.view, version: v.version } });
        }
        throw failed(v, err);
      }
    } finally {
      lease.release();
    }
  }

  return { get, getPacked, scan, scanPacked };
}
