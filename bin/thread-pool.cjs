'use strict';
/**
 * libuv's thread pool, sized for a Laminate process before anything uses it.
 * Loaded first by the `laminate` command (laminate.cjs); `node --require
 * bin/thread-pool.cjs` does the same for any other entry.
 *
 * Every fs.promises call (a segment's writev and fdatasync, a reader's read,
 * a spill, a view file's open) runs on libuv's pool: 4 threads unless
 * UV_THREADPOOL_SIZE says otherwise. A dataset partition keeps one
 * fdatasync in flight (src/dataset/partition-writer.ts), so a master taking
 * appends into 4 partitions had all 4 threads blocked in the disk, and the
 * next writev and every read waited in libuv's queue behind them: an append
 * waited for other partitions' fsyncs before its own began. Measured with
 * `node dist/bench/run.js ingest --latency-only yes` (50,000 records/s, 4
 * partitions, two runs each way on one machine, bench/README.md): with 4
 * threads an Append took p50 5.0-8.1 ms and p99 38-49 ms, a record p99
 * 74-75 ms; with 16, 3.4 ms, 20-22 ms and 33 ms.
 *
 * Why here and not in the TypeScript: libuv creates the pool on its first
 * use and reads the variable then, and an ES module entry is itself read
 * through the pool (Node's ESM loader reads files with fs.promises), so
 * setting it from src/cli/main.ts is too late. This file is CommonJS, read
 * synchronously, and runs before any module of the command is loaded.
 *
 * A value the user set is kept: UV_THREADPOOL_SIZE is the operator's
 * setting (Node's documentation). Idle threads cost a reserved stack each.
 */

/** Threads when the user set none: a master's partitions fsyncing (4 per dataset by default), with room for reads. */
const DEFAULT_THREAD_POOL_SIZE = 16;

const set = process.env.UV_THREADPOOL_SIZE;
if (set === undefined || set.trim() === '') process.env.UV_THREADPOOL_SIZE = String(DEFAULT_THREAD_POOL_SIZE);

module.exports = { DEFAULT_THREAD_POOL_SIZE };
