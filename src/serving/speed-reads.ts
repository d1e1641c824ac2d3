/**
 * The speed side of a serving node's reads: for a Get or a Scan of a view
 * that has speed processes (and was not asked batch-only), asks every one
 * of them, from exactly the cut of the batch version the read holds, and
 * gives the merge core (speed-merge.ts) their replies.
 *
 * - A built-in monoid: the processes are asked in parallel; their
 *   accumulators are added to the batch's here.
 * - A custom monoid (its code runs only in batch and speed processes): the
 *   batch accumulators go as `base`, and each process answers base ⊕ its
 *   part; several processes are asked one after the other, each given the
 *   previous one's answers as base. A scan first learns the speed side's
 *   keys (Speed.Scan), asks their merged values (Speed.Get), then scans
 *   again to check that no key appeared in between (else asks again): the
 *   answer is the fold of exactly the records its coverage names.
 * - A process that fails (gone, not running the view, busy) leaves its
 *   partitions uncovered, with the reason, in the coverage: never a
 *   silently partial answer.
 * - `atLeast` (read your writes): the read waits, up to `waitMs`, until
 *   every partition's A reaches it, else fails with TIMEOUT (gRPC
 *   DEADLINE_EXCEEDED) naming the partitions behind. `waitMs` alone lets
 *   the speed processes wait that long for partitions that have not
 *   reached the cut yet (after a restart or a rollback); what is still
 *   not there is uncovered. Neither: nothing waits.
 *
 * One SpeedClient per speed process address, kept while it is used
 * (closed after IDLE_CLIENT_MS without a call, and at close()).
 *
 * Memory: a Get holds the speed accumulators of its keys; a Scan those of
 * its bounds (at most its limit per process): with no limit, the whole
 * speed side within the bounds, which the speed layer's own state bounds.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../common/clock.js';
import { errorMessage, LaminateError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { DEFAULT_WAIT_MS, type Coverage, type SpeedReadOptions } from '../common/serving-shapes.js';
import type { SpeedAnswer, SpeedLocation } from '../common/speed-shapes.js';
import { SpeedClient } from '../protocol/speed-rpc.js';
import { monoidByName } from '../view/monoid-by-name.js';
import { behind, coverageOf, horizonOf, limitedLasts, plusScanSide, plusSide, sortedSideKeys, type SpeedReply, type SpeedSide } from './speed-merge.js';

/** Where a view's speed side runs, and what its answers need to know of the view. */
export interface SpeedPlacement {
  /** One entry per speed process; empty: none runs (answers are batch-only). */
  readonly speed: readonly SpeedLocation[];
  /** 0: the view has no window. */
  readonly windowSizeMs: number;
}

export interface SpeedReadsOptions {
  readonly clock: Clock;
  readonly log: Logger;
  /** A speed process's deadline per call, besides the wait asked for. Default 5 s. */
  readonly callTimeoutMs?: number;
  /** Attempts of a custom-monoid scan before it gives up (UNAVAILABLE) on a speed side whose keys keep changing. Default 4. */
  readonly customScanAttempts?: number;
}

/** Bounds of a scan, as ScanQuery's. */
/** The batch version a read merges with: its cut, and the definition it was built with (src/view/view-manifest.ts). */
export interface BatchSide {
  readonly cut: readonly number[];
  readonly definitionHash: string;
}

export interface ScanBounds {
  readonly prefix?: string;
  readonly from?: string;
  readonly to?: string;
}

/** The speed side of one read, ready to merge. */
export interface SpeedRead {
  readonly side: SpeedSide;
  readonly coverage: Coverage;
}

/** The speed side of one scan: its keys in order up to the horizon (see speed-merge.ts horizonOf). */
export interface SpeedScanRead extends SpeedRead {
  readonly keys: readonly string[];
  readonly horizon?: string;
}

/** A channel to a speed process not asked this long is closed (one is opened again when needed). */
const IDLE_CLIENT_MS = 5 * 60_000;

