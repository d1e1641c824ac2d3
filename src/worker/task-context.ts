/** The ctx user code gets, and the counters of one attempt. */
import type { TaskContext } from '../api/job.js';
import { describe, LaminateError } from '../common/errors.js';
import type { RecordOrigin } from '../storage/input-formats/input-format.js';

export class AttemptCounters {
  private readonly values = new Map<string, number>();

  add(name: string, n = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + n);
  }

  toObject(): Record<string, number> {
    return Object.fromEntries(this.values);
  }
}

export function taskContext(attemptId: string, path: string, counters: AttemptCounters): TaskContext {
  return {
    path,
    attemptId,
    counter(name: string, n = 1) {
      if (typeof name !== 'string' || name === '') {
        throw new LaminateError('INVALID_ARGUMENT', `Expected ctx.counter's name to be a non-empty string, got ${describe(name)}`);
      }
      if (!Number.isFinite(n)) throw new LaminateError('INVALID_ARGUMENT', `Expected ctx.counter's increment to be a finite number, got ${describe(n)}`);
      counters.add(`user:${name}`, n);
    },
  };
}

/**
 * The ctx of records from `origin`: `base` with the file's path, or with the
 * record's dataset, partition and offset. Called by the map runner once per
 * split of a file, once per record of a dataset (each record gets its own
 * ctx, so one kept past its map call still tells the truth).
 */
export function recordContext(base: TaskContext, origin: RecordOrigin): TaskContext {
  if (origin.kind === 'file') return { path: origin.path, attemptId: base.attemptId, counter: base.counter };
  return { path: '', attemptId: base.attemptId, counter: base.counter, dataset: origin.dataset, partition: origin.partition, offset: origin.offset };
}
