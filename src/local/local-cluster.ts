/**
 * The embedded cluster: a master and N workers in this process, on loopback
 * ports chosen at start, with a local data directory. Containers are still
 * worker threads, so tasks run in parallel across cores. Each start begins
 * with an empty master journal: an embedded cluster does not resume the jobs
 * of an earlier run. Its datasets (<dataDir>/datasets) and published views
 * (<dataDir>/views, with their catalog) do stay. A serving node (<dataDir>/serve)
 * serves the views, so `laminate query` works against it. With `speed`, a speed
 * process (<dataDir>/speed, checkpoints in <dataDir>/speed/checkpoints) folds
 * the records after the served versions.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../common/logger.js';
import { Master, type MasterOptions } from '../master/master.js';
import { WorkerNode } from '../worker/worker.js';
import { ServingNode } from '../serving/serving-node.js';
import { loadSpeedEngineFactory, type SpeedEngineFactory } from '../speed/engine-loader.js';
import { SpeedNode } from '../speed/speed-node.js';

export interface LocalClusterOptions {
  /** Workers to start. Default 2. */
  workers?: number;
  slots?: number;
  memoryMb?: number;
  /** Map outputs and dataset segments are read from their files (the workers share this host). Default true (WorkerOptions.hostLocalReads). */
  hostLocalReads?: boolean;
  /** Blank containers warm up while they wait for a job. Default true (WorkerOptions.warmUp). */
  warmUp?: boolean;
  dataDir: string;
  /** The master's port; 0 (the default) picks a free one. */
  port?: number;
  /** The master's HTTP port; 0 (the default) picks a free one. */
  httpPort?: number;
  logger: Logger;
  scheduler?: MasterOptions['scheduler'];
  heartbeatIntervalMs?: number;
  /** Start a serving node too (`laminate serve`), so views are queryable. Default true. */
  serving?: boolean;
  /**
   * Start a speed process too (`laminate speed`): true runs the speed engine
   * (src/speed/engine.ts), a factory runs that engine (tests). Default false:
   * the embedded cluster answers batch only.
   */
  speed?: boolean | SpeedEngineFactory;
}

export class LocalCluster {
  private constructor(
    readonly master: Master, readonly workers: WorkerNode[], readonly serving: ServingNode | undefined, readonly speed: SpeedNode | undefined,
  ) {}

  get address(): string {
    return this.master.address;
  }

  static async start(o: LocalClusterOptions): Promise<LocalCluster> {
    const n = o.workers ?? 2;
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Expected --workers to be a positive integer, got ${n}`);
    const masterDir = join(o.dataDir, 'master');
    await rm(masterDir, { recursive: true, force: true });
    const master = new Master({
      port: o.port ?? 0, httpPort: o.httpPort ?? 0, dataDir: masterDir, datasetDir: join(o.dataDir, 'datasets'), viewDir: join(o.dataDir, 'views'), logger: o.logger,
      ...(o.scheduler ? { scheduler: o.scheduler } : {}),
      ...(o.heartbeatIntervalMs ? { heartbeatIntervalMs: o.heartbeatIntervalMs } : {}),
    });
    await master.start();
    const workers = Array.from({ length: n }, (_, i) => new WorkerNode({
      master: master.address, dataDir: join(o.dataDir, `worker-${i + 1}`), logger: o.logger, name: `local-${i + 1}`,
      ...(o.slots ? { slots: o.slots } : {}), ...(o.memoryMb ? { memoryMb: o.memoryMb } : {}),
      ...(o.hostLocalReads !== undefined ? { hostLocalReads: o.hostLocalReads } : {}),
      ...(o.warmUp !== undefined ? { warmUp: o.warmUp } : {}),
    }));
    const started = await Promise.allSettled(workers.map((w) => w.start()));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(workers.map((w) => w.stop()));
      await master.stop();
      throw failed.reason;
    }
    let serving: ServingNode | undefined;
    if (o.serving ?? true) {
      serving = new ServingNode({
        master: master.address, dataDir: join(o.dataDir, 'serve'), port: 0, logger: o.logger,
        ...(o.heartbeatIntervalMs ? { heartbeatIntervalMs: o.heartbeatIntervalMs } : {}),
      });
      try {
        await serving.start();
      } catch (err) {
        await Promise.all(workers.map((w) => w.stop()));
        await master.stop();
        throw err;
      }
    }
    let speed: SpeedNode | undefined;
    if (o.speed !== undefined && o.speed !== false) {
      try {
        const engineFactory = o.speed === true ? await loadSpeedEngineFactory() : o.speed;
        speed = new SpeedNode({
          master: master.address, dataDir: join(o.dataDir, 'speed'), port: 0, logger: o.logger, engineFactory,
          ...(o.heartbeatIntervalMs ? { heartbeatIntervalMs: o.heartbeatIntervalMs } : {}),
        });
        await speed.start();
      } catch (err) {
        await serving?.stop();
        await Promise.all(workers.map((w) => w.stop()));
        await master.stop();
        throw err;
      }
    }
    return new LocalCluster(master, workers, serving, speed);
  }

  async stop(): Promise<void> {
    // The speed process first: its last checkpoints, then its leave, while the master still answers.
    await this.speed?.stop();
    await this.serving?.stop();
    await Promise.all(this.workers.map((w) => w.stop()));
    await this.master.stop();
  }
}
