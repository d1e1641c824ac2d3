/**
 * A fake speed process as a process of its own, so that a test can SIGKILL
 * it: `node dist/test/support/fake-speed-main.js STATE_JSON`, where the
 * state is a FakeSpeedState. Prints `fake speed process listening on
 * HOST:PORT` once it answers, and runs until killed.
 */
import { FakeSpeed } from './fake-speed.js';

export interface FakeSpeedState {
  readonly nodeId: string;
  readonly partitions: number[];
  readonly cut: number[];
  /** Applied offset per partition. */
  readonly applied: Record<number, number>;
  /** Engine keys and their speed accumulators. */
  readonly accs: Array<[string, unknown]>;
  readonly watermark?: number;
}

const state = JSON.parse(process.argv[2] ?? '{}') as FakeSpeedState;
const fake = await new FakeSpeed({
  nodeId: state.nodeId, partitions: state.partitions, cut: state.cut, ...(state.watermark !== undefined ? { watermark: state.watermark } : {}),
}).start();
for (const [k, v] of state.accs) fake.accs.set(k, v);
fake.advance(state.applied);
process.stdout.write(`fake speed process listening on ${fake.address}\n`);
