/**
 * Append rates of datasets for the console: the master's dataset store keeps
 * totals (records and bytes per partition), not rates, so the console samples
 * the totals every few seconds and keeps the last minutes of samples, as
 * Flink's dashboard samples its metrics for its charts. Pure: the caller
 * passes the time and the totals.
 *
 * Who calls it: the console's sampling timer (sample, every SAMPLE_EVERY_MS)
 * and its routes (rates, history). A dataset that disappears loses its
 * history at the next sample; one whose totals went down (deleted and made
 * again) starts a new history.
 */

/** How often the console samples the totals. */
export const SAMPLE_EVERY_MS = 5000;
/** How much history is kept: 15 minutes. */
export const HISTORY_MS = 15 * 60_000;
/** The window the rates in lists are over. */
export const RATE_WINDOW_MS = 60_000;

export interface TotalsSample {
  readonly at: number;
  readonly records: number;
  readonly bytes: number;
}

export interface Rates {
  readonly recordsPerSec: number;
  readonly bytesPerSec: number;
}

export class DatasetRates {
  private readonly samples = new Map<string, TotalsSample[]>();

  /** Adds one sample per dataset; forgets datasets no longer listed and samples older than HISTORY_MS. */
  sample(at: number, totals: ReadonlyMap<string, { readonly records: number; readonly bytes: number }>): void {
    for (const name of this.samples.keys()) if (!totals.has(name)) this.samples.delete(name);
    for (const [name, t] of totals) {
      let list = this.samples.get(name);
      const last = list?.[list.length - 1];
      // Totals only grow; less than before means the dataset was made again.
      if (list === undefined || (last !== undefined && (t.records < last.records || t.bytes < last.bytes))) {
        list = [];
        this.samples.set(name, list);
      }
      list.push({ at, records: t.records, bytes: t.bytes });
      while (list.length > 0 && list[0]!.at < at - HISTORY_MS) list.shift();
    }
  }

  /** The samples kept for `name`, oldest first (empty when none yet). */
  history(name: string): readonly TotalsSample[] {
    return this.samples.get(name) ?? [];
  }

  /**
   * The rate over the newest RATE_WINDOW_MS of samples: from the oldest sample
   * inside the window (or the one just before it) to the newest. Zero until two
   * samples exist.
   */
  rates(name: string): Rates {
    const list = this.samples.get(name) ?? [];
    const newest = list[list.length - 1];
    if (newest === undefined || list.length < 2) return { recordsPerSec: 0, bytesPerSec: 0 };
    let from = list[0]!;
    for (let i = list.length - 2; i >= 0; i--) {
      from = list[i]!;
      if (from.at <= newest.at - RATE_WINDOW_MS) break;
    }
    const seconds = (newest.at - from.at) / 1000;
    if (seconds <= 0) return { recordsPerSec: 0, bytesPerSec: 0 };
    return { recordsPerSec: (newest.records - from.records) / seconds, bytesPerSec: (newest.bytes - from.bytes) / seconds };
  }
}
