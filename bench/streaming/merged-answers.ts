/**
 * Merged answers as issue 9 describes them, seen from the client: a
 * coverage that gains the speed side (`speed`: per-partition applied offsets
 * A; `lag`; `freshnessMs`; `uncovered`; `watermark`), entries of windowed
 * views with `final`, and the `batchOnly` / `atLeast` query options. They
 * were written before the client's own types had these fields (main has them
 * since 5c748ad) and agree with them; a build without a speed process
 * answers without them (batch-only), which the benchmark handles too.
 */
import type { Coverage, KeyResult, QueryOptions, ScanEntry } from '../../src/client/index.js';
import type { KeyElement } from '../../src/common/view-key.js';
import { CAMPAIGN_OF_AD, YSB_WINDOW_MS } from './ysb-campaigns.js';
import type { ReferenceFold } from '../../test/integration/speed-reference.js';
import type { YsbEvent } from './ysb-generator.js';

export interface MergedCoverage extends Coverage {
  readonly speed?: readonly number[];
  readonly lag?: number;
  readonly freshnessMs?: number;
  readonly uncovered?: ReadonlyArray<{ readonly partition: number; readonly reason: string }>;
  readonly watermark?: number;
}

export type MergedKeyResult = KeyResult & { readonly final?: boolean };
export type MergedScanEntry = ScanEntry & { readonly final?: boolean };
export type MergedQueryOptions = QueryOptions & { readonly batchOnly?: boolean; readonly atLeast?: readonly number[] };

/** The reference's key of a view entry [campaign, windowStart]: `campaign|windowStart`. */
export function ysbKey(key: string | KeyElement[]): string {
  if (!Array.isArray(key) || key.length !== 2) throw new Error(`Expected a key [campaign, windowStart], got ${JSON.stringify(key)}`);
  return `${String(key[0])}|${String(key[1])}`;
}

/**
 * The benchmark's query folded by hand for the reference: view events per
 * (campaign, 10 s window of event time), the campaign from the same table
 * the view ships with. No engine code.
 */
export const ysbReferenceFold: ReferenceFold<number> = {
  add(state, record) {
    const e = record as YsbEvent;
    if (e.event_type !== 'view') return;
    const campaign = CAMPAIGN_OF_AD.get(e.ad_id);
    if (campaign === undefined) return;
    const key = `${campaign}|${e.event_time - (e.event_time % YSB_WINDOW_MS)}`;
    state.set(key, (state.get(key) ?? 0) + 1);
  },
  combine: (a, b) => a + b,
};
