/**
 * The folders of a view's versions and the atomic publish step:
 *
 *   <root>/<view>/CURRENT                 "v7\n": the version being served
 *   <root>/<view>/v7/MANIFEST.json        written last: a version folder
 *                                          without it is incomplete
 *   <root>/<view>/v7/part-00000.view ...  one view file per reducer partition
 *
 * A build prepares `v<N>/`, its reducers write their files there, the
 * manifest is written (atomically) once every file is in place, and
 * publishing replaces CURRENT (write CURRENT.tmp, fsync, rename, fsync the
 * folder), as LevelDB's CURRENT names its MANIFEST (doc/impl.md). A crash
 * at any step leaves CURRENT naming the old version or the new one, both
 * complete; what the crash left half-written (`.tmp` files, version folders
 * without a manifest) is removed by removeLeftovers at the next start.
 *
 * A root that is an object store (`s3://bucket/prefix`) has the same
 * layout as keys, and the same order of steps with a PUT for each atomic
 * write (object-version-dir.ts): every function here takes either.
 */
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isS3Path } from '../storage/object-store.js';
import { joinStorePath } from '../storage/store-path.js';
import * as objects from './object-version-dir.js';
import { describe, LaminateError } from '../common/errors.js';
import { type AtomicWriteStep, syncFolder, writeFileAtomic } from '../storage/atomic-file.js';
import { cutIsBehind, decodeManifest, encodeManifest, validateViewName, VIEW_NAME_RE, type ViewManifest } from './view-manifest.js';
import { errnoOf, exists } from '../storage/file-checks.js';
import { TEMPORARY_DIR } from '../storage/output-committer.js';

export const CURRENT_FILE = 'CURRENT';
export const MANIFEST_FILE = 'MANIFEST.json';

const VERSION_DIR_RE = /^v([1-9]\d{0,15})$/;
const CURRENT_RE = /^v([1-9]\d{0,15})\n$/;


function requireVersion(version: unknown): number {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a view version that is a positive integer, got ${describe(version)}`);
  }
  return version;
}

/** `<root>/<view>`; refuses a view name that is not one (it would make another path). Pure. */
export function viewDir(root: string, view: string): string {
  return joinStorePath(root, validateViewName(view));
}

/** The folder name of a version: `v7`. Pure. */
export function versionDirName(version: number): string {
  return `v${requireVersion(version)}`;
}

/** The version of a folder name, or undefined when it is not one (`v7` -> 7). Pure. */
export function parseVersionDirName(name: string): number | undefined {
  const m = VERSION_DIR_RE.exec(name);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `<root>/<view>/v<N>`. Pure. */
export function versionDir(root: string, view: string, version: number): string {
  return joinStorePath(viewDir(root, view), versionDirName(version));
}

/** A file of the version folder `dir` (a path or an s3:// URL, as versionDir made it). Pure. */
export function versionFile(dir: string, name: string): string {
  return joinStorePath(dir, name);
}

/** The name of a partition's view file within its version folder: `part-00003.view`. Pure. */
export function viewFileName(partition: number): string {
  if (!Number.isSafeInteger(partition) || partition < 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected a partition that is a non-negative integer, got ${describe(partition)}`);
  }
  return `part-${String(partition).padStart(5, '0')}.view`;
}


/**
 * Creates the folder of a version about to be built, and returns it. A
 * folder of that version left by a failed build (no manifest) is emptied
 * first. Called by the build once before its reducers start; safe to repeat
 * until the manifest is written.
 *
 * @throws LaminateError ALREADY_EXISTS when the version has a manifest.
 */
