/**
 * The console API's composite answers, built from domain status (pure): a
 * dataset with its totals and rates, a view with who serves which of its
 * versions and how far its speed side is, the cluster's counts. The README's
 * "Console API" section documents these shapes.
 */
import type { DatasetDescription } from '../common/dataset-shapes.js';
import type { SpeedStatus, SpeedHandoff } from '../common/speed-status.js';
import type { SpeedViewReport } from '../common/speed-shapes.js';
import type { ServingNodeInfo, ViewBuild, ViewInfo, ViewVersionInfo, ViewVersionList } from '../common/view-shapes.js';
import type { ConsoleSource } from './console-source.js';
import type { Rates } from './dataset-rates.js';

export interface DatasetSummary extends DatasetDescription, Rates {
  readonly records: number;
  readonly bytes: number;
  /** Per partition, in partition order. */
  readonly endOffsets: readonly number[];
}

export function datasetSummary(ds: DatasetDescription, rates: Rates): DatasetSummary {
  let records = 0;
  let bytes = 0;
  for (const p of ds.partitions) {
    records += p.records;
    bytes += p.bytes;
  }
  return { ...ds, records, bytes, endOffsets: ds.partitions.map((p) => p.endOffset), ...rates };
}

export interface Overview {
  readonly master: { readonly address: string; readonly httpAddress: string; readonly startedAt: number };
  readonly counts: {
    readonly jobsRunning: number; readonly jobsTotal: number; readonly workersAlive: number; readonly workersLost: number;
    readonly datasets: number; readonly views: number; readonly functions: number; readonly servingNodes: number; readonly speedNodes: number;
  };
}

/** The cluster at a glance; `speedNodes` from the speed status the caller already read. */
export function overview(source: ConsoleSource, speedNodes: number): Overview {
  const jobs = source.jobs();
  const workers = source.workers();
  return {
    master: { address: source.master.address, httpAddress: source.master.httpAddress(), startedAt: source.master.startedAt },
    counts: {
      jobsRunning: jobs.filter((j) => j.state === 'PENDING' || j.state === 'RUNNING' || j.state === 'COMMITTING').length,
      jobsTotal: jobs.length,
      workersAlive: workers.filter((w) => w.alive).length,
      workersLost: workers.filter((w) => !w.alive).length,
      datasets: source.datasets().length,
      views: source.viewCount(),
      functions: source.functions().length,
      servingNodes: source.servingNodes().length,
      speedNodes,
    },
  };
}

/** A serving node as the view page shows it: the view's versions it has loaded, and the one it serves (0: none). */
export interface ViewServingNode {
  readonly nodeId: string;
  readonly address: string;
  readonly lastHeardAt: number;
  readonly serves: number;
  readonly loaded: readonly number[];
}

/** A speed process's share of one view: its last report (null before the first) and the partitions assigned to it. */
export interface ViewSpeedNode {
  readonly nodeId: string;
  readonly address: string;
  readonly report: SpeedViewReport | null;
  readonly partitions: readonly number[];
}

export interface ViewDetail {
  readonly view: ViewInfo;
  readonly versions: readonly ViewVersionInfo[];
  readonly builds: readonly ViewBuild[];
  readonly servingNodes: readonly ViewServingNode[];
  readonly speed: { readonly handoff: SpeedHandoff | null; readonly nodes: readonly ViewSpeedNode[] };
}

export function viewDetail(view: ViewInfo, list: ViewVersionList, nodes: readonly ServingNodeInfo[], speed: SpeedStatus): ViewDetail {
  const servingNodes: ViewServingNode[] = [];
  for (const n of nodes) {
    const loaded = n.loaded.filter((l) => l.view === view.name).map((l) => l.version).sort((a, b) => a - b);
    // A node that acknowledged the current version serves it; otherwise the newest it has loaded is what it answers with.
    const served = list.versions.find((v) => v.current)?.servedBy.includes(n.nodeId) ? view.currentVersion : (loaded[loaded.length - 1] ?? 0);
    if (loaded.length > 0 || served > 0) servingNodes.push({ nodeId: n.nodeId, address: n.address, lastHeardAt: n.lastHeardAt, serves: served, loaded });
  }
  const speedNodes: ViewSpeedNode[] = [];
  for (const n of speed.nodes) {
    const report = n.views.find((r) => r.view === view.name) ?? null;
    const partitions = n.assigned.find((a) => a.view === view.name)?.partitions ?? [];
    if (report !== null || partitions.length > 0) speedNodes.push({ nodeId: n.nodeId, address: n.address, report, partitions });
  }
  return {
    view, versions: list.versions, builds: list.builds, servingNodes,
    speed: { handoff: speed.handoffs.find((h) => h.view === view.name) ?? null, nodes: speedNodes },
  };
}
