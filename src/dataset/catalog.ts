/**
 * The dataset catalog: one `dataset.json` per dataset folder, naming its
 * partition count and creation time. Written once, atomically (temporary
 * file, fsync, rename, fsync of the folder), after the partition folders
 * exist: a dataset folder without it is a creation cut short, ignored at
 * open and completed by the next createDataset of that name.
 */
import { join } from 'node:path';
import { describe, LaminateError } from '../common/errors.js';
import { requirePositiveInt } from '../common/validate.js';
import { writeFileAtomic, type FileSystem } from './file-system.js';
import { DATASET_FILE, datasetDir, partitionDir } from './layout.js';

/** Default partitions of a new dataset. */
export const DEFAULT_PARTITIONS = 4;
/** Most partitions a dataset may have. */
export const MAX_PARTITIONS = 1024;

/**
 * Dataset names: a letter or digit, then letters, digits, '.', '_' or '-',
 * 128 characters at most. They are folder names, so no '/', no leading '.'
 * (no '..', no hidden files) and nothing a shell needs quoted.
 */
export const DATASET_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface CatalogEntry {
  readonly name: string;
  readonly partitions: number;
  /** ms since the epoch. */
  readonly createdAt: number;
}

/** Throws INVALID_ARGUMENT unless `name` is a valid dataset name. */
export function validateDatasetName(name: unknown): string {
  if (typeof name !== 'string' || !DATASET_NAME_RE.test(name)) {
    throw new LaminateError(
      'INVALID_ARGUMENT',
      `Expected a dataset name of 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit, got ${describe(name)}`,
    );
  }
  return name;
}

/** The partition count of a new dataset: DEFAULT_PARTITIONS when undefined; throws INVALID_ARGUMENT. */
export function validatePartitionCount(partitions: unknown): number {
  if (partitions === undefined) return DEFAULT_PARTITIONS;
  return requirePositiveInt('partitions', partitions, MAX_PARTITIONS);
}

/**
 * Creates the folders of a dataset and then commits its catalog entry.
 * Safe to repeat after a crash: folders that exist are kept.
 */
export async function writeCatalogEntry(fs: FileSystem, dir: string, entry: CatalogEntry): Promise<void> {
  for (let p = 0; p < entry.partitions; p++) await fs.mkdir(partitionDir(dir, entry.name, p));
  // The partition folders' names must be durable before the entry that promises them.
  await fs.syncDir(datasetDir(dir, entry.name));
  const json = JSON.stringify({ name: entry.name, partitions: entry.partitions, createdAt: entry.createdAt, formatVersion: 1 }, null, 2);
  await writeFileAtomic(fs, datasetDir(dir, entry.name), DATASET_FILE, Buffer.from(`${json}\n`, 'utf8'));
  await fs.syncDir(dir);
}

/** What an entry of the datasets folder holds: a dataset, or something that is none (and why, for the log). */
export type CatalogRead = { readonly kind: 'dataset'; readonly entry: CatalogEntry } | { readonly kind: 'none'; readonly why: string };

/**
 * Reads the catalog entry of the entry `name` of the datasets folder. It is
 * no dataset when its name is not one a dataset can have (lost+found, a
 * hidden file), when it is a plain file, or when it is a folder without
 * `dataset.json` (a creation cut short): the store skips those, so one stray
 * entry does not stop it opening. Throws DATA_LOSS when the entry exists but
 * is unreadable or does not describe that folder (a store never guesses a
 * partition count), UNAVAILABLE when the folder may not be read.
 * Called by the store's open, once per entry.
 */
export async function readCatalogEntry(fs: FileSystem, dir: string, name: string): Promise<CatalogRead> {
  if (!DATASET_NAME_RE.test(name)) return { kind: 'none', why: 'not a dataset name' };
  const path = join(datasetDir(dir, name), DATASET_FILE);
  let size: number | undefined;
  try {
    size = await fs.fileSize(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') return { kind: 'none', why: 'not a folder' };
    if (code === 'EACCES' || code === 'EPERM') {
      throw new LaminateError('UNAVAILABLE', `Expected to read ${path}, got ${code}: permission denied`, { cause: err, ids: { dataset: name } });
    }
    throw err;
  }
  if (size === undefined) return { kind: 'none', why: 'a folder without a catalog entry (a creation cut short)' };
  let parsed: unknown;
  try {
    parsed = JSON.parse((await fs.readFile(path)).toString('utf8'));
  } catch (err) {
    throw new LaminateError('DATA_LOSS', `Expected ${path} to be JSON, got unreadable bytes`, { cause: err, ids: { dataset: name } });
  }
  const e = parsed as Partial<CatalogEntry> | null;
  if (
    e === null || typeof e !== 'object' || e.name !== name ||
    typeof e.partitions !== 'number' || !Number.isSafeInteger(e.partitions) || e.partitions < 1 || e.partitions > MAX_PARTITIONS ||
    typeof e.createdAt !== 'number'
  ) {
    throw new LaminateError('DATA_LOSS', `Expected ${path} to describe dataset '${name}' (name, partitions, createdAt), got ${JSON.stringify(parsed)}`, { ids: { dataset: name } });
  }
  return { kind: 'dataset', entry: { name, partitions: e.partitions, createdAt: e.createdAt } };
}