/** Pause between two tries of a read waiting for `atLeast` when the speed side answered at once (a partition not served). */
const RETRY_PAUSE_MS = 50;

export class SpeedReads {
  private readonly clients = new Map<string, SpeedClient>();
  /** When each address was last asked (ms), for the sweep of idle channels. */
  private readonly usedAt = new Map<string, number>();
  private sweptAt = 0;
  /** Speed processes whose last call failed, so that a failure is logged once (warn), and the recovery once (info). */
  private readonly down = new Set<string>();
  private readonly log: Logger;
  private readonly callTimeoutMs: number;
  private readonly customScanAttempts: number;

  constructor(private readonly options: SpeedReadsOptions) {
    this.log = options.log.child({ component: 'speed-reads' });
    this.callTimeoutMs = options.callTimeoutMs ?? 5000;
    this.customScanAttempts = options.customScanAttempts ?? 4;
  }

  private client(address: string): SpeedClient {
    const now = this.options.clock.now();
    if (now - this.sweptAt >= IDLE_CLIENT_MS) this.sweep(now);
    let c = this.clients.get(address);
    if (c === undefined) {
      c = new SpeedClient(address);
      this.clients.set(address, c);
    }
    this.usedAt.set(address, now);
    return c;
  }

  /** Channels open to speed processes now (for status and tests). */
  get channels(): number {
    return this.clients.size;
  }

  /** Closes the channels to addresses not asked for IDLE_CLIENT_MS (a speed process moved or gone): their number stays bounded. */
  private sweep(now: number): void {
    this.sweptAt = now;
    for (const [address, at] of this.usedAt) {
      if (now - at < IDLE_CLIENT_MS) continue;
      this.clients.get(address)?.close();
      this.clients.delete(address);
      this.usedAt.delete(address);
      this.down.delete(address);
    }
  }

  /**
   * The speed side of the keys of a Get, from `cut` on. `stored` holds the
   * batch accumulator of each key (undefined: none), sent as base for a
   * custom monoid. Called once per Get that is not batch-only on a view
   * with speed processes.
   *
   * @throws LaminateError TIMEOUT when `atLeast` is not reached in time;
   *   UNAVAILABLE when two processes both count a partition.
   */
  async get(view: string, version: number, at: BatchSide, merge: string, placement: SpeedPlacement, keys: readonly string[], stored: readonly (Buffer | undefined)[], o: SpeedReadOptions): Promise<SpeedRead> {
    const monoid = monoidByName(merge);
    const { cut, definitionHash } = at;
    return this.waitingFor(view, o, async (waitMs) => {
      const ask = { view, cut, definitionHash, keys, ...waitFor(o, cut, waitMs) };
      if (monoid !== undefined) {
        const replies = await Promise.all(placement.speed.map((l) => this.reply(l, (c) => c.get(ask, this.callTimeoutMs))));
        return { side: plusSide(replies, monoid), coverage: coverageOf(version, cut, replies, this.options.clock.now()) };
      }
      const { replies, accs } = await this.chain(placement, ask, stored);
      return { side: { mode: 'replace', accs }, coverage: coverageOf(version, cut, replies, this.options.clock.now()) };
    });
  }

  /**
   * The speed side of a Scan within `bounds`, at most `limit` keys, from
   * `cut` on. `readStored` reads batch accumulators (for a custom monoid's
   * base). Called once per Scan that is not batch-only on a view with
   * speed processes.
   *
   * @throws what get() throws; UNAVAILABLE when a custom monoid's speed
   *   side kept gaining keys over every attempt.
   */
  async scan(
    view: string, version: number, at: BatchSide, merge: string, placement: SpeedPlacement, bounds: ScanBounds, limit: number | undefined,
    o: SpeedReadOptions, readStored: (keys: readonly string[]) => Promise<(Buffer | undefined)[]>,
  ): Promise<SpeedScanRead> {
    const monoid = monoidByName(merge);
    const { cut, definitionHash } = at;
    // A limit of 0 cannot be sent (0 means none on the wire): the speed side is asked for one key, and the merge keeps none.
    const ask = { view, cut, definitionHash, ...bounds, ...(limit !== undefined ? { limit: Math.max(1, limit) } : {}) };
    return this.waitingFor(view, o, async (waitMs) => {
      // Speed.Scan does not wait: a keyless Get waits first.
      if (o.atLeast !== undefined || o.waitMs !== undefined) {
        await Promise.all(placement.speed.map((l) => this.reply(l, (c) => c.get({ view, cut, definitionHash, keys: [], ...waitFor(o, cut, waitMs) }, this.callTimeoutMs))));
      }
      const scans = await this.scanAll(placement, ask);
      if (monoid !== undefined) return { ...plusScanSide(scans, monoid, limit), coverage: coverageOf(version, cut, scans, this.options.clock.now()) };
      return this.customScan(view, version, cut, placement, ask, limit, scans, readStored);
    });
  }

