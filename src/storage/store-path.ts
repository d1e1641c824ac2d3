/**
 * From a path as a user writes it to the store that holds it and the key
 * within: `/data/in` is the local file system (key: the absolute path),
 * `s3://bucket/prefix` is that bucket (key: the prefix). Everything that
 * accepts a path (job inputs and outputs today; view versions, checkpoints,
 * function code and the dataset archive later) resolves it here, and works
 * on the pair.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { describe, LaminateError } from '../common/errors.js';
import { localObjectStore } from './local-object-store.js';
import { isS3Path, type ObjectStore } from './object-store.js';
import type { S3ObjectStore } from './s3-object-store.js';

/** A store and a key in it. */
export interface StoreLocation {
  readonly store: ObjectStore;
  readonly key: string;
}

/** Bucket names as S3 allows them (3 to 63 of a-z, 0-9, '.', '-'); checked so a typo fails before any request. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `s3://bucket/key` split into bucket and key. Pure; INVALID_ARGUMENT for a malformed URL. */
export function parseS3Path(path: string): { bucket: string; key: string } {
  const rest = path.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? '' : rest.slice(slash + 1);
  if (!BUCKET.test(bucket)) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected s3://BUCKET/PREFIX with a bucket name of 3 to 63 lowercase letters, digits, '.' or '-', got ${describe(path)}`);
  }
  return { bucket, key };
}

const buckets = new Map<string, S3ObjectStore>();

/**
 * The store of `path` and its key there. Local paths are made absolute
 * (against the working folder). Cheap: stores are cached per bucket, and
 * nothing is asked of the store; the AWS SDK is loaded on the first s3://
 * path only, so a process (a map container) with local paths never pays
 * for it. Called wherever a path is used.
 */
export async function locate(path: string): Promise<StoreLocation> {
  if (isS3Path(path)) {
    const { bucket, key } = parseS3Path(path);
    let store = buckets.get(bucket);
    if (store === undefined) {
      const [{ S3ObjectStore }, { s3Client }] = await Promise.all([import('./s3-object-store.js'), import('./s3-client.js')]);
      store = buckets.get(bucket) ?? new S3ObjectStore(s3Client(), bucket);
      buckets.set(bucket, store);
    }
    return { store, key };
  }
  return { store: localObjectStore, key: resolve(path) };
}

/**
 * `locate`, then the store's check, for a path a process is started with: a
 * missing bucket or denied access is said at the start, naming the flag
 * (`--views`, `--archive`, `--checkpoints`), rather than as failures at
 * each later write while the process looks healthy.
 *
 * @throws LaminateError with the check's code (NOT_FOUND, UNAUTHENTICATED), naming `what` and `flag`.
 */
export async function locateChecked(path: string, what: string, flag: string): Promise<StoreLocation> {
  const location = await locate(path);
  try {
    await location.store.check();
  } catch (err) {
    if (!(err instanceof LaminateError)) throw err;
    throw new LaminateError(err.code, `Expected a usable ${what} at ${path} (${flag}), got: ${err.message}`, { cause: err });
  }
  return location;
}

/** `path` as the master stores it: absolute for a local path, as given for an s3:// one. Pure apart from the working folder. */
export function absoluteStorePath(path: string): string {
  return isS3Path(path) ? path : resolve(path);
}

/** Whether `path` is one the master can use as is (absolute, or s3://). Pure. */
export function isStorePath(path: string): boolean {
  return isS3Path(path) || isAbsolute(path);
}

/**
 * `base` and `names` joined as a path of the same kind: with '/' for an
 * s3:// URL (node's path.join would fold its '//'), as path.join for a
 * local path. Pure.
 */
export function joinStorePath(base: string, ...names: string[]): string {
  if (!isS3Path(base)) return join(base, ...names);
  let out = base;
  for (const name of names) out = out.endsWith('/') ? out + name : `${out}/${name}`;
  return out;
}
