/**
 * The speed process's shell against a stub master (the real Views service
 * on loopback, with scripted handlers) and a fake engine: options, the
 * folder's id, assignments handed over one at a time with the
 * latest winning while heartbeats go on, an engine that fails an assign,
 * a master that refuses heartbeats, and the order of a graceful stop.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import { silentLogger } from '../../../src/common/logger.js';
import type { SpeedAssignment, SpeedHeartbeat } from '../../../src/common/speed-shapes.js';
import { newServer } from '../../../src/protocol/flow-control.js';
import { bindServer, type BoundServer } from '../../../src/protocol/master-rpc.js';
import { viewsService, type ViewHandlers } from '../../../src/protocol/view-rpc.js';
import type { SpeedEngine } from '../../../src/speed/speed-engine.js';
import { resolveSpeedNodeOptions, SpeedNode } from '../../../src/speed/speed-node.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('laminate-speed-node-');
const unused = (): never => { throw new Error('not called'); };
const VIEWS: ViewHandlers = {
  deployView: unused, buildView: unused, listViews: unused, viewVersions: unused, rollbackView: unused, diffView: unused, listServingNodes: unused, servingHeartbeat: unused,
};

/** A stub master: answers each speed heartbeat with `answer(n)` (n counts from 1), records them. */
async function stubMaster(answer: (n: number) => SpeedAssignment | Error): Promise<{ address: string; beats: Array<[SpeedHeartbeat, boolean]>; server: BoundServer }> {
  const beats: Array<[SpeedHeartbeat, boolean]> = [];
  const s = newServer();
  viewsService(VIEWS, {
    speedHeartbeat(hb, leaving) {
      beats.push([hb, leaving]);
      const a = leaving ? { views: [] } : answer(beats.filter(([, l]) => !l).length);
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
    },
    listSpeedNodes: unused,
    forgetServingNode: unused,
  })(s);
  const server = await bindServer(s, '127.0.0.1', 0);
  return { address: `127.0.0.1:${server.port}`, beats, server };
}

const assignment = (n: number): SpeedAssignment => ({
  views: [{ view: 'pages', source: 'clicks', bundleHash: 'b'.repeat(64), definitionHash: 'd', merge: 'sum', partitions: [n], cuts: [], handoffCut: [0] }],
});

/** Resolves once `pred` holds, checked whenever the event loop turns (the shell's work is all timers and RPCs). */
async function when(what: string, pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const toStop: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const s of toStop.splice(0).reverse()) await s();
});

describe('the speed process\'s options', () => {
  it('fills the defaults and names a bad value', () => {
    const o = resolveSpeedNodeOptions({ master: 'm:1', dataDir: '/tmp/x' });
    expect(o).toMatchObject({ port: 0, host: '127.0.0.1', checkpointDir: '/tmp/x/checkpoints', viewMemoryMb: 512, checkpointIntervalMs: 1000, heartbeatIntervalMs: 1000 });
    expect(resolveSpeedNodeOptions({ master: 'm:1', dataDir: '/tmp/x', checkpointDir: '/shared/ck' }).checkpointDir).toBe('/shared/ck');
    expect(() => resolveSpeedNodeOptions({ master: 'm:1', dataDir: '/tmp/x', port: 70_000 })).toThrow(/Expected --port to be 0..65535, got 70000/);
    expect(() => resolveSpeedNodeOptions({ master: 'm:1', dataDir: '/tmp/x', viewMemoryMb: 0 })).toThrow(/Expected --view-memory to be a positive integer, got 0/);
  });
});

describe('the speed process\'s shell', () => {
  it('hands the latest assignment to the engine one at a time while heartbeats go on, retries a failed assign, and stops in order', async () => {
    const m = await stubMaster((n) => (n === 2 ? new LaminateError('UNAVAILABLE', 'master starting') : assignment(n)));
    toStop.push(() => m.server.close());
    const events: string[] = [];
    const assigned: number[] = [];
    let release: (() => void) | undefined;
    let running = 0;
    const engine: SpeedEngine = {
      async assign(a) {
        expect(running).toBe(0);
        running++;
        const p = a.views[0]!.partitions[0]!;
        assigned.push(p);
        try {
          // The first assign blocks until released: heartbeats must go on meanwhile.
          if (assigned.length === 1) await new Promise<void>((r) => { release = r; });
          if (assigned.length === 2) throw new Error('engine hiccup');
        } finally {
          running--;
        }
      },
      report: () => [{ view: 'pages', definitionHash: 'd', partitions: [{ partition: assigned.at(-1) ?? 0, applied: 1, start: 0, end: 1, caughtUpAt: 0 }] }],
      get: unused, scan: unused,
      close() {
        events.push('engine closed');
        return Promise.resolve();
      },
    };
    const dataDir = join(await tempDir(), 'speed');
    const node = new SpeedNode({ master: m.address, dataDir, heartbeatIntervalMs: 10, logger: silentLogger(), engineFactory: () => engine });
    await node.start();
    toStop.push(() => node.stop());
    expect(node.nodeId).toMatch(/^speed-[0-9a-f]{12}$/);
    await when('several heartbeats during the blocked assign', () => m.beats.length >= 6 && release !== undefined);
    expect(assigned).toEqual([1]);
    release!();
    // The next assign is the latest answer, not each one missed; the one after a failure comes with a later heartbeat.
    await when('two more assigns', () => assigned.length >= 3);
    expect(assigned[1]).toBeGreaterThan(3);
    expect(assigned[2]).toBeGreaterThan(assigned[1]!);
    // Heartbeats carry the engine's report and the process's address.
    const [last] = m.beats.at(-1)!;
    expect(last.address).toBe(node.address);
    expect(last.views[0]?.view).toBe('pages');

    const before = m.beats.length;
    await node.stop();
    await node.stop();
    // Closed first, then one leaving heartbeat, and nothing after.
    expect(events).toEqual(['engine closed']);
    const leaving = m.beats.slice(before).filter(([, l]) => l);
    expect(leaving).toHaveLength(1);
    expect(m.beats.at(-1)![1]).toBe(true);
    expect(m.beats.at(-1)![0].nodeId).toBe(node.nodeId);
  });

  it('keeps its id across restarts on one folder', async () => {
    const m = await stubMaster(() => ({ views: [] }));
    toStop.push(() => m.server.close());
    const dataDir = join(await tempDir(), 'speed');
    const fake = (): SpeedEngine => ({ assign: () => Promise.resolve(), report: () => [], get: unused, scan: unused, close: () => Promise.resolve() });
    const first = new SpeedNode({ master: m.address, dataDir, heartbeatIntervalMs: 10, logger: silentLogger(), engineFactory: fake });
    await first.start();
    const second = new SpeedNode({ master: m.address, dataDir, heartbeatIntervalMs: 10, logger: silentLogger(), engineFactory: fake });
    const id = first.nodeId;
    await first.stop();
    await second.start();
    toStop.push(() => second.stop());
    expect(second.nodeId).toBe(id);
  });
});
