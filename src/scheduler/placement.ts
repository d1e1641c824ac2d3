/**
 * Where a task attempt may run: a live worker with a free slot and enough free
 * memory, preferring workers the task has not failed on and that are not
 * excluded for the job, and spreading load by the fraction of free slots.
 */
import type { JobRecord, TaskRecord, WorkerRecord } from './records.js';

export function fits(worker: WorkerRecord, memoryMb: number): boolean {
  return worker.alive
    && worker.usedSlots < worker.capacity.slots
    && worker.capacity.memoryMb - worker.usedMemoryMb >= memoryMb;
}

/** Whether the worker could ever host an attempt of this size (when idle). */
export function couldEverFit(worker: WorkerRecord, memoryMb: number): boolean {
  return worker.alive && worker.capacity.slots > 0 && worker.capacity.memoryMb >= memoryMb;
}

/**
 * Picks a worker for one attempt of `task`, or undefined to wait. A worker the
 * task failed on, or one excluded for the job, is used only when no other live
 * worker could ever take the attempt: a retry waits for a better worker rather
 * than repeating a failure, but never waits for one that does not exist.
 */
export function chooseWorker(
  workers: Iterable<WorkerRecord>,
  job: JobRecord,
  task: TaskRecord,
  memoryMb: number,
  avoid?: string,
): WorkerRecord | undefined {
  const all = [...workers].filter((w) => couldEverFit(w, memoryMb) && w.id !== avoid);
  const clean = all.filter((w) => !task.failedOn.has(w.id) && !job.excludedWorkers.has(w.id));
  const notFailed = all.filter((w) => !task.failedOn.has(w.id));
  const pool = clean.length > 0 ? clean : notFailed.length > 0 ? notFailed : all;
  let best: WorkerRecord | undefined;
  let bestScore = -1;
  for (const w of pool) {
    if (!fits(w, memoryMb)) continue;
    const score = (w.capacity.slots - w.usedSlots) / w.capacity.slots;
    if (score > bestScore) {
      best = w;
      bestScore = score;
    }
  }
  return best;
}
