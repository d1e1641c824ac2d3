/** The serving benchmark's view: the largest value of each key. */
import { defineView, max } from '../../src/index.js';
import type { KvRecord } from '../data-gen/kv-records.js';

export default defineView<KvRecord, string>({
  source: 'kv',
  map(r, emit) {
    emit(r.key, r.value);
  },
  merge: max,
});
