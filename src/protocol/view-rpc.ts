/**
 * The Views service at the edge (hosted by the master): the server side
 * hands domain-shaped requests to handlers, the client side gives one
 * promise per RPC. Wire defaults become absent values here and nowhere
 * else: an empty cut means "the source's end now", 0 partitions, every or
 * keep mean "the default".
 */
import * as grpc from '@grpc/grpc-js';
import type {
  BuildViewRequest, DeployViewRequest, ServedView, ViewDiff, ServingHeartbeat, ServingNodeInfo, ViewBuild, ViewBuildState, ViewHistoryEntry, ViewHistoryEventKind, ViewInfo, ViewVersionInfo, ViewVersionList,
} from '../common/view-shapes.js';
import type { SpeedAssignment, SpeedHeartbeat, SpeedViewReport } from '../common/speed-shapes.js';
import type { SpeedStatus } from '../common/speed-status.js';
import { CHANNEL_OPTIONS, services } from './load.js';
import { parseAddress, type ServiceRegistration } from './master-rpc.js';
import { callUnary, unaryHandler } from './rpc.js';
import type * as W from './view-messages.js';
import { channelCredentials, clientOptions } from './security.js';

/** What the server side calls; see src/master/view-service.ts. */
export interface ViewHandlers {
  deployView(req: DeployViewRequest): Promise<ViewInfo>;
  buildView(req: BuildViewRequest): Promise<ViewBuild>;
  listViews(): Promise<ViewInfo[]> | ViewInfo[];
  viewVersions(name: string): Promise<ViewVersionList>;
  rollbackView(name: string, to: number): Promise<ViewInfo>;
  diffView(name: string, a: number, b: number, examples: number | undefined): Promise<ViewDiff>;
  servingHeartbeat(hb: ServingHeartbeat): Promise<ServedView[]> | ServedView[];
  listServingNodes(): ServingNodeInfo[];
}

/** The speed layer's handlers of the Views service; see src/master/speed-service.ts. */
export interface SpeedViewHandlers {
  /** A speed process's heartbeat (`leaving`: its last, before a graceful stop); answers what it should fold now. */
  speedHeartbeat(hb: SpeedHeartbeat, leaving: boolean): Promise<SpeedAssignment>;
  listSpeedNodes(): Promise<SpeedStatus>;
  /** Forgets a serving node gone for good; false when it was not registered. */
  forgetServingNode(nodeId: string): boolean;
}

// ---- wire <-> domain -----------------------------------------------------------

function toWireInfo(v: ViewInfo): W.ViewInfo {
  return { ...v, currentCut: [...v.currentCut], deployedAtMs: v.deployedAt };
}

function fromWireInfo(w: W.ViewInfo): ViewInfo {
  return {
    name: w.name, source: w.source, definitionHash: w.definitionHash, merge: w.merge, partitions: w.partitions, everyMs: w.everyMs,
    keep: w.keep, currentVersion: w.currentVersion, currentCut: w.currentCut, deployedAt: w.deployedAtMs, lastBuildError: w.lastBuildError,
  };
}

const BUILD_STATES: ReadonlySet<string> = new Set<ViewBuildState>(['RUNNING', 'PUBLISHED', 'FAILED']);

function fromWireBuild(w: W.ViewBuild): ViewBuild {
  return {
    view: w.view, version: w.version, cut: w.cut, jobId: w.jobId, state: (BUILD_STATES.has(w.state) ? w.state : 'FAILED') as ViewBuildState,
    error: w.error, incremental: w.incremental, baseVersion: w.baseVersion,
  };
}

function toWireVersion(v: ViewVersionInfo): W.ViewVersionInfo {
  return { ...v, cut: [...v.cut], servedBy: [...v.servedBy], refusedBy: [...v.refusedBy], builtAtMs: v.builtAt };
}

function fromWireVersion(w: W.ViewVersionInfo): ViewVersionInfo {
  return {
    version: w.version, cut: w.cut, records: w.records, keys: w.keys, bytes: w.bytes, jobId: w.jobId, builtAt: w.builtAtMs,
    current: w.current, servedBy: w.servedBy, definitionHash: w.definitionHash, refusedBy: w.refusedBy,
  };
}

function toWireHistory(e: ViewHistoryEntry): W.ViewHistoryEvent {
  return { atMs: e.at, event: e.event, version: e.version ?? 0, detail: e.detail ?? '' };
}

