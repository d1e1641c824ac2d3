/**
 * The master's side of the speed layer: answers each speed process's
 * heartbeat with what it should fold now (views, partitions, the cuts to
 * keep, the handoff cut), tells serving nodes where each view's speed side
 * is, and shows it all for status. The Views service's SpeedHeartbeat,
 * ListSpeedNodes and ForgetServingNode handlers are this module's.
 *
 * State is in memory: the speed processes re-register within a heartbeat
 * of a master restart, and the serving nodes too. Right after a start the
 * master has not heard from the serving nodes yet and so cannot tell which
 * versions they serve: for `startGraceMs` it answers speed heartbeats
 * UNAVAILABLE (when some view is deployed), and the speed processes keep
 * folding what they had, rather than be told a handoff cut that drops
 * state a node still needs. Their reports are recorded meanwhile, so that
 * each gets back the partitions it reports folding (speed-registry.ts).
 */
import type { Clock } from '../common/clock.js';
import { LaminateError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { SpeedAssignment, SpeedHeartbeat, SpeedLocation, SpeedViewAssignment } from '../common/speed-shapes.js';
import type { SpeedHandoff, SpeedStatus } from '../common/speed-status.js';
import type { LogDatasetStore } from '../dataset/log-dataset-store.js';
import type { SpeedViewHandlers } from '../protocol/view-rpc.js';
import { servedVersions } from './served-versions.js';
import { viewHandoff, type ViewCuts } from './speed-handoff.js';
import type { SpeedRegistry, SpeedViewSpec } from './speed-registry.js';
import type { SeenCut } from './version-cuts-store.js';
import type { ServingRegistry } from './serving-registry.js';
import type { ViewCatalog, ViewDeployment } from './view-catalog.js';

/** How long after its start the master waits to hear from serving nodes before it names a handoff cut. */
export const DEFAULT_SPEED_START_GRACE_MS = 2500;

export interface SpeedServiceDeps {
  readonly catalog: ViewCatalog;
  /** The view store: `<root>/<view>/v<N>/`. */
  readonly root: string;
  readonly datasets: Pick<LogDatasetStore, 'currentCut'>;
  readonly serving: ServingRegistry;
  readonly speed: SpeedRegistry;
  readonly clock: Clock;
  readonly log: Logger;
  /** Default DEFAULT_SPEED_START_GRACE_MS; 0 in tests that feed heartbeats by hand. */
  readonly startGraceMs?: number;
  /** Cuts of versions seen before a restart (version-cuts-store.ts). */
  readonly seenCuts?: readonly SeenCut[];
}

export interface SpeedService {
  readonly handlers: SpeedViewHandlers;
  /** Where the speed side of a view is, for the serving assignment. Cheap; no I/O. */
  locations(view: string): SpeedLocation[];
  /**
   * The cuts to persist (those of versions some registered serving node
   * serves as current, when known) if they changed since the last call,
   * else undefined. Called by the master's save timer.
   */
  takeCutChanges(): SeenCut[] | undefined;
}

export function createSpeedService(deps: SpeedServiceDeps): SpeedService {
  const { catalog, root, datasets, serving, speed, clock } = deps;
  const log = deps.log.child({ component: 'speed-master' });
  const startedAt = clock.now();
  const graceMs = deps.startGraceMs ?? DEFAULT_SPEED_START_GRACE_MS;
  /** Cuts of versions seen, by `view/version`: a node down since may still serve a version retired meanwhile. */
  const cutsSeen = new Map<string, readonly number[]>((deps.seenCuts ?? []).map((c) => [`${c.view}/${c.version}`, c.cut]));
  /** What takeCutChanges returned last, as JSON, to tell a change. */
  let cutsSaved = JSON.stringify(deps.seenCuts ?? []);
  /** The last logged holders per view, so that a change is logged once. */
  const heldLogged = new Map<string, string>();

  const specs = (): SpeedViewSpec[] => catalog.list().flatMap((d) => {
    try {
      return [{ view: d.name, partitions: datasets.currentCut(d.source).length }];
    } catch (err) {
      log.warn({ view: d.name, source: d.source, err }, 'a view\'s source cannot be read: its speed side is not assigned');
      return [];
    }
  });

  const inGrace = (now: number): boolean => now - startedAt < graceMs && catalog.list().length > 0;

  function refresh(): void {
    const now = clock.now();
    // During the grace a serving heartbeat (locations) refreshes too: only claims then, or the
    // first speed process heard would get every partition of those not heard yet, for good.
    const changes = speed.refresh(specs(), now, inGrace(now));
    for (const id of changes.expired) log.warn({ nodeId: id }, 'speed process not heard from: its partitions go to others');
    const byTo = new Map<string, string[]>();
    for (const m of changes.moved) byTo.set(m.to, [...(byTo.get(m.to) ?? []), `${m.view}/p${m.partition}`]);
    for (const [to, parts] of byTo) log.info({ nodeId: to, partitions: parts }, 'speed partitions assigned');
  }

  async function cutsOf(d: ViewDeployment, partitions: number): Promise<ViewCuts> {
    const served = await servedVersions(root, d.name, d.keep, log);
    const withCut = (served?.versions ?? []).filter((v) => v.cut.length > 0);
    for (const v of withCut) cutsSeen.set(`${d.name}/${v.version}`, v.cut);
    const current = withCut.find((v) => v.version === served?.current);
    const building = catalog.running().filter((b) => b.view === d.name).map((b) => b.cut);
    if (served !== undefined && current === undefined) {
      // CURRENT names a version whose manifest cannot be read (often for a moment): its cut is unknown.
      // A handoff of zeros would not just keep state: every speed process would reset to offset 0 and
      // refold the whole log. Failing the heartbeat instead keeps each process folding what it has.
      throw new LaminateError('UNAVAILABLE', `The manifest of version ${served.current} of view '${d.name}' (current) cannot be read: its cut, and so the speed handoff, is unknown`, { ids: { view: d.name, version: served.current } });
    }
    return { view: d.name, sourcePartitions: partitions, ...(current ? { current } : {}), served: withCut, building };
  }

  async function handoffOf(d: ViewDeployment, partitions: number): Promise<SpeedHandoff> {
    const cuts = await cutsOf(d, partitions);
    const now = clock.now();
    const nodes = serving.registered(now);
    const cutOf = (view: string, version: number): readonly number[] | undefined => cutsSeen.get(`${view}/${version}`);
    // A live node serving a version newer than the current one just read, of a cut never seen here: that version
    // was published after this heartbeat read CURRENT, and the node's report was heard meanwhile. An unknown cut
    // counts as zeros in the handoff ("on any doubt, keep"), which would roll every speed process back to offset 0
    // for a full refold; refused instead (as for an unreadable current manifest above), and the next heartbeat
    // reads the store again. A down node keeps the zeros rule: it may hold such a version for as long as it is down.
    const current = cuts.current?.version;
    const ahead = current === undefined ? undefined : nodes.find((n) => n.live && n.current.some((c) => c.view === d.name && c.version > current && cutOf(d.name, c.version) === undefined));
    if (ahead !== undefined) {
      throw new LaminateError('UNAVAILABLE', `Serving node ${ahead.nodeId} serves a version of view '${d.name}' newer than the current ${current} just read, of a cut not read yet: the handoff is made at the next heartbeat`, { ids: { view: d.name } });
    }
    const h = viewHandoff(cuts, nodes, cutOf);
    const held = h.heldBy.map((x) => `${x.nodeId}@v${x.version}${x.live ? '' : ' (down)'}`).join(', ');
    if ((heldLogged.get(d.name) ?? '') !== held) {
      heldLogged.set(d.name, held);
      if (held === '') log.info({ view: d.name, handoffCut: h.handoffCut, version: h.currentVersion }, 'speed handoff at the current version');
      else {
        // A live node still loading the new version holds the handoff for a
        // moment after every publish: that is routine (info). A down node holds
        // it until it returns or is forgotten: an operator should know (warn).
        const level = h.heldBy.some((x) => !x.live) ? 'warn' : 'info';
        log[level]({ view: d.name, handoffCut: h.handoffCut, version: h.currentVersion, heldBy: h.heldBy },
          `speed handoff held back by serving node(s) ${held}: speed state before their version's cut is kept`);
      }
    }
    return h;
  }

  async function speedHeartbeat(hb: SpeedHeartbeat, leaving: boolean): Promise<SpeedAssignment> {
    const now = clock.now();
    if (leaving) {
      speed.heard(hb, now, true);
      log.info({ nodeId: hb.nodeId }, 'speed process left: its partitions go to others');
      refresh();
      return { views: [] };
    }
    if (inGrace(now)) {
      // Heard (so that the assignment after the grace knows every process and what each folds), not answered.
      speed.heard(hb, now);
      throw new LaminateError('UNAVAILABLE', `The master started ${now - startedAt} ms ago and is still hearing from the serving nodes (${graceMs} ms): keep folding what you have`);
    }
    speed.heard(hb, now);
    refresh();
    const views: SpeedViewAssignment[] = [];
    for (const d of catalog.list()) {
      const partitions = speed.partitionsOf(hb.nodeId, d.name);
      if (partitions.length === 0) continue;
      try {
        const h = await handoffOf(d, datasets.currentCut(d.source).length);
        views.push({
          view: d.name, source: d.source, bundleHash: d.bundleHash, definitionHash: d.definitionHash, merge: d.merge,
          partitions, cuts: h.cuts, handoffCut: h.handoffCut,
        });
      } catch (err) {
        // Left out, the view would be stopped on that process: fail the heartbeat instead, so it keeps what it has.
        throw new LaminateError('UNAVAILABLE', `The speed assignment of view '${d.name}' cannot be made now`, { cause: err });
      }
    }
    return { views };
  }

  async function listSpeedNodes(): Promise<SpeedStatus> {
    refresh();
    const handoffs: SpeedHandoff[] = [];
    for (const d of catalog.list()) {
      try {
        handoffs.push(await handoffOf(d, datasets.currentCut(d.source).length));
      } catch (err) {
        log.warn({ view: d.name, err }, 'a view\'s handoff cannot be shown');
      }
    }
    return { nodes: speed.live(clock.now()), handoffs };
  }

  return {
    handlers: {
      speedHeartbeat,
      listSpeedNodes,
      forgetServingNode(nodeId) {
        const forgotten = serving.forget(nodeId);
        if (forgotten) log.warn({ nodeId }, 'serving node forgotten by an operator: it no longer holds the speed handoff');
        return forgotten;
      },
    },
    locations(view) {
      refresh();
      return speed.locations(view);
    },
    takeCutChanges() {
      const keep = new Map<string, SeenCut>();
      for (const n of serving.registered(clock.now())) {
        for (const v of n.current) {
          const cut = cutsSeen.get(`${v.view}/${v.version}`);
          if (cut !== undefined) keep.set(`${v.view}/${v.version}`, { view: v.view, version: v.version, cut });
        }
      }
      const cuts = [...keep.values()].sort((a, b) => (a.view < b.view ? -1 : a.view > b.view ? 1 : a.version - b.version));
      const json = JSON.stringify(cuts);
      if (json === cutsSaved) return undefined;
      cutsSaved = json;
      return cuts;
    },
  };
}
