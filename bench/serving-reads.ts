/**
 * Read load for the serving benchmark, the same for `laminate serve` and its
 * RPC floor, driven from generator processes of their own (serving-load.ts;
 * YCSB runs its clients apart from the store): Gets in open loop with
 * scrambled zipfian keys (YCSB workload C: constant 0.99), timed from each
 * request's intended send time with hdr-histogram-js so a stall is not
 * hidden, at rising rates until the p99 passes its limit; MultiGets of 100
 * keys in closed loops (after an unmeasured run as long as the warm-up);
 * whole-view Scans back to back for as long as a step, after a first one
 * that is reported apart (cold) and not counted. Before the Gets, every key is read once by MultiGets (the
 * sweep): the node then holds the whole view in its block cache, as the floor
 * holds it in a Map, and the Gets measure a node in its steady state rather
 * than its cache filling (a 16 KiB pread, CRC and parse per miss). The server's CPU per Get (from
 * /proc) and the generators' are measured at each step.
 */
import { processCpuSeconds } from './measure.js';
import { LoadGenerators, type OpenLoopResult } from './serving-load.js';

/** The open-loop Get rates tried, ascending (requests per second, over all generators). */
export const GET_RATES = [1000, 2000, 4000, 6000, 8000, 10_000, 12_000, 16_000, 24_000];
/**
 * Seconds per open-loop Get step (and of the measured MultiGet and Scan runs). A step's
 * p99 is that of its own Gets: over 3 s at 1,000/s it was the 30th slowest of
 * 3,000, few enough for one stall of ~30 ms anywhere on the machine (a core
 * held by a kernel thread, a vCPU the host ran late) to fail the step, and
 * with the sweep stopping at its first miss, the whole figure. On the
 * benchmark's 2-vCPU VM, three full runs each in turn (bench/README.md,
 * serving, 3 December 13:40-14:03 UTC): 3 s steps gave the node 2,000/s, none
 * and 6,000/s, each missing at a single step (p99 8.26 ms at 4,000/s after
 * 2.34 at 2,000; 6.62 at the first); 10 s steps gave 16,000/s each time. The
 * stalls are still counted: each step's p99 and max include them, over more Gets.
 */
export const STEP_SECONDS = 10;
/** Load generator processes per contender: the MultiGets' closed loops and the sweep are spread over them. */
export const GENERATORS = 2;
/**
 * Of those, how many send the open-loop Gets (the others idle meanwhile). One since the Gets of a turn travel
 * batched on the stream (branch get): one generator then carries 12,000 Gets/s at ~25 us of its CPU per Get, and
 * a second sender only put a third busy process on the 2 cores, whose run-queue waits showed in every p99 (quiet
 * machine, 8,000/s: node p99 11.5 ms with two senders, 5.6 ms with one). The MultiGets keep two: their 4 closed
 * loops in one process answered 122,078-178,784 keys/s against 156,432-211,504 from two (bench/README.md).
 * Since the sender spins to send on time (send-pacing.ts) it holds a core during the Gets: a second one would
 * leave the node none.
 */
export const GET_SENDERS = 1;

export interface ReadOptions {
  /** Seconds per open-loop step (and of the measured MultiGet and Scan runs). */
  readonly stepSeconds: number;
  /** Seconds of Gets at 1,000/s first, unmeasured (channels, JIT, the node's block cache). */
  readonly warmupSeconds: number;
  readonly rates?: readonly number[];
  readonly p99LimitMs?: number;
  /** Node flags of the generator processes (`--cpu-prof` ...). */
  readonly generatorExecArgv?: readonly string[];
  /** Run every rate even past a miss (CPU per Get at each rate); the figure is still the highest before the first miss. */
  readonly everyRate?: boolean;
  /** false: no sweep of every key before the Gets (the node's cache then fills during them). */
  readonly sweep?: boolean;
  /** false: no MultiGet and Scan (their figures are then 0). */
  readonly bulk?: boolean;
  /** true: the Gets' sender waits on timers between sends instead of spinning (send-pacing.ts). */
  readonly timerSends?: boolean;
}

/** One open-loop step with what it cost: server and generator CPU microseconds per Get. */
export interface ReadStep extends OpenLoopResult {
  readonly serverCpuUsPerGet: number;
  readonly clientCpuUsPerGet: number;
}

export interface ReadFigures {
  /** Highest open-loop Get rate (req/s) with p99 within the limit; 0 when even the lowest missed. */
  readonly getRate: number;
  readonly getP99Ms: number;
  readonly steps: readonly ReadStep[];
  readonly multiGetKeysPerS: number;
  /** CPU microseconds per MultiGet key answered: the server's, the generators'. */
  readonly multiGetServerCpuUs: number;
  readonly multiGetClientCpuUs: number;
  /** Entries per second of the measured Scans (whole-view Scans back to back for a step's seconds, after the first). */
  readonly scanPerS: number;
  /** CPU microseconds per scanned entry of the measured Scans: the server's, the generator's. */
  readonly scanServerCpuUs: number;
  readonly scanClientCpuUs: number;
  /** Entries of one Scan (the view's keys), and how many Scans were measured. */
  readonly scanEntries: number;
  readonly scans: number;
  /**
   * Entries per second of the first Scan, not counted in scanPerS: the scan path's first run in both processes
   * (why it is slower was not profiled). Reported beside it, as the one a single cold Scan sees.
   */
  readonly scanColdPerS: number;
}

