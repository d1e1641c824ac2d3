/**
 * The archive of sealed segments (Kafka's tiered storage, KIP-405): what is
 * in it, where, and which segments to copy next. Pure.
 *
 * Layout in the archive (any store of the storage port, under its prefix):
 *
 *   <prefix>/<dataset>/p-0003/00000000000000001200.log     a sealed segment, byte for byte as on the master's disk
 *   <prefix>/<dataset>/p-0003/manifest.json                the partition's archived segments (below)
 *
 * The manifest is the durable record of what is archived. A segment enters
 * it only once its object and index are stored whole and the object read
 * back matched the CRC of the local file; the manifest is then replaced in
 * one atomic put. So a segment object not in the manifest (a copy cut short
 * by a crash) is simply copied again, over itself: a copy is idempotent, and
 * a reader trusts only what the manifest lists. As in Kafka, the archived
 * segments of a partition are always a prefix of its log: a segment is
 * copied only after every segment before it (RemoteLogManager copies the
 * candidate segments in offset order, from the highest offset already copied).
 */
import { describe, LaminateError } from '../common/errors.js';
import { joinKey } from '../storage/object-store.js';
import { partitionDirName, segmentFileName } from './layout.js';

export const MANIFEST_VERSION = 1;

/** One archived segment, as its manifest entry says. */
export interface ArchivedSegment {
  readonly baseOffset: number;
  /** The offset after its last record: the next segment's base. */
  readonly endOffset: number;
  /** Its size in bytes (the object's size). */
  readonly bytes: number;
  /** CRC-32 (zlib.crc32) of every byte of the object. */
  readonly crc32: number;
}

export interface PartitionManifest {
  readonly version: number;
  readonly dataset: string;
  readonly partition: number;
  /** In offset order, each starting where the one before ends, the first at 0. */
  readonly segments: readonly ArchivedSegment[];
}

/** A sealed segment of the local log, as the archiver sees it (LogDatasetStore.sealedSegments). */
export interface SealedSegmentInfo {
  readonly baseOffset: number;
  readonly endOffset: number;
  readonly bytes: number;
  /** The local file. */
  readonly path: string;
}

export function emptyManifest(dataset: string, partition: number): PartitionManifest {
  return { version: MANIFEST_VERSION, dataset, partition, segments: [] };
}

/** The offset before which every record of the partition is archived (0 when none is). */
export function archivedEnd(m: PartitionManifest): number {
  return m.segments.at(-1)?.endOffset ?? 0;
}

/** Bytes of the archived segments. */
export function archivedBytes(m: PartitionManifest): number {
  return m.segments.reduce((n, s) => n + s.bytes, 0);
}

/** The key of the partition's folder in the archive (ending in '/'). */
export function archivePartitionPrefix(prefix: string, dataset: string, partition: number): string {
  return joinKey(joinKey(prefix, dataset), `${partitionDirName(partition)}/`);
}

export function archiveSegmentKey(prefix: string, dataset: string, partition: number, baseOffset: number): string {
  return archivePartitionPrefix(prefix, dataset, partition) + segmentFileName(baseOffset);
}

export function archiveManifestKey(prefix: string, dataset: string, partition: number): string {
  return `${archivePartitionPrefix(prefix, dataset, partition)}manifest.json`;
}

/**
 * The manifest with `s` added after its last segment.
 *
 * @throws LaminateError INTERNAL when `s` does not start where the manifest
 *   ends, or is empty: the archived part must stay a prefix without gaps.
 */
export function withSegment(m: PartitionManifest, s: ArchivedSegment): PartitionManifest {
  const end = archivedEnd(m);
  if (s.baseOffset !== end || s.endOffset <= s.baseOffset) {
    throw new LaminateError('INTERNAL', `Expected the next archived segment of dataset ${describe(m.dataset)} partition ${m.partition} to cover offsets from ${end}, got [${s.baseOffset}, ${s.endOffset})`, { ids: { dataset: m.dataset, partition: m.partition, offset: s.baseOffset } });
  }
  return { ...m, segments: [...m.segments, s] };
}

