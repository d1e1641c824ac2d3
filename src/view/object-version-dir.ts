/**
 * The view store's layout (view-version-dir.ts) on an object store
 * (`laminate master --views s3://bucket/prefix/`), where there is no
 * rename and no folder, but a PUT is atomic (a reader sees the old object
 * or the whole new one):
 *
 *   <prefix>/<view>/CURRENT                "v7\n": the pointer, written last
 *   <prefix>/<view>/v7/MANIFEST.json       written once every file is in place
 *   <prefix>/<view>/v7/part-00000 ...      uploaded by the build's reducers,
 *                                           each visible only once committed
 *
 * The commit of a version is the PUT of CURRENT: files, then manifest,
 * then pointer, so a reader that sees the pointer finds a whole version
 * (versions are never rewritten in place: a build takes a new number). A
 * version prefix without a manifest is never served, and one with a
 * manifest but newer than the pointer is not either: serving takes the
 * pointer's version and the kept ones before it (served-versions.ts). A
 * master killed between manifest and pointer publishes at its restart,
 * when it follows the build again. Rollback is a PUT of CURRENT naming
 * another kept version.
 *
 * view-version-dir.ts calls these for an s3:// root and keeps the checks
 * (cuts, rollbacks) that do not depend on the store; the local layout
 * keeps its own implementation, whose fsyncs and renames its crash tests
 * step through.
 */
import { TEMPORARY_PREFIX } from '../storage/object-output-committer.js';
import { readIfPresent, type ObjectStore } from '../storage/object-store.js';
import { locate } from '../storage/store-path.js';
import { VIEW_NAME_RE } from './view-manifest.js';

const VERSION_NAME_RE = /^v([1-9]\d{0,15})$/;

/** A store and the key prefix of a path in it, ending in '/' (or '' for a bucket's root). */
async function prefixOf(path: string): Promise<{ store: ObjectStore; prefix: string }> {
  const { store, key } = await locate(path);
  return { store, prefix: key === '' || key.endsWith('/') ? key : `${key}/` };
}

/** The last segment of a listed sub-prefix (`a/b/v7/` -> `v7`). Pure. */
function lastName(prefix: string): string {
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** The object at `path`, or undefined when there is none. */
export async function readObject(path: string): Promise<Buffer | undefined> {
  const { store, key } = await locate(path);
  return readIfPresent(store, key);
}

/** Writes `body` at `path` (one PUT: atomic). */
export async function writeObject(path: string, body: Buffer): Promise<void> {
  const { store, key } = await locate(path);
  await store.put(key, body);
}

/** The size of the object at `path`, or undefined when there is none. */
export async function objectSize(path: string): Promise<number | undefined> {
  const { store, key } = await locate(path);
  return (await store.stat(key))?.size;
}

/** Removes the object at `path` (none there: nothing to do). */
export async function deleteObject(path: string): Promise<void> {
  const { store, key } = await locate(path);
  await store.delete(key);
}

/** Removes every object under the prefix `dir`; returns how many. */
export async function removePrefix(dir: string): Promise<number> {
  const { store, prefix } = await prefixOf(dir);
  const objects = await store.listAll(prefix);
  for (const o of objects) await store.delete(o.key);
  return objects.length;
}

/** The names directly under the prefix `dir` that are sub-prefixes ("folders"), sorted. */
export async function subPrefixes(dir: string): Promise<string[]> {
  const { store, prefix } = await prefixOf(dir);
  return (await store.list(prefix)).prefixes.map(lastName);
}

/** The versions under a view's prefix `viewPath` with a manifest, ascending: one listing. */
export async function versionsWithManifest(viewPath: string, manifestFile: string): Promise<number[]> {
  const { store, prefix } = await prefixOf(viewPath);
  const versions: number[] = [];
  for (const o of await store.listAll(prefix)) {
    const rest = o.key.slice(prefix.length).split('/');
    if (rest.length !== 2 || rest[1] !== manifestFile) continue;
    const m = VERSION_NAME_RE.exec(rest[0]!);
    if (m !== null) versions.push(Number(m[1]));
  }
  return versions.sort((a, b) => a - b);
}

/** The views under `root`: sub-prefixes with a view's name (the master's `_catalog` has none). */
export async function viewsUnder(root: string): Promise<string[]> {
  return (await subPrefixes(root)).filter((name) => VIEW_NAME_RE.test(name)).sort();
}

/**
 * The objects of a complete version's prefix `dir` that a build left and
 * no reader needs: the build job's `_temporary/` (uploads' manifests of
 * attempts cut short). Removed; returns their paths.
 */
export async function removeTemporary(dir: string): Promise<string[]> {
  const { store, prefix } = await prefixOf(dir);
  const removed: string[] = [];
  for (const o of await store.listAll(`${prefix}${TEMPORARY_PREFIX}`)) {
    await store.delete(o.key);
    removed.push(store.describe(o.key));
  }
  return removed;
}
