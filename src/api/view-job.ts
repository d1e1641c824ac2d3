/**
 * A view's batch build as a job: the default export of a deployed view's
 * bundle (src/client/view-bundle.ts wraps the user's module with it), so the
 * batch layer runs a build as it runs any job, over exactly the records
 * before a cut. Map is the view's mapRecord (key encoding, window, lift);
 * combine and reduce merge a key's accumulators with the monoid (sumAll, so
 * a monoid with a cheaper many-way merge uses it); reduce writes a view file
 * (output 'view') rather than text.
 */
import type { Job } from './job.js';
import { compileView, type CompiledView, type ViewDefinition } from './view.js';

/** The job of a view, with the compiled view it runs (for the deploy's law check and sampling). */
export interface ViewBuildJob extends Job<unknown> {
  readonly output: 'view';
  readonly view: CompiledView;
}

/**
 * Compiles `definition` (throwing INVALID_ARGUMENT as compileView does) and
 * returns its build job. Called once when a view's bundle loads, in the
 * client at deploy and in every container that runs a build task.
 */
export function viewBuildJob(definition: ViewDefinition): ViewBuildJob {
  const view = compileView(definition);
  const { sumAll, plus } = view.monoid;
  const merged = (key: string, values: unknown[], emit: (key: string, value: unknown) => void): void => {
    emit(key, values.length === 1 ? values[0] : sumAll(values));
  };
  return {
    output: 'view',
    view,
    map(record, emit) {
      view.mapRecord(record, emit);
    },
    combine: merged,
    reduce: merged,
    mergeOutput: (_key, base, fresh) => plus(base, fresh),
  };
}