/** An event kind this client does not know (a newer master's) passes through by the name the master gave it. */
function fromWireHistory(w: W.ViewHistoryEvent): ViewHistoryEntry {
  return { at: w.atMs, event: w.event as ViewHistoryEventKind, ...(w.version > 0 ? { version: w.version } : {}), ...(w.detail !== '' ? { detail: w.detail } : {}) };
}

function fromWireDeploy(r: W.DeployViewRequest): DeployViewRequest {
  return {
    name: r.name, bundle: r.bundle, source: r.source, definitionHash: r.definitionHash, merge: r.merge,
    ...(r.partitions > 0 ? { partitions: r.partitions } : {}),
    ...(r.everyMs > 0 ? { everyMs: r.everyMs } : {}),
    ...(r.keep > 0 ? { keep: r.keep } : {}),
    ...(r.windowSizeMs > 0 ? { windowSizeMs: r.windowSizeMs } : {}),
  };
}

function toWireSpeedView(v: SpeedViewReport): W.SpeedViewReport {
  return {
    view: v.view, definitionHash: v.definitionHash,
    partitions: v.partitions.map((p) => ({
      partition: p.partition, applied: p.applied, start: p.start, end: p.end, caughtUpAtMs: p.caughtUpAt, stopped: p.stopped ? { ...p.stopped } : null, busy: p.busy ?? '',
    })),
    ...(v.watermark !== undefined ? { watermark: v.watermark } : {}),
  };
}

function fromWireSpeedView(w: W.SpeedViewReport): SpeedViewReport {
  return {
    view: w.view, definitionHash: w.definitionHash,
    partitions: w.partitions.map((p) => ({
      partition: p.partition, applied: p.applied, start: p.start, end: p.end, caughtUpAt: p.caughtUpAtMs,
      ...(p.stopped ? { stopped: { offset: p.stopped.offset, message: p.stopped.message } } : {}),
      ...(p.busy !== '' ? { busy: p.busy } : {}),
    })),
    ...(w.watermark !== undefined && w.watermark !== null ? { watermark: w.watermark } : {}),
  };
}

function toWireSpeedStatus(s: SpeedStatus): W.SpeedNodeList {
  return {
    nodes: s.nodes.map((n) => ({
      nodeId: n.nodeId, address: n.address, lastHeardMs: n.lastHeardAt, views: n.views.map(toWireSpeedView),
      assigned: n.assigned.map((a) => ({ view: a.view, partitions: [...a.partitions] })),
    })),
    handoffs: s.handoffs.map((h) => ({
      view: h.view, handoffCut: [...h.handoffCut], cuts: h.cuts.map((c) => ({ offsets: [...c] })), currentVersion: h.currentVersion,
      heldBy: h.heldBy.map((x) => ({ nodeId: x.nodeId, version: x.version, live: x.live, lastHeardMs: x.lastHeardAt })),
    })),
  };
}

function fromWireSpeedStatus(w: W.SpeedNodeList): SpeedStatus {
  return {
    nodes: w.nodes.map((n) => ({ nodeId: n.nodeId, address: n.address, lastHeardAt: n.lastHeardMs, views: n.views.map(fromWireSpeedView), assigned: n.assigned })),
    handoffs: w.handoffs.map((h) => ({
      view: h.view, handoffCut: h.handoffCut, cuts: h.cuts.map((c) => c.offsets), currentVersion: h.currentVersion,
      heldBy: h.heldBy.map((x) => ({ nodeId: x.nodeId, version: x.version, live: x.live, lastHeardAt: x.lastHeardMs })),
    })),
  };
}

/** A served view on the wire: no speed location, window 0 and the current cut's length when the handler gave none. */
function toWireServed(v: ServedView): W.ServedView {
  return {
    view: v.view, merge: v.merge, current: v.current,
    versions: v.versions.map((x) => ({ version: x.version, cut: [...x.cut], dir: x.dir })),
    speed: (v.speed ?? []).map((l) => ({ nodeId: l.nodeId, address: l.address, partitions: [...l.partitions] })),
    windowSizeMs: v.windowSizeMs ?? 0,
    sourcePartitions: v.sourcePartitions ?? v.versions[0]?.cut.length ?? 0,
  };
}

