/**
 * Host-local shuffle reads: a reducer on the same host as a map output
 * reads the partition's bytes from the file itself instead of having its
 * server stream them over gRPC (Spark 3's spark.shuffle.readHostLocalDisk;
 * HDFS's short-circuit local reads). On one machine the stream costs the
 * server a read, a protobuf copy and a frame copy per chunk, and the reducer
 * a receive and a decode: more CPU than the reduce itself.
 *
 * The server is still asked (LocatePartition), so a dead worker or a lost
 * output fails the reducer's fetch exactly as a stream would, and the
 * server checks the partition against the file's index as for a fetch. It
 * answers with the file's host, path, device and inode. The reducer reads
 * the file only when the host is its own and the file it opens there is that
 * same inode on that same device; in every other case (another host, a
 * container with its own filesystem at the same path, no permission) it
 * streams the bytes as before.
 */
import { readFileSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { LaminateError } from '../common/errors.js';
import type { PartitionFile } from '../protocol/messages.js';

let host: string | undefined;

/**
 * This host: its name and its kernel's boot id (Linux; empty elsewhere), so
 * that a machine renamed or rebooted, or two machines of one name, are not
 * taken for each other. The device and inode check is what proves the file.
 */
export function hostIdentity(): string {
  if (host === undefined) {
    let boot = '';
    try {
      boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      // Not Linux: the name alone, and the device and inode check.
    }
    host = `${hostname()}/${boot}`;
  }
  return host;
}

/**
 * The answer to LocatePartition for the map output at `path`. Called by a
 * worker's shuffle server and a node's shuffle service after they checked
 * the partition against the file's index.
 * @throws LaminateError NOT_FOUND when the file is gone (the reducer reports a fetch failure).
 */
export async function partitionFile(path: string): Promise<PartitionFile> {
  const abs = resolve(path);
  try {
    const s = await stat(abs, { bigint: true });
    return { host: hostIdentity(), path: abs, dev: s.dev.toString(), ino: s.ino.toString() };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new LaminateError('NOT_FOUND', `Map output '${abs}' does not exist`, { cause: err });
    }
    throw err;
  }
}

/**
 * Opens the file a LocatePartition answer names, if it is on this host and
 * the file at its path is the same inode on the same device; undefined
 * otherwise (then the reducer streams the bytes). Never throws for a file it
 * cannot open or that is another file: those are reasons to stream.
 */
export async function openSameFile(file: PartitionFile): Promise<FileHandle | undefined> {
  if (file.host !== hostIdentity() || !isAbsolute(file.path)) return undefined;
  let fh: FileHandle;
  try {
    fh = await open(file.path, 'r');
  } catch {
    return undefined;
  }
  try {
    const s = await fh.stat({ bigint: true });
    if (s.dev.toString() === file.dev && s.ino.toString() === file.ino) return fh;
  } catch {
    // Fall through: streamed instead.
  }
  await fh.close();
  return undefined;
}
