/**
 * The containers' starting old generation: V8's `--initial-old-space-size`,
 * set in the worker's process before its first container starts.
 *
 * Why: a container is a fresh isolate per job, and V8 starts an isolate's
 * old-generation limit small and grows it from what survives each full
 * collection, so a job's first attempt in a container runs mark-compacts
 * while the limit climbs, which the attempts after it (the limit grown) do
 * not. In the serving benchmark's build each worker's first map attempt took
 * 1.72-2.42 s (mean 2.03) against 1.54-2.15 s (mean 1.73) with the limit
 * starting at 256 MB, the second 1.42 against 1.32 on average, and the
 * builds 4.21-5.48 s against 3.96-4.85 s, four runs each in turn
 * (bench/README.md, serving, 3 December 21:35). Memory stays bounded by the
 * container's own limit (the attempt's `--map-memory` / `--reduce-memory`,
 * its maximum old generation), which the flag does not move; V8's heap set-up
 * (Heap::ConfigureHeap) also caps the start at half that maximum, so a small
 * container starts smaller (checked on Node 20: a thread capped at 64 MB,
 * its live heap growing to 49 MB, ran its first mark-compact at 32 MB with
 * the flag at 256 and at 13 MB without it). What changes is only that no
 * full collection runs below the start.
 *
 * V8 reads the flag when an isolate's heap is set up, so set at run time it
 * holds for every container started after it (checked on Node 20 with the
 * benchmark's containers, as old-generation.ts does for the master's
 * growing factor). Process-wide: a container cannot be given its own (a
 * Worker's resourceLimits has no initial size). A user's own
 * `--initial-old-space-size` or `--initial-heap-size` on node's command line
 * is left as it is (NODE_OPTIONS refuses both).
 */

/** The starting old generation of every container: 256 MB (V8 caps it at half the container's limit). */
export const CONTAINER_INITIAL_OLD_SPACE_FLAG = '--initial-old-space-size=256';

const USER_FLAG = /--initial[-_](old[-_]space|heap)[-_]size\b/;

let done = false;

/**
 * Sets CONTAINER_INITIAL_OLD_SPACE_FLAG once per process unless the user set
 * their own: 'user', 'set', or 'already' on a later call. Called by each
 * Container before it starts its thread.
 */
export function sizeContainerHeaps(setFlag: (flag: string) => void, execArgv: readonly string[] = process.execArgv): 'user' | 'set' | 'already' {
  if (done) return 'already';
  done = true;
  if (execArgv.some((a) => USER_FLAG.test(a))) return 'user';
  setFlag(CONTAINER_INITIAL_OLD_SPACE_FLAG);
  return 'set';
}