  /** A custom monoid's scan (see the module comment): keys from a scan, values from a chained Get, checked by another scan. */
  private async customScan(
    view: string, version: number, cut: readonly number[], placement: SpeedPlacement, ask: { view: string; cut: readonly number[]; definitionHash: string; limit?: number } & ScanBounds,
    limit: number | undefined, first: SpeedReply[], readStored: (keys: readonly string[]) => Promise<(Buffer | undefined)[]>,
  ): Promise<SpeedScanRead> {
    const keys = new Set<string>();
    let scans = first;
    const lasts: string[] = [];
    for (let attempt = 1; attempt <= this.customScanAttempts; attempt++) {
      for (const r of scans) if ('answer' in r) for (const e of r.answer.entries) keys.add(e.key);
      lasts.push(...limitedLasts(scans, limit));
      const asked = [...keys];
      const { replies, accs } = await this.chain(placement, { view, cut, definitionHash: ask.definitionHash, keys: asked }, await readStored(asked));
      const check = await this.scanAll(placement, ask);
      const horizon = horizonOf([...lasts, ...limitedLasts(check, limit)]);
      if (sameKeys(replies, check, horizon)) {
        const side: SpeedSide = { mode: 'replace', accs };
        return { side, keys: sortedSideKeys(side, horizon), ...(horizon !== undefined ? { horizon } : {}), coverage: coverageOf(version, cut, replies, this.options.clock.now()) };
      }
      scans = check;
    }
    throw new LaminateError('UNAVAILABLE', `The speed side of view '${view}' (a custom monoid) kept gaining keys during ${this.customScanAttempts} attempts of a scan: try again, or scan batch-only`, { ids: { view } });
  }

  /** Every process's scan, in parallel. */
  private scanAll(placement: SpeedPlacement, ask: Parameters<SpeedClient['scan']>[0]): Promise<SpeedReply[]> {
    return Promise.all(placement.speed.map((l) => this.reply(l, (c) => c.scan(ask, this.callTimeoutMs))));
  }

  /**
   * A custom monoid's Get: each process in turn, given as base the
   * accumulators so far (the batch's, then each answer's). Returns every
   * reply and the final accumulator of each key some process answered.
   */
  private async chain(
    placement: SpeedPlacement, ask: { view: string; cut: readonly number[]; definitionHash: string; keys: readonly string[]; atLeast?: readonly number[]; waitMs?: number },
    stored: readonly (Buffer | undefined)[],
  ): Promise<{ replies: SpeedReply[]; accs: Map<string, Uint8Array> }> {
    // Each key asked once: a speed process answers a repeated key once, with the base of its first
    // occurrence, so a later occurrence's base (updated below) would never reach the next process,
    // and the chain would drop the previous processes' part of that key.
    const keys: string[] = [];
    const base: Uint8Array[] = [];
    const index = new Map<string, number>();
    ask.keys.forEach((k, i) => {
      if (index.has(k)) return;
      index.set(k, keys.length);
      keys.push(k);
      base.push(stored[i] ?? EMPTY);
    });
    const accs = new Map<string, Uint8Array>();
    const replies: SpeedReply[] = [];
    for (const l of placement.speed) {
      const r = await this.reply(l, (c) => c.get({ ...ask, keys, base: [...base] }, this.callTimeoutMs));
      replies.push(r);
      if (!('answer' in r)) continue;
      for (const e of r.answer.entries) {
        const i = index.get(e.key);
        if (i === undefined) continue;
        base[i] = e.acc;
        accs.set(e.key, e.acc);
      }
    }
    return { replies, accs };
  }

