/**
 * The speed engine: one ViewThread per assigned view, started from the
 * view's bundle, told its partitions, cuts and handoff cut at every
 * assignment, and asked the serving nodes' reads. See speed-engine.ts for
 * the contract and the speed-spec for what the threads do.
 *
 * Assignments are applied one at a time, in the order given (the shell may
 * call assign again before a slow one — fetching a bundle — ended). A view
 * whose bundle cannot be fetched is left out (logged) and tried again at
 * the next assignment; the others run.
 */
import { errorMessage, LaminateError } from '../common/errors.js';
import type { SpeedAnswer, SpeedAssignment, SpeedGetQuery, SpeedScanQuery, SpeedViewAssignment, SpeedViewReport } from '../common/speed-shapes.js';
import type { SpeedEngine, SpeedEngineOptions } from './speed-engine.js';
import { removeOtherDefinitions } from './checkpoint-store.js';
import { ViewThread } from './view-thread.js';
import type { ViewThreadAssignment } from './view-thread-messages.js';

/** Test and tuning knobs beyond SpeedEngineOptions. */
export interface SpeedEngineTuning {
  /** Roll a pane after this long of folding (default 1000 ms). */
  readonly paneMs?: number;
  /** Closed segments compact after this long (default 5000 ms). */
  readonly settleMs?: number;
}

function threadAssignment(a: SpeedViewAssignment): ViewThreadAssignment {
  return { partitions: [...a.partitions], cuts: a.cuts.map((c) => [...c]), handoffCut: [...a.handoffCut] };
}

/** Creates an engine; threads start at the first assign. */
export function createSpeedEngine(options: SpeedEngineOptions, tuning: SpeedEngineTuning = {}): SpeedEngine {
  const log = options.log.child({ component: 'speed-engine' });
  const threads = new Map<string, ViewThread>();
  let queue: Promise<void> = Promise.resolve();
  let closed: Promise<void> | undefined;

  async function applyAssignment(assignment: SpeedAssignment): Promise<void> {
    if (closed !== undefined) return;
    const wanted = new Map(assignment.views.map((v) => [v.view, v]));
    for (const [name, thread] of threads) {
      const a = wanted.get(name);
      if (a === undefined || a.definitionHash !== thread.definitionHash) {
        threads.delete(name);
        log.info({ view: name, reason: a === undefined ? 'no longer assigned' : 'redeployed' }, 'stopping a view after its last checkpoints');
        await thread.close();
      }
    }
    for (const a of assignment.views) {
      const existing = threads.get(a.view);
      if (existing !== undefined) {
        existing.assign(threadAssignment(a));
        continue;
      }
      let bundlePath: string;
      try {
        bundlePath = await options.bundlePath(a.bundleHash);
      } catch (err) {
        // The other views start regardless; the next assignment (a heartbeat later) tries this one again.
        log.error({ view: a.view, bundleHash: a.bundleHash, err: errorMessage(err) }, "the view's bundle could not be fetched: not started");
        continue;
      }
      if (closed !== undefined) return;
      log.info({ view: a.view, partitions: a.partitions, source: a.source }, 'starting a view');
      threads.set(a.view, new ViewThread({
        view: a.view, definitionHash: a.definitionHash, source: a.source, bundlePath,
        masterAddress: options.masterAddress, checkpointDir: options.checkpointDir,
        checkpointIntervalMs: options.checkpointIntervalMs, idleTimeoutMs: options.idleTimeoutMs,
        ...(tuning.paneMs !== undefined ? { paneMs: tuning.paneMs } : {}),
        ...(tuning.settleMs !== undefined ? { settleMs: tuning.settleMs } : {}),
        ...(options.faultKillAt !== undefined ? { faultKillAt: options.faultKillAt } : {}),
      }, threadAssignment(a), options.viewMemoryMb, options.log));
      // Checkpoints of the view's earlier definitions are never read again (checkpoint-store.ts).
      void removeOtherDefinitions(options.checkpointDir, a.view, a.definitionHash).then(
        (removed) => { if (removed.length > 0) log.info({ view: a.view, definitions: removed }, "removed the checkpoints of the view's earlier definitions"); },
        (err: unknown) => { log.warn({ view: a.view, err: errorMessage(err) }, "could not remove the checkpoints of the view's earlier definitions"); },
      );
    }
  }

  function threadOf(view: string): ViewThread {
    const t = threads.get(view);
    if (t === undefined) throw new LaminateError('NOT_FOUND', `Expected a view this speed process folds, got '${view}' (it folds ${threads.size === 0 ? 'none' : [...threads.keys()].map((v) => `'${v}'`).join(', ')})`, { ids: { view } });
    return t;
  }

  return {
    assign(assignment) {
      const run = queue.then(() => applyAssignment(assignment));
      queue = run.catch(() => {});
      return run;
    },
    report(): SpeedViewReport[] {
      return [...threads.values()].map((t) => t.report());
    },
    get(q: SpeedGetQuery): Promise<SpeedAnswer> {
      try {
        const t = threadOf(q.view);
        return Promise.resolve(otherDefinition(t, q) ?? t.get(q));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    scan(q: SpeedScanQuery): Promise<SpeedAnswer> {
      try {
        const t = threadOf(q.view);
        return Promise.resolve(otherDefinition(t, q) ?? t.scan(q));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    close() {
      closed ??= (async () => {
        await queue;
        const all = [...threads.values()];
        threads.clear();
        await Promise.all(all.map((t) => t.close()));
      })();
      return closed;
    },
  };
}

/**
 * The answer to a read merging with a batch version built from another
 * definition than the one this process folds (the view was redeployed and
 * the new definition's first version is not current yet, or a read pinned
 * to an older version): every partition uncovered, since a fold of another
 * map would be merged with it (DESIGN rule 2: refused, never answered).
 * Undefined when the definitions agree or the read does not say.
 */
function otherDefinition(t: ViewThread, q: SpeedGetQuery | SpeedScanQuery): SpeedAnswer | undefined {
  if (q.definitionHash === undefined || q.definitionHash === t.definitionHash) return undefined;
  const reason = `another definition: the batch version was built with ${q.definitionHash.slice(0, 12)}, this speed process folds ${t.definitionHash.slice(0, 12)}`;
  return {
    view: q.view,
    partitions: t.report().partitions.map((p) => ({ partition: p.partition, applied: q.cut[p.partition] ?? 0, lag: 0, caughtUpAt: 0, uncovered: reason })),
    entries: [],
  };
}
