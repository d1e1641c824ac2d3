/**
 * What one view should serve, read from the view store: its current
 * version first, then the `keep` previous ones, each with its cut. Both
 * the serving assignment (view-service.ts) and the speed assignment
 * (speed-service.ts) are made from it, so they never disagree.
 */
import type { Logger } from '../common/logger.js';
import type { ServedVersion } from '../common/view-shapes.js';
import { listVersions, readCurrent, readManifest, versionDir } from '../view/view-version-dir.js';

export interface ServedVersions {
  readonly current: number;
  /** Current first, then older kept ones, newest first; a version whose manifest cannot be read has an empty cut. */
  readonly versions: readonly ServedVersion[];
}

/**
 * The versions of `view` to serve now; undefined before any is published.
 * Reads CURRENT, the folder list and the manifests (small files) on each
 * call. Throws when CURRENT cannot be read.
 */
export async function servedVersions(root: string, view: string, keep: number, log: Logger): Promise<ServedVersions | undefined> {
  const current = await readCurrent(root, view);
  if (current === undefined) return undefined;
  const older = (await listVersions(root, view)).filter((v) => v < current);
  const versions: ServedVersion[] = [];
  for (const v of [current, ...older.slice(Math.max(0, older.length - keep)).reverse()]) {
    // A version whose manifest cannot be read now is still listed (cut unknown): a node that
    // holds a verified copy keeps serving it, one that does not refuses to load it and says so.
    const m = await readManifest(root, view, v).catch((err: unknown) => {
      log.warn({ view, version: v, err }, 'a served version\'s manifest cannot be read');
      return undefined;
    });
    versions.push({ version: v, cut: m?.cut ?? [], dir: versionDir(root, view, v) });
  }
  return { current, versions };
}
