/**
 * The serving nodes the master hears from: each node's address and the view
 * versions it reports loaded (its acknowledgements), kept while its
 * heartbeats keep coming. Pure: the caller passes the time.
 *
 * The speed layer will drop state before a cut only once every live node
 * has acknowledged the version with that cut; `servedBy` answers that.
 */
import type { LoadedVersion, ServingHeartbeat, ServingNodeInfo } from '../common/view-shapes.js';

/** A node not heard from this long is forgotten (several missed heartbeats). */
export const SERVING_NODE_TIMEOUT_MS = 10_000;

interface NodeState {
  readonly nodeId: string;
  address: string;
  lastHeardAt: number;
  loaded: LoadedVersion[];
  refused: LoadedVersion[];
  refusalReason: string;
}

export class ServingRegistry {
  private readonly nodes = new Map<string, NodeState>();

  constructor(private readonly timeoutMs = SERVING_NODE_TIMEOUT_MS) {}

  /** Records a heartbeat. Safe to repeat: the latest report replaces the node's earlier one. */
  heard(hb: ServingHeartbeat, now: number): void {
    const n = this.nodes.get(hb.nodeId);
    const state = { address: hb.address, lastHeardAt: now, loaded: [...hb.loaded], refused: [...hb.refused], refusalReason: hb.refusalReason };
    if (n) Object.assign(n, state);
    else this.nodes.set(hb.nodeId, { nodeId: hb.nodeId, ...state });
  }

  /** Live nodes, by id. Forgets those not heard from within the timeout. */
  live(now: number): ServingNodeInfo[] {
    for (const [id, n] of this.nodes) if (now - n.lastHeardAt > this.timeoutMs) this.nodes.delete(id);
    return [...this.nodes.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1))
      .map((n) => ({ nodeId: n.nodeId, address: n.address, lastHeardAt: n.lastHeardAt, loaded: n.loaded }));
  }

  /** Ids of the live nodes that acknowledged `version` of `view`. */
  servedBy(view: string, version: number, now: number): string[] {
    return this.live(now).filter((n) => n.loaded.some((l) => l.view === view && l.version === version)).map((n) => n.nodeId);
  }

  /** Live nodes that refused `version` of `view` (a damaged file), with their reason. */
  refusals(view: string, version: number, now: number): Array<{ nodeId: string; reason: string }> {
    this.live(now);
    return [...this.nodes.values()]
      .filter((n) => n.refused.some((l) => l.view === view && l.version === version))
      .map((n) => ({ nodeId: n.nodeId, reason: n.refusalReason }));
  }
}
