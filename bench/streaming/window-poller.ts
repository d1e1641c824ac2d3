/**
 * Window latency, as YSB measures it: for each 10 s window of event time,
 * when its final count first became visible in a query, minus the window's
 * end. Every 100 ms it asks for the 100 campaigns' counts of the oldest
 * windows that have ended and not yet been seen final (a MultiGet each); a
 * window is final in an answer when every campaign found there says
 * `final` (issue 9: the watermark has passed the window's end). The
 * resolution is the polling period plus the query's own time.
 */
import type { LaminateClient } from '../../src/client/laminate-client.js';
import { sleep } from './sleep.js';
import { ysbKey, type MergedCoverage, type MergedKeyResult } from './merged-answers.js';
import { CAMPAIGNS, YSB_WINDOW_MS } from './ysb-campaigns.js';

/** Windows asked for per poll. */
const PER_POLL = 3;
const POLL_MS = 100;

export interface FinalAnswer {
  readonly atMs: number;
  readonly coverage: MergedCoverage;
  readonly entries: ReadonlyArray<readonly [string, number | undefined]>;
}

/** Whether an answer shows its window final: something found, and every found entry final. */
export function shownFinal(results: readonly MergedKeyResult[]): boolean {
  return results.some((r) => r.found) && results.every((r) => !r.found || r.final === true);
}

export class WindowPoller {
  private readonly waiting: number[] = [];
  private readonly latency = new Map<number, number>();

  /** Windows [w, w + 10 s) from the one holding `firstMs` to the last ending by `lastEndMs`. */
  /** `guard` runs each query, counting a failed one instead of ending the run. */
  constructor(private readonly client: LaminateClient, private readonly view: string, firstMs: number, lastEndMs: number,
    private readonly guard: (what: string, q: () => Promise<void>) => Promise<void> = (_w, q) => q()) {
    for (let w = firstMs - (firstMs % YSB_WINDOW_MS); w + YSB_WINDOW_MS <= lastEndMs; w += YSB_WINDOW_MS) this.waiting.push(w);
  }

  /** Polls until every window was seen final or the signal aborts; hands each final answer to onFinal. */
  async run(signal: AbortSignal, onFinal: (a: FinalAnswer) => void): Promise<void> {
    while (!signal.aborted && this.waiting.length > 0) {
      const ended = this.waiting.filter((w) => w + YSB_WINDOW_MS <= Date.now()).slice(0, PER_POLL);
      for (const w of ended) {
        await this.guard('a window poll', async () => {
          const answer = await this.client.multiGet(this.view, CAMPAIGNS.map((c) => [c, w]));
          const atMs = Date.now();
          const results = answer.results as readonly MergedKeyResult[];
          if (!shownFinal(results)) return;
          this.latency.set(w, atMs - (w + YSB_WINDOW_MS));
          this.waiting.splice(this.waiting.indexOf(w), 1);
          onFinal({ atMs, coverage: answer.coverage as MergedCoverage, entries: results.map((r) => [ysbKey(r.key), r.found ? (r.value as number) : undefined] as const) });
        });
      }
      await sleep(POLL_MS, signal);
    }
  }

  /** Latency of every window seen final, ms, in window order. */
  latencies(): number[] {
    return [...this.latency.entries()].sort(([a], [b]) => a - b).map(([, ms]) => ms);
  }

  /** Windows never seen final. */
  pending(): number {
    return this.waiting.length;
  }
}