export async function prepareVersionDir(root: string, view: string, version: number): Promise<string> {
  const dir = versionDir(root, view, version);
  const manifestPath = joinStorePath(dir, MANIFEST_FILE);
  if (isS3Path(root) ? (await objects.objectSize(manifestPath)) !== undefined : await exists(manifestPath)) {
    throw new LaminateError('ALREADY_EXISTS', `Version ${version} of view '${view}' already exists (${manifestPath}); a build needs a new version number`);
  }
  if (isS3Path(root)) {
    // No folder to make: the build's committer writes the files, and wants the prefix empty.
    await objects.removePrefix(dir);
    return dir;
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await syncFolder(viewDir(root, view));
  return dir;
}

/**
 * Writes a version's manifest, atomically, into its folder: the step that
 * makes the version complete (not yet current). Checks first that every
 * file it names is there with its size. Called by the build once all its
 * reducers have finished; safe to repeat with the same manifest.
 *
 * @throws LaminateError INVALID_ARGUMENT for a manifest encodeManifest
 *   refuses; FAILED_PRECONDITION when a file is missing or of another size.
 */
export async function writeManifest(root: string, manifest: ViewManifest, options: { onStep?: (step: AtomicWriteStep) => void } = {}): Promise<void> {
  const bytes = encodeManifest(manifest);
  const dir = versionDir(root, manifest.view, manifest.version);
  for (const f of manifest.files) {
    let size: number | undefined;
    try {
      size = isS3Path(root) ? await objects.objectSize(joinStorePath(dir, f.name)) : (await stat(join(dir, f.name))).size;
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
    }
    if (size !== f.bytes) {
      const got = size === undefined ? 'no such file' : `${size} bytes`;
      throw new LaminateError('FAILED_PRECONDITION', `Expected view file '${joinStorePath(dir, f.name)}' of ${f.bytes} bytes for the manifest of version ${manifest.version} of view '${manifest.view}', got ${got}`);
    }
  }
  if (isS3Path(root)) {
    await objects.writeObject(joinStorePath(dir, MANIFEST_FILE), bytes);
    // One PUT is both steps of a rename: crash tests stop after it as after 'renamed'.
    options.onStep?.('renamed');
  } else {
    await writeFileAtomic(join(dir, MANIFEST_FILE), bytes, options.onStep);
  }
}

/**
 * A complete version's manifest. Called by the publisher and by every
 * serving node loading a version; read-only, safe to repeat.
 *
 * @throws LaminateError NOT_FOUND when the version does not exist or is
 *   incomplete (no manifest); DATA_LOSS when its manifest is malformed or
 *   names another view or version than its folder.
 */
export async function readManifest(root: string, view: string, version: number): Promise<ViewManifest> {
  const path = joinStorePath(versionDir(root, view, version), MANIFEST_FILE);
  let bytes: Buffer;
  try {
    if (isS3Path(root)) {
      const got = await objects.readObject(path);
      if (got === undefined) throw new LaminateError('NOT_FOUND', `View '${view}' has no version ${version} (no ${path})`);
      bytes = got;
    } else {
      bytes = await readFile(path);
    }
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') {
      throw new LaminateError('NOT_FOUND', `View '${view}' has no version ${version} (no ${path})`, { cause: err });
    }
    throw err;
  }
  const manifest = decodeManifest(bytes, path);
  if (manifest.view !== view || manifest.version !== version) {
    throw new LaminateError('DATA_LOSS', `Malformed view manifest '${path}': it describes version ${manifest.version} of view '${manifest.view}'`);
  }
  return manifest;
}

/**
 * The version CURRENT names, or undefined when the view has none published.
 * Called by serving nodes at start and when told of a new version.
 *
 * @throws LaminateError DATA_LOSS when CURRENT is not `v<N>\n`.
 */
