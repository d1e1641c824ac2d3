/**
 * Loading a view version into a serving node: its files copied from the
 * view store (a folder, or an object store: the storage port) into the
 * node's own folder, each verified against the
 * manifest, opened; or, after a restart, the local copies opened and
 * verified again, without the store.
 *
 * The node's folder has the view store's layout (src/view/view-version-dir.ts):
 *
 *   <local>/<view>/CURRENT                "v7\n": what the node served last
 *   <local>/<view>/v7/part-00000 ...      copies of the version's files
 *   <local>/<view>/v7/SERVED.json         {"merge":"topK(10)"}: how to present its values (the
 *                                          manifest's merge, or for a manifest without one the
 *                                          view's merge when the copy was made)
 *   <local>/<view>/v7/MANIFEST.json       copied last: a folder without it is incomplete
 *
 * Copies are not fsync'd: a copy is trusted only after verify(), at load
 * and again at every start, so a copy a crash damaged is found then and
 * copied again; the manifest (fsync'd, written last) only says the copy
 * was complete once.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, errorMessage, LaminateError } from '../common/errors.js';
import type { BlockCache } from '../view/block-cache.js';
import { writeFileAtomic } from '../view/durable-files.js';
import { readStoredFile, streamStoredFile } from '../view/stored-files.js';
import { presentationOf } from '../view/monoid-by-name.js';
import { ViewFileReader } from '../view/view-file-reader.js';
import { decodeManifest, type ViewManifest } from '../view/view-manifest.js';
import { MANIFEST_FILE, readManifest, versionDir, versionFile } from '../view/view-version-dir.js';
import { LoadedVersion } from './loaded-version.js';

/** The file beside a local copy's manifest that says how its values are presented. */
export const SERVED_FILE = 'SERVED.json';

/** Bytes buffered by the copy's writer: a bounded buffer whatever the store's chunks. */
const COPY_CHUNK_BYTES = 1024 * 1024;

/** Where a version is in the view store, as the master tells it (ServedVersion) with its view's merge. */
export interface VersionSource {
  readonly view: string;
  readonly version: number;
  /** The version's folder in the view store. */
  readonly dir: string;
  /**
   * The view's monoid name now (built-ins are presented, custom ones not):
   * used only for a version whose manifest does not name the merge it was
   * built with (written before manifests recorded it).
   */
  readonly merge: string;
}

