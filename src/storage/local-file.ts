/**
 * Files read in place by a process on the same host as the one that wrote
 * them (HDFS's short-circuit local reads, Spark's host-local shuffle reads):
 * the owner names a file by host, path, device and inode; a reader opens it
 * only when the host is its own and the file it finds at that path is that
 * same inode on that same device. Anything else (another host, a container
 * with its own filesystem at the same path, a file replaced or removed, no
 * permission) is a reason to have the owner send the bytes instead.
 */
import { readFileSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';

/** A file as its owner sees it (device and inode in decimal: they may pass 2^53). */
export interface LocalFile {
  readonly host: string;
  readonly path: string;
  readonly dev: string;
  readonly ino: string;
}

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
 * The file at `path` as a reader on this host will check it. Called by the
 * owner that hands the file out (a shuffle server, the Dataset service).
 * @throws the stat's error (ENOENT for a missing file): the caller says what it means.
 */
export async function localFile(path: string): Promise<LocalFile> {
  const abs = resolve(path);
  const s = await stat(abs, { bigint: true });
  return { host: hostIdentity(), path: abs, dev: s.dev.toString(), ino: s.ino.toString() };
}

/**
 * Opens `file` if it is on this host and the file at its path is the same
 * inode on the same device; undefined otherwise. Never throws for a file it
 * cannot open or that is another file: those are reasons to have the bytes sent.
 */
export async function openSameFile(file: LocalFile): Promise<FileHandle | undefined> {
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
    // Fall through: the bytes are sent instead.
  }
  await fh.close();
  return undefined;
}
