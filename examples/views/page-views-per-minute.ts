/**
 * Page views per page and minute over the `clicks` dataset: each key is
 * [page_id, minuteStart], each value a count. The view `npm start` runs:
 * the batch layer rebuilds it every 20 s and the speed layer adds what
 * arrived since.
 *
 *   laminate view deploy examples/views/page-views-per-minute.ts --master HOST:PORT --every 20s
 *   laminate query page-views-per-minute --prefix '["home"]' --master HOST:PORT --json
 *
 * In a project of your own, import from 'laminate' instead.
 */
import { defineView, sum } from '../../src/index.js';

interface Click {
  readonly page_id: string;
  readonly event_type: string;
  readonly event_time: number;
}

export default defineView<Click, number>({
  source: 'clicks',
  map(e, emit) {
    if (e.event_type === 'view') emit(e.page_id, 1);
  },
  merge: sum,
  window: { size: '1m', time: (e) => e.event_time },
});
