/**
 * CPU in proportion to memory, as Lambda gives it (1,769 MB is one vCPU, so
 * 256 MB gets twice the share of 128 MB), enforced with the one lever an
 * unprivileged process has over its children: their nice value. Linux's
 * scheduler (CFS) weighs a runnable process by its nice value, each step
 * about 1.25x (the kernel's sched_prio_to_weight table: nice 19 = 15,
 * 16 = 29, 13 = 56 ...), so three steps of nice make about twice the CPU
 * share when processes contend for a core. Doubling the memory lowers the
 * nice value by log(2)/log(1.25) ≈ 3.1 steps.
 *
 * What this is not: a cap. An idle machine lets a 128 MB function use a
 * whole core (Lambda would not); shares only decide who yields under
 * contention. Nice values also only compare processes of one autogroup
 * (session), which is why containers are spawned without `detached`.
 */
import { FUNCTION_LIMITS } from '../common/function-shapes.js';

const NICE_STEP = 1.25;
const MAX_NICE = 19;

/**
 * The nice value of a container of `memoryMb`, for a worker whose own nice
 * value is `baseNice`: the smallest memory (128 MB) is 19 steps below the
 * worker, each doubling of memory about 3 steps nearer it; never below the
 * worker's own (an unprivileged process cannot raise a child's priority
 * above its own) nor above 19. Pure; called once per container start.
 */
export function niceForMemory(memoryMb: number, baseNice = 0): number {
  const steps = Math.round(Math.log(Math.max(memoryMb, FUNCTION_LIMITS.minMemoryMb) / FUNCTION_LIMITS.minMemoryMb) / Math.log(NICE_STEP));
  const offset = Math.max(0, MAX_NICE - steps);
  return Math.min(MAX_NICE, Math.max(baseNice, baseNice + offset));
}

/** The CFS weight of a nice value (the kernel's sched_prio_to_weight), for tests and documentation. */
export function cfsWeight(nice: number): number {
  return Math.round(1024 / NICE_STEP ** nice);
}
