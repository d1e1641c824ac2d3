/**
 * The speed processes the master hears from, and which of them folds each
 * (view, source partition). Pure: the caller passes the time.
 *
 * Assignment is sticky (speed-spec "Partition assignment"): a partition
 * stays with its process while that process heartbeats; the partitions of
 * a process not heard from within the timeout, or that left gracefully,
 * and those never owned go one by one to a live process that reports
 * folding it already (so a restarted master, which starts with no owners,
 * gives each process back what it had), else to the live process with the
 * fewest partitions (over every view; ties to the smaller id). A new process gets
 * only partitions nobody owns: live owners are never rebalanced, so in
 * normal operation no two processes fold one partition at once (Kafka's
 * sticky assignor keeps owners for the same reason: a move costs a
 * restore and a catch-up).
 */
import type { SpeedHeartbeat, SpeedLocation, SpeedViewReport } from '../common/speed-shapes.js';
import type { SpeedNodeInfo, SpeedViewPartitions } from '../common/speed-status.js';

/** A speed process not heard from this long loses its partitions (three missed heartbeats). */
export const SPEED_NODE_TIMEOUT_MS = 3000;

interface SpeedNodeState {
  readonly nodeId: string;
  address: string;
  lastHeardAt: number;
  views: SpeedViewReport[];
}

/** A view to assign: its name and the partition count of its source. */
export interface SpeedViewSpec {
  readonly view: string;
  readonly partitions: number;
}

/** What changed in one pass of `refresh`, for the logs. */
export interface SpeedRegistryChanges {
  /** Processes forgotten for silence. */
  readonly expired: readonly string[];
  /** Partitions given to a process, per view. */
  readonly moved: ReadonlyArray<{ readonly view: string; readonly partition: number; readonly from?: string; readonly to: string }>;
}

export class SpeedRegistry {
  private readonly nodes = new Map<string, SpeedNodeState>();
  /** Per view, the owner of each partition (undefined: nobody). */
  private readonly owners = new Map<string, Array<string | undefined>>();

  constructor(private readonly timeoutMs = SPEED_NODE_TIMEOUT_MS) {}

  /**
   * Records a heartbeat; a leaving one forgets the process and frees its
   * partitions at once (they move at the next refresh). Safe to repeat.
   */
  heard(hb: SpeedHeartbeat, now: number, leaving = false): void {
    if (leaving) {
      this.drop(hb.nodeId);
      return;
    }
    const n = this.nodes.get(hb.nodeId);
    if (n) Object.assign(n, { address: hb.address, lastHeardAt: now, views: [...hb.views] });
    else this.nodes.set(hb.nodeId, { nodeId: hb.nodeId, address: hb.address, lastHeardAt: now, views: [...hb.views] });
  }

  /**
   * Forgets processes silent for longer than the timeout, then gives every
   * partition without a live owner to a live process (see the file's
   * comment). `views` is every deployed view; others are forgotten. Called
   * before answering each heartbeat and each serving assignment; cheap when
   * nothing changed. `claimsOnly` (a master's start grace): partitions go
   * only to processes that report folding them, the rest stay unowned, so
   * that the first process heard after a master restart does not take the
   * partitions of processes not heard yet (live owners are never moved
   * back, so it would keep them all).
   */
  refresh(views: readonly SpeedViewSpec[], now: number, claimsOnly = false): SpeedRegistryChanges {
    const expired: string[] = [];
    for (const [id, n] of this.nodes) {
      if (now - n.lastHeardAt > this.timeoutMs) {
        expired.push(id);
        this.drop(id);
      }
    }
    const listed = new Set(views.map((v) => v.view));
    for (const view of [...this.owners.keys()]) if (!listed.has(view)) this.owners.delete(view);
    const moved: Array<{ view: string; partition: number; from?: string; to: string }> = [];
    if (this.nodes.size === 0) {
      for (const v of views) this.owners.set(v.view, this.resized(v.view, v.partitions));
      return { expired, moved };
    }
    const load = new Map<string, number>([...this.nodes.keys()].map((id) => [id, 0]));
    const tables = [...views].sort((a, b) => (a.view < b.view ? -1 : a.view > b.view ? 1 : 0)).map((v) => {
      const t = this.resized(v.view, v.partitions);
      this.owners.set(v.view, t);
      for (const o of t) if (o !== undefined) load.set(o, (load.get(o) ?? 0) + 1);
      return { view: v.view, t };
    });
    // Claims first: a live process that reports folding an unowned partition keeps it.
    for (const { view, t } of tables) {
      for (const n of [...this.nodes.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1))) {
        for (const r of n.views.find((v) => v.view === view)?.partitions ?? []) {
          if (r.partition >= t.length || t[r.partition] !== undefined) continue;
          t[r.partition] = n.nodeId;
          load.set(n.nodeId, load.get(n.nodeId)! + 1);
          moved.push({ view, partition: r.partition, to: n.nodeId });
        }
      }
    }
    if (claimsOnly) return { expired, moved };
    for (const { view, t } of tables) {
      for (let p = 0; p < t.length; p++) {
        if (t[p] !== undefined) continue;
        let best: string | undefined;
        for (const [id, l] of load) if (best === undefined || l < load.get(best)! || (l === load.get(best)! && id < best)) best = id;
        t[p] = best!;
        load.set(best!, load.get(best!)! + 1);
        moved.push({ view, partition: p, to: best! });
      }
    }
    return { expired, moved };
  }

  /** The partitions of `view` assigned to `nodeId`, ascending. */
  partitionsOf(nodeId: string, view: string): number[] {
    const t = this.owners.get(view) ?? [];
    const out: number[] = [];
    for (let p = 0; p < t.length; p++) if (t[p] === nodeId) out.push(p);
    return out;
  }

  /** Every view's assignment to `nodeId` (views where it owns nothing left out). */
  assignedTo(nodeId: string): SpeedViewPartitions[] {
    return [...this.owners.keys()].sort().map((view) => ({ view, partitions: this.partitionsOf(nodeId, view) })).filter((a) => a.partitions.length > 0);
  }

  /** Where the speed side of `view` is: one entry per live process owning some of its partitions, by id. */
  locations(view: string): SpeedLocation[] {
    return [...this.nodes.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1))
      .map((n) => ({ nodeId: n.nodeId, address: n.address, partitions: this.partitionsOf(n.nodeId, view) }))
      .filter((l) => l.partitions.length > 0);
  }

  /** The processes heard from within the timeout, by id, with their reports and assignments. */
  live(now: number): SpeedNodeInfo[] {
    return [...this.nodes.values()].filter((n) => now - n.lastHeardAt <= this.timeoutMs).sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1))
      .map((n) => ({ nodeId: n.nodeId, address: n.address, lastHeardAt: n.lastHeardAt, views: n.views, assigned: this.assignedTo(n.nodeId) }));
  }

  private drop(nodeId: string): void {
    this.nodes.delete(nodeId);
    for (const t of this.owners.values()) for (let p = 0; p < t.length; p++) if (t[p] === nodeId) t[p] = undefined;
  }

  /** The view's owner table at `partitions` entries (a source never shrinks; a new view starts with none owned). */
  private resized(view: string, partitions: number): Array<string | undefined> {
    const t = this.owners.get(view) ?? [];
    while (t.length < partitions) t.push(undefined);
    t.length = partitions;
    return t;
  }
}
