/**
 * Checkpoint files on disk: `<checkpointDir>/<view>/<definitionHash>/p<N>.ckpt`,
 * in a folder every speed process that may take the partition over sees.
 * Written atomically (temp file, fsync, rename, folder fsync), so a reader
 * finds the old checkpoint or the new one, never a mix; read back with
 * damaged and foreign files ignored (the log is the truth: the caller
 * refolds from the handoff cut).
 *
 * A checkpoint folder on an object store (`s3://bucket/prefix`) holds the
 * same keys, written through the storage port with one PutObject each,
 * which S3 makes visible whole or not at all: no temporary object, so
 * nothing for a crash to leave behind.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, LaminateError } from '../common/errors.js';
import { isS3Path } from '../storage/object-store.js';
import { joinStorePath, locate } from '../storage/store-path.js';
import { removePrefix, subPrefixes } from '../view/object-version-dir.js';
import { writeFileAtomic, type AtomicWriteStep } from '../view/durable-files.js';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint, type CheckpointIdentity } from './checkpoint-codec.js';

/** Where load warnings go (a pino logger, or a view thread's forwarder). */
export interface WarnLog {
  warn(fields: Record<string, unknown>, msg: string): void;
}

export function checkpointFolder(dir: string, id: Omit<CheckpointIdentity, 'partition'>): string {
  return joinStorePath(dir, id.view, id.definitionHash);
}

export function checkpointPath(dir: string, id: CheckpointIdentity): string {
  return joinStorePath(checkpointFolder(dir, id), `p${id.partition}.ckpt`);
}

/**
 * Saves `c` atomically. Called by the view thread every checkpoint interval
 * for a partition whose state changed, and at stop; never twice at once for
 * one partition (the caller waits for the previous write). Safe to repeat.
 * Resolves with the checkpoint's size in bytes.
 * `onStep` runs after each step of the atomic write (crash tests).
 */
export async function writeCheckpoint<A>(dir: string, c: Checkpoint<A>, onStep?: (step: AtomicWriteStep) => void): Promise<number> {
  const bytes = encodeCheckpoint(c);
  if (isS3Path(dir)) {
    const { store, key } = await locate(checkpointPath(dir, c));
    await store.put(key, bytes);
    return bytes.length;
  }
  await mkdir(checkpointFolder(dir, c), { recursive: true });
  await writeFileAtomic(checkpointPath(dir, c), bytes, onStep);
  return bytes.length;
}

/**
 * The checkpoint of `id`, or undefined when there is none, or it is damaged
 * or foreign (a warning says which and why). Removes the temporary files
 * of the partition that a crash during a write left, of any age. Called once when a
 * partition starts on a process.
 */
export async function loadCheckpoint<A>(dir: string, id: CheckpointIdentity, log: WarnLog): Promise<Checkpoint<A> | undefined> {
  const path = checkpointPath(dir, id);
  if (!isS3Path(dir)) await removeStaleTemps(dir, id).catch(() => {});
  let bytes: Buffer;
  try {
    bytes = await readBytes(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err instanceof LaminateError && err.code === 'NOT_FOUND')) return undefined;
    log.warn({ err: errorMessage(err), path }, 'checkpoint unreadable: ignored, refolding from the handoff cut');
    return undefined;
  }
  try {
    return decodeCheckpoint<A>(bytes, id);
  } catch (err) {
    log.warn({ path, reason: errorMessage(err) }, 'checkpoint damaged or foreign: ignored, refolding from the handoff cut');
    return undefined;
  }
}

/** A checkpoint's bytes, from disk or from an object store. */
async function readBytes(path: string): Promise<Buffer> {
  if (!isS3Path(path)) return readFile(path);
  const { store, key } = await locate(path);
  return store.read(key);
}

/**
 * Removes every temporary file of the partition. Any age: the loader is
 * taking the partition over, so a temp file is a dead or displaced
 * writer's. (Removing only those older than a minute left the temp files of
 * a crash that was restarted at once in the folder for good: the partition
 * is loaded again only when it moves.) A displaced writer still running
 * then fails its rename, logs it and writes again at its next interval,
 * the double-owner case the spec already allows.
 */
async function removeStaleTemps(dir: string, id: CheckpointIdentity): Promise<void> {
  const folder = checkpointFolder(dir, id);
  const prefix = `p${id.partition}.ckpt.`;
  for (const name of await readdir(folder)) {
    if (name.startsWith(prefix) && name.endsWith('.tmp')) await rm(join(folder, name), { force: true });
  }
}

/** A definition hash as checkpoint folders are named (the deployment's lowercase hex). */
const DEFINITION_DIR_RE = /^[0-9a-f]{8,128}$/;

/**
 * Removes the checkpoint folders of `view` under `dir` for definitions other
 * than `keep`: a redeployed view's old state is never read again (a read of
 * an older definition is answered uncovered, and a redeploy back to it would
 * refold from the handoff cut if its checkpoint were gone: the log is the
 * truth). Called by the engine each time it starts a view's thread, after
 * any thread of the old definition in this process has written its last
 * checkpoint; a process elsewhere still on the old definition writes again
 * until it hears of the redeploy, and removes the folder itself when it
 * starts the new one. Returns the names removed. Safe to repeat.
 */
export async function removeOtherDefinitions(dir: string, view: string, keep: string): Promise<string[]> {
  const viewDir = joinStorePath(dir, view);
  const s3 = isS3Path(dir);
  let names: string[];
  try {
    names = s3 ? await subPrefixes(viewDir) : await readdir(viewDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names) {
    if (name === keep || !DEFINITION_DIR_RE.test(name)) continue;
    if (s3) await removePrefix(joinStorePath(viewDir, name));
    else await rm(join(viewDir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
