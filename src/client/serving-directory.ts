/**
 * Where a client's queries go: the serving nodes the master knows
 * (ListServingNodes, kept for a second), and one channel per node, reused.
 * A query runs on a node that has loaded the view (the version asked for,
 * when pinned), and moves to the next one when a node is unavailable or no
 * longer holds the version; when none is left, the master is asked why
 * (no such view, no published version, no such version, or no node has
 * loaded it yet), so the error says what to do.
 */
import { LaminateError } from '../common/errors.js';
import type { ServingNodeInfo } from '../common/view-shapes.js';
import { ServingClient } from '../protocol/serving-rpc.js';
import type { ViewsClient } from '../protocol/view-rpc.js';

/** How long the list of serving nodes is trusted before it is asked for again. */
export const DEFAULT_NODE_LIST_TTL_MS = 1000;
/** How long a node that was unavailable is tried last (the master lists a dead node for several seconds). */
const SUSPECT_MS = 5000;

/** Errors after which the same query is tried on another node. */
export function movableError(err: unknown): boolean {
  return err instanceof LaminateError && (err.code === 'UNAVAILABLE' || err.code === 'NOT_FOUND' || err.code === 'TIMEOUT');
}

export class ServingDirectory {
  private nodes: readonly ServingNodeInfo[] | undefined;
  private fetchedAt = 0;
  private readonly clients = new Map<string, ServingClient>();
  /** Nodes found unavailable, until when they are tried last. */
  private readonly suspects = new Map<string, number>();

  constructor(private readonly views: ViewsClient, private readonly ttlMs = DEFAULT_NODE_LIST_TTL_MS) {}

  /**
   * Runs `fn` on a node holding the view (its `version` when given), moving
   * to another on UNAVAILABLE, TIMEOUT or NOT_FOUND (a node that let the
   * version go since the list was made). Any other error is thrown at once,
   * and so is any error `movable` says stays (a read-your-writes TIMEOUT:
   * the node answered that the speed side did not get there in time).
   */
  async withNode<T>(view: string, version: number | undefined, fn: (node: ServingClient) => Promise<T>, movable: (err: unknown) => boolean = movableError): Promise<T> {
    const tried = new Set<string>();
    let lastErr: unknown;
    for (;;) {
      const node = await this.next(view, version, tried);
      if (node === undefined) throw lastErr ?? (await this.whyNone(view, version));
      try {
        return await fn(node);
      } catch (err) {
        if (!movable(err)) throw err;
        this.failed(node.address, err);
        lastErr = err;
      }
    }
  }

  /**
   * A node holding the view (or its `version`) not in `tried`, added to it;
   * undefined when none is left, even on a fresh list.
   */
  async next(view: string, version: number | undefined, tried: Set<string>): Promise<ServingClient | undefined> {
    for (const fresh of [false, true]) {
      const node = (await this.candidates(view, version, fresh)).find((n) => !tried.has(n.address));
      if (node !== undefined) {
        tried.add(node.address);
        return this.client(node.address);
      }
    }
    return undefined;
  }

  /** Called when a query on `address` failed with a movable error: an unavailable node is tried last for a while. */
  failed(address: string, err: unknown): void {
    if (err instanceof LaminateError && (err.code === 'UNAVAILABLE' || err.code === 'TIMEOUT')) this.suspects.set(address, Date.now() + SUSPECT_MS);
  }

  /**
   * The nodes holding the view (or its `version`): those not found
   * unavailable lately first, then those with the view's newest version,
   * in random order among equals (to spread the load).
   */
  async candidates(view: string, version: number | undefined, fresh = false): Promise<ServingNodeInfo[]> {
    const now = Date.now();
    const newest = (n: ServingNodeInfo): number => Math.max(0, ...n.loaded.filter((l) => l.view === view).map((l) => l.version));
    const suspect = (n: ServingNodeInfo): number => ((this.suspects.get(n.address) ?? 0) > now ? 1 : 0);
    const holding = (await this.list(fresh)).filter((n) => n.loaded.some((l) => l.view === view && (version === undefined || l.version === version)));
    const ranked = holding.map((n) => ({ n, s: suspect(n), r: Math.random(), v: newest(n) }));
    ranked.sort((a, b) => a.s - b.s || (version === undefined ? b.v - a.v : 0) || a.r - b.r);
    return ranked.map((x) => x.n);
  }

  private async list(fresh: boolean): Promise<readonly ServingNodeInfo[]> {
    if (fresh || this.nodes === undefined || Date.now() - this.fetchedAt > this.ttlMs) {
      this.nodes = await this.views.listServingNodes();
      this.fetchedAt = Date.now();
    }
    return this.nodes;
  }

  private client(address: string): ServingClient {
    let c = this.clients.get(address);
    if (c === undefined) {
      c = new ServingClient(address);
      this.clients.set(address, c);
    }
    return c;
  }

  /** Why no node can answer for the view (version): asked of the master. */
  async whyNone(view: string, version: number | undefined): Promise<LaminateError> {
    const ids = { view, ...(version !== undefined ? { version } : {}) };
    const views = await this.views.listViews();
    const info = views.find((v) => v.name === view);
    if (info === undefined) {
      const names = views.map((v) => `'${v.name}'`).join(', ');
      return new LaminateError('NOT_FOUND', `No view named '${view}' (views: ${names || 'none deployed'})`, { ids });
    }
    if (info.currentVersion === 0) {
      return new LaminateError('NOT_FOUND', `View '${view}' has no published version yet (build one: laminate view build ${view})`, { ids });
    }
    if (version !== undefined) {
      const kept = (await this.views.viewVersions(view)).versions.map((v) => v.version);
      if (!kept.includes(version)) {
        return new LaminateError('NOT_FOUND', `View '${view}' has no version ${version} (versions kept: ${kept.join(', ')})`, { ids });
      }
    }
    const nodes = await this.list(true);
    if (nodes.length === 0) {
      // Also the answer for a second or so after a master restart, until the nodes' next heartbeats.
      return new LaminateError('UNAVAILABLE', `No serving node has reported to the master lately: start one (laminate serve --master ${this.views.address}), or, if the master just restarted, retry once the nodes have heartbeated`, { ids });
    }
    const which = version === undefined ? `view '${view}'` : `version ${version} of view '${view}'`;
    return new LaminateError('UNAVAILABLE', `None of the ${nodes.length} serving nodes has loaded ${which} yet`, { ids });
  }

  /** Closes every channel. Safe to call twice. */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
