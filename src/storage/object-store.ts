/**
 * The storage port: what Laminate needs from a place that holds its files,
 * with one implementation per kind of store (local-object-store.ts for the
 * local file system, s3-object-store.ts for S3-compatible object stores),
 * picked by store-path.ts from the path a user gives (`/data/x` or
 * `s3://bucket/prefix`). Callers above the port (input listing and splits,
 * the output committer, later view versions, checkpoints, the function code
 * store and the dataset archive) see keys and never the backend.
 *
 * Keys are '/'-separated names within the store's root: an absolute path
 * for the local store, an object key (no leading '/') for a bucket.
 * "Folders" exist only as key prefixes ending in '/'.
 */
import { LaminateError } from '../common/errors.js';

/** One object (file) as a listing or stat sees it. */
export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
}

/** A listing's entries directly under a prefix: objects, and the sub-prefixes ('folders', ending in '/'). */
export interface ListResult {
  readonly objects: readonly ObjectInfo[];
  readonly prefixes: readonly string[];
}

/**
 * Random access to one object, in the shape of node's FileHandle.read so
 * that the line reader takes a file handle and an object alike. A read may
 * return fewer bytes than asked (never 0 before the end); 0 means the end.
 */
export interface RangeReader {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/**
 * An upload not yet visible: its bytes are stored, but the object appears
 * only when `commitUpload` completes it (S3's multipart upload; a hidden
 * file renamed into place on a file system). Plain JSON, so a worker can
 * hand it to the master in a small object (the committer's manifest).
 */
export interface UploadTicket {
  readonly key: string;
  readonly uploadId: string;
  /** Set once every part is stored (UploadWriter.finish), in part order. */
  readonly parts?: ReadonlyArray<{ readonly partNumber: number; readonly etag: string }>;
  /** The object's size once complete (set with parts). */
  readonly bytes?: number;
}

/**
 * Writes the bytes of one upload, a part at a time. `write` is awaited by
 * the caller; at most one part is in flight, so memory stays at a part.
 */
export interface UploadWriter {
  /** The ticket before any byte is stored: enough to abort the upload. */
  readonly ticket: UploadTicket;
  /** Stores `bytes` as the next part (the store may join small writes until a part is full). */
  write(bytes: Buffer): Promise<void>;
  /** Stores what is left and returns the ticket with its parts; the object is still invisible. */
  finish(): Promise<UploadTicket>;
  /** Drops the upload. Safe to call twice, and after finish. */
  abort(): Promise<void>;
}

export interface ObjectStore {
  /** 'file' or 's3': for messages and for capability checks in tests, never to branch on above the port. */
  readonly kind: 'file' | 's3';
  /** The user's spelling of `key` in this store (`s3://bucket/key` or the path), for messages. */
  describe(key: string): string;
  /**
   * Fails with a clear LaminateError when the store cannot be used: NOT_FOUND
   * for a bucket (or root folder) that does not exist, UNAUTHENTICATED when
   * access is denied. Called before a job starts; cheap; repeatable.
   */
  check(): Promise<void>;
  /** The entries directly under `prefix` (which ends in '/', or is '' for the root), sorted by key. */
  list(prefix: string): Promise<ListResult>;
  /** Every object whose key starts with `prefix`, at any depth, sorted by key. */
  listAll(prefix: string): Promise<ObjectInfo[]>;
  /** The object at `key`, or undefined when there is none. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** Random access to `key` (ranged reads). NOT_FOUND when it does not exist. */
  openRange(key: string): Promise<RangeReader>;
  /** The bytes [start, end) of `key` as a stream (a ranged GET). `end` defaults to the object's end. */
  readStream(key: string, start?: number, end?: number): AsyncIterable<Buffer>;
  /** The whole object at `key` (small objects only: manifests, markers). NOT_FOUND when missing. */
  read(key: string): Promise<Buffer>;
  /**
   * Publishes `body` at `key` atomically: a reader sees the old object (or
   * none) or the whole new one, never a part. Replaces an existing object.
   */
  put(key: string, body: Buffer | string): Promise<void>;
  /** Removes `key`. Safe when it does not exist. */
  delete(key: string): Promise<void>;
  /** Starts an upload to `key` that stays invisible until commitUpload (see UploadTicket). */
  startUpload(key: string): Promise<UploadWriter>;
  /**
   * Makes a finished upload visible at its key, atomically, replacing what
   * was there. NOT_FOUND when the upload is gone (aborted, or already
   * committed: the caller checks the key then).
   */
  commitUpload(ticket: UploadTicket): Promise<void>;
  /** Drops an upload, finished or not. Safe to call twice, and for one already committed (a no-op then). */
  abortUpload(ticket: UploadTicket): Promise<void>;
  /**
   * The uploads started under `prefix` and neither committed nor aborted;
   * undefined when the store cannot list them (some S3-compatible servers,
   * s3rver among them, lack ListMultipartUploads).
   */
  listUploads(prefix: string): Promise<UploadTicket[] | undefined>;
}

/**
 * The object at `key`, or undefined when there is none: one read (one GET
 * on S3), its NOT_FOUND taken as "none", rather than a stat before it.
 */
export async function readIfPresent(store: ObjectStore, key: string): Promise<Buffer | undefined> {
  try {
    return await store.read(key);
  } catch (err) {
    if (err instanceof LaminateError && err.code === 'NOT_FOUND') return undefined;
    throw err;
  }
}

/** Whether `path` names an object store location (`s3://...`) rather than a local path. */
export function isS3Path(path: string): boolean {
  return path.startsWith('s3://');
}

/** Joins a key prefix and a name with exactly one '/'. Pure. */
export function joinKey(prefix: string, name: string): string {
  if (prefix === '') return name;
  return prefix.endsWith('/') ? prefix + name : `${prefix}/${name}`;
}
