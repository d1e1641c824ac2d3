/**
 * Read load for the serving benchmark, the same for `laminate serve` and its
 * RPC floor: Gets in open loop with zipfian keys (YCSB workload C: zipfian
 * constant 0.99), timed from each request's intended send time with
 * hdr-histogram-js so a stall is not hidden; MultiGets of 100 keys in closed
 * loop; a whole-view Scan.
 */
import * as hdr from 'hdr-histogram-js';
import type { ServingClient } from '../src/protocol/serving-rpc.js';
import { Prng } from './data-gen/prng.js';

/** YCSB's ZipfianGenerator (Gray et al., "Quickly generating billion-record synthetic databases"): ranks in [0, n), 0 the hottest. */
export class Zipfian {
  private readonly alpha: number;
  private readonly zetan: number;
  private readonly eta: number;
  private readonly prng: Prng;

  constructor(private readonly n: number, seed: number, private readonly theta = 0.99) {
    this.prng = new Prng(seed);
    let zetan = 0;
    for (let i = 1; i <= n; i++) zetan += 1 / Math.pow(i, theta);
    this.zetan = zetan;
    const zeta2 = 1 + 1 / Math.pow(2, theta);
    this.alpha = 1 / (1 - theta);
    this.eta = (1 - Math.pow(2 / n, 1 - theta)) / (1 - zeta2 / zetan);
  }

  next(): number {
    const u = this.prng.float();
    const uz = u * this.zetan;
    if (uz < 1) return 0;
    if (uz < 1 + Math.pow(0.5, this.theta)) return 1;
    return Math.min(this.n - 1, Math.floor(this.n * Math.pow(this.eta * u - this.eta + 1, this.alpha)));
  }
}

export interface OpenLoopResult {
  readonly rate: number;
  readonly sent: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly achieved: number;
}

/** Gets of one key each at `rate` per second for `seconds`, each timed from its intended send time. */
export async function openLoopGets(client: ServingClient, view: string, key: () => string, rate: number, seconds: number): Promise<OpenLoopResult> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const total = Math.round(rate * seconds);
  let sent = 0;
  let errors = 0;
  let outstanding = 0;
  let allDone: (() => void) | undefined;
  const t0 = performance.now();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    for (; sent < due; sent++) {
      const intended = t0 + (sent * 1000) / rate;
      outstanding++;
      client.get(view, [key()]).then(
        () => { histogram.recordValue(Math.max(1, Math.round((performance.now() - intended) * 1000))); },
        () => { errors++; },
      ).finally(() => { if (--outstanding === 0 && sent === total) allDone?.(); });
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  if (outstanding > 0) await new Promise<void>((r) => { allDone = r; });
  const wallS = (performance.now() - t0) / 1000;
  const q = (p: number): number => histogram.getValueAtPercentile(p) / 1000;
  return { rate, sent: total, errors, p50Ms: q(50), p99Ms: q(99), achieved: total / wallS };
}

/** The highest of `rates` (ascending) whose p99 stays within `p99LimitMs` with no error; every step measured. */
export async function highestRate(client: ServingClient, view: string, key: () => string, rates: readonly number[], seconds: number, p99LimitMs: number): Promise<{ best: OpenLoopResult | undefined; steps: OpenLoopResult[] }> {
  const steps: OpenLoopResult[] = [];
  let best: OpenLoopResult | undefined;
  for (const rate of rates) {
    const r = await openLoopGets(client, view, key, rate, seconds);
    steps.push(r);
    if (r.errors > 0 || r.p99Ms > p99LimitMs) break;
    best = r;
  }
  return { best, steps };
}

/** MultiGets of `batch` keys from `concurrency` loops for `seconds`: keys answered per second. */
export async function multiGetRate(client: ServingClient, view: string, key: () => string, batch: number, concurrency: number, seconds: number): Promise<number> {
  let keys = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const r = await client.get(view, Array.from({ length: batch }, key));
      keys += r.entries.length;
    }
  }));
  return keys / ((performance.now() - t0) / 1000);
}

/** One scan of the whole view: entries per second. */
export async function scanRate(client: ServingClient, view: string): Promise<{ entries: number; perSecond: number }> {
  let entries = 0;
  const t0 = performance.now();
  for await (const chunk of client.scan({ view })) entries += chunk.entries.length;
  return { entries, perSecond: entries / ((performance.now() - t0) / 1000) };
}
