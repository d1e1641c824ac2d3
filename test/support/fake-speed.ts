/**
 * A fake speed process for serving-side tests: the real Speed service
 * (serveSpeed) answering from state the test controls. It folds nothing:
 * the test says which partitions it holds, from which cut, up to which
 * applied offsets, and each key's speed accumulator. A read from another
 * cut than its own gets those partitions uncovered, as the engine does
 * ('not at this cut'); a Get with atLeast waits (up to its waitMs) until
 * advance() brings every partition there.
 */
import { pack, unpack } from 'msgpackr';
import type { SpeedAnswer, SpeedEntry, SpeedGetQuery, SpeedLocation, SpeedScanQuery } from '../../src/common/speed-shapes.js';
import type { BoundServer } from '../../src/protocol/master-rpc.js';
import { serveSpeed } from '../../src/protocol/speed-rpc.js';

export interface FakeSpeedOptions {
  readonly nodeId: string;
  /** The source partitions it folds. */
  readonly partitions: readonly number[];
  /** The cut its state starts from (every source partition's offset). */
  readonly cut: readonly number[];
  /** A custom monoid's plus, run for Gets that carry a base; absent: base is ignored. */
  readonly plus?: (base: unknown, acc: unknown) => unknown;
  readonly watermark?: number;
}

/** UTF-8 byte order, as the engine orders keys. */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

export class FakeSpeed {
  /** Each key's speed accumulator (decoded); the test sets them. */
  readonly accs = new Map<string, unknown>();
  /** Per partition: applied offset (starts at the cut), lag, caughtUpAt, and an uncovered reason if set. */
  readonly applied = new Map<number, number>();
  lag = 0;
  caughtUpAt = 1;
  readonly uncovered = new Map<number, string>();
  watermark: number | undefined;
  /** Every query received, in order. */
  readonly queries: Array<SpeedGetQuery | SpeedScanQuery> = [];
  /** Called (and cleared) when a Get with atLeast starts waiting. */
  onWait: (() => void) | undefined;
  /** Called before each answer is made (to change the state between two reads). */
  beforeAnswer: ((q: SpeedGetQuery | SpeedScanQuery) => void) | undefined;
  private waiters = new Set<() => void>();
  private server: BoundServer | undefined;

  constructor(readonly options: FakeSpeedOptions) {
    for (const p of options.partitions) this.applied.set(p, options.cut[p]!);
    this.watermark = options.watermark;
  }

  async start(): Promise<this> {
    this.server = await serveSpeed({ get: (q) => this.get(q), scan: (q) => Promise.resolve(this.scan(q)) }, '127.0.0.1', 0);
    return this;
  }

  get address(): string {
    return `127.0.0.1:${this.server!.port}`;
  }

  get location(): SpeedLocation {
    return { nodeId: this.options.nodeId, address: this.address, partitions: this.options.partitions };
  }

  /** Moves partitions' applied offsets on, and wakes the Gets waiting for them. */
  advance(to: Record<number, number>): void {
    for (const [p, a] of Object.entries(to)) this.applied.set(Number(p), a);
    for (const w of [...this.waiters]) w();
  }

  async stop(): Promise<void> {
    await this.server?.close(0);
  }

  private reached(atLeast: readonly number[]): boolean {
    return this.options.partitions.every((p) => this.uncovered.has(p) || (this.applied.get(p) ?? 0) >= (atLeast[p] ?? 0));
  }

  private async get(q: SpeedGetQuery): Promise<SpeedAnswer> {
    this.queries.push(q);
    if (q.atLeast !== undefined && !this.reached(q.atLeast)) {
      const atLeast = q.atLeast;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, q.waitMs ?? 0);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        const wake = (): void => {
          if (!this.reached(atLeast)) return;
          this.waiters.delete(wake);
          done();
        };
        this.waiters.add(wake);
        const w = this.onWait;
        this.onWait = undefined;
        w?.();
      });
    }
    this.beforeAnswer?.(q);
    const entries: SpeedEntry[] = [];
    const seen = new Set<string>();
    q.keys.forEach((key, i) => {
      // As the engine (speed-read.ts readKeys): a repeated key answered once, with its first occurrence's base.
      if (!this.accs.has(key) || seen.has(key)) return;
      seen.add(key);
      const acc = this.accs.get(key);
      const base = q.base?.[i];
      const merged = this.options.plus !== undefined && base !== undefined && base.length > 0 ? this.options.plus(unpack(base), acc) : acc;
      entries.push({ key, acc: pack(merged) });
    });
    return this.answer(q, entries);
  }

  private scan(q: SpeedScanQuery): SpeedAnswer {
    this.queries.push(q);
    this.beforeAnswer?.(q);
    const keys = [...this.accs.keys()].filter((k) =>
      (q.prefix === undefined || k.startsWith(q.prefix)) && (q.from === undefined || byteOrder(k, q.from) >= 0) && (q.to === undefined || byteOrder(k, q.to) < 0));
    keys.sort(byteOrder);
    return this.answer(q, keys.slice(0, q.limit ?? keys.length).map((key) => ({ key, acc: pack(this.accs.get(key)) })));
  }

  private answer(q: SpeedGetQuery | SpeedScanQuery, entries: SpeedEntry[]): SpeedAnswer {
    const partitions = this.options.partitions.map((p) => {
      const why = this.uncovered.get(p) ?? (q.cut[p] !== this.options.cut[p] ? 'not at this cut' : undefined);
      return why === undefined
        ? { partition: p, applied: this.applied.get(p)!, lag: this.lag, caughtUpAt: this.caughtUpAt }
        : { partition: p, applied: q.cut[p] ?? 0, lag: this.lag, caughtUpAt: this.caughtUpAt, uncovered: why };
    });
    return { view: q.view, partitions, entries, ...(this.watermark !== undefined ? { watermark: this.watermark } : {}) };
  }
}
