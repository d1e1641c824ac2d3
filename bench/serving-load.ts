/**
 * The serving benchmark's load: G generator processes (serving-load-gen.ts),
 * forked once per contender, each with its own channel to the node and its
 * own seeded zipfian keys. An open-loop step gives each 1/G of the rate,
 * interleaved (generator g sends at phase g/G of the interval), from one
 * start time; their latency histograms (timed from the intended send) are
 * merged here. MultiGet loops are split among them the same way; a Scan
 * runs in the first.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as hdr from 'hdr-histogram-js';
import type { GeneratorCommand, GeneratorReply } from './serving-load-gen.js';

const GENERATOR = new URL('./serving-load-gen.js', import.meta.url);

/** One open-loop step, merged over the generators. */
export interface OpenLoopResult {
  readonly rate: number;
  readonly sent: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  /** Requests per second over the step (the slowest generator's wall time, answers included). */
  readonly achieved: number;
  /** How late the generators' sends left their intended times: the worst p99 and max (a generator that cannot keep up shows here). */
  readonly lateP99Ms: number;
  readonly lateMaxMs: number;
  /** CPU seconds the generators spent in the step, all together. */
  readonly generatorCpuS: number;
}

type Reply<K extends GeneratorReply['kind']> = Extract<GeneratorReply, { kind: K }>;

/** A set of forked load generators against one serving address. Call close() when done. */
export class LoadGenerators {
  private constructor(private readonly procs: readonly ChildProcess[]) {}

  /**
   * Forks `count` generators for `view` at `address` (keys kvKey(0..keys-1)), resolved once each has answered a first Get.
   * `execArgv`: node flags of the generators (`--cpu-prof` ...).
   */
  static async start(address: string, view: string, keys: number, seed: number, count: number, execArgv: readonly string[] = []): Promise<LoadGenerators> {
    const procs = Array.from({ length: count }, (_, g) => fork(GENERATOR, [address, view, String(keys), String(seed + g)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...execArgv] }));
    const gens = new LoadGenerators(procs);
    try {
      await Promise.all(procs.map((p) => gens.reply(p, 'ready')));
    } catch (err) {
      gens.close();
      throw err;
    }
    return gens;
  }

  /** The next reply of `p`, which must be of `kind` (a generator that failed or exited rejects). */
  private async reply<K extends GeneratorReply['kind']>(p: ChildProcess, kind: K): Promise<Reply<K>> {
    const ac = new AbortController();
    const exited = once(p, 'exit', { signal: ac.signal }).then(([code]) => {
      throw new Error(`a load generator exited (${String(code)}) before it answered '${kind}'`);
    });
    try {
      const [m] = (await Promise.race([once(p, 'message', { signal: ac.signal }), exited])) as [GeneratorReply];
      if (m.kind === 'failed') throw new Error(`a load generator failed: ${m.message}`);
      if (m.kind !== kind) throw new Error(`Expected a load generator's '${kind}' reply, got '${m.kind}'`);
      return m as Reply<K>;
    } finally {
      ac.abort();
      exited.catch(() => undefined);
    }
  }

  private command(p: ChildProcess, c: GeneratorCommand): void {
    p.send(c);
  }

  /**
   * Gets in open loop at `rate` per second in all for `seconds`, starting 100 ms from now, from the first
   * `senders` generators (default all; the others idle); every request timed from its intended send;
   * `spin`: the senders spin to send on time rather than sleep on timers (send-pacing.ts).
   */
  async gets(rate: number, seconds: number, senders = this.procs.length, spin = true): Promise<OpenLoopResult> {
    const procs = this.procs.slice(0, Math.max(1, senders));
    const n = procs.length;
    const startAt = Date.now() + 100;
    const replies = await Promise.all(procs.map((p, g) => {
      const r = this.reply(p, 'gets');
      this.command(p, { kind: 'gets', rate: rate / n, seconds, startAt, phase: g / n, spin });
      return r;
    }));
    const merged = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
    for (const r of replies) {
      const h = hdr.decodeFromCompressedBase64(r.histogram);
      merged.add(h);
      h.destroy();
    }
    const q = (p: number): number => merged.getValueAtPercentile(p) / 1000;
    const sent = replies.reduce((s, r) => s + r.sent, 0);
    const result: OpenLoopResult = {
      rate, sent, errors: replies.reduce((s, r) => s + r.errors, 0),
      p50Ms: q(50), p99Ms: q(99), p999Ms: q(99.9), maxMs: merged.maxValue / 1000,
      achieved: sent / Math.max(...replies.map((r) => r.wallS)),
      lateP99Ms: Math.max(...replies.map((r) => r.lateP99Ms)), lateMaxMs: Math.max(...replies.map((r) => r.lateMaxMs)),
      generatorCpuS: replies.reduce((s, r) => s + r.cpuS, 0),
    };
    merged.destroy();
    return result;
  }

  /** MultiGets of `batch` keys from `loops` closed loops in all (spread over the generators) for `seconds`: keys answered, per second, and the generators' CPU seconds. */
  async multiGetRate(batch: number, loops: number, seconds: number): Promise<{ keys: number; perSecond: number; cpuS: number }> {
    const n = this.procs.length;
    const replies = await Promise.all(this.procs.map((p, g) => {
      const r = this.reply(p, 'multiGets');
      this.command(p, { kind: 'multiGets', batch, loops: Math.floor(loops / n) + (g < loops % n ? 1 : 0), seconds });
      return r;
    }));
    const keys = replies.reduce((s, r) => s + r.keys, 0);
    return { keys, perSecond: keys / Math.max(...replies.map((r) => r.wallS)), cpuS: replies.reduce((s, r) => s + r.cpuS, 0) };
  }

  /**
   * Every key kvKey(0..keys-1) read once by MultiGets of `batch` keys, the
   * key range split among the generators: a warm-up that brings the whole
   * view into the node's block cache. Resolves with the keys found (all of them, for a whole view).
   */
  async sweep(keys: number, batch: number): Promise<number> {
    const n = this.procs.length;
    const replies = await Promise.all(this.procs.map((p, g) => {
      const r = this.reply(p, 'sweep');
      this.command(p, { kind: 'sweep', from: Math.floor((keys * g) / n), to: Math.floor((keys * (g + 1)) / n), batch });
      return r;
    }));
    return replies.reduce((s, r) => s + r.keys, 0);
  }

  /**
   * Scans of the whole view from the first generator, one after another
   * until `seconds` have passed (one Scan when 0): entries, scans, entries
   * per second, and the generator's CPU seconds.
   */
  async scanRate(seconds: number): Promise<{ entries: number; scans: number; perSecond: number; cpuS: number }> {
    const p = this.procs[0]!;
    const r = this.reply(p, 'scan');
    this.command(p, { kind: 'scan', seconds });
    const s = await r;
    return { entries: s.entries, scans: s.scans, perSecond: s.entries / s.wallS, cpuS: s.cpuS };
  }

  /** Asks every generator to exit, and kills any still running after 5 s. Safe to call twice. */
  close(): void {
    for (const p of this.procs) {
      if (p.connected) p.send({ kind: 'exit' } satisfies GeneratorCommand);
      setTimeout(() => { if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); }, 5000).unref();
    }
  }
}
