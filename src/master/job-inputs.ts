/**
 * A submitted job's inputs made into splits, through the input format port:
 * files are listed and cut by bytes; dataset inputs first get their cut
 * (`dataset:NAME`: every record durable now; `dataset:NAME@CUT`: that cut,
 * checked against the dataset), recorded in the spec, then each partition
 * is cut into offset ranges at batch starts by the store, and those over
 * archived segments are pointed at the archive.
 */
import { parseDatasetInput, type DatasetCut } from '../common/dataset-input.js';
import type { InputSplit } from '../common/input-split.js';
import { withArchivedRanges, type ArchiveLookup } from '../dataset/archive-splits.js';
import { validateCut } from '../dataset/cut.js';
import { storeDatasetAccess } from '../dataset/input-access.js';
import type { LogDatasetStore } from '../dataset/log-dataset-store.js';
import { inputFormatFor } from '../storage/input-formats/formats.js';
import type { ResolvedJobSpec } from './job-spec.js';

/** What planning needs of the dataset store. */
export type PlanningStore = Pick<LogDatasetStore, 'currentCut' | 'splitRanges' | 'read'>;

/**
 * The cut a job reads of a dataset input: the dataset's durable ends now
 * when the input names none, else the one given, checked against them.
 *
 * @throws LaminateError NOT_FOUND for an unknown dataset; INVALID_ARGUMENT
 *   for a cut with the wrong number of offsets; OUT_OF_RANGE for an offset
 *   past its partition's end.
 */
export function resolveCut(input: string, store: Pick<LogDatasetStore, 'currentCut'>): DatasetCut {
  const { dataset, cut, from } = parseDatasetInput(input);
  const ends = store.currentCut(dataset);
  const offsets = cut === undefined ? ends : [...validateCut(dataset, cut, ends)];
  return from === undefined ? { dataset, offsets } : { dataset, offsets, from: [...from] };
}

/**
 * The spec with its cuts, and the job's splits. Called by the master once
 * per submission, before the job exists, so that a refusal leaves nothing
 * behind. Reads only.
 */
export async function planJobInputs(spec: ResolvedJobSpec, store: PlanningStore, archive?: ArchiveLookup): Promise<{ spec: ResolvedJobSpec; splits: InputSplit[] }> {
  if (spec.format !== 'dataset') {
    const splits = await inputFormatFor(spec.format).listSplits({ kind: 'files', paths: spec.inputs }, spec.splitSize);
    return { spec, splits };
  }
  const cuts = spec.inputs.map((input) => resolveCut(input, store));
  const planned = await inputFormatFor('dataset', { datasets: storeDatasetAccess(store) }).listSplits({ kind: 'datasets', cuts }, spec.splitSize);
  // With an archive, the maps read the archived part of each partition from it (archive-splits.ts).
  const splits = archive === undefined ? planned : await withArchivedRanges(planned, archive);
  return { spec: { ...spec, cuts }, splits };
}
