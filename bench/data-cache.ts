/**
 * Generated inputs live in bench/.data (git-ignored; LAMINATE_BENCH_DATA
 * overrides), one folder per data set, and are reused by later runs when the
 * generator's parameters (seed, size, version) match the folder's meta.json,
 * which is written only once the data is complete.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const BENCH_ROOT = resolve(import.meta.dirname, '..', '..', 'bench');
export const DATA_ROOT = resolve(process.env['LAMINATE_BENCH_DATA'] ?? join(BENCH_ROOT, '.data'));

export interface CachedData<M> {
  readonly dir: string;
  /** What the producer returned when it made the data. */
  readonly meta: M;
  readonly reused: boolean;
}

/**
 * The folder of data set `name` made with `params`: reused if present and
 * complete, else (re)made by `produce`, which writes into the folder and
 * returns facts to remember (a checksum, say).
 */
export async function cachedData<M>(name: string, params: Record<string, unknown>, produce: (dir: string) => M | Promise<M>): Promise<CachedData<M>> {
  const dir = join(DATA_ROOT, name);
  const metaPath = join(dir, 'meta.json');
  const wanted = JSON.stringify(params);
  if (existsSync(metaPath)) {
    const stored = JSON.parse(readFileSync(metaPath, 'utf8')) as { params: unknown; meta: M };
    if (JSON.stringify(stored.params) === wanted) return { dir, meta: stored.meta, reused: true };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const meta = await produce(dir);
  writeFileSync(metaPath, JSON.stringify({ params, meta }, null, 2));
  return { dir, meta, reused: false };
}
