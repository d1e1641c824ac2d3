/**
 * Support of the speed-layer fault tests (speed-faults*.test.ts): a real
 * cluster of processes spawned from dist/ (master, a worker, `laminate
 * serve`, `laminate speed` with the real engine), a background appender of
 * click records, and the independent reference: a mirror of the log read
 * back with LaminateClient.read and a plain loop summing `n` per page (or
 * per page and 10 s window) over exactly the records an answer's coverage
 * names. No engine code is used by the reference.
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import { LaminateClient } from '../../src/client/laminate-client.js';
import { LaminateError } from '../../src/common/errors.js';
import type { Coverage } from '../../src/common/serving-shapes.js';
import type { SpeedStatus } from '../../src/common/speed-status.js';
import { ViewsClient } from '../../src/protocol/view-rpc.js';
import { seededRandom } from '../support/seeded-random.js';
import type { Teardown } from './fault-support.js';
import {
  FIXTURES, REAL_SPEED_ENGINE, startMasterProc, startServeProc, startSpeedProc, startWorkerProc, type MasterProc, type Proc,
} from './harness.js';

export interface Click {
  readonly id: number;
  readonly page: string;
  readonly n: number;
  /** Event time (ms), for the windowed view. */
  readonly t: number;
}

export const PAGES = 16;
export const WINDOW_MS = 10_000;
export const SUMS_VIEW = 'speed-page-sums';
export const SUMS_MODULE = join(FIXTURES, 'views', 'speed-page-sums.ts');
export const WINDOWS_VIEW = 'speed-page-windows';
export const WINDOWS_MODULE = join(FIXTURES, 'views', 'speed-page-windows.ts');

export type SpeedProc = Proc & { address: string; nodeId: string; dir: string };
export type ServeProc = Proc & { address: string; nodeId: string; dir: string };

/**
 * Polls `get` until it returns something other than undefined, or fails
 * after timeoutMs. An RPC error (a LaminateError: a process restarting)
 * counts as not yet; any other error, a failed assertion above all, is
 * thrown at once, so that an inexact answer is never retried away.
 */
