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
 * Values are answered as msgpack of the presented value (LoadedVersion.presentBytes).
 * A block that fails its checksum fails the request with DATA_LOSS naming
 * the view, version and file; nothing is answered from it.
 */
import { describe, LaminateError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { GetAnswer, GetQuery, ScanChunkAnswer, ScanQuery, ServedEntry } from '../common/serving-shapes.js';
import type { ViewEntry } from '../view/view-file-reader.js';
import { fileForKey, filesForScan } from '../view/view-manifest.js';
import { mergeScanBatches } from '../view/view-merge.js';
import type { LoadedVersion } from './loaded-version.js';
import type { VersionSet } from './version-set.js';

/** Default bytes of keys and values per Scan message: tens of KB, where gRPC streams fastest per byte. */
export const DEFAULT_SCAN_CHUNK_BYTES = 64 * 1024;
/** Default most keys one Get may name. */
export const DEFAULT_MAX_GET_KEYS = 100_000;

export interface QueryHandlerOptions {
  readonly log: Logger;
  /** Default DEFAULT_SCAN_CHUNK_BYTES. */
  readonly scanChunkBytes?: number;
  /** Default DEFAULT_MAX_GET_KEYS. */
  readonly maxGetKeys?: number;
}

export interface QueryHandlers {
  get(query: GetQuery): Promise<GetAnswer>;
  scan(query: ScanQuery, signal?: AbortSignal): AsyncGenerator<ScanChunkAnswer, void, undefined>;
}

const EMPTY = Buffer.alloc(0);

/** Per-entry bytes counted besides key and value when sizing a chunk (framing of the message's fields). */
const ENTRY_OVERHEAD_BYTES = 8;

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

  async function get(q: GetQuery): Promise<GetAnswer> {
    if (q.keys.length > maxKeys) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected at most ${maxKeys} keys in one Get, got ${q.keys.length}`);
    }
    const lease = versions.acquire(q.view, q.version);
    const v = lease.version;
    try {
      const entries = new Array<ServedEntry>(q.keys.length);
      const byPartition = new Map<number, number[]>();
      for (let i = 0; i < q.keys.length; i++) {
        const key = q.keys[i]!;
        const file = fileForKey(v.manifest, key);
        if (file === undefined) {
          entries[i] = { key, value: EMPTY, found: false };
          continue;
        }
        const group = byPartition.get(file.partition);
        if (group === undefined) byPartition.set(file.partition, [i]);
        else group.push(i);
      }
      await Promise.all([...byPartition].map(async ([partition, indexes]) => {
        const reader = v.reader(partition);
        let values: (Buffer | undefined)[];
        try {
          values = indexes.length === 1 ? [await reader.get(q.keys[indexes[0]!]!)] : await reader.multiGet(indexes.map((i) => q.keys[i]!));
        } catch (err) {
          throw failed(v, err, partition);
        }
        for (let j = 0; j < indexes.length; j++) {
          const i = indexes[j]!;
          const key = q.keys[i]!;
          const stored = values[j];
          entries[i] = stored === undefined ? { key, value: EMPTY, found: false } : { key, value: v.presentBytes(stored, key), found: true };
        }
      }));
      return { view: v.view, coverage: v.coverage, entries };
    } finally {
      lease.release();
    }
  }

  async function* scan(q: ScanQuery, signal?: AbortSignal): AsyncGenerator<ScanChunkAnswer, void, undefined> {
    const limit = q.limit;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected a scan limit that is a non-negative integer, got ${describe(limit)}`);
    }
    const bounds = {
      ...(q.from !== undefined ? { from: q.from } : {}),
      ...(q.to !== undefined ? { to: q.to } : {}),
      ...(q.prefix !== undefined ? { prefix: q.prefix } : {}),
    };
    const lease = versions.acquire(q.view, q.version);
    const v = lease.version;
    try {
      const files = filesForScan(v.manifest, bounds);
      const sources: AsyncIterable<ViewEntry[]>[] = files.map((f) => v.reader(f.partition).scanBatches({ ...bounds, ...(limit !== undefined ? { limit } : {}) }));
      let entries: ServedEntry[] = [];
      let bytes = 0;
      let sent = false;
      try {
        for await (const batch of mergeScanBatches(sources, { batchSize: 512, ...(limit !== undefined ? { limit } : {}) })) {
          for (const e of batch) {
            const value = v.presentBytes(e.value, e.key);
            entries.push({ key: e.key, value, found: true });
            // key.length counts UTF-16 units: close enough to bytes for sizing a chunk.
            bytes += e.key.length + value.length + ENTRY_OVERHEAD_BYTES;
            if (bytes >= chunkBytes) {
              yield { view: v.view, coverage: v.coverage, entries };
              sent = true;
              entries = [];
              bytes = 0;
            }
          }
          if (signal?.aborted === true) return;
        }
      } catch (err) {
        throw failed(v, err);
      }
      if (entries.length > 0 || !sent) yield { view: v.view, coverage: v.coverage, entries };
    } finally {
      lease.release();
    }
  }

  return { get, scan };
}
