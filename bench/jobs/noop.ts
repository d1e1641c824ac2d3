/** A job that does nothing: the tasks and latency benchmarks time the engine alone. */
import { defineJob } from '../../src/api/job.js';

export default defineJob<string>({
  map() {},
  reduce() {},
});
