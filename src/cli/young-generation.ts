/**
 * The master's young generation, kept small from inside the process.
 *
 * With V8's default, a master taking appends grows its semi-spaces to 16 MB
 * and then runs a full mark-compact every fraction of a second though its
 * heap stays near 20 MB (its garbage is mostly request buffers outside the
 * heap; bench/README.md, ingest): those pauses land in the append latency
 * and cost CPU per record. A small young generation avoids them.
 *
 * `--max-semi-space-size` is read only when the heap is set up, so
 * `v8.setFlagsFromString` cannot lower it in a running process (checked on
 * Node 20: new space stayed at 16 MB), and re-executing the process with the
 * flag would give the master a pid other than the one its launcher holds (a
 * SIGKILL of that pid would leave the real master running). V8 reads
 * `--semi-space-growth-factor` each time it grows new space, though (and
 * raises a value below 2 to 2 only when the heap is set up): set to 1 at run
 * time, new space stops growing. So the master lets V8 grow it as usual up to
 * the size `--max-semi-space-size=2` gives (4 MiB of new space), then stops
 * it there: no second process, nothing for the user to pass. New space
 * already past that size (grown while modules loaded) stays as it is.
 * Kafka's launcher sets its broker's GC settings the same way, unless the
 * operator gave their own (kafka-run-class.sh: KAFKA_HEAP_OPTS,
 * KAFKA_JVM_PERFORMANCE_OPTS); so does this: any young-generation flag of the
 * user's (node's arguments or NODE_OPTIONS) is left as it is.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** What stops new space growing, set at run time. */
export const STOP_GROWTH_FLAG = '--semi-space-growth-factor=1';

/** New space (both semi-spaces) as `--max-semi-space-size=2` leaves it. */
export const MASTER_NEW_SPACE_BYTES = 4 * 1024 * 1024;

/** V8 flags that size the young generation (V8 takes '-' and '_' alike). */
const YOUNG_GENERATION_FLAG = /--(?:(?:max|min)[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor|max[-_]young[-_]generation[-_]size)\b/;

/**
 * Whether the user sized the young generation themselves in `execArgv`
 * (node's own arguments) or `nodeOptions` (NODE_OPTIONS). Pure.
 */
export function userSizedYoungGeneration(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return execArgv.some((a) => YOUNG_GENERATION_FLAG.test(a)) || (nodeOptions !== undefined && YOUNG_GENERATION_FLAG.test(nodeOptions));
}

/** The process's edges, injected by tests. */
export interface YoungGenerationEdges {
  /** The current size of new space, in bytes. */
  newSpaceBytes(): number;
  setFlag(flag: string): void;
  /** Calls `onGc` after each garbage collection until the returned stop() is called. */
  watchGc(onGc: () => void): () => void;
}

const PROCESS_EDGES: YoungGenerationEdges = {
  newSpaceBytes: () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0,
  setFlag: (flag) => setFlagsFromString(flag),
  watchGc: (onGc) => {
    const observer = new PerformanceObserver(onGc);
    observer.observe({ entryTypes: ['gc'] });
    return () => observer.disconnect();
  },
};

/**
 * Stops new space growing once it holds `targetBytes` (at once if it does
 * already; else after the garbage collection that grows it there, checked
 * after each one until then). Returns 'user' when the user's own flags are
 * left to size it, 'stopped' when growth stopped at once, 'watching' when it
 * stops later. Called once by `laminate master` (main.ts) before its modules
 * load; not meant to be repeated.
 */
export function limitYoungGeneration(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
  edges: YoungGenerationEdges = PROCESS_EDGES,
  targetBytes: number = MASTER_NEW_SPACE_BYTES,
): 'user' | 'stopped' | 'watching' {
  if (userSizedYoungGeneration(execArgv, nodeOptions)) return 'user';
  if (edges.newSpaceBytes() >= targetBytes) {
    edges.setFlag(STOP_GROWTH_FLAG);
    return 'stopped';
  }
  // V8 grows new space during a collection; the check after it may come one
  // growth late on a busy machine (8 MiB then, a quarter of the 32 MiB V8 grows it to here).
  const stop = edges.watchGc(() => {
    if (edges.newSpaceBytes() < targetBytes) return;
    edges.setFlag(STOP_GROWTH_FLAG);
    stop();
  });
  return 'watching';
}
