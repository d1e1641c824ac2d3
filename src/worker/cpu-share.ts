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

/** Lambda's memory for one full vCPU, MB: a container this size or larger runs at the worker's own priority. */
export const ONE_VCPU_MB = 1_769;

/**
 * The nice value of a container of `memoryMb`, for a worker whose own nice
 * value is `baseNice`: a container of ONE_VCPU_MB or more competes as the
 * worker's own processes (one full CPU's share, as in Lambda), and each
 * halving of memory below it is about 3 steps further (128 MB: 12 steps, a
 * CFS weight of 87 against 1,024: 87/1,111, about 7.8% of a core shared with
 * one busy batch task, where Lambda gives 128/1,769 = 7.2% of a vCPU); never below the
 * worker's own (an unprivileged process cannot raise a child's priority
 * above its own) nor above 19. Above ONE_VCPU_MB all sizes get the same
 * share: a nice value cannot weigh a process above its worker's. Pure;
 * called once per container start.
 *
 * Why anchored at one vCPU rather than at the largest size: anchored at
 * 10,240 MB, 128 MB was nice 19 (weight 15), 1.5% of a core beside a batch
 * task, and a first invocation's cold code could run past a 3 s timeout on
 * a worker busy with map tasks.
 */
export function niceForMemory(memoryMb: number, baseNice = 0): number {
  const steps = Math.round(Math.log(ONE_VCPU_MB / Math.max(memoryMb, FUNCTION_LIMITS.minMemoryMb)) / Math.log(NICE_STEP));
  return Math.min(MAX_NICE, Math.max(baseNice, baseNice + steps));
}

/** The CFS weight of a nice value (the kernel's sched_prio_to_weight), for tests and documentation. */
export function cfsWeight(nice: number): number {
  return Math.round(1024 / NICE_STEP ** nice);
}
