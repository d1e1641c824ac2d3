/**
 * A node's shuffle service (`laminate shuffle-service`): a process of its own
 * that serves the map outputs the workers of its node wrote into its folder,
 * so that they outlive the workers' processes, as a YARN NodeManager's
 * auxiliary shuffle service (Hadoop's ShuffleHandler) and Spark's external
 * shuffle service do.
 *
 * Spark's ExternalBlockHandler is told by each executor where it keeps its
 * files (RegisterExecutor with its local dirs), and resolves a block to a file
 * from that registration. Here the service names the folder instead (a
 * worker attaching is told `<data>/jobs`), and a file's path follows from the
 * ids a reducer sends (shuffle-layout.ts): the service keeps no registry, so
 * nothing a worker does can make it serve a file it should not, and a
 * fetch is answered from the file's own index footer, checked against where
 * the reducer was told the partition is.
 *
 * Files go in two ways, so that the disk does not fill up:
 * - at each job's end the master sends the jobs still live, and the folders
 *   of the others are removed (src/master/shuffle-cleanup.ts);
 * - at its start the service removes whatever an earlier run left: it keeps
 *   no registration across a restart, so it no longer hears of those jobs
 *   (Spark's external shuffle service without its recovery database forgets
 *   its executors on a restart; a YARN NodeManager without recovery deletes
 *   its old local folders at start). A master that still counts on one of
 *   those outputs finds it gone at the first fetch and re-runs its map.
 *
 * A service serves the workers of one master: job ids are that master's.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LaminateError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { BoundServer } from '../protocol/master-rpc.js';
import type * as M from '../protocol/messages.js';
import { serveShuffleService } from '../protocol/shuffle-rpc.js';
import { readIndex, readPartitionChunks, type PartitionInfo } from '../storage/map-output-file.js';
import { partitionFile } from './host-local.js';
import { partitionOf } from './map-output-registry.js';
import { jobNumberOf, mapOutputPath } from './shuffle-layout.js';
import { countShuffleBytes } from './worker-metrics.js';

/** The port a shuffle service listens on unless told otherwise (Spark's spark.shuffle.service.port). */
export const SHUFFLE_SERVICE_PORT = 7337;

export interface ShuffleServiceOptions {
  /** Its folder: map outputs go to `<dataDir>/jobs`. Workers of its node must be able to write there. */
  readonly dataDir: string;
  /** Host to bind and to be known by. Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port. Default SHUFFLE_SERVICE_PORT. */
  readonly port?: number;
  readonly logger: Logger;
}

export class ShuffleService {
  private readonly log: Logger;
  /** Where the workers write their map outputs (shuffle-layout.ts). */
  readonly jobsDir: string;
  private server?: BoundServer;
  /** Ends each open worker attachment (called at stop). */
  private readonly attachments = new Set<() => void>();

  constructor(private readonly options: ShuffleServiceOptions) {
    this.log = options.logger.child({ component: 'shuffle-service' });
    this.jobsDir = join(resolve(options.dataDir), 'jobs');
  }

  get port(): number {
    if (!this.server) throw new LaminateError('FAILED_PRECONDITION', 'The shuffle service is not started');
    return this.server.port;
  }

  get address(): string {
    return `${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  /** Removes what an earlier run left, then listens. Called once. */
  async start(): Promise<void> {
    const left = await readdir(this.jobsDir).catch(() => [] as string[]);
    await rm(this.jobsDir, { recursive: true, force: true });
    await mkdir(this.jobsDir, { recursive: true });
    if (left.length > 0) this.log.info({ jobs: left.length }, 'removed the map outputs an earlier run left');
    this.server = await serveShuffleService({
      fetchPartition: (req) => this.fetchPartition(req),
      locatePartition: (req) => this.locatePartition(req),
      attachWorker: (req, signal) => this.attachWorker(req, signal),
      retainJobs: (req) => this.retainJobs(req),
    }, this.options.host ?? '127.0.0.1', this.options.port ?? SHUFFLE_SERVICE_PORT);
    this.log.info({ address: this.address, jobsDir: this.jobsDir }, 'shuffle service listening');
  }

  /** Ends the workers' attachments and the server; the files stay (the next start removes them). Safe to call twice. */
  async stop(): Promise<void> {
    for (const end of this.attachments) end();
    await this.server?.close(500);
    this.log.info('shuffle service stopped');
  }

  /**
   * A worker attaches: it is told the folder, and the stream stays open
   * until the worker goes or the service stops, so that each end sees the
   * other go.
   */
  private async *attachWorker(req: M.AttachShuffleRequest, signal: AbortSignal): AsyncGenerator<M.ShuffleAttachment> {
    this.log.info({ worker: req.name }, 'worker attached');
    yield { jobsDir: this.jobsDir };
    let end = (): void => {};
    const ended = new Promise<void>((r) => { end = r; });
    this.attachments.add(end);
    signal.addEventListener('abort', end, { once: true });
    if (signal.aborted) end();
    try {
      await ended;
    } finally {
      this.attachments.delete(end);
      signal.removeEventListener('abort', end);
      this.log.info({ worker: req.name }, 'worker detached');
    }
  }

  /**
   * RetainJobs, from the master at each job's end: removes the folders of
   * jobs numbered below `nextJobNumber` that are not live. Idempotent.
   */
  private async retainJobs(req: M.RetainJobsRequest): Promise<M.RetainJobsResponse> {
    const live = new Set(req.liveJobIds);
    const names = await readdir(this.jobsDir).catch(() => [] as string[]);
    const ended = names.filter((name) => {
      const n = jobNumberOf(name);
      return n !== undefined && n < req.nextJobNumber && !live.has(name);
    });
    await Promise.all(ended.map((name) => rm(join(this.jobsDir, name), { recursive: true, force: true })));
    if (ended.length > 0) this.log.info({ jobs: ended }, 'removed the map outputs of ended jobs');
    return { removed: ended.length };
  }

  /** The file of the partition a reducer asks for, checked against the file's index; NOT_FOUND when there is none (the reducer reports a fetch failure). */
  private async partition(req: M.FetchPartitionRequest): Promise<{ path: string; info: PartitionInfo }> {
    const path = mapOutputPath(this.jobsDir, req.workerId, req.mapAttemptId);
    return { path, info: partitionOf(req.mapAttemptId, await readIndex(path), req.partition, req.offset, req.length) };
  }

  /** One partition of a map output, from its file. */
  private async *fetchPartition(req: M.FetchPartitionRequest): AsyncGenerator<Buffer> {
    const { path, info } = await this.partition(req);
    yield* countShuffleBytes(readPartitionChunks(path, info));
  }

  /** Where a partition's file is, for a reducer on this host. */
  private async locatePartition(req: M.FetchPartitionRequest): Promise<M.PartitionFile> {
    return partitionFile((await this.partition(req)).path);
  }
}
