/**
 * The manifest of a view version: which files make it, what each holds,
 * and what the version covers (the dataset's records before its cut). The
 * serving layer loads a version from its manifest alone; the speed layer
 * trusts its cut. So a manifest is checked strictly when decoded, and
 * carries a CRC-32 of its own text: a flipped digit in a cut would
 * otherwise be a silent miscount.
 *
 * Encoded form (JSON, readable with jq):
 *
 *   {"crc32":"1a2b3c4d","manifest":{ ...ViewManifest, 2-space indented... }}\n
 *
 * where crc32 is zlib.crc32 of the bytes of the `manifest` value exactly
 * as they stand in the file (no re-serialisation to agree on).
 *
 * Routing: files are the reducers' hash partitions (hashPartition of
 * src/common/partitioner.ts, FNV-1a over the key's UTF-16 code units, the
 * function the engine's reducers use), so a Get reads the one file of its
 * key's partition (fileForKey) and a Scan merges every file in key order
 * (view-merge.ts).
 *
 * Every function here is pure.
 */
import { crc32 } from 'node:zlib';
import type { Cut } from '../common/dataset-shapes.js';
import { describe, LaminateError } from '../common/errors.js';
import { parseJobId } from '../common/ids.js';
import { hashPartition } from '../common/partitioner.js';
import { compareKeys } from '../storage/key-order.js';
import { isWellFormed, TAIL_BYTES } from './view-file-format.js';

/** The manifest format this code writes and reads. */
export const VIEW_MANIFEST_VERSION = 1;

/** How keys were assigned to files: the engine's reducer partitioner. */
export const VIEW_PARTITIONER = 'fnv1a-32';

/** A view's name: also a folder name, so no separators or dot-names (as dataset names). */
export const VIEW_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A file's name within its version folder. */
const FILE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
const HASH_RE = /^[0-9a-f]{8,128}$/;
/** Characters of a monoid's name at most. */
const MAX_MERGE_NAME = 256;

/** One view file of a version: what ViewFileWriter.finish() reported, and its partition. */
export interface ViewManifestFile {
  /** File name within the version folder, e.g. part-00003.view. */
  readonly name: string;
  /** The reducer partition it holds: its index in `files`. */
  readonly partition: number;
  readonly bytes: number;
  /** CRC-32 of the whole file. */
  readonly checksum: number;
  /** Entries (keys) in the file. */
  readonly records: number;
  /** Null exactly when records is 0. */
  readonly firstKey: string | null;
  readonly lastKey: string | null;
}

export interface ViewManifest {
  readonly formatVersion: number;
  readonly view: string;
  /** Positive, rising with each build of the view. */
  readonly version: number;
  /** The view's source dataset; the cut is of it. */
  readonly dataset: string;
  /** Offsets per dataset partition: the version covers every record before them. */
  readonly cut: Cut;
  /** The batch job that built it. */
  readonly jobId: string;
  /** Hash of the view definition (lowercase hex): equal hashes allow incremental builds. */
  readonly definitionHash: string;
  /**
   * The monoid's name the version was built with (sum, topK(10), a custom
   * one's...): how a serving node presents its values, whatever the view's
   * definition is now. Absent in manifests written before it was recorded:
   * readers then take the view's deployed merge.
   */
  readonly merge?: string;
  /** ISO-8601 UTC time the build finished, as Date.prototype.toISOString writes it. */
  readonly builtAt: string;
  readonly partitioner: typeof VIEW_PARTITIONER;
  /** One per reducer partition, in partition order (a partition with no key has an empty file). */
  readonly files: readonly ViewManifestFile[];
  /** Dataset records the version covers: the sum of the cut. */
  readonly records: number;
  /** Keys in the view: the sum of the files' records (partitions share no key). */
  readonly keys: number;
  /** Bytes of all files. */
  readonly bytes: number;
}

/**
 * Checks a view name; throws INVALID_ARGUMENT saying what a name may be.
 * Called by every function that makes a path from a view name.
 */