  /** One process's answer, or its failure as a reply (its partitions become uncovered). */
  private async reply(location: SpeedLocation, call: (c: SpeedClient) => Promise<SpeedAnswer>): Promise<SpeedReply> {
    try {
      const answer = await call(this.client(location.address));
      if (this.down.delete(location.address)) this.log.info({ nodeId: location.nodeId, address: location.address }, 'speed process answers again');
      return { location, answer };
    } catch (err) {
      if (!this.down.has(location.address)) {
        this.down.add(location.address);
        this.log.warn({ nodeId: location.nodeId, address: location.address, partitions: location.partitions, err }, 'speed process did not answer: its partitions are uncovered in answers until it does');
      }
      return { location, error: errorMessage(err) };
    }
  }

  /** Runs `attempt` until its coverage reaches `o.atLeast` (at once when none is asked), within the wait. */
  private async waitingFor<T extends SpeedRead>(view: string, o: SpeedReadOptions, attempt: (waitMs: number) => Promise<T>): Promise<T> {
    const { clock } = this.options;
    const waitMs = o.waitMs ?? DEFAULT_WAIT_MS;
    const deadline = clock.now() + waitMs;
    for (;;) {
      const left = Math.max(0, deadline - clock.now());
      const r = await attempt(left);
      if (o.atLeast === undefined) return r;
      const late = behind(r.coverage, o.atLeast);
      if (late.length === 0) return r;
      const now = clock.now();
      if (now >= deadline) {
        throw new LaminateError('TIMEOUT', `View '${view}': the speed side did not reach the offsets asked (at least ${o.atLeast.join(',')}) within ${waitMs} ms: ${late.join('; ')}${uncoveredText(r.coverage)}`, { ids: { view } });
      }
      await delay(Math.min(RETRY_PAUSE_MS, deadline - now));
    }
  }

  /** Closes every channel to speed processes. Safe to call twice. */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    this.usedAt.clear();
  }
}

const EMPTY = new Uint8Array(0);

/** What a speed Get waits for: atLeast, or with waitMs alone the cut itself (partitions not there yet); nothing otherwise. */
function waitFor(o: SpeedReadOptions, cut: readonly number[], waitMs: number): { atLeast?: readonly number[]; waitMs?: number } {
  if (o.atLeast !== undefined) return { atLeast: o.atLeast, waitMs };
  if (o.waitMs !== undefined) return { atLeast: cut, waitMs };
  return {};
}

function uncoveredText(c: Coverage): string {
  const u = c.uncovered ?? [];
  return u.length === 0 ? '' : ` (uncovered: ${u.map((x) => `partition ${x.partition}: ${x.reason}`).join('; ')})`;
}

/**
 * Whether a check scan, taken after the chained Get, shows no key within
 * the horizon that the Get's answer of the same process lacks (a process's
 * keys only grow from a cut on, so the Get then saw every key it had).
 * A process that answered one and not the other cannot be checked: false.
 */
function sameKeys(gets: readonly SpeedReply[], checks: readonly SpeedReply[], horizon: string | undefined): boolean {
  for (const g of gets) {
    const c = checks.find((x) => x.location.nodeId === g.location.nodeId);
    if (c === undefined) return false;
    if (!('answer' in g)) continue;
    if (!('answer' in c)) return false;
    const have = new Set(g.answer.entries.map((e) => e.key));
    const within = sortedSideKeys({ mode: 'replace', accs: new Map(c.answer.entries.map((e) => [e.key, e.acc])) }, horizon);
    if (within.some((k) => !have.has(k))) return false;
  }
  return true;
}