function fromWireServed(w: W.ServedView): ServedView {
  return {
    view: w.view, merge: w.merge, current: w.current, versions: w.versions,
    speed: w.speed.map((l) => ({ nodeId: l.nodeId, address: l.address, partitions: l.partitions })),
    windowSizeMs: w.windowSizeMs,
    ...(w.sourcePartitions > 0 ? { sourcePartitions: w.sourcePartitions } : {}),
  };
}

// ---- server --------------------------------------------------------------------

/** The Views service, for serveMaster's `extra`. */
export function viewsService(handlers: ViewHandlers, speed: SpeedViewHandlers): ServiceRegistration {
  return (server) => {
    server.addService(services().views, {
      deployView: unaryHandler(async (r: W.DeployViewRequest) => toWireInfo(await handlers.deployView(fromWireDeploy(r)))),
      buildView: unaryHandler(async (r: W.BuildViewRequest): Promise<W.ViewBuild> => {
        const b = await handlers.buildView({ name: r.name, full: r.full, wait: r.wait, ...(r.cut.length > 0 ? { cut: r.cut } : {}) });
        return { ...b, cut: [...b.cut] };
      }),
      listViews: unaryHandler(async (): Promise<W.ViewList> => ({ views: (await handlers.listViews()).map(toWireInfo) })),
      viewVersions: unaryHandler(async (r: W.ViewVersionsRequest): Promise<W.ViewVersionList> => {
        const l = await handlers.viewVersions(r.name);
        return { view: l.view, versions: l.versions.map(toWireVersion), builds: l.builds.map((b) => ({ ...b, cut: [...b.cut] })), history: l.history.map(toWireHistory) };
      }),
      rollbackView: unaryHandler(async (r: W.RollbackViewRequest) => toWireInfo(await handlers.rollbackView(r.name, r.to))),
      diffView: unaryHandler(async (r: W.DiffViewRequest): Promise<W.ViewDiff> => {
        const d = await handlers.diffView(r.name, r.a, r.b, r.examples > 0 ? r.examples : undefined);
        return { ...d, addedKeys: [...d.addedKeys], removedKeys: [...d.removedKeys], changedKeys: [...d.changedKeys] };
      }),
      servingHeartbeat: unaryHandler(async (r: W.ServingHeartbeatRequest): Promise<W.ServingAssignment> => ({
        views: (await handlers.servingHeartbeat(r)).map(toWireServed),
      })),
      listServingNodes: unaryHandler((): W.ServingNodeList => ({
        nodes: handlers.listServingNodes().map((n) => ({ nodeId: n.nodeId, address: n.address, lastHeardMs: n.lastHeardAt, loaded: n.loaded.map((l) => ({ ...l })) })),
      })),
      speedHeartbeat: unaryHandler(async (r: W.SpeedHeartbeatRequest): Promise<W.SpeedAssignment> => {
        const a = await speed.speedHeartbeat({ nodeId: r.nodeId, address: r.address, views: r.views.map(fromWireSpeedView) }, r.leaving);
        return {
          views: a.views.map((v) => ({
            view: v.view, source: v.source, bundleHash: v.bundleHash, definitionHash: v.definitionHash, merge: v.merge,
            partitions: [...v.partitions], cuts: v.cuts.map((c) => ({ offsets: [...c] })), handoffCut: [...v.handoffCut],
          })),
        };
      }),
      listSpeedNodes: unaryHandler(async (): Promise<W.SpeedNodeList> => toWireSpeedStatus(await speed.listSpeedNodes())),
      forgetServingNode: unaryHandler((r: W.ForgetServingNodeRequest): W.ForgetServingNodeResponse => ({ forgotten: speed.forgetServingNode(r.nodeId) })),
    });
  };
}

// ---- client --------------------------------------------------------------------

const DEFAULT_TIMEOUT_MS = 30_000;

/** One channel to the master's Views service; safe to use concurrently. */
export class ViewsClient {
  private readonly client: grpc.Client;

  constructor(readonly address: string) {
    parseAddress(address);
    this.client = new (services().viewsCtor)(address, channelCredentials(), clientOptions(CHANNEL_OPTIONS));
  }

