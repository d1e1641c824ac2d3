/**
 * How a map attempt reads a dataset split: over gRPC from the Dataset
 * service of the master its worker registered with, in chunks (of MAP_READ_BYTES
 * of records each), decoded a chunk at a time; or, for a
 * split in an archived segment, straight from the archive (archive-reader.ts).
 *
 * On the master's host, the map reads the segment files in place instead
 * (HDFS's short-circuit local reads): it asks the master where the split's
 * records are (LocateRange: per segment file, its bytes, device and inode),
 * and when every file is on this host and is the same file
 * (src/storage/local-file.ts), reads those bytes itself, each batch checked
 * against its CRC and its offsets as the master's reads and the archive's
 * do. The master only answers where; anything else (another host, a file
 * gone, a master that cannot say) reads through the master as before. The
 * CRC pass moves from the master to the map; the master's read, protobuf copy
 * and frame copy per MiB, and the map's receive, are saved (the serving
 * bench's master: 0.97-1.37 CPU-s per build through Read, 0.24-0.33 in place).
 *
 * A container thread keeps one channel per master address for its life, so
 * that the attempts it runs share a connection.
 */
import type { FileHandle } from 'node:fs/promises';
import { LaminateError } from '../common/errors.js';
import type { DatasetSplit } from '../common/input-split.js';
import { decodeBody } from '../storage/record-body.js';
import { hostIdentity, openSameFile } from '../storage/local-file.js';
import type { DatasetClient, LocatedRanges, LocatedSegmentRange } from '../protocol/dataset-rpc.js';
import { readArchivedSplit } from '../dataset/archive-reader.js';
import { batchAlignedReads } from '../dataset/batch-aligned-reads.js';
import type { DatasetAccess, DatasetRecordChunk } from '../storage/input-formats/dataset.js';

/**
 * Bytes of records per chunk a map attempt asks for: 1 MiB rather than the
 * store's default 256 KiB, so that a split of 60 MB costs the master 60
 * segment reads (each an open, a pread, a CRC check of its batches and a
 * close) and 60 gRPC messages rather than 240; and the least a host-local
 * read reads at once. Memory: one chunk and its decoded records per running
 * map attempt (a host-local chunk is at least the largest batch read so far,
 * batch-aligned-reads.ts).
 */
export const MAP_READ_BYTES = 1024 * 1024;

const clients = new Map<string, DatasetClient>();
/** Masters that answered LocateRange with UNIMPLEMENTED, or from another host: read through. */
const noLocate = new Set<string>();
/** LocateRange errors that are the split's own (Read would give them too): the attempt fails with them. */
const SPLIT_ERRORS: ReadonlySet<string> = new Set(['NOT_FOUND', 'OUT_OF_RANGE', 'INVALID_ARGUMENT']);

interface OpenRange {
  readonly range: LocatedSegmentRange;
  readonly fh: FileHandle;
}

/**
 * The located ranges with their files open, when they tile the split's
 * offsets and every file is on this host and the same file; undefined
 * otherwise (nothing is left open then).
 */
async function openRanges(split: DatasetSplit, located: LocatedRanges): Promise<OpenRange[] | undefined> {
  let at = split.startOffset;
  for (const r of located.ranges) {
    if (r.fromOffset !== at || r.toOffset <= r.fromOffset || r.end < r.start) return undefined;
    at = r.toOffset;
  }
  if (located.ranges.length === 0 || at !== split.endOffset) return undefined;
  const opened: OpenRange[] = [];
  for (const range of located.ranges) {
    const found = await openSameFile({ host: located.host, path: range.path, dev: range.dev, ino: range.ino, stamp: range.stamp });
    if (!('fh' in found)) {
      await Promise.all(opened.map((o) => o.fh.close().catch(() => undefined)));
      return undefined;
    }
    opened.push({ range, fh: found.fh });
  }
  return opened;
}

/**
 * The split's segment files open for a read in place, when the master says
 * where they are and they are here (openRanges); undefined: read through the
 * master. A locate that fails for another reason than the split's own (a
 * deadline, the master's trouble) leaves Read to answer; a master that
 * cannot say, or is on another host, is not asked again by this container.
 */
async function openLocal(client: DatasetClient, masterAddress: string, split: DatasetSplit): Promise<OpenRange[] | undefined> {
  if (noLocate.has(masterAddress)) return undefined;
  let located: LocatedRanges | undefined;
  try {
    located = await client.locateRange(split.dataset, split.partition, split.startOffset, split.endOffset);
  } catch (err) {
    if (err instanceof LaminateError && SPLIT_ERRORS.has(err.code)) throw err;
    return undefined;
  }
  if (located === undefined || located.host !== hostIdentity()) {
    noLocate.add(masterAddress);
    return undefined;
  }
  return openRanges(split, located);
}

/**
 * The channel to `address`. The gRPC client (grpc-js, the proto) loads at a
 * container's first dataset read, not at its start: a container started
 * ahead for the next job is ready sooner, and map attempts over files never
 * need it.
 */
async function clientFor(address: string): Promise<DatasetClient> {
  let c = clients.get(address);
  if (!c) {
    const { DatasetClient: Client } = await import('../protocol/dataset-rpc.js');
    c = clients.get(address);
    if (!c) clients.set(address, (c = new Client(address)));
  }
  return c;
}

/**
 * Reads dataset splits from the Dataset service at `masterAddress`. Reads
 * only; plans no splits (that is the master's, next to its store). A lost
 * connection fails the read with UNAVAILABLE, and so the attempt, which the
 * master retries.
 */
export function remoteDatasetAccess(masterAddress: string, options: { hostLocal?: boolean } = {}): DatasetAccess {
  return {
    splitRanges() {
      return Promise.reject(new LaminateError('FAILED_PRECONDITION', 'Expected dataset splits to be planned by the master, got a request in a worker'));
    },
    async *readRange(split: DatasetSplit): AsyncGenerator<DatasetRecordChunk> {
      // Records in an archived segment come from the archive, not through the master.
      if (split.archive !== undefined) {
        yield* readArchivedSplit(split);
        return;
      }
      const client = await clientFor(masterAddress);
      const opened = options.hostLocal === false ? undefined : await openLocal(client, masterAddress, split);
      if (opened) {
        try {
          for (const { range, fh } of opened) {
            const piece: DatasetSplit = { ...split, startOffset: range.fromOffset, endOffset: range.toOffset, archive: { path: range.path, start: range.start, end: range.end } };
            yield* readArchivedSplit(piece, batchAlignedReads(fh, MAP_READ_BYTES), 'segment file');
          }
        } finally {
          await Promise.all(opened.map((o) => o.fh.close()));
        }
        return;
      }
      const chunks = client.read({
        dataset: split.dataset, partition: split.partition, from: split.startOffset, endOffset: split.endOffset, follow: false,
        maxBytes: MAP_READ_BYTES,
      });
      for await (const chunk of chunks) {
        if (chunk.count > 0) yield { firstOffset: chunk.firstOffset, records: decodeBody(chunk.body) };
      }
    },
  };
}
