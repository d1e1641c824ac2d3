/**
 * A speed process (`laminate speed`): the shell that wires the speed layer
 * together around its engine (src/speed/speed-engine.ts). It
 * - takes its folder (lock, node id kept across restarts: view/node-folder.ts);
 * - serves the Speed service (Get, Scan) from the engine;
 * - heartbeats the master every second with the engine's report, and hands
 *   each answer (views, partitions, cuts, handoff cut) to engine.assign,
 *   one at a time, the latest winning: a slow assign never delays a
 *   heartbeat, so the master never takes partitions from a busy process;
 * - fetches deployed bundles into `<data>/bundles` for the engine;
 * - on stop (SIGTERM): closes the engine (a last checkpoint of every
 *   partition), then tells the master it leaves, so that its partitions go
 *   to another process at once, which restores them from those checkpoints.
 *
 * The master being away changes nothing for reads: the engine keeps
 * folding what it was assigned, and the shell heartbeats until the master
 * answers again.
 */
import { join, resolve } from 'node:path';
import { isS3Path } from '../storage/object-store.js';
import { absoluteStorePath, locateChecked } from '../storage/store-path.js';
import { LaminateError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { SpeedAssignment, SpeedViewReport } from '../common/speed-shapes.js';
import { requirePositiveInt } from '../common/validate.js';
import { MasterClient, type BoundServer } from '../protocol/master-rpc.js';
import { serveSpeed } from '../protocol/speed-rpc.js';
import { ViewsClient } from '../protocol/view-rpc.js';
import { lockNodeFolder, nodeIdIn, type NodeRole } from '../view/node-folder.js';
import { BundleCache } from '../protocol/bundle-cache.js';
import type { SpeedEngineFactory } from './engine-loader.js';
import type { SpeedEngine } from './speed-engine.js';
import { addSpeedMetrics } from './speed-metrics.js';

const SPEED: NodeRole = { prefix: 'speed', name: 'speed process', flag: '--data' };

export const DEFAULT_VIEW_MEMORY_MB = 512;
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 1000;
export const DEFAULT_IDLE_TIMEOUT_MS = 10_000;

export interface SpeedNodeOptions {
  /** The master, HOST:PORT (Views and Dataset services, bundles). */
  readonly master: string;
  /** The process's folder: its id, fetched bundles, and by default its checkpoints. */
  readonly dataDir: string;
  /** The checkpoint folder, shared by every speed process that may take a partition over. Default `<dataDir>/checkpoints`. */
  readonly checkpointDir?: string;
  /** Host to bind and to be known by. Default 127.0.0.1. */
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Heap limit of each view's thread, MB. Default 512. */
  readonly viewMemoryMb?: number;
  /** Default 1000 ms. */
  readonly checkpointIntervalMs?: number;
  /** A partition without a record for this long does not hold a view's watermark back. Default 10 s. */
  readonly idleTimeoutMs?: number;
  /** Default 1000 ms (the master forgets a process after 3 s of silence). */
  readonly heartbeatIntervalMs?: number;
  /** Crash tests only: see SpeedEngineOptions.faultKillAt. */
  readonly faultKillAt?: string;
  /** Makes the engine (engine-loader.ts finds the real one; tests pass a fake). */
  readonly engineFactory: SpeedEngineFactory;
  readonly logger: Logger;
}

/** SpeedNodeOptions with every default filled and checked. */
export interface ResolvedSpeedNodeOptions {
  readonly master: string;
  readonly dataDir: string;
  readonly checkpointDir: string;
  readonly host: string;
  readonly port: number;
  readonly viewMemoryMb: number;
  readonly checkpointIntervalMs: number;
  readonly idleTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
}

/** Fills and checks a speed process's options. Pure; throws INVALID_ARGUMENT naming the bad one. */
export function resolveSpeedNodeOptions(o: Omit<SpeedNodeOptions, 'engineFactory' | 'logger'>): ResolvedSpeedNodeOptions {
  const port = o.port ?? 0;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new LaminateError('INVALID_ARGUMENT', `Expected --port to be 0..65535, got ${port}`);
  const dataDir = resolve(o.dataDir);
  return {
    master: o.master,
    dataDir,
    checkpointDir: absoluteStorePath(o.checkpointDir ?? join(dataDir, 'checkpoints')),
    host: o.host ?? '127.0.0.1',
    port,
    viewMemoryMb: requirePositiveInt('--view-memory', o.viewMemoryMb ?? DEFAULT_VIEW_MEMORY_MB),
    checkpointIntervalMs: requirePositiveInt('--checkpoint-interval', o.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS),
    idleTimeoutMs: requirePositiveInt('idleTimeoutMs', o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS),
    heartbeatIntervalMs: requirePositiveInt('heartbeatIntervalMs', o.heartbeatIntervalMs ?? 1000),
  };
}

export class SpeedNode {
  private removeMetrics?: () => void;
  private readonly options: ResolvedSpeedNodeOptions;
  private readonly root: Logger;
  private readonly log: Logger;
  private readonly views: ViewsClient;
  private readonly master: MasterClient;
  private engine: SpeedEngine | undefined;
  private server: BoundServer | undefined;
  private unlock: (() => Promise<void>) | undefined;
  private id = '';
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  /** The latest assignment not yet handed to the engine. */
  private pending: SpeedAssignment | undefined;
  private assigning: Promise<void> | undefined;
  private stopped = false;
  private masterAway = false;
  private heartbeats = 0;

  constructor(private readonly given: SpeedNodeOptions) {
    this.options = resolveSpeedNodeOptions(given);
    this.root = given.logger;
    this.log = given.logger.child({ component: 'speed-node' });
    this.views = new ViewsClient(this.options.master);
    this.master = new MasterClient(this.options.master);
  }

  /** The process's id (stable across restarts on one folder); valid after start(). */
  get nodeId(): string {
    return this.id;
  }

  get port(): number {
    if (!this.server) throw new LaminateError('FAILED_PRECONDITION', 'The speed process is not started');
    return this.server.port;
  }

  /** Where serving nodes reach its Speed service. */
  get address(): string {
    return `${this.options.host}:${this.port}`;
  }

  /** Heartbeats answered by the master so far (tests wait on it). */
  get heartbeatsAnswered(): number {
    return this.heartbeats;
  }

  /** Takes its folder, makes the engine, listens, and starts heartbeating (the first at once). Called once. */
  async start(): Promise<void> {
    const o = this.options;
    this.unlock = await lockNodeFolder(o.dataDir, SPEED);
    try {
      if (isS3Path(o.checkpointDir)) await checkCheckpointStore(o.checkpointDir);
      this.id = await nodeIdIn(o.dataDir, SPEED);
      const bundles = new BundleCache(join(o.dataDir, 'bundles'), () => this.master);
      this.engine = this.given.engineFactory({
        masterAddress: o.master, checkpointDir: o.checkpointDir, viewMemoryMb: o.viewMemoryMb, checkpointIntervalMs: o.checkpointIntervalMs,
        idleTimeoutMs: o.idleTimeoutMs, bundlePath: (hash) => bundles.path(hash), log: this.root.child({ component: 'speed-engine', nodeId: this.id }),
        ...(this.given.faultKillAt !== undefined ? { faultKillAt: this.given.faultKillAt } : {}),
      });
      const engine = this.engine;
      this.server = await serveSpeed({ get: (q) => engine.get(q), scan: (q) => engine.scan(q) }, o.host, o.port);
      this.removeMetrics = addSpeedMetrics(() => this.id, () => engine.report());
    } catch (err) {
      await this.engine?.close().catch(() => undefined);
      await this.unlock();
      this.close();
      throw err;
    }
    this.log.info({ nodeId: this.id, address: this.address, master: o.master, checkpointDir: o.checkpointDir }, 'speed process listening');
    this.beat();
  }

  /**
   * Stops gracefully: no more heartbeats or assignments, the engine closed
   * (a last checkpoint of every partition), then a leaving heartbeat so the
   * master moves its partitions at once, then the server and the folder.
   * Safe to call twice.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.removeMetrics?.();
    if (this.timer) clearTimeout(this.timer);
    this.pending = undefined;
    await this.beating;
    await this.assigning;
    try {
      await this.engine?.close();
    } catch (err) {
      this.log.error({ err }, 'the engine did not close cleanly: its partitions restart from their last good checkpoint');
    }
    if (this.server !== undefined) {
      try {
        await this.views.speedHeartbeat({ nodeId: this.id, address: this.address, views: [] }, true, 2000);
        this.log.info({ nodeId: this.id }, 'told the master this process leaves');
      } catch (err) {
        this.log.warn({ err }, 'could not tell the master this process leaves: its partitions move once it has missed heartbeats');
      }
    }
    await this.server?.close(1000);
    this.close();
    await this.unlock?.();
    this.log.info({ nodeId: this.id }, 'speed process stopped');
  }

  private close(): void {
    this.views.close();
    this.master.close();
  }

  /** Heartbeats now, then every interval after the previous one ended. */
  private beat(): void {
    if (this.stopped) return;
    this.beating = this.heartbeat().finally(() => {
      this.beating = undefined;
      if (this.stopped) return;
      this.timer = setTimeout(() => this.beat(), this.options.heartbeatIntervalMs);
      this.timer.unref();
    });
  }

  private async heartbeat(): Promise<void> {
    const engine = this.engine!;
    let views: SpeedViewReport[];
    try {
      views = engine.report();
    } catch (err) {
      this.log.error({ err }, 'the engine could not report: heartbeating without its views');
      views = [];
    }
    try {
      const assignment = await this.views.speedHeartbeat({ nodeId: this.id, address: this.address, views }, false, Math.max(2000, this.options.heartbeatIntervalMs * 2));
      if (this.masterAway) this.log.info({ master: this.options.master }, 'master answers again');
      this.masterAway = false;
      this.heartbeats++;
      this.offer(assignment);
    } catch (err) {
      if (!this.masterAway) this.log.warn({ master: this.options.master, err }, 'heartbeat failed: folding what was assigned, trying again');
      this.masterAway = true;
    }
  }

  /** Hands the latest assignment to the engine, one assign at a time (only the latest counts). */
  private offer(a: SpeedAssignment): void {
    if (this.stopped) return;
    this.pending = a;
    this.assigning ??= this.drain().finally(() => {
      this.assigning = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (this.pending !== undefined && !this.stopped) {
      const a = this.pending;
      this.pending = undefined;
      try {
        await this.engine!.assign(a);
      } catch (err) {
        this.log.error({ err }, 'the engine could not take the assignment: trying again at the next heartbeat');
      }
    }
  }
}

/**
 * A checkpoint folder on an object store, checked before the process takes any
 * partition, as `--views` and `--archive` are at the master's start: a missing
 * bucket or denied access would otherwise show only as checkpoint writes failing
 * at every interval while the process looks healthy.
 *
 * @throws LaminateError from the store's check (NOT_FOUND, UNAUTHENTICATED), naming --checkpoints.
 */
async function checkCheckpointStore(dir: string): Promise<void> {
  await locateChecked(dir, 'checkpoint folder', '--checkpoints');
}
