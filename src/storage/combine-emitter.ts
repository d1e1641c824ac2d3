/**
 * The `emit` handed to a combiner: writes what it emits straight into the
 * run being written (a spill or the merged map output).
 */
import { describe, LaminateError } from '../common/errors.js';
import { isThenable } from '../common/thenable.js';
import type { ByteSink } from './byte-sink.js';
import { appendRecord } from './record-codec.js';

/** A combiner: same shape as reduce; may return a promise. */
export type CombineFn = (key: string, values: unknown[], emit: (key: string, value: unknown) => void) => void | Promise<void>;

/**
 * Runs a combiner over one key group at a time. The combiner must emit only
 * the key it was given (zero, one or more times): the run it writes into is
 * sorted, and another key could break that order.
 */
export class CombineEmitter {
  /** Records emitted since construction. */
  emitted = 0;
  private key = '';
  private sink: ByteSink | undefined;
  private readonly emitFn: (key: string, value: unknown) => void;

  constructor(private readonly combine: CombineFn) {
    this.emitFn = (key: string, value: unknown): void => {
      if (key !== this.key) {
        throw new LaminateError('INVALID_ARGUMENT', `Expected combine to emit the key it was given ('${this.key}'), got ${describe(key)}`);
      }
      if (this.sink === undefined) throw new LaminateError('INTERNAL', 'Expected a sink for combine output, got none');
      appendRecord(this.sink, key, value);
      this.emitted++;
    };
  }

  /** Sets where emitted records go (the spill or merged output being written). */
  setSink(sink: ByteSink): void {
    this.sink = sink;
  }

  /** Calls the combiner on one group; returns a promise only when the combiner did. */
  run(key: string, values: unknown[]): void | Promise<void> {
    this.key = key;
    const done = this.combine(key, values, this.emitFn);
    return isThenable(done) ? Promise.resolve(done).then(() => undefined) : undefined;
  }
}
