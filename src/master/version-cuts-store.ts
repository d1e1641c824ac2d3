/**
 * The cuts of view versions the master has seen, kept across restarts in
 * `<views>/_catalog/version-cuts.json` (written atomically: temp file,
 * fsync, rename), beside serving-nodes.json. A registered serving node may
 * serve a version that was retired since (its folder, and so its manifest,
 * removed): without the cut remembered, a restarted master counted that
 * node's version as all zeros, and every speed process refolded its
 * partitions from offset 0 (speed-handoff.ts: on any doubt, keep).
 *
 * Only the cuts of versions some registered node serves as current are
 * kept (the others are in manifests, or matter to nobody), so the file
 * stays as small as the serving registry's. Saved by the master's timer
 * with the serving nodes, when that set changed.
 */
import { join } from 'node:path';
import { describe, LaminateError } from '../common/errors.js';
import { readJsonFile, writeFileAtomic } from '../storage/atomic-file.js';

const FILE = 'version-cuts.json';

/** The cut of one version of one view. */
export interface SeenCut {
  readonly view: string;
  readonly version: number;
  readonly cut: readonly number[];
}

/** The file's path under the view catalog's folder. */
export function versionCutsPath(catalogDir: string): string {
  return join(catalogDir, FILE);
}

function isSeenCut(x: unknown): x is SeenCut {
  if (typeof x !== 'object' || x === null) return false;
  const c = x as { view?: unknown; version?: unknown; cut?: unknown };
  return typeof c.view === 'string' && Number.isSafeInteger(c.version) && Array.isArray(c.cut)
    && c.cut.every((o: unknown) => Number.isSafeInteger(o) && (o as number) >= 0);
}

/**
 * The cuts saved last, or none when the file does not exist.
 *
 * @throws LaminateError DATA_LOSS for a file that is not a list of cuts
 *   (the master refuses to start rather than count a served version as zeros).
 */
export async function loadVersionCuts(catalogDir: string): Promise<SeenCut[]> {
  const path = versionCutsPath(catalogDir);
  const parsed = await readJsonFile(path);
  if (parsed === undefined) return [];
  const cuts = (parsed as { cuts?: unknown } | null)?.cuts;
  if (!Array.isArray(cuts) || !cuts.every(isSeenCut)) {
    throw new LaminateError('DATA_LOSS', `Malformed '${path}': expected { cuts: [{ view, version, cut: [offsets] }] }, got ${describe(parsed)}`);
  }
  return cuts;
}

/** Replaces the file with `cuts`. Safe to repeat. */
export async function saveVersionCuts(catalogDir: string, cuts: readonly SeenCut[]): Promise<void> {
  await writeFileAtomic(versionCutsPath(catalogDir), `${JSON.stringify({ cuts })}\n`);
}
