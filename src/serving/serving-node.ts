/**
 * A serving node (`laminate serve`): the process that wires the serving
 * layer together. It serves whatever local copies an earlier run left, at
 * once; listens for queries (the Serving service); and heartbeats the
 * master every second with the versions it holds (its acknowledgements)
 * and those it refused, taking each answer (what every view should serve)
 * to its ServingSync, which loads, swaps and lets go.
 *
 * The master being away changes nothing for queries: the node keeps
 * serving what it holds, and heartbeats again until the master answers.
 */
import { resolve } from 'node:path';
import { systemClock, type Clock } from '../common/clock.js';
import { LaminateError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { requirePositiveInt } from '../common/validate.js';
import type { BoundServer } from '../protocol/master-rpc.js';
import { serveServing } from '../protocol/serving-rpc.js';
import { ViewsClient } from '../protocol/view-rpc.js';
import { BlockCache } from '../view/block-cache.js';
import { localViewsDir, lockFolder, nodeIdOf } from './node-folder.js';
import { createQueryHandlers, DEFAULT_MAX_GET_KEYS, DEFAULT_SCAN_CHUNK_BYTES } from './query-handlers.js';
import { DEFAULT_ROW_CACHE_BYTES, RowCache } from './row-cache.js';
import { DEFAULT_REFUSAL_RETRY_MS, ServingSync } from './serving-sync.js';
import { SpeedReads, type SpeedPlacement } from './speed-reads.js';
import { VersionSet } from './version-set.js';
import { addServingMetrics, measuredHandlers } from './serving-metrics.js';

/** The port a serving node listens on unless told otherwise. */
export const SERVING_PORT = 7071;

export interface ServingNodeOptions {
  /** The master, HOST:PORT. */
  readonly master: string;
  /** The node's folder: its id, and local copies of the versions it serves. */
  readonly dataDir: string;
  /** Host to bind and to be known by. Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port. Default SERVING_PORT. */
  readonly port?: number;
  readonly logger: Logger;
  /** Default 1000 ms. */
  readonly heartbeatIntervalMs?: number;
  /** Bytes of checked blocks kept in memory, for every view together. Default 64 MiB. */
  readonly cacheBytes?: number;
  /** Bytes of hot keys' values kept apart from their blocks (row-cache.ts), for every view together; 0: none. Default 32 MiB. */
  readonly rowCacheBytes?: number;
  /** How long a refused version is left alone before it is tried again. Default 30 s. */
  readonly refusalRetryMs?: number;
  /** Default 64 KiB. */
  readonly scanChunkBytes?: number;
  /** Default 100,000. */
  readonly maxGetKeys?: number;
  readonly clock?: Clock;
  /**
   * Tests: where a view's speed side runs, in place of what the master says
   * (consulted first; undefined falls back to the master's word). A seam
   * for tests that run a fake speed process before the master lists speed
   * processes in its assignments.
   */
  readonly speedPlacement?: (view: string) => SpeedPlacement | undefined;
}

/** ServingNodeOptions with every default filled and checked. */
export interface ResolvedServingNodeOptions {
  readonly master: string;
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly heartbeatIntervalMs: number;
  readonly cacheBytes: number;
  readonly rowCacheBytes: number;
  readonly refusalRetryMs: number;
  readonly scanChunkBytes: number;
  readonly maxGetKeys: number;
}

export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

/** Fills and checks a serving node's options. Pure; throws INVALID_ARGUMENT naming the bad one. */
export function resolveServingNodeOptions(o: ServingNodeOptions): ResolvedServingNodeOptions {
  const port = o.port ?? SERVING_PORT;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new LaminateError('INVALID_ARGUMENT', `Expected --port to be 0..65535, got ${port}`);
  const cacheBytes = o.cacheBytes ?? DEFAULT_CACHE_BYTES;
  if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 0) throw new LaminateError('INVALID_ARGUMENT', `Expected a block cache size of 0 bytes or more, got ${cacheBytes}`);
  return {
    master: o.master,
    dataDir: resolve(o.dataDir),
    host: o.host ?? '127.0.0.1',
    port,
    heartbeatIntervalMs: requirePositiveInt('heartbeatIntervalMs', o.heartbeatIntervalMs ?? 1000),
    cacheBytes,
    rowCacheBytes: o.rowCacheBytes ?? DEFAULT_ROW_CACHE_BYTES,
    refusalRetryMs: requirePositiveInt('refusalRetryMs', o.refusalRetryMs ?? DEFAULT_REFUSAL_RETRY_MS),
    scanChunkBytes: requirePositiveInt('scanChunkBytes', o.scanChunkBytes ?? DEFAULT_SCAN_CHUNK_BYTES),
    maxGetKeys: requirePositiveInt('maxGetKeys', o.maxGetKeys ?? DEFAULT_MAX_GET_KEYS),
  };
}

export class ServingNode {
  private readonly options: ResolvedServingNodeOptions;
  /** The process's logger, for the components (each adds its own `component`). */
  private readonly root: Logger;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly versions = new VersionSet();
  private removeMetrics?: () => void;
  private readonly cache: BlockCache;
  private readonly rowCache: RowCache;
  private readonly views: ViewsClient;
  private readonly speed: SpeedReads;
  private readonly speedPlacement: ((view: string) => SpeedPlacement | undefined) | undefined;
  private sync: ServingSync | undefined;
  private server: BoundServer | undefined;
  private unlock: (() => Promise<void>) | undefined;
  private id = '';
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  /** Set when a heartbeat is asked for while one is on its way: another follows it at once. */
  private again = false;
  private stopped = false;
  private masterAway = false;

