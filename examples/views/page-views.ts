/**
 * Page views: how often each page was viewed, over the YSB-like events of a
 * `clicks` dataset ({ page_id, event_type, event_time, ... }). Deploy and
 * build it with
 *
 *   laminate view deploy examples/views/page-views.ts --master HOST:PORT
 *   laminate view build page-views --master HOST:PORT --wait
 *
 * In a project of your own, import from 'laminate' instead.
 */
import { defineView, sum } from '../../src/index.js';

interface Click {
  readonly page_id: string;
  readonly event_type: string;
}

export default defineView<Click, number>({
  source: 'clicks',
  map(e, emit) {
    if (e.event_type === 'view') emit(e.page_id, 1);
  },
  merge: sum,
});
