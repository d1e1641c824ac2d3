/**
 * Distinct users per page and minute (HyperLogLog, about 0.8% standard
 * error at precision 14), over the `clicks` dataset: each key is
 * [page_id, minuteStart].
 */
import { defineView, hll } from '../../src/index.js';

interface Click {
  readonly page_id: string;
  readonly user_id: string;
  readonly event_time: number;
}

export default defineView<Click, string>({
  source: 'clicks',
  map(e, emit) {
    emit(e.page_id, e.user_id);
  },
  merge: hll(14),
  window: { size: '1m', time: (e) => e.event_time },
});
