/**
 * Per view, what the speed layer may drop and what it must keep (DESIGN
 * rule 3, speed-spec "Handoff"). Pure: the caller gathers the versions and
 * the serving nodes' last reports.
 *
 * - `handoffCut`: per partition, the least of the master's current cut and
 *   of the cuts of the versions every registered serving node serves as
 *   current, down nodes included (their last report). It is the cut of the
 *   oldest version some node serves whenever versions' cuts grow with their
 *   numbers; after a rollback (a newer build may then have a smaller cut
 *   than an older version) the per-partition least is still never past
 *   any served cut. All zeros before any version. A node serving a version
 *   whose cut is unknown (retired, and not seen by this master) counts as
 *   all zeros: on any doubt, keep.
 * - `cuts`: the boundaries to keep, oldest first: the versions the master
 *   lists for serving (current and kept), the versions nodes serve as
 *   current, and the builds running (recorded with their cut before their
 *   job starts, so a speed process hears of a build's cut while it runs).
 */
import type { HandoffHolder, SpeedHandoff } from '../common/speed-status.js';
import type { RegisteredServingNode } from './serving-registry.js';

export interface VersionCut {
  readonly version: number;
  readonly cut: readonly number[];
}

/** What the master knows of one view's versions. */
export interface ViewCuts {
  readonly view: string;
  /** Partitions of the source dataset: the length of every cut. */
  readonly sourcePartitions: number;
  /** The current version; absent before any. */
  readonly current?: VersionCut;
  /** The versions listed for serving (current and kept); a version whose manifest is unreadable is left out. */
  readonly served: readonly VersionCut[];
  /** The cuts of the view's builds running now. */
  readonly building: readonly (readonly number[])[];
}

/** The cut of `version` of `view` if known (the master remembers the cuts of versions it listed, retired ones included). */
export type CutLookup = (view: string, version: number) => readonly number[] | undefined;

/** Sorts cuts oldest first (by their total, then partition by partition) and drops repeats and cuts of the wrong length. */
export function orderCuts(cuts: Iterable<readonly number[]>, partitions: number): number[][] {
  const seen = new Map<string, number[]>();
  for (const c of cuts) if (c.length === partitions) seen.set(c.join(','), [...c]);
  const total = (c: readonly number[]): number => c.reduce((a, b) => a + b, 0);
  return [...seen.values()].sort((a, b) => {
    const d = total(a) - total(b);
    if (d !== 0) return d;
    for (let p = 0; p < a.length; p++) if (a[p] !== b[p]) return a[p]! - b[p]!;
    return 0;
  });
}

/** The handoff of one view over the registered serving nodes (see the file's comment). */
export function viewHandoff(v: ViewCuts, nodes: readonly RegisteredServingNode[], cutOf: CutLookup): SpeedHandoff {
  const zeros = new Array<number>(v.sourcePartitions).fill(0);
  const fit = (c: readonly number[] | undefined): readonly number[] => (c !== undefined && c.length === v.sourcePartitions ? c : zeros);
  const nodeCuts: number[][] = [];
  const heldBy: HandoffHolder[] = [];
  if (v.current === undefined) {
    return { view: v.view, handoffCut: zeros, cuts: orderCuts([...v.served.map((s) => s.cut), ...v.building], v.sourcePartitions), currentVersion: 0, heldBy };
  }
  const currentCut = fit(v.current.cut);
  const handoff = [...currentCut];
  for (const n of nodes) {
    const served = n.current.find((c) => c.view === v.view);
    if (served === undefined) continue;
    const cut = fit(served.version === v.current.version ? currentCut : cutOf(v.view, served.version));
    nodeCuts.push([...cut]);
    for (let p = 0; p < handoff.length; p++) handoff[p] = Math.min(handoff[p]!, cut[p]!);
    if (cut.some((c, p) => c < currentCut[p]!)) heldBy.push({ nodeId: n.nodeId, version: served.version, live: n.live, lastHeardAt: n.lastHeardAt });
  }
  const cuts = orderCuts([...v.served.map((s) => s.cut), ...nodeCuts, ...v.building], v.sourcePartitions);
  return { view: v.view, handoffCut: handoff, cuts, currentVersion: v.current.version, heldBy };
}
