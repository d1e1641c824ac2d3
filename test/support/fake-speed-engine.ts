/**
 * A fake speed engine for testing the speed process's shell and the
 * master's side without the real engine: it records every assignment,
 * fetches each assigned view's bundle through the shell (as the real one
 * must), reports its assigned partitions at their handoff cut, and answers
 * Get/Scan from a Map the test fills. Compiled to dist/ with the tests, it
 * is also what `laminate speed` processes load in integration tests
 * (LAMINATE_SPEED_ENGINE=dist/test/support/fake-speed-engine.js); it logs
 * each assignment and its close, for those tests to wait on.
 */
import { LaminateError } from '../../src/common/errors.js';
import type { SpeedAnswer, SpeedAssignment, SpeedGetQuery, SpeedScanQuery, SpeedViewReport } from '../../src/common/speed-shapes.js';
import type { SpeedEngine, SpeedEngineOptions } from '../../src/speed/speed-engine.js';

export interface FakeSpeedEngine extends SpeedEngine {
  readonly options: SpeedEngineOptions;
  /** Every assignment handed to assign(), in order. */
  readonly assignments: SpeedAssignment[];
  /** Local bundle paths the shell gave, by hash. */
  readonly bundles: Map<string, string>;
  /** Per view, key -> accumulator bytes, answered by get and scan. */
  readonly data: Map<string, Map<string, Uint8Array>>;
  readonly closed: boolean;
}

export function createSpeedEngine(options: SpeedEngineOptions): FakeSpeedEngine {
  const assignments: SpeedAssignment[] = [];
  const bundles = new Map<string, string>();
  const data = new Map<string, Map<string, Uint8Array>>();
  let closed = false;
  const latest = (): SpeedAssignment => assignments.at(-1) ?? { views: [] };

  function answer(view: string, cut: readonly number[], entries: SpeedAnswer['entries']): SpeedAnswer {
    const a = latest().views.find((v) => v.view === view);
    if (a === undefined) throw new LaminateError('NOT_FOUND', `This speed process does not run view '${view}'`);
    return { view, entries, partitions: a.partitions.map((p) => ({ partition: p, applied: cut[p] ?? 0, lag: 0, caughtUpAt: 0 })) };
  }

  return {
    options, assignments, bundles, data,
    get closed() {
      return closed;
    },
    async assign(a) {
      if (closed) throw new LaminateError('FAILED_PRECONDITION', 'assign after close');
      for (const v of a.views) bundles.set(v.bundleHash, await options.bundlePath(v.bundleHash));
      assignments.push(a);
      options.log.info({ views: a.views.map((v) => ({ view: v.view, partitions: v.partitions, handoffCut: v.handoffCut, cuts: v.cuts })) }, 'fake engine assigned');
    },
    report(): SpeedViewReport[] {
      return latest().views.map((v) => ({
        view: v.view, definitionHash: v.definitionHash,
        partitions: v.partitions.map((p) => {
          const at = v.handoffCut[p] ?? 0;
          return { partition: p, applied: at, start: at, end: at, caughtUpAt: 0 };
        }),
      }));
    },
    get(q: SpeedGetQuery) {
      const m = data.get(q.view) ?? new Map<string, Uint8Array>();
      return Promise.resolve(answer(q.view, q.cut, q.keys.flatMap((key) => {
        const acc = m.get(key);
        return acc === undefined ? [] : [{ key, acc }];
      })));
    },
    scan(q: SpeedScanQuery) {
      const keys = [...(data.get(q.view) ?? new Map<string, Uint8Array>())].filter(([k]) =>
        (q.prefix === undefined || k.startsWith(q.prefix)) && (q.from === undefined || k >= q.from) && (q.to === undefined || k < q.to))
        .sort((x, y) => (x[0] < y[0] ? -1 : 1)).slice(0, q.limit ?? Infinity);
      return Promise.resolve(answer(q.view, q.cut, keys.map(([key, acc]) => ({ key, acc }))));
    },
    close() {
      if (!closed) options.log.info('fake engine closed');
      closed = true;
      return Promise.resolve();
    },
  };
}
