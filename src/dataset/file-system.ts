/**
 * The file-system port of the dataset store: the few calls it makes, so that
 * tests can count fsyncs (group commit) or make one fail, and so that a later
 * backend (a remote disk, an object store's staging area) fits behind it.
 * `nodeFileSystem` is the real one over node:fs/promises.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** An open file. Positions are explicit everywhere: nothing depends on a file cursor. */
export interface DatasetFile {
  /** Writes every buffer, in order, from `position`; resolves once the OS has them all. */
  writev(buffers: readonly Uint8Array[], position: number): Promise<void>;
  /** Reads up to `length` bytes at `position` into `buf[offset..]`; resolves to the count read (0 at the end). */
  read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** fdatasync: the data written so far (and the size) is on the disk when this resolves. */
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export interface FileSystem {
  /** 'r' reads an existing file; 'a+' opens or creates one for appending and reading. */
  open(path: string, flags: 'r' | 'a+'): Promise<DatasetFile>;
  mkdir(path: string): Promise<void>;
  /** Names in a folder; [] when the folder does not exist. */
  list(path: string): Promise<string[]>;
  readFile(path: string): Promise<Buffer>;
  /** Creates or replaces `path` with `data` and fsyncs it (not its folder: see syncDir). */
  writeFileSynced(path: string, data: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; no error when it is missing. */
  remove(path: string): Promise<void>;
  /** fsyncs a folder, so that names created, renamed or removed in it are durable. */
  syncDir(path: string): Promise<void>;
  /** Size in bytes, or undefined when missing. */
  fileSize(path: string): Promise<number | undefined>;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/** The real file system. */
export const nodeFileSystem: FileSystem = {
  async open(path, flags) {
    const fh = await open(path, flags);
    return {
      async writev(buffers, position) {
        // writev may write less than asked (rare, but allowed): go on from where it stopped.
        let rest = buffers.slice();
        let pos = position;
        while (rest.length > 0) {
          const { bytesWritten } = await fh.writev(rest, pos);
          pos += bytesWritten;
          let skip = bytesWritten;
          while (rest.length > 0 && skip >= rest[0]!.byteLength) {
            skip -= rest[0]!.byteLength;
            rest.shift();
          }
          if (skip > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(skip);
        }
      },
      async read(buf, offset, length, position) {
        const { bytesRead } = await fh.read(buf, offset, length, position);
        return bytesRead;
      },
      datasync: () => fh.datasync(),
      truncate: (length) => fh.truncate(length),
      size: async () => (await fh.stat()).size,
      close: () => fh.close(),
    };
  },
  async mkdir(path) {
    await mkdir(path, { recursive: true });
  },
  async list(path) {
    try {
      return await readdir(path);
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
  },
  readFile: (path) => readFile(path),
  async writeFileSynced(path, data) {
    const fh = await open(path, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  rename: (from, to) => rename(from, to),
  remove: (path) => rm(path, { force: true }),
  async syncDir(path) {
    const fh = await open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  async fileSize(path) {
    try {
      return (await stat(path)).size;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  },
};

/**
 * Writes `path` atomically: a temporary file, fsync'd, renamed over `path`,
 * then the folder fsync'd (LevelDB's CURRENT file is committed the same way:
 * one rename is the commit). A crash leaves the old file or the new one, and
 * at worst a stray `.tmp` that the next write replaces.
 */
export async function writeFileAtomic(fs: FileSystem, dir: string, name: string, data: Uint8Array): Promise<void> {
  const path = join(dir, name);
  const tmp = `${path}.tmp`;
  await fs.writeFileSynced(tmp, data);
  await fs.rename(tmp, path);
  await fs.syncDir(dir);
}