export interface LoadOptions {
  /** The node's folder of local copies. */
  readonly localRoot: string;
  /** The node's block cache, shared by every reader. */
  readonly cache: BlockCache;
  /** Aborts a copy in progress (the node is stopping). */
  readonly signal?: AbortSignal;
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/**
 * Copies a version from the store into the node's folder, verifies every
 * copy (every block's checksum, and the whole file's CRC-32 against the
 * manifest), and opens it. A complete local copy already there is
 * verified and used instead. Called by the node once per version it is
 * told to serve and does not hold; on failure nothing is left behind.
 *
 * @throws LaminateError DATA_LOSS naming the file for a damaged, truncated
 *   or resized file or manifest (the version is to be refused); NOT_FOUND
 *   when the version or one of its files is missing from the store.
 */
export async function loadFromStore(src: VersionSource, options: LoadOptions): Promise<LoadedVersion> {
  const local = versionDir(options.localRoot, src.view, src.version);
  try {
    return await openLocal(options.localRoot, src.view, src.version, options.cache);
  } catch (err) {
    // No complete copy (NOT_FOUND), or a damaged one: copy again.
    if (!(err instanceof LaminateError) || (err.code !== 'NOT_FOUND' && err.code !== 'DATA_LOSS')) throw err;
  }
  const manifestPath = versionFile(src.dir, MANIFEST_FILE);
  let manifestBytes: Buffer;
  try {
    manifestBytes = await readStoredFile(manifestPath);
  } catch (err) {
    if (err instanceof LaminateError && err.code === 'NOT_FOUND') {
      throw new LaminateError('NOT_FOUND', `Version ${src.version} of view '${src.view}' is not in the view store (no ${manifestPath})`, { cause: err });
    }
    throw err;
  }
  const manifest = decodeManifest(manifestBytes, manifestPath);
  if (manifest.view !== src.view || manifest.version !== src.version) {
    throw new LaminateError('DATA_LOSS', `Malformed view manifest '${manifestPath}': it describes version ${manifest.version} of view '${manifest.view}', expected version ${src.version} of '${src.view}'`);
  }
  await rm(local, { recursive: true, force: true });
  await mkdir(local, { recursive: true });
  try {
    for (const f of manifest.files) await copyFile(versionFile(src.dir, f.name), join(local, f.name), f.bytes, options.signal);
    const readers = await openVerified(manifest, local, options.cache);
    // A version is presented as it was built: a view redeployed with another monoid keeps its older versions' answers.
    const merge = manifest.merge ?? src.merge;
    try {
      await writeFileAtomic(join(local, SERVED_FILE), Buffer.from(`${JSON.stringify({ merge })}\n`));
      await writeFileAtomic(join(local, MANIFEST_FILE), manifestBytes);
    } catch (err) {
      await Promise.all(readers.map((r) => r.close({ force: true })));
      throw err;
    }
    return new LoadedVersion(manifest, readers, presentationOf(merge), local);
  } catch (err) {
    await rm(local, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Opens and verifies the complete local copy of a version (after a
 * restart, or before copying again). Leaves the copy in place on failure;
 * the caller removes it.
 *
 * @throws LaminateError NOT_FOUND when there is no complete local copy;
 *   DATA_LOSS when a copy fails its check or its SERVED.json is malformed.
 */
export async function openLocal(localRoot: string, view: string, version: number, cache: BlockCache): Promise<LoadedVersion> {
  const manifest = await readManifest(localRoot, view, version);
  const local = versionDir(localRoot, view, version);
  const merge = manifest.merge ?? await readServedMerge(join(local, SERVED_FILE));
  const readers = await openVerified(manifest, local, cache);
  return new LoadedVersion(manifest, readers, presentationOf(merge), local);
}

async function readServedMerge(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') throw new LaminateError('DATA_LOSS', `Local copy is missing '${path}'`, { cause: err });
    throw err;
  }
  let merge: unknown;
  try {
    merge = (JSON.parse(text) as { merge?: unknown }).merge;
  } catch (err) {
    throw new LaminateError('DATA_LOSS', `Malformed '${path}': ${errorMessage(err)}`, { cause: err });
  }
  if (typeof merge !== 'string' || merge === '') throw new LaminateError('DATA_LOSS', `Malformed '${path}': expected {"merge": NAME}, got ${describe(merge)} as merge`);
  return merge;
}

/**
 * Streams `from` (a file, or an object in a store: Druid's historicals
 * load segments from deep storage the same way) into `to` through a .tmp,
 * in the chunks the store yields, and checks its size against the
 * manifest's. The CRCs are checked after, on the local copy (openVerified).
 */
async function copyFile(from: string, to: string, bytes: number, signal: AbortSignal | undefined): Promise<void> {
  const tmp = `${to}.tmp`;
  try {
    await pipeline(Readable.from(await streamStoredFile(from)), createWriteStream(tmp, { highWaterMark: COPY_CHUNK_BYTES }), ...(signal ? [{ signal }] : []));
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || (err instanceof LaminateError && err.code === 'NOT_FOUND')) {
      throw new LaminateError('NOT_FOUND', `View file '${from}' is missing from the view store`, { cause: err });
    }
    throw err;
  }
  const size = (await stat(tmp)).size;
  if (size !== bytes) {
    throw new LaminateError('DATA_LOSS', `View file '${from}' is ${size} bytes, its manifest says ${bytes}: it was truncated or replaced`);
  }
  await rename(tmp, to);
}

/**
 * Opens every file of a version and verifies it against the manifest; all
 * or none stay open. The files are opened together (each open is a few
 * thread-pool round trips: open, stat, the tail and index read) and
 * verified one after the other (each verify reads with blocking preads).
 * Called by openLocal, and by the serving benchmark's load-and-verify
 * (bench/view-load-verify.ts), which times exactly this.
 */
export async function openVerified(manifest: ViewManifest, dir: string, cache: BlockCache): Promise<ViewFileReader[]> {
  const readers: ViewFileReader[] = [];
  try {
    const opened = await Promise.allSettled(manifest.files.map((f) => ViewFileReader.open(join(dir, f.name), { cache })));
    for (const o of opened) if (o.status === 'fulfilled') readers.push(o.value);
    const refused = opened.find((o) => o.status === 'rejected');
    if (refused !== undefined) throw refused.reason;
    for (let i = 0; i < manifest.files.length; i++) {
      const f = manifest.files[i]!;
      const path = join(dir, f.name);
      const r = readers[i]!;
      const check = await r.verify({ checksum: f.checksum });
      if (check.bytes !== f.bytes || r.records !== f.records) {
        throw new LaminateError('DATA_LOSS', `View file '${path}' holds ${r.records} records in ${check.bytes} bytes, its manifest says ${f.records} in ${f.bytes}`);
      }
    }
    return readers;
  } catch (err) {
    await Promise.all(readers.map((r) => r.close({ force: true })));
    if (err instanceof LaminateError && err.code === 'NOT_FOUND') {
      // A file of a complete copy gone: the copy is damaged, not absent.
      throw new LaminateError('DATA_LOSS', err.message, { cause: err });
    }
    throw err;
  }
}