export async function until<T>(get: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await get();
      if (v !== undefined) return v;
    } catch (err) {
      if (!(err instanceof LaminateError)) throw err;
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last !== undefined ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The log as read back, partition by partition: records are only ever
 * appended, so what has been read once stays true. The reference folds
 * are plain loops over these arrays.
 */
export class LogMirror {
  private readonly parts: Click[][];

  constructor(private readonly client: LaminateClient, private readonly dataset: string, partitions: number) {
    this.parts = Array.from({ length: partitions }, () => []);
  }

  /** The reads in progress, one after another (two concurrent reads would both append to the arrays). */
  private reading: Promise<unknown> = Promise.resolve();

  /** The records [0, offsets[p]) of every partition p (read from the log as needed). Safe to call concurrently. */
  upTo(offsets: readonly number[]): Promise<Click[][]> {
    const next = this.reading.then(() => this.read(offsets));
    this.reading = next.catch(() => undefined);
    return next;
  }

  private async read(offsets: readonly number[]): Promise<Click[][]> {
    expect(offsets.length).toBe(this.parts.length);
    const out: Click[][] = [];
    for (let p = 0; p < this.parts.length; p++) {
      const have = this.parts[p]!;
      const want = offsets[p]!;
      if (want > have.length) {
        for await (const r of this.client.read(this.dataset, { partition: p, from: have.length, endOffset: want })) {
          expect(r.offset).toBe(have.length);
          have.push(r.record as Click);
        }
      }
      out.push(have.slice(0, want));
    }
    return out;
  }
}

/** Sum of n per page over the records: key as the client shows it (JSON of the key). */
export function foldSums(parts: readonly (readonly Click[])[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const records of parts) {
    for (const r of records) {
      const k = JSON.stringify(r.page);
      m.set(k, (m.get(k) ?? 0) + r.n);
    }
  }
  return m;
}

/** Sum of n per [page, window start] over the records. */
export function foldWindows(parts: readonly (readonly Click[])[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const records of parts) {
    for (const r of records) {
      const k = JSON.stringify([r.page, Math.floor(r.t / WINDOW_MS) * WINDOW_MS]);
      m.set(k, (m.get(k) ?? 0) + r.n);
    }
  }
  return m;
}

/** Where an answer's counted records end per partition: A for a merged answer, the cut for a batch-only one. */
export function countedUpTo(c: Coverage): readonly number[] {
  return c.speed ?? c.cut;
}

/** A whole scan of a view: its entries as (JSON key -> value), its coverage, and the final flags. */
export async function scanView(client: LaminateClient, view: string, o: Parameters<LaminateClient['scan']>[1] = {}): Promise<{ entries: Map<string, number>; coverage: Coverage; finals: Map<string, boolean | undefined> }> {
  const scan = client.scan(view, o);
  const entries = new Map<string, number>();
  const finals = new Map<string, boolean | undefined>();
  for await (const e of scan) {
    const k = JSON.stringify(e.key);
    entries.set(k, e.value as number);
    finals.set(k, e.final);
  }
  return { entries, coverage: scan.coverage!, finals };
}

/** Seeded click records with ids from `firstId`. */
export function clicks(random: () => number, firstId: number, n: number, t = (): number => Date.now()): Click[] {
  return Array.from({ length: n }, (_, i) => ({ id: firstId + i, page: `page-${Math.floor(random() * PAGES)}`, n: 1 + Math.floor(random() * 9), t: t() }));
}

/**
 * Appends batches of clicks in a loop until stopped (each client.append
 * lands in one partition, chosen at random, so all partitions grow).
 */
export class Appender {
  private stopping = false;
  private loop: Promise<void> | undefined;
  private readonly random = seededRandom(4242);
  appended = 0;

  /** Appends that failed with an RPC error and were given up (only with `tolerant`). */
  failed = 0;

  /**
   * `tolerant`: an append failing with an RPC error (the master down) is
   * given up and the loop goes on: it may or may not have been stored,
   * which the reference, reading the log back, does not mind.
   */
  constructor(private readonly client: LaminateClient, private readonly dataset: string, private nextId: { value: number }, private readonly batch = 40, private readonly tolerant = false) {}

  start(): this {
    this.stopping = false;
    this.loop = (async () => {
      while (!this.stopping) {
        const records = clicks(this.random, this.nextId.value, this.batch);
        this.nextId.value += records.length;
        try {
          await this.client.append(this.dataset, records);
          this.appended += records.length;
        } catch (err) {
          if (!this.tolerant || !(err instanceof LaminateError)) throw err;
          this.failed++;
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        // Yield a little so the queries of the test get their share of the loop.
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    return this;
  }

  /** Stops after the append in flight; resolves once it is durable. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }
}

/** The end offset of every partition of the dataset now. */
export async function logEnd(client: LaminateClient, dataset: string): Promise<number[]> {
  return (await client.describeDataset(dataset)).partitions.map((p) => p.endOffset);
}

export interface SpeedCluster {
  readonly dir: string;
  master: MasterProc;
  readonly client: LaminateClient;
  readonly views: ViewsClient;
  serve: ServeProc;
  readonly checkpoints: string;
  speeds: SpeedProc[];
  startSpeed(name: string, env?: Record<string, string>): Promise<SpeedProc>;
  /** SIGKILLs the master and starts it again on the same port and folder (the others reconnect to the same address). */
  restartMaster(): Promise<void>;
  status(): Promise<SpeedStatus>;
}

/**
 * A master (speed processes silent 1.5 s lose their partitions), one worker
 * with two slots, a serving node, and one speed process with the real
 * engine (checkpoints every 100 ms, into a folder all speed processes
 * share, `o.checkpoints` or `<dir>/checkpoints`; a partition idle 1 s does not hold a watermark back).
 * Everything is registered on `teardown`.
 */
export async function startSpeedCluster(dir: string, teardown: Teardown, o: { checkpoints?: string } = {}): Promise<SpeedCluster> {
  const masterArgs = ['--speed-node-timeout', '1500', '--speed-start-grace', '500'];
  const master = await startMasterProc(dir, { args: masterArgs });
  teardown.add(() => cluster.master.kill());
  // The worker and the serving node need only the master: started side by side.
  const [worker, serving] = await Promise.allSettled([startWorkerProc(master.address, dir, { slots: 2 }), startServeProc(master.address, dir, 'serve-1')]);
  for (const r of [worker, serving]) if (r.status === 'fulfilled') teardown.add(() => r.value.kill());
  if (worker.status === 'rejected') throw worker.reason;
  if (serving.status === 'rejected') throw serving.reason;
  const serve = serving.value;
  const client = new LaminateClient(master.address);
  teardown.add(() => client.close());
  const views = new ViewsClient(master.address);
  teardown.add(() => views.close());
  const checkpoints = o.checkpoints ?? join(dir, 'checkpoints');
  const cluster: SpeedCluster = {
    dir, master, client, views, serve, checkpoints, speeds: [],
    async startSpeed(name, env = {}) {
      const s = await startSpeedProc(master.address, dir, name, {
        engine: REAL_SPEED_ENGINE, checkpoints, args: ['--checkpoint-interval', '100', '--view-memory', '64', '--idle-timeout', '1000'], env,
      });
      teardown.add(() => s.kill());
      cluster.speeds.push(s);
      return s;
    },
    async restartMaster() {
      await cluster.master.kill('SIGKILL');
      const port = Number(/:(\d+)$/.exec(cluster.master.address)![1]);
      cluster.master = await startMasterProc(dir, { port, args: masterArgs });
    },
    status: () => views.listSpeedNodes(),
  };
  return cluster;
}