/**
 * The sealed segments to copy next, in order: those from the manifest's end
 * on. `sealed` is the local log's sealed segments in offset order (never the
 * active one: the live tail stays on the master's disk). Called by the
 * archiver on each pass; repeating it before the manifest changes gives the
 * same answer, which is what makes a resumed archiver copy again exactly
 * what was not recorded.
 *
 * @throws LaminateError DATA_LOSS when the manifest's end is not the start
 *   of a local sealed segment, nor the end of the last one (the archive
 *   belongs to another log, or the local log lost segments): nothing is
 *   copied then rather than an archive with a gap or an overlap.
 */
export function segmentsToCopy(sealed: readonly SealedSegmentInfo[], m: PartitionManifest): SealedSegmentInfo[] {
  const end = archivedEnd(m);
  const i = sealed.findIndex((s) => s.baseOffset === end);
  if (i >= 0) return sealed.slice(i);
  const sealedEnd = sealed.at(-1)?.endOffset ?? 0;
  if (end === sealedEnd || (end === 0 && sealed.length === 0)) return [];
  // The archive may be ahead of the local log's sealed part only if that segment is still being written: impossible, since only sealed ones are copied.
  throw new LaminateError(
    'DATA_LOSS',
    `Expected the archive of dataset ${describe(m.dataset)} partition ${m.partition} to end at the start of a local sealed segment, got its end ${end} while the local sealed segments start at ${sealed.map((s) => s.baseOffset).join(', ') || 'none'}`,
    { ids: { dataset: m.dataset, partition: m.partition, offset: end } },
  );
}

/** The manifest as stored: JSON, one line per segment for a reader's eye. */
export function encodeManifest(m: PartitionManifest): string {
  return `${JSON.stringify({ version: m.version, dataset: m.dataset, partition: m.partition, segments: m.segments }, null, 1)}\n`;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Parses and checks a stored manifest: the version, that it names
 * `dataset` and `partition`, and that its segments tile [0, end).
 *
 * @throws LaminateError DATA_LOSS naming `where` for anything else.
 */
export function parseManifest(text: string, dataset: string, partition: number, where: string): PartitionManifest {
  const bad = (why: string): LaminateError =>
    new LaminateError('DATA_LOSS', `Expected an archive manifest of dataset ${describe(dataset)} partition ${partition} at ${where}, got ${why}`, { ids: { dataset, partition } });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw bad('text that is not JSON');
  }
  const o = raw as Partial<Record<keyof PartitionManifest, unknown>> | null;
  if (typeof o !== 'object' || o === null) throw bad('a value that is not an object');
  if (o.version !== MANIFEST_VERSION) throw bad(`version ${describe(o.version)}`);
  if (o.dataset !== dataset || o.partition !== partition) throw bad(`one of dataset ${describe(o.dataset)} partition ${describe(o.partition)}`);
  if (!Array.isArray(o.segments)) throw bad('no segments list');
  let m = emptyManifest(dataset, partition);
  for (const s of o.segments as unknown[]) {
    const e = s as Partial<Record<keyof ArchivedSegment, unknown>> | null;
    if (typeof e !== 'object' || e === null || !isCount(e.baseOffset) || !isCount(e.endOffset) || !isCount(e.bytes) || !isCount(e.crc32)) {
      throw bad(`a segment entry ${describe(JSON.stringify(s))}`);
    }
    try {
      m = withSegment(m, { baseOffset: e.baseOffset, endOffset: e.endOffset, bytes: e.bytes, crc32: e.crc32 });
    } catch (err) {
      throw bad(`segments with a gap or an overlap (${(err as Error).message})`);
    }
  }
  return m;
}

/** The archived segment holding `offset`, or undefined past the archived end. */
export function archivedSegmentAt(m: PartitionManifest, offset: number): ArchivedSegment | undefined {
  let lo = 0;
  let hi = m.segments.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (m.segments[mid]!.endOffset <= offset) lo = mid + 1;
    else hi = mid;
  }
  const s = m.segments[lo];
  return s !== undefined && s.baseOffset <= offset ? s : undefined;
}