  constructor(options: ServingNodeOptions) {
    this.options = resolveServingNodeOptions(options);
    this.root = options.logger;
    this.log = options.logger.child({ component: 'serving-node' });
    this.clock = options.clock ?? systemClock;
    this.cache = new BlockCache(this.options.cacheBytes);
    this.rowCache = new RowCache(this.options.rowCacheBytes);
    this.views = new ViewsClient(this.options.master);
    this.speed = new SpeedReads({ clock: this.clock, log: this.root });
    this.speedPlacement = options.speedPlacement;
  }

  /** The node's id (stable across restarts on one folder); valid after start(). */
  get nodeId(): string {
    return this.id;
  }

  get port(): number {
    if (!this.server) throw new LaminateError('FAILED_PRECONDITION', 'The serving node is not started');
    return this.server.port;
  }

  /** Where clients reach its Serving service. */
  get address(): string {
    return `${this.options.host}:${this.port}`;
  }

  /** The versions it holds now. */
  loaded(): ReturnType<VersionSet['loaded']> {
    return this.versions.loaded();
  }

  /**
   * Takes its folder, serves the local copies an earlier run left, listens,
   * and starts heartbeating (the first at once). Called once.
   */
  async start(): Promise<void> {
    const o = this.options;
    this.unlock = await lockFolder(o.dataDir);
    try {
      this.id = await nodeIdOf(o.dataDir);
      const localRoot = localViewsDir(o.dataDir);
      this.sync = new ServingSync({
        versions: this.versions, localRoot, cache: this.cache, clock: this.clock, log: this.root, refusalRetryMs: o.refusalRetryMs,
        onChange: () => this.heartbeatSoon(),
      });
      await this.sync.restore();
      const sync = this.sync;
      const handlers = createQueryHandlers(this.versions, {
        log: this.root, scanChunkBytes: o.scanChunkBytes, maxGetKeys: o.maxGetKeys, speed: this.speed, rowCache: this.rowCache,
        placement: (view) => this.speedPlacement?.(view) ?? sync.placement(view),
      });
      this.server = await serveServing(measuredHandlers(handlers), o.host, o.port);
      this.removeMetrics = addServingMetrics(() => this.id, () => this.versions.loaded().length, this.rowCache);
    } catch (err) {
      await this.versions.closeAll();
      await this.unlock();
      throw err;
    }
    this.log.info({ nodeId: this.id, address: this.address, master: o.master, loaded: this.versions.loaded() }, 'serving node listening');
    this.heartbeatSoon();
  }

  /**
   * Stops heartbeating and loading, stops the server (requests running get
   * a short grace), closes every file and gives the folder back. The local
   * copies stay for the next start. Safe to call twice.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.removeMetrics?.();
    if (this.timer) clearTimeout(this.timer);
    await this.sync?.stop();
    await this.beating;
    await this.leave();
    await this.server?.close(1000);
    await this.versions.closeAll();
    this.views.close();
    this.speed.close();
    await this.unlock?.();
    this.log.info({ nodeId: this.id }, 'serving node stopped');
  }

  /** Heartbeats now (or right after the one on its way), then every interval. */
  private heartbeatSoon(): void {
    if (this.stopped || this.server === undefined) return;
    if (this.beating !== undefined) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.beating = this.heartbeat().finally(() => {
      this.beating = undefined;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        this.heartbeatSoon();
        return;
      }
      this.timer = setTimeout(() => this.heartbeatSoon(), this.options.heartbeatIntervalMs);
      this.timer.unref();
    });
  }

  /** The version served as current per view: the speed layer keeps state for its cut until every node has moved past it. */
  private currentVersions(): Array<{ view: string; version: number }> {
    return this.versions.viewNames().flatMap((view) => {
      const c = this.versions.current(view);
      return c === undefined ? [] : [{ view, version: c.manifest.version }];
    });
  }

  /**
   * Tells the master this node leaves (a graceful stop), so that it stops
   * holding the speed handoff back at once. Best effort: a master away
   * keeps the node's last report until it is forgotten or returns.
   */
  private async leave(): Promise<void> {
    if (this.server === undefined || this.id === '') return;
    try {
      await this.views.servingHeartbeat({ nodeId: this.id, address: this.address, loaded: [], refused: [], refusalReason: '', current: [], leaving: true }, 2000);
    } catch (err) {
      this.log.warn({ master: this.options.master, err }, 'could not tell the master this node leaves: its last report holds the speed handoff until it returns or is forgotten');
    }
  }

  private async heartbeat(): Promise<void> {
    const sync = this.sync!;
    const { refused, reason } = sync.refusals();
    try {
      const assignment = await this.views.servingHeartbeat({
        nodeId: this.id, address: this.address, loaded: this.versions.loaded(), refused, refusalReason: reason, current: this.currentVersions(),
      }, Math.max(2000, this.options.heartbeatIntervalMs * 5));
      if (this.masterAway) this.log.info({ master: this.options.master }, 'master answers again');
      this.masterAway = false;
      if (!this.stopped) sync.offer(assignment);
    } catch (err) {
      if (!this.masterAway) this.log.warn({ master: this.options.master, err }, 'heartbeat failed: serving what is loaded, trying again');
      this.masterAway = true;
    }
  }
}
