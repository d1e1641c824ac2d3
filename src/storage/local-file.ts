/**
 * Files read in place by a process on the same host as the one that wrote
 * them (HDFS's short-circuit local reads, Spark's host-local shuffle reads):
 * the owner names a file by host, path, device, inode and a stamp; a reader
 * opens it only when the host is its own and the file it finds at that path
 * is that same file. Anything else (another host, a container with its own
 * filesystem at the same path, a file replaced or removed, no permission)
 * is a reason to have the owner send the bytes instead.
 *
 * Device and inode alone do not prove it: a file removed and written again
 * at the same path often gets the same inode back (ext4 reuses a freed one
 * at once). The stamp adds the file's birth time (statx; 0 where the file
 * system keeps none) and, for a file that never changes once handed out (a
 * map output), its modification time and size. A segment file still being
 * appended to is stamped by its birth time only.
 */
import { readFileSync, type BigIntStats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';

/** A file as its owner sees it (device, inode and stamp in decimal: they may pass 2^53). */
export interface LocalFile {
  readonly host: string;
  readonly path: string;
  readonly dev: string;
  readonly ino: string;
  /** `b:<birth ns>` for a file that may grow, `f:<birth ns>:<mtime ns>:<size>` for one that is final. */
  readonly stamp: string;
}

let host: string | undefined;

/**
 * This host: its name and its kernel's boot id (Linux; empty elsewhere), so
 * that a machine renamed or rebooted, or two machines of one name, are not
 * taken for each other. The device, inode and stamp check is what proves the file.
 */
export function hostIdentity(): string {
  if (host === undefined) {
    let boot = '';
    try {
      boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      // Not Linux: the name alone, and the file check.
    }
    host = `${hostname()}/${boot}`;
  }
  return host;
}

function stampOf(s: BigIntStats, final: boolean): string {
  return final ? `f:${s.birthtimeNs}:${s.mtimeNs}:${s.size}` : `b:${s.birthtimeNs}`;
}

/**
 * The file at `path` as a reader on this host will check it. Called by the
 * owner that hands the file out (a shuffle server, the Dataset service);
 * `final`: the file will not change (a map output), so its modification
 * time and size are part of the check.
 * @throws the stat's error (ENOENT for a missing file): the caller says what it means.
 */
export async function localFile(path: string, options: { final: boolean }): Promise<LocalFile> {
  const abs = resolve(path);
  const s = await stat(abs, { bigint: true });
  return { host: hostIdentity(), path: abs, dev: s.dev.toString(), ino: s.ino.toString(), stamp: stampOf(s, options.final) };
}

/**
 * What opening a LocalFile here found: the file open, or why not. `elsewhere`
 * (another host, or no absolute path), `missing` (nothing at the path) and
 * `replaced` (another file there) are about the file; `error` is this
 * process's own trouble opening it (no permission, no file descriptors left,
 * an I/O error), which says nothing about the file.
 */
export type SameFile =
  | { readonly fh: FileHandle }
  | { readonly why: 'elsewhere' | 'missing' | 'replaced' }
  | { readonly why: 'error'; readonly error: unknown };

/**
 * Opens `file` if it is on this host and the file at its path is the same
 * file (device, inode, stamp). Never rejects.
 */
export async function openSameFile(file: LocalFile): Promise<SameFile> {
  if (file.host !== hostIdentity() || !isAbsolute(file.path)) return { why: 'elsewhere' };
  let fh: FileHandle;
  try {
    fh = await open(file.path, 'r');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? { why: 'missing' } : { why: 'error', error };
  }
  let found: SameFile;
  try {
    const s = await fh.stat({ bigint: true });
    const same = s.dev.toString() === file.dev && s.ino.toString() === file.ino && stampOf(s, file.stamp.startsWith('f:')) === file.stamp;
    found = same ? { fh } : { why: 'replaced' };
  } catch (error) {
    found = { why: 'error', error };
  }
  if (!('fh' in found)) await fh.close().catch(() => undefined);
  return found;
}
