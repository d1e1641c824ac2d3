/**
 * Expands a job's input paths into the files it reads, as Hadoop's
 * FileInputFormat lists its input directories.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LaminateError } from '../common/errors.js';
import { compareKeys } from './key-order.js';
import { isS3Path } from './object-store.js';
import { locate } from './store-path.js';

/** One input file: an absolute path and its size in bytes when listed. */
export interface InputFile {
  readonly path: string;
  readonly size: number;
}

/**
 * Lists the regular files named by `paths`: a file stands for itself, a folder
 * for the regular files directly in it (no recursion), skipping names that
 * start with '.' or '_' (hidden files, `_SUCCESS`, `_temporary`), as Hadoop
 * does. Symbolic links are followed. The result is sorted by path, without
 * duplicates.
 *
 * Called by the master once per job submission, before computing splits.
 * Reads only metadata; safe to call twice (the answer may change if the
 * files do).
 *
 * @throws LaminateError NOT_FOUND when a path does not exist;
 *   INVALID_ARGUMENT when `paths` is empty or no file is found at all.
 */
export async function listInputFiles(paths: readonly string[]): Promise<InputFile[]> {
  if (paths.length === 0) {
    throw new LaminateError('INVALID_ARGUMENT', 'Expected at least one input path, got none');
  }
  const byPath = new Map<string, number>();
  for (const p of paths) {
    if (isS3Path(p)) {
      for (const f of await listObjectInputs(p)) byPath.set(f.path, f.size);
      continue;
    }
    const abs = resolve(p);
    const st = await statOrNull(abs);
    if (st === null) throw new LaminateError('NOT_FOUND', `Input path '${p}' does not exist`);
    if (st.isFile()) {
      byPath.set(abs, st.size);
      continue;
    }
    if (!st.isDirectory()) continue;
    for (const entry of await readdir(abs, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name.startsWith('_')) continue;
      if (!entry.isFile() && !entry.isSymbolicLink()) continue;
      const file = join(abs, entry.name);
      const fst = entry.isFile() ? await stat(file) : await statOrNull(file);
      if (fst !== null && fst.isFile()) byPath.set(file, fst.size);
    }
  }
  if (byPath.size === 0) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected the input paths to hold at least one file, got none in ${paths.map((p) => `'${p}'`).join(', ')}`);
  }
  return [...byPath.keys()].sort(compareKeys).map((path) => ({ path, size: byPath.get(path) ?? 0 }));
}

/** Whether a listed name is skipped as Hadoop skips it: hidden ('.') or a marker ('_SUCCESS', '_temporary'). */
function skipped(key: string): boolean {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return name.startsWith('.') || name.startsWith('_');
}

/**
 * The objects an `s3://bucket/key` input names, as listInputFiles does for
 * a local path: the object itself, or the objects directly under the prefix
 * (a key ending in '/', or one with no object of its name). The bucket is
 * checked first, so a missing bucket or denied access is named as such.
 */
async function listObjectInputs(path: string): Promise<InputFile[]> {
  const { store, key } = await locate(path);
  await store.check();
  if (key !== '' && !key.endsWith('/')) {
    const object = await store.stat(key);
    if (object !== undefined) return [{ path: store.describe(key), size: object.size }];
  }
  const prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
  const { objects, prefixes } = await store.list(prefix);
  if (objects.length === 0 && prefixes.length === 0) throw new LaminateError('NOT_FOUND', `Input path '${path}' does not exist (no object of that key, and none under '${store.describe(prefix)}')`);
  return objects.filter((o) => !skipped(o.key)).map((o) => ({ path: store.describe(o.key), size: o.size }));
}

async function statOrNull(path: string): Promise<import('node:fs').Stats | null> {
  try {
    return await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}
