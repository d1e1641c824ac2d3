import { join } from 'node:path';
import { LoadedVersion } from '../../../src/serving/loaded-version.js';
import { BlockCache } from '../../../src/view/block-cache.js';
import { presentationOf } from '../../../src/view/monoid-by-name.js';
import { ViewFileReader } from '../../../src/view/view-file-reader.js';
import { readManifest, versionDir } from '../../../src/view/view-version-dir.js';

export { byUtf8, writeVersion } from '../../support/view-versions.js';
export { seededRandom as rng } from '../../support/seeded-random.js';
import { useTempDirs as useTempDirsWithPrefix } from '../../support/temp-dirs.js';

/** Temporary folders made in a test, removed after it. */
export const useTempDirs = (): (() => Promise<string>) => useTempDirsWithPrefix('laminate-serving-');

/**
 * Opens a version written under `root` in place (no copy) as a LoadedVersion.
 * `syncReads: false` makes every block read go through the thread pool, so
 * that a request really waits between its start and its end.
 */
export async function openVersion(root: string, view: string, version: number, o: { merge?: string; syncReads?: boolean; cache?: BlockCache } = {}): Promise<LoadedVersion> {
  const manifest = await readManifest(root, view, version);
  const dir = versionDir(root, view, version);
  const cache = o.cache ?? new BlockCache(0);
  const readers = await Promise.all(manifest.files.map((f) => ViewFileReader.open(join(dir, f.name), { cache, syncReads: o.syncReads ?? true })));
  return new LoadedVersion(manifest, readers, presentationOf(o.merge ?? 'sum'), dir);
}

/** Drains an async iterable. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A key-value map of `n` keys `k0000`... whose values are `value(i)`. */
export function keyMap(n: number, value: (i: number) => unknown): Map<string, unknown> {
  return new Map(Array.from({ length: n }, (_, i) => [`k${String(i).padStart(4, '0')}`, value(i)]));
}
