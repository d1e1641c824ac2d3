/**
 * The serving nodes the master hears from: each node's address, the view
 * versions it reports loaded (its acknowledgements) and the one it serves
 * as current per view. Pure: the caller passes the time.
 *
 * Two lists, for two uses:
 * - `live`: nodes heard from within the timeout, for clients looking for a
 *   node to ask and for status (as before);
 * - `registered`: every node that registered and did not leave gracefully
 *   or get forgotten by an operator, down or not. The speed layer drops
 *   state before a cut only once every one of them serves a version at or
 *   after it (DESIGN rule 3): a node that crashed keeps its last report
 *   and so holds the handoff until it returns, leaves, or is forgotten.
 */
import type { LoadedVersion, ServingHeartbeat, ServingNodeInfo } from '../common/view-shapes.js';

/** A node not heard from this long is not listed as live (several missed heartbeats). */
export const SERVING_NODE_TIMEOUT_MS = 10_000;

interface NodeState {
  readonly nodeId: string;
  address: string;
  lastHeardAt: number;
  loaded: LoadedVersion[];
  refused: LoadedVersion[];
  refusalReason: string;
  current: LoadedVersion[];
  /**
   * Heard from by this master. A node restored after a restart has not been:
   * its loaded versions are unknown (none are persisted), so it is down until
   * its next heartbeat however recent its last one before the restart was.
   * Listing it live with nothing loaded sent clients an UNAVAILABLE ("none of
   * the serving nodes has loaded the view") in the second after a quick restart.
   */
  reported: boolean;
}

/** A registered node's last report, for the speed handoff. */
export interface RegisteredServingNode {
  readonly nodeId: string;
  readonly address: string;
  readonly lastHeardAt: number;
  /** Heard from within the timeout. */
  readonly live: boolean;
  readonly loaded: readonly LoadedVersion[];
  /** The version it serves (served, when down) as current, per view. */
  readonly current: readonly LoadedVersion[];
}

/**
 * What survives a master restart of a registered node: its id, address and
 * the versions it served as current (src/master/serving-registry-store.ts).
 * A node restored from it is down until it heartbeats again, and holds the
 * speed handoff meanwhile, as it did before the restart.
 */
export interface PersistedServingNode {
  readonly nodeId: string;
  readonly address: string;
  readonly lastHeardAt: number;
  readonly current: readonly LoadedVersion[];
}

function sameVersions(a: readonly LoadedVersion[], b: readonly LoadedVersion[]): boolean {
  return a.length === b.length && a.every((x, i) => x.view === b[i]!.view && x.version === b[i]!.version);
}

export class ServingRegistry {
  private readonly nodes = new Map<string, NodeState>();
  /** Set when membership or a node's current versions changed since the last `takeChanges`. */
  private changed = false;

  constructor(private readonly timeoutMs = SERVING_NODE_TIMEOUT_MS) {}

  /**
   * Records a heartbeat. Safe to repeat: the latest report replaces the
   * node's earlier one. A leaving heartbeat forgets the node at once.
   */
  heard(hb: ServingHeartbeat, now: number): void {
    if (hb.leaving === true) {
      if (this.nodes.delete(hb.nodeId)) this.changed = true;
      return;
    }
    const n = this.nodes.get(hb.nodeId);
    const state = {
      address: hb.address, lastHeardAt: now, loaded: [...hb.loaded], refused: [...hb.refused], refusalReason: hb.refusalReason, current: [...(hb.current ?? [])],
      reported: true,
    };
    if (n === undefined || n.address !== state.address || !sameVersions(n.current, state.current)) this.changed = true;
    if (n) Object.assign(n, state);
    else this.nodes.set(hb.nodeId, { nodeId: hb.nodeId, ...state });
  }

  /** Forgets a node (an operator says it is gone for good). Returns whether it was registered. */
  forget(nodeId: string): boolean {
    const had = this.nodes.delete(nodeId);
    if (had) this.changed = true;
    return had;
  }

  /**
   * Registers nodes known before a master restart, as down until heard
   * from (`reported`), unless heard from since. Called once at start.
   */
  restore(nodes: readonly PersistedServingNode[]): void {
    for (const p of nodes) {
      if (this.nodes.has(p.nodeId)) continue;
      this.nodes.set(p.nodeId, { nodeId: p.nodeId, address: p.address, lastHeardAt: p.lastHeardAt, loaded: [], refused: [], refusalReason: '', current: [...p.current], reported: false });
    }
  }

  /** The registered nodes to persist when something changed since the last call, else undefined. */
  takeChanges(): PersistedServingNode[] | undefined {
    if (!this.changed) return undefined;
    this.changed = false;
    return this.sorted().map((n) => ({ nodeId: n.nodeId, address: n.address, lastHeardAt: n.lastHeardAt, current: n.current }));
  }

  /** Live nodes, by id: those heard from within the timeout. */
  live(now: number): ServingNodeInfo[] {
    return this.sorted().filter((n) => this.isLive(n, now))
      .map((n) => ({ nodeId: n.nodeId, address: n.address, lastHeardAt: n.lastHeardAt, loaded: n.loaded }));
  }

  /** Every node that registered and neither left nor was forgotten, live or down, by id. */
  registered(now: number): RegisteredServingNode[] {
    return this.sorted().map((n) => ({
      nodeId: n.nodeId, address: n.address, lastHeardAt: n.lastHeardAt, live: this.isLive(n, now), loaded: n.loaded, current: n.current,
    }));
  }

  /** Ids of the live nodes that acknowledged `version` of `view`. */
  servedBy(view: string, version: number, now: number): string[] {
    return this.live(now).filter((n) => n.loaded.some((l) => l.view === view && l.version === version)).map((n) => n.nodeId);
  }

  /** Live nodes that refused `version` of `view` (a damaged file), with their reason. */
  refusals(view: string, version: number, now: number): Array<{ nodeId: string; reason: string }> {
    return this.sorted()
      .filter((n) => this.isLive(n, now) && n.refused.some((l) => l.view === view && l.version === version))
      .map((n) => ({ nodeId: n.nodeId, reason: n.refusalReason }));
  }

  private isLive(n: NodeState, now: number): boolean {
    return n.reported && now - n.lastHeardAt <= this.timeoutMs;
  }

  private sorted(): NodeState[] {
    return [...this.nodes.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }
}
