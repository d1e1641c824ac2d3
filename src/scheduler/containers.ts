/**
 * Function containers in the scheduler's books (issue 10): a container the
 * master starts for a function holds one slot and its memory on a worker
 * from its reservation until it is released, exactly as a task attempt's
 * container does, so that batch tasks and functions share each worker's
 * capacity. The invocation service (src/functions/) names the containers
 * and decides when to reserve and release; these functions only keep the
 * counts. Pure; called by Scheduler.
 */
import { LaminateError } from '../common/errors.js';
import { fits } from './placement.js';
import type { WorkerRecord } from './records.js';

/** A reserved function container: where it is and what it holds. */
export interface ContainerReservation {
  readonly containerId: string;
  readonly workerId: string;
  readonly memoryMb: number;
}

/**
 * Picks a live worker with a free slot and `memoryMb` free, preferring the
 * one with the largest share of free slots (as attempts are spread), and
 * not one in `avoid` unless no other fits. Undefined when none has room now.
 */
export function chooseContainerWorker(workers: Iterable<WorkerRecord>, memoryMb: number, avoid: ReadonlySet<string> = new Set()): WorkerRecord | undefined {
  let best: WorkerRecord | undefined;
  let bestScore = -Infinity;
  for (const w of workers) {
    if (!fits(w, memoryMb)) continue;
    const score = (w.capacity.slots - w.usedSlots) / w.capacity.slots - (avoid.has(w.id) ? 2 : 0);
    if (score > bestScore) {
      best = w;
      bestScore = score;
    }
  }
  return best;
}

/** Books container `c` on worker `w`. @throws LaminateError ALREADY_EXISTS for an id in use. */
export function holdContainer(containers: Map<string, ContainerReservation>, w: WorkerRecord, containerId: string, memoryMb: number): ContainerReservation {
  if (containers.has(containerId)) throw new LaminateError('ALREADY_EXISTS', `Container ${containerId} is already reserved`);
  const r = { containerId, workerId: w.id, memoryMb };
  containers.set(containerId, r);
  w.containers.add(containerId);
  w.usedSlots++;
  w.usedMemoryMb += memoryMb;
  return r;
}

/** Gives back container `containerId`'s slot and memory. False when it was not reserved (a repeat). */
export function freeContainer(containers: Map<string, ContainerReservation>, workers: ReadonlyMap<string, WorkerRecord>, containerId: string): boolean {
  const r = containers.get(containerId);
  if (!r) return false;
  containers.delete(containerId);
  const w = workers.get(r.workerId);
  if (w && w.containers.delete(containerId)) {
    w.usedSlots--;
    w.usedMemoryMb -= r.memoryMb;
  }
  return true;
}
