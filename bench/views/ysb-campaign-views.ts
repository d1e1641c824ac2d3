/**
 * The streaming benchmark's view (the Yahoo Streaming Benchmark's query):
 * view events per campaign and 10-second event-time window, over the
 * `ysb` dataset. The ad-to-campaign join happens in map, from the table in
 * ysb-campaigns.ts, which the bundle carries with the view. Keys are
 * [campaign_id, windowStart].
 */
import { count, defineView } from '../../src/index.js';
import { CAMPAIGN_OF_AD, YSB_WINDOW_MS } from '../streaming/ysb-campaigns.js';
import type { YsbEvent } from '../streaming/ysb-generator.js';

export default defineView<YsbEvent, string>({
  source: 'ysb',
  map(e, emit) {
    if (e.event_type !== 'view') return;
    const campaign = CAMPAIGN_OF_AD.get(e.ad_id);
    if (campaign !== undefined) emit(campaign, e.ad_id);
  },
  merge: count,
  window: { size: YSB_WINDOW_MS, time: (e) => e.event_time },
});