  private call<Req, Res>(method: string, req: Req, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Res> {
    return callUnary<Req, Res>(this.client, method, req, timeoutMs, `views service ${this.address} ${method}`);
  }

  async deployView(r: DeployViewRequest): Promise<ViewInfo> {
    const wire: W.DeployViewRequest = {
      name: r.name, bundle: r.bundle, source: r.source, definitionHash: r.definitionHash, merge: r.merge,
      partitions: r.partitions ?? 0, everyMs: r.everyMs ?? 0, keep: r.keep ?? 0, windowSizeMs: r.windowSizeMs ?? 0,
    };
    return fromWireInfo(await this.call<W.DeployViewRequest, W.ViewInfo>('deployView', wire));
  }

  /** With wait, the deadline is `timeoutMs` (a build runs a whole batch job). */
  async buildView(r: BuildViewRequest, timeoutMs = r.wait ? 24 * 3600_000 : DEFAULT_TIMEOUT_MS): Promise<ViewBuild> {
    const wire: W.BuildViewRequest = { name: r.name, cut: [...(r.cut ?? [])], full: r.full, wait: r.wait };
    return fromWireBuild(await this.call<W.BuildViewRequest, W.ViewBuild>('buildView', wire, timeoutMs));
  }

  async listViews(): Promise<ViewInfo[]> {
    return (await this.call<object, W.ViewList>('listViews', {})).views.map(fromWireInfo);
  }

  async viewVersions(name: string): Promise<ViewVersionList> {
    const l = await this.call<W.ViewVersionsRequest, W.ViewVersionList>('viewVersions', { name });
    return { view: l.view, versions: l.versions.map(fromWireVersion), builds: l.builds.map(fromWireBuild), history: l.history.map(fromWireHistory) };
  }

  async rollbackView(name: string, to: number): Promise<ViewInfo> {
    return fromWireInfo(await this.call<W.RollbackViewRequest, W.ViewInfo>('rollbackView', { name, to }));
  }

  async diffView(name: string, a: number, b: number, examples = 0): Promise<ViewDiff> {
    return this.call<W.DiffViewRequest, W.ViewDiff>('diffView', { name, a, b, examples }, 5 * 60_000);
  }

  async servingHeartbeat(hb: ServingHeartbeat, timeoutMs = 10_000): Promise<ServedView[]> {
    const wire: W.ServingHeartbeatRequest = {
      nodeId: hb.nodeId, address: hb.address, loaded: hb.loaded.map((l) => ({ ...l })), refused: hb.refused.map((l) => ({ ...l })), refusalReason: hb.refusalReason,
      current: (hb.current ?? []).map((l) => ({ ...l })), leaving: hb.leaving === true,
    };
    return (await this.call<W.ServingHeartbeatRequest, W.ServingAssignment>('servingHeartbeat', wire, timeoutMs)).views.map(fromWireServed);
  }

  /** A speed process's heartbeat; `leaving` on its last one, before a graceful stop. */
  async speedHeartbeat(hb: SpeedHeartbeat, leaving = false, timeoutMs = 10_000): Promise<SpeedAssignment> {
    const wire: W.SpeedHeartbeatRequest = { nodeId: hb.nodeId, address: hb.address, views: hb.views.map(toWireSpeedView), leaving };
    const a = await this.call<W.SpeedHeartbeatRequest, W.SpeedAssignment>('speedHeartbeat', wire, timeoutMs);
    return {
      views: a.views.map((v) => ({
        view: v.view, source: v.source, bundleHash: v.bundleHash, definitionHash: v.definitionHash, merge: v.merge,
        partitions: v.partitions, cuts: v.cuts.map((c) => c.offsets), handoffCut: v.handoffCut,
      })),
    };
  }

  /** The speed processes, and per view the handoff cut and who holds it. */
  async listSpeedNodes(): Promise<SpeedStatus> {
    return fromWireSpeedStatus(await this.call<object, W.SpeedNodeList>('listSpeedNodes', {}));
  }

  /** Forgets a serving node gone for good: its last report stops holding the speed handoff. */
  async forgetServingNode(nodeId: string): Promise<boolean> {
    return (await this.call<W.ForgetServingNodeRequest, W.ForgetServingNodeResponse>('forgetServingNode', { nodeId })).forgotten;
  }

  async listServingNodes(): Promise<ServingNodeInfo[]> {
    const l = await this.call<object, W.ServingNodeList>('listServingNodes', {});
    return l.nodes.map((n) => ({ nodeId: n.nodeId, address: n.address, lastHeardAt: n.lastHeardMs, loaded: n.loaded }));
  }

  close(): void {
    this.client.close();
  }
}