export async function readCurrent(root: string, view: string): Promise<number | undefined> {
  const path = joinStorePath(viewDir(root, view), CURRENT_FILE);
  let text: string;
  try {
    if (isS3Path(root)) {
      const got = await objects.readObject(path);
      if (got === undefined) return undefined;
      text = got.toString('utf8');
    } else {
      text = await readFile(path, 'utf8');
    }
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
  const m = CURRENT_RE.exec(text);
  if (m === null) throw new LaminateError('DATA_LOSS', `Malformed '${path}': expected a version such as 'v7' and a newline, got ${describe(text.slice(0, 40))}`);
  return Number(m[1]);
}

/** Options of publishVersion. */
export interface PublishOptions {
  /**
   * Publish an older version (a rollback): skips the checks that the version
   * and its cut are not behind the current one. The history of rollbacks is
   * the catalog's to record.
   */
  readonly rollback?: boolean;
  /** Runs after each step of the CURRENT write; crash tests throw from it. */
  readonly onStep?: (step: AtomicWriteStep) => void;
}

/**
 * Makes a complete version current: one atomic replacement of CURRENT.
 * Called by the master once per successful build (and per rollback).
 * Publishing the current version again changes nothing, so a retried
 * publish is safe. Returns the version's manifest.
 *
 * @throws LaminateError NOT_FOUND when the version is incomplete or missing;
 *   FAILED_PRECONDITION when, without `rollback`, its number or its cut is
 *   behind the current version's (same dataset: a version over an earlier
 *   cut would un-count records the current one counts).
 */
export async function publishVersion(root: string, view: string, version: number, options: PublishOptions = {}): Promise<ViewManifest> {
  const manifest = await readManifest(root, view, version);
  const current = await readCurrent(root, view);
  if (current === version) return manifest;
  if (current !== undefined && options.rollback !== true) {
    if (version < current) {
      throw new LaminateError('FAILED_PRECONDITION', `Cannot publish version ${version} of view '${view}': version ${current} is current and newer (publish it as a rollback to go back)`);
    }
    const live = await readManifest(root, view, current);
    if (live.dataset === manifest.dataset && cutIsBehind(manifest.cut, live.cut)) {
      throw new LaminateError(
        'FAILED_PRECONDITION',
        `Cannot publish version ${version} of view '${view}': its cut ${manifest.cut.join(',')} is behind the cut ${live.cut.join(',')} of current version ${current}`,
      );
    }
  }
  const pointer = Buffer.from(`${versionDirName(version)}\n`);
  // The commit: one atomic replacement (a rename here, a PUT on an object store), after every file and the manifest.
  if (isS3Path(root)) {
    // S3 reads are strongly consistent after a PUT: the next reader of the pointer sees this version.
    await objects.writeObject(joinStorePath(viewDir(root, view), CURRENT_FILE), pointer);
    options.onStep?.('renamed');
  } else {
    await writeFileAtomic(join(viewDir(root, view), CURRENT_FILE), pointer, options.onStep);
  }
  return manifest;
}

/**
 * The complete versions of a view (folders with a manifest), ascending.
 * Read-only; safe to call any time.
 */
export async function listVersions(root: string, view: string): Promise<number[]> {
  const dir = viewDir(root, view);
  if (isS3Path(root)) return objects.versionsWithManifest(dir, MANIFEST_FILE);
  const versions: number[] = [];
  for (const name of await namesIn(dir)) {
    const v = parseVersionDirName(name);
    if (v !== undefined && (await exists(join(dir, name, MANIFEST_FILE)))) versions.push(v);
  }
  return versions.sort((a, b) => a - b);
}

/** The views under `root` (folders with a view's name), sorted. Read-only. */
export async function listViews(root: string): Promise<string[]> {
  if (isS3Path(root)) return objects.viewsUnder(root);
  const views: string[] = [];
  for (const name of await namesIn(root)) {
    if (VIEW_NAME_RE.test(name) && (await stat(join(root, name))).isDirectory()) views.push(name);
  }
  return views.sort();
}

async function namesIn(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Removes what crashed builds and publishes left: `.tmp` files in the
 * view's folder and its version folders, a build job's `_temporary` in a
 * version folder, and version folders without a manifest (never the one
 * CURRENT names). Returns the paths removed.
 * Called at startup by the process that owns the view folders, before any
 * build starts (a build in progress would lose its folder); safe to repeat
 * while nothing writes.
 */
export async function removeLeftovers(root: string, view: string): Promise<string[]> {
  const dir = viewDir(root, view);
  const removed: string[] = [];
  let current: number | undefined;
  try {
    current = await readCurrent(root, view);
  } catch {
    // A damaged CURRENT is not a leftover: keep every version folder for the operator.
    current = Number.NaN;
  }
  if (isS3Path(root)) return removeObjectLeftovers(root, view, current);
  for (const name of await namesIn(dir)) {
    const path = join(dir, name);
    if (name.endsWith('.tmp')) {
      await rm(path, { force: true, recursive: true });
      removed.push(path);
      continue;
    }
    const v = parseVersionDirName(name);
    if (v === undefined) continue;
    if (!(await exists(join(path, MANIFEST_FILE))) && v !== current && !Number.isNaN(current)) {
      await rm(path, { recursive: true, force: true });
      removed.push(path);
      continue;
    }
    for (const inner of await namesIn(path)) {
      // The build job's `_temporary` of attempts that wrote late (the batch layer no longer lets
      // them recreate it: FileOutputCommitter.setupTask) or of a commit a crash cut short.
      if (inner.endsWith('.tmp') || inner === TEMPORARY_DIR) {
        await rm(join(path, inner), { force: true, recursive: true });
        removed.push(join(path, inner));
      }
    }
  }
  if (removed.length > 0) await syncFolder(dir);
  return removed;
}

/**
 * Removes a version that is not current (retention keeps the current and a
 * few previous ones): its manifest first, so that a crash midway leaves an
 * incomplete folder for removeLeftovers, never a manifest naming missing
 * files. Called by the master when a version falls out of retention; safe
 * to repeat.
 *
 * @throws LaminateError FAILED_PRECONDITION for the current version.
 */
export async function removeVersion(root: string, view: string, version: number): Promise<void> {
  if ((await readCurrent(root, view)) === version) {
    throw new LaminateError('FAILED_PRECONDITION', `Cannot remove version ${version} of view '${view}': it is current`);
  }
  const dir = versionDir(root, view, version);
  if (isS3Path(root)) {
    await objects.deleteObject(joinStorePath(dir, MANIFEST_FILE));
    await objects.removePrefix(dir);
    return;
  }
  await rm(join(dir, MANIFEST_FILE), { force: true });
  if (await exists(dir)) await syncFolder(dir);
  await rm(dir, { recursive: true, force: true });
}

/** removeLeftovers on an object store: no `.tmp` there, but version prefixes without a manifest and builds' `_temporary/`. */
async function removeObjectLeftovers(root: string, view: string, current: number | undefined): Promise<string[]> {
  const removed: string[] = [];
  const complete = new Set(await listVersions(root, view));
  for (const name of await objects.subPrefixes(viewDir(root, view))) {
    const v = parseVersionDirName(name);
    if (v === undefined) continue;
    const dir = versionDir(root, view, v);
    if (!complete.has(v) && v !== current && !Number.isNaN(current ?? 0)) {
      if ((await objects.removePrefix(dir)) > 0) removed.push(dir);
      continue;
    }
    removed.push(...await objects.removeTemporary(dir));
  }
  return removed;
}