/** One line per step: rate, achieved, p50/p99/max, generator lateness, CPU per Get. */
export function formatStep(s: ReadStep): string {
  return `${s.rate}/s (achieved ${Math.round(s.achieved)}): p50 ${s.p50Ms.toFixed(2)} p99 ${s.p99Ms.toFixed(2)} max ${s.maxMs.toFixed(1)} ms` +
    `${s.errors > 0 ? `, ${s.errors} errors` : ''}; sends late p99 ${s.lateP99Ms.toFixed(2)} ms; CPU/Get server ${Math.round(s.serverCpuUsPerGet)} µs, client ${Math.round(s.clientCpuUsPerGet)} µs`;
}

/** MultiGet and Scan figures with their CPU per key and per entry. */
export function formatBulk(f: ReadFigures): string {
  return `MultiGet of 100: ${Math.round(f.multiGetKeysPerS)} keys/s (CPU/key server ${f.multiGetServerCpuUs.toFixed(2)} µs, clients ${f.multiGetClientCpuUs.toFixed(2)} µs); ` +
    `Scan: ${Math.round(f.scanPerS)} entries/s over ${f.scans} Scans of ${f.scanEntries} (CPU/entry server ${f.scanServerCpuUs.toFixed(2)} µs, client ${f.scanClientCpuUs.toFixed(2)} µs; ` +
    `the first, cold and not counted: ${Math.round(f.scanColdPerS)} entries/s)`;
}

/**
 * Runs the reads against the Serving service at `address` (view `view`,
 * keys kvKey(0..keys-1)); `serverPid` is the process whose CPU is charged
 * to the server. Forks the generators, and stops them at the end.
 */
export async function readFigures(address: string, view: string, keys: number, seed: number, serverPid: number, o: ReadOptions): Promise<ReadFigures> {
  const gens = await LoadGenerators.start(address, view, keys, seed, GENERATORS, o.generatorExecArgv);
  try {
    if (o.sweep !== false) await gens.sweep(keys, 1000);
    const spin = o.timerSends !== true;
    await gens.gets(1000, o.warmupSeconds, GET_SENDERS, spin);
    const limit = o.p99LimitMs ?? 5;
    const steps: ReadStep[] = [];
    let best: ReadStep | undefined;
    let missedOnce = false;
    for (const rate of o.rates ?? GET_RATES) {
      const cpu0 = processCpuSeconds(serverPid);
      const r = await gens.gets(rate, o.stepSeconds, GET_SENDERS, spin);
      const step: ReadStep = { ...r, serverCpuUsPerGet: ((processCpuSeconds(serverPid) - cpu0) * 1e6) / r.sent, clientCpuUsPerGet: (r.generatorCpuS * 1e6) / r.sent };
      steps.push(step);
      if (r.errors > 0 || r.p99Ms > limit) missedOnce = true;
      else if (!missedOnce) best = step;
      if (missedOnce && o.everyRate !== true) break;
    }
    if (o.bulk === false) {
      return {
        getRate: best?.rate ?? 0, getP99Ms: best?.p99Ms ?? Number.NaN, steps,
        multiGetKeysPerS: 0, multiGetServerCpuUs: 0, multiGetClientCpuUs: 0, scanPerS: 0, scanEntries: 0, scans: 0, scanColdPerS: 0, scanServerCpuUs: 0, scanClientCpuUs: 0,
      };
    }
    // MultiGets touch far more blocks than the Gets did: one unmeasured run first, so that the
    // figure is a node's steady state (its hot blocks cached), not its cache filling.
    await gens.multiGetRate(100, 4, o.warmupSeconds);
    let cpu0 = processCpuSeconds(serverPid);
    const mg = await gens.multiGetRate(100, 4, o.stepSeconds);
    const mgServerS = processCpuSeconds(serverPid) - cpu0;
    // As the MultiGets: the first Scan runs the scan path cold in both processes, and went at 0.46-0.63x
    // the rate of the 5 after it, for the node and the floor alike (3 December 19:12 UTC, bench/README.md):
    // it is reported on its own, and the figure is a step's worth of Scans after it.
    const cold = await gens.scanRate(0);
    cpu0 = processCpuSeconds(serverPid);
    const scan = await gens.scanRate(o.stepSeconds);
    const scanServerS = processCpuSeconds(serverPid) - cpu0;
    return {
      getRate: best?.rate ?? 0, getP99Ms: best?.p99Ms ?? Number.NaN, steps,
      multiGetKeysPerS: mg.perSecond, multiGetServerCpuUs: (mgServerS * 1e6) / mg.keys, multiGetClientCpuUs: (mg.cpuS * 1e6) / mg.keys,
      scanPerS: scan.perSecond, scanEntries: scan.entries / scan.scans, scans: scan.scans, scanColdPerS: cold.perSecond, scanServerCpuUs: (scanServerS * 1e6) / scan.entries, scanClientCpuUs: (scan.cpuS * 1e6) / scan.entries,
    };
  } finally {
    gens.close();
  }
}
