/**
 * Where a reduce attempt's output goes: a text part file (`key<TAB>value`
 * lines), or, for a view's build, a view file (keys in order, values as
 * msgpack, checksummed blocks and an index: src/view/view-file-writer.ts)
 * that the serving layer loads as it is: no second pass over text.
 */
import { pack } from 'msgpackr';
import { errorMessage, LaminateError, NonRetryableError } from '../common/errors.js';
import { OutputWriter } from '../storage/output-format.js';
import { ViewFileWriter } from '../view/view-file-writer.js';

/** What the reduce runner writes through: write is sync (emit calls it); the rest awaited between groups and at the end. */
export interface ReduceOutput {
  write(key: string, value: unknown): void;
  needsFlush(): boolean;
  flush(): Promise<void>;
  close(): Promise<unknown>;
  /** After a failure: removes or abandons what was written. Safe to call twice. */
  abort(): Promise<void>;
}

/** Opens the output of one reduce attempt at `path` (its temporary path under the committer). */
export async function openReduceOutput(kind: 'text' | 'view', path: string): Promise<ReduceOutput> {
  if (kind === 'text') return OutputWriter.open(path);
  const w = await ViewFileWriter.create(path);
  return {
    write(key, value) {
      try {
        w.add(key, pack(value));
      } catch (err) {
        // An unsorted or repeated key, or a value too large: the same on every attempt, so fail the build at once.
        if (err instanceof LaminateError && err.code === 'INVALID_ARGUMENT') throw new NonRetryableError(`The view file of this reducer refused a record: ${errorMessage(err)}`, { cause: err });
        throw err;
      }
    },
    needsFlush: () => w.needsFlush(),
    flush: () => w.flush(),
    close: () => w.finish(),
    abort: () => w.abort(),
  };
}