export function validateViewName(name: unknown): string {
  if (typeof name !== 'string' || !VIEW_NAME_RE.test(name)) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a view name of 1 to 128 letters, digits, '.', '_' or '-' starting with a letter or digit, got ${describe(name)}`);
  }
  return name;
}

/**
 * The manifest bytes of `m`, checked first (INVALID_ARGUMENT for anything
 * decodeManifest would refuse). Called by the build once per version.
 */
export function encodeManifest(m: ViewManifest): Buffer {
  const checked = checkManifest(m, (what) => new LaminateError('INVALID_ARGUMENT', `Expected a valid view manifest: ${what}`));
  const body = JSON.stringify(checked, null, 2);
  const hex = crc32(Buffer.from(body, 'utf8')).toString(16).padStart(8, '0');
  return Buffer.from(`{"crc32":"${hex}","manifest":${body}}\n`, 'utf8');
}

const ENVELOPE_RE = /^\{"crc32":"([0-9a-f]{8})","manifest":/;

/**
 * Decodes and checks manifest bytes; `source` (a path) names them in
 * errors. Never throws anything but a LaminateError DATA_LOSS saying what
 * is wrong: a bad checksum, bad JSON, a missing or mistyped field, files
 * not one per partition, totals that do not add up, a key range outside
 * its file's partition.
 */
export function decodeManifest(bytes: Uint8Array, source: string): ViewManifest {
  const bad = (what: string): LaminateError => new LaminateError('DATA_LOSS', `Malformed view manifest '${source}': ${what}`);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const m = ENVELOPE_RE.exec(text);
  if (m === null || !text.endsWith('}\n')) throw bad('expected {"crc32":"<8 hex digits>","manifest":{...}} and a newline');
  const body = text.slice(m[0].length, text.length - 2);
  const crc = crc32(Buffer.from(body, 'utf8')).toString(16).padStart(8, '0');
  if (crc !== m[1]) throw bad(`its checksum is ${crc}, expected ${m[1]!}: the file was changed or damaged`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw bad(`not JSON (${(err as Error).message})`);
  }
  return checkManifest(parsed, bad);
}

/** Validates a manifest-shaped value; `bad` makes the error to throw. Returns it with exactly the known fields. */
function checkManifest(value: unknown, bad: (what: string) => LaminateError): ViewManifest {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad(`expected an object, got ${describe(value)}`);
  const o = value as Record<string, unknown>;
  const int = (v: unknown, what: string, min = 0): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw bad(`expected ${what} to be an integer of at least ${min}, got ${describe(v)}`);
    return v;
  };
  const str = (v: unknown, what: string, re: RegExp, shape: string): string => {
    if (typeof v !== 'string' || !re.test(v)) throw bad(`expected ${what} to be ${shape}, got ${describe(v)}`);
    return v;
  };

  const formatVersion = int(o['formatVersion'], 'formatVersion', 1);
  if (formatVersion !== VIEW_MANIFEST_VERSION) throw bad(`format version ${formatVersion}; this build reads version ${VIEW_MANIFEST_VERSION}`);
  const view = str(o['view'], 'view', VIEW_NAME_RE, 'a view name');
  const version = int(o['version'], 'version', 1);
  const dataset = str(o['dataset'], 'dataset', VIEW_NAME_RE, 'a dataset name');
  const cutValue = o['cut'];
  if (!Array.isArray(cutValue) || cutValue.length === 0) throw bad(`expected cut to be a non-empty array of offsets, got ${describe(cutValue)}`);
  const cut = cutValue.map((x, i) => int(x, `cut offset ${i}`));
  const jobId = o['jobId'];
  try {
    if (typeof jobId !== 'string') throw new TypeError('not a string');
    parseJobId(jobId);
  } catch {
    throw bad(`expected jobId to be a job id like job-0007, got ${describe(jobId)}`);
  }
  const definitionHash = str(o['definitionHash'], 'definitionHash', HASH_RE, '8 to 128 lowercase hex digits');
  const merge = o['merge'];
  if (merge !== undefined && (typeof merge !== 'string' || merge === '' || merge.length > MAX_MERGE_NAME)) {
    throw bad(`expected merge to be a monoid's name of 1 to ${MAX_MERGE_NAME} characters, got ${describe(merge)}`);
  }
  const builtAt = o['builtAt'];
  if (typeof builtAt !== 'string' || Number.isNaN(Date.parse(builtAt)) || new Date(builtAt).toISOString() !== builtAt) {
    throw bad(`expected builtAt to be an ISO-8601 UTC time like 2024-06-01T12:00:00.000Z, got ${describe(builtAt)}`);
  }
  if (o['partitioner'] !== VIEW_PARTITIONER) throw bad(`expected partitioner '${VIEW_PARTITIONER}', got ${describe(o['partitioner'])}`);

  const filesValue = o['files'];
  if (!Array.isArray(filesValue) || filesValue.length === 0) throw bad(`expected files to be a non-empty array, got ${describe(filesValue)}`);
  const partitions = filesValue.length;
  const names = new Set<string>();
  const files = filesValue.map((f: unknown, i): ViewManifestFile => {
    if (f === null || typeof f !== 'object' || Array.isArray(f)) throw bad(`expected file ${i} to be an object, got ${describe(f)}`);
    const fo = f as Record<string, unknown>;
    const name = str(fo['name'], `file ${i}'s name`, FILE_NAME_RE, 'a file name');
    if (names.has(name)) throw bad(`file name '${name}' appears twice`);
    names.add(name);
    const partition = int(fo['partition'], `file ${i}'s partition`);
    if (partition !== i) throw bad(`expected files in partition order, got partition ${partition} at position ${i}`);
    const bytes = int(fo['bytes'], `file ${i}'s bytes`, TAIL_BYTES);
    const checksum = int(fo['checksum'], `file ${i}'s checksum`);
    if (checksum > 0xffffffff) throw bad(`expected file ${i}'s checksum to be a CRC-32, got ${checksum}`);
    const records = int(fo['records'], `file ${i}'s records`);
    const firstKey = fo['firstKey'];
    const lastKey = fo['lastKey'];
    if (records === 0) {
      if (firstKey !== null || lastKey !== null) throw bad(`file ${i} has no record, so its firstKey and lastKey must be null`);
      return { name, partition, bytes, checksum, records, firstKey: null, lastKey: null };
    }
    for (const [k, what] of [[firstKey, 'firstKey'], [lastKey, 'lastKey']] as const) {
      if (typeof k !== 'string' || !isWellFormed(k)) throw bad(`expected file ${i}'s ${what} to be a string, got ${describe(k)}`);
      if (hashPartition(k, partitions) !== i) throw bad(`file ${i}'s ${what} ${JSON.stringify(k)} belongs to partition ${hashPartition(k, partitions)} of ${partitions}`);
    }
    const order = compareKeys(firstKey as string, lastKey as string);
    if (order > 0 || (order === 0) !== (records === 1)) throw bad(`file ${i}'s key range does not fit its ${records} records`);
    return { name, partition, bytes, checksum, records, firstKey: firstKey as string, lastKey: lastKey as string };
  });

  const records = int(o['records'], 'records');
  const keys = int(o['keys'], 'keys');
  const bytes = int(o['bytes'], 'bytes');
  const sumCut = cut.reduce((a, b) => a + b, 0);
  const sumRecords = files.reduce((a, f) => a + f.records, 0);
  const sumBytes = files.reduce((a, f) => a + f.bytes, 0);
  if (records !== sumCut) throw bad(`records ${records} is not the sum of the cut, ${sumCut}`);
  if (keys !== sumRecords) throw bad(`keys ${keys} is not the sum of the files' records, ${sumRecords}`);
  if (bytes !== sumBytes) throw bad(`bytes ${bytes} is not the sum of the files' bytes, ${sumBytes}`);
  return {
    formatVersion, view, version, dataset, cut, jobId: jobId as string, definitionHash, ...(merge === undefined ? {} : { merge }),
    builtAt, partitioner: VIEW_PARTITIONER, files, records, keys, bytes,
  };
}

