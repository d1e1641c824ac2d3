/**
 * At most N fsyncs of the dataset store in flight at once, store-wide.
 *
 * Why: Node runs every file operation on libuv's thread pool (16 threads
 * under the `laminate` launcher, 4 by default), and an fdatasync holds its
 * thread for as long as the disk takes. The store keeps one fsync in flight
 * per partition (group commit, partition-writer.ts), so a master with as
 * many partitions taking appends as the pool has threads held them all:
 * every write, read and open, of any partition and of the rest of the
 * master, then queued behind the disk (bench/README.md, ingest: 4 threads, 4
 * partitions). With this limit, half the threads at most wait on the disk;
 * a partition whose fsync waits for a turn keeps writing its next group
 * meanwhile, so its next fsync covers more appends (a longer wait, no lost
 * work), as a database's WAL writer batches behind a slow flush.
 *
 * Who calls it: resolveDatasetStoreOptions, once per store, around the file
 * system it was given; every fsync the store makes (a file's datasync, a
 * synced whole-file write, a folder's sync) passes through it. Turns are
 * given in the order they were asked for.
 */
import { ByteBudget } from './byte-budget.js';
import type { DatasetFile, FileSystem } from './file-system.js';

/** libuv's pool size as this process will have it: UV_THREADPOOL_SIZE (1 to 1024), else 4. Pure. */
export function threadPoolSize(env: string | undefined): number {
  const n = env === undefined ? NaN : Number(env);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 1024) : 4;
}

/** The default limit: half the pool (at least one), so that reads and writes always find a thread. Pure. */
export function defaultSyncsInFlight(poolSize: number): number {
  return Math.max(1, Math.floor(poolSize / 2));
}

/** `fs` with its fsyncs limited to `max` in flight at once (`fs` may be a class instance: its methods are called on it). */
export function limitSyncs(fs: FileSystem, max: number): FileSystem {
  // ByteBudget, as a count: first come, first served, one unit per fsync.
  const turns = new ByteBudget(max);
  const inTurn = async <T>(f: () => Promise<T>): Promise<T> => {
    await turns.acquire(1);
    try {
      return await f();
    } finally {
      turns.release(1);
    }
  };
  return {
    async open(path, flags): Promise<DatasetFile> {
      const file = await fs.open(path, flags);
      return {
        writev: (buffers, position) => file.writev(buffers, position),
        read: (buf, offset, length, position) => file.read(buf, offset, length, position),
        datasync: () => inTurn(() => file.datasync()),
        truncate: (length) => file.truncate(length),
        size: () => file.size(),
        close: () => file.close(),
      };
    },
    mkdir: (path) => fs.mkdir(path),
    list: (path) => fs.list(path),
    readFile: (path) => fs.readFile(path),
    writeFileSynced: (path, data) => inTurn(() => fs.writeFileSynced(path, data)),
    rename: (from, to) => fs.rename(from, to),
    remove: (path) => fs.remove(path),
    syncDir: (path) => inTurn(() => fs.syncDir(path)),
    fileSize: (path) => fs.fileSize(path),
  };
}