/**
 * What a build fills in to make a manifest: the totals are computed here.
 * Called by the build once, with the files' finish() summaries.
 */
export function makeManifest(fields: Omit<ViewManifest, 'formatVersion' | 'partitioner' | 'records' | 'keys' | 'bytes'>): ViewManifest {
  return {
    formatVersion: VIEW_MANIFEST_VERSION,
    ...fields,
    partitioner: VIEW_PARTITIONER,
    records: fields.cut.reduce((a, b) => a + b, 0),
    keys: fields.files.reduce((a, f) => a + f.records, 0),
    bytes: fields.files.reduce((a, f) => a + f.bytes, 0),
  };
}

/** The partition (index in `files`) whose file holds `key` if any does: the engine's reducer partitioner. */
export function partitionForKey(manifest: ViewManifest, key: string): number {
  return hashPartition(key, manifest.files.length);
}

/**
 * The one file that may hold `key`, or undefined when none can: its
 * partition's file is empty or the key lies outside that file's range (the
 * Get answers not-found without reading). Called by the serving layer once
 * per key of a Get or MultiGet.
 */
export function fileForKey(manifest: ViewManifest, key: string): ViewManifestFile | undefined {
  const file = manifest.files[partitionForKey(manifest, key)]!;
  if (file.firstKey === null || file.lastKey === null) return undefined;
  if (compareKeys(key, file.firstKey) < 0 || compareKeys(key, file.lastKey) > 0) return undefined;
  return file;
}

/**
 * The files whose key range meets a scan's bounds (from inclusive, to
 * exclusive, prefix), in partition order: every file may, as keys are
 * spread by hash; the empty ones and those wholly outside are left out.
 */
export function filesForScan(manifest: ViewManifest, bounds: { readonly from?: string; readonly to?: string; readonly prefix?: string }): ViewManifestFile[] {
  return manifest.files.filter((f) => {
    if (f.firstKey === null || f.lastKey === null) return false;
    if (bounds.from !== undefined && compareKeys(f.lastKey, bounds.from) < 0) return false;
    if (bounds.to !== undefined && compareKeys(f.firstKey, bounds.to) >= 0) return false;
    if (bounds.prefix !== undefined) {
      const p = bounds.prefix;
      // Keys starting with p lie in [p, any key starting with p]; outside when lastKey < p or firstKey is past them.
      if (compareKeys(f.lastKey, p) < 0) return false;
      if (compareKeys(f.firstKey, p) > 0 && !f.firstKey.startsWith(p)) return false;
    }
    return true;
  });
}

/** Whether cut `next` is behind `current` at some partition (a version over it would miss records). */
export function cutIsBehind(next: Cut, current: Cut): boolean {
  if (next.length !== current.length) {
    throw new LaminateError('FAILED_PRECONDITION', `Expected cuts of the same dataset partitions, got ${next.length} offsets against ${current.length}`);
  }
  return next.some((o, i) => o < current[i]!);
}
