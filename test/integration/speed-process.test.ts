/**
 * Speed processes and serving nodes as real processes of the compiled CLI
 * beside a real master: `laminate speed` (on the fake engine of
 * test/support/fake-speed-engine.ts, loaded through LAMINATE_SPEED_ENGINE)
 * splits a view's partitions with another; SIGKILLed, its partitions move
 * to the other once the master's speed-node timeout has passed; SIGTERMed,
 * it closes its engine and leaves at once. `laminate serve` nodes hold the
 * handoff back: one SIGKILLed keeps it at the version it served, named in
 * `laminate speed-status`, until `laminate forget-serving-node`; one
 * SIGTERMed leaves and holds nothing.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { LaminateClient } from '../../src/client/laminate-client.js';
import type { SpeedStatus } from '../../src/common/speed-status.js';
import { ViewsClient } from '../../src/protocol/view-rpc.js';
import { writeVersion } from '../support/view-versions.js';
import { runCli, Teardown } from './fault-support.js';
import { removeDir, startMasterProc, startServeProc, startSpeedProc, tempDir, type MasterProc, type Proc } from './harness.js';

const VIEW = 'pages';
const teardown = new Teardown();
let dir: string;
let master: MasterProc;
let views: ViewsClient;
const procs: Array<Proc & { nodeId: string }> = [];

afterEach(() => teardown.run());

async function startCluster(speedNodeTimeoutMs: number): Promise<void> {
  dir = await tempDir('laminate-speed-proc-');
  teardown.add(() => removeDir(dir));
  master = await startMasterProc(dir, { args: ['--speed-node-timeout', String(speedNodeTimeoutMs), '--speed-start-grace', '0'] });
  teardown.add(() => master.kill());
  views = new ViewsClient(master.address);
  teardown.add(() => views.close());
  const client = new LaminateClient(master.address);
  teardown.add(() => client.close());
  await client.createDataset('clicks', { partitions: 4 });
  procs.length = 0;
  onTestFailed(() => {
    console.error(`master log:\n${master.stderr().slice(-3000)}`);
    for (const p of procs) console.error(`${p.nodeId} log:\n${p.stderr().slice(-3000)}`);
  });
}

async function speed(name: string): Promise<Proc & { nodeId: string; address: string }> {
  const p = await startSpeedProc(master.address, dir, name, { checkpoints: join(dir, 'checkpoints') });
  procs.push(p);
  teardown.add(() => p.kill());
  return p;
}

async function deploy(): Promise<void> {
  await views.deployView({ name: VIEW, bundle: Buffer.from('export default {};\n'), source: 'clicks', definitionHash: 'c'.repeat(64), merge: 'sum' });
}

/** Polls the master's speed status until `pred` holds (the master has no event for it). */
async function statusWhen(what: string, pred: (s: SpeedStatus) => boolean, timeoutMs = 20_000): Promise<SpeedStatus> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await views.listSpeedNodes();
    if (pred(s)) return s;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last status ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The partitions of the view a process reports folding (its engine's report, not only the master's word). */
function reported(s: SpeedStatus, nodeId: string): number[] {
  return s.nodes.find((n) => n.nodeId === nodeId)?.views.find((v) => v.view === VIEW)?.partitions.map((p) => p.partition) ?? [];
}

async function twoSplitting(): Promise<[Proc & { nodeId: string }, Proc & { nodeId: string }]> {
  const a = await speed('speed-a');
  const b = await speed('speed-b');
  await statusWhen('both registered', (s) => s.nodes.length === 2);
  await deploy();
  const s = await statusWhen('both folding their share', (x) => reported(x, a.nodeId).length > 0 && reported(x, b.nodeId).length > 0);
  expect([...reported(s, a.nodeId), ...reported(s, b.nodeId)].sort()).toEqual([0, 1, 2, 3]);
  expect(reported(s, a.nodeId)).toHaveLength(2);
  return [a, b];
}

describe('speed processes', () => {
  it('split a view\'s partitions; one SIGKILLed loses them to the other once the master\'s timeout has passed', async () => {
    await startCluster(1500);
    const [a, b] = await twoSplitting();
    await a.kill('SIGKILL');
    const s = await statusWhen('b folding every partition', (x) => reported(x, b.nodeId).length === 4);
    expect(s.nodes.map((n) => n.nodeId)).toEqual([b.nodeId]);
    expect(master.stderr()).toMatch(new RegExp(`"nodeId":"${a.nodeId}"[^\\n]*speed process not heard from`));
  });

  it('one SIGTERMed closes its engine, then leaves: its partitions move at once, long before the timeout', async () => {
    await startCluster(600_000);
    const [a, b] = await twoSplitting();
    await a.kill('SIGTERM');
    expect(a.proc.exitCode).toBe(0);
    const log = a.stderr();
    expect(log.indexOf('fake engine closed')).toBeGreaterThan(0);
    expect(log.indexOf('told the master this process leaves')).toBeGreaterThan(log.indexOf('fake engine closed'));
    // With a ten-minute timeout, only the leave can have removed it.
    const now = await views.listSpeedNodes();
    expect(now.nodes.map((n) => n.nodeId)).toEqual([b.nodeId]);
    expect(now.nodes[0]!.assigned).toEqual([{ view: VIEW, partitions: [0, 1, 2, 3] }]);
    await statusWhen('b folding every partition', (x) => reported(x, b.nodeId).length === 4);
  });
});

describe('the speed handoff with serving processes', () => {
  it('is held by a SIGKILLed serving node at the version it served, named in speed-status, until it is forgotten; a SIGTERMed one leaves', async () => {
    await startCluster(3000);
    await deploy();
    const store = join(dir, 'master', 'views');
    const publish = (version: number, cut: number[]): Promise<unknown> => writeVersion(store, { view: VIEW, version, entries: new Map([['k', version]]), partitions: 1, cut });
    const handoff = (s: SpeedStatus): { cut: string; heldBy: string[] } => {
      const h = s.handoffs.find((x) => x.view === VIEW)!;
      return { cut: h.handoffCut.join(','), heldBy: h.heldBy.map((x) => `${x.nodeId}@v${x.version}`) };
    };
    await publish(1, [10, 5, 0, 2]);
    // Started side by side; `nodes` keeps the order of the names.
    const started = await Promise.allSettled(['serve-a', 'serve-b', 'serve-c'].map((name) => startServeProc(master.address, dir, name)));
    const nodes: Array<Proc & { nodeId: string }> = [];
    for (const r of started) {
      if (r.status !== 'fulfilled') continue;
      procs.push(r.value);
      nodes.push(r.value);
      teardown.add(() => r.value.kill());
    }
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    const [a, b, c] = nodes as [Proc & { nodeId: string }, Proc & { nodeId: string }, Proc & { nodeId: string }];
    const servingV = async (version: number, ids: string[]): Promise<void> => {
      const end = Date.now() + 20_000;
      for (;;) {
        const live = await views.listServingNodes();
        if (ids.every((id) => live.some((n) => n.nodeId === id && n.loaded.some((l) => l.version === version)))) return;
        if (Date.now() > end) throw new Error(`timed out waiting for ${ids.join(', ')} to load v${version}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await servingV(1, [a.nodeId, b.nodeId, c.nodeId]);
    expect(handoff(await statusWhen('every node serving v1', (s) => handoff(s).cut === '10,5,0,2'))).toEqual({ cut: '10,5,0,2', heldBy: [] });

    await b.kill('SIGKILL');
    await c.kill('SIGTERM');
    await publish(2, [20, 8, 3, 2]);
    await servingV(2, [a.nodeId]);
    // A serves version 2 (its heartbeat saying so also said it is current); B is gone without a
    // word and holds the handoff at version 1; C left.
    expect(handoff(await views.listSpeedNodes())).toEqual({ cut: '10,5,0,2', heldBy: [`${b.nodeId}@v1`] });
    const text = await runCli(['speed-status', '--master', master.address]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${VIEW}: v2 cut 10,5,0,2 held back by ${b.nodeId} (serving v1`);
    expect(master.stderr()).toMatch(new RegExp(`speed handoff held back by serving node\\(s\\) ${b.nodeId}@v1`));

    const forgot = await runCli(['forget-serving-node', b.nodeId, '--master', master.address]);
    expect(forgot.stdout).toContain(`serving node ${b.nodeId} forgotten`);
    expect(handoff(await views.listSpeedNodes())).toEqual({ cut: '20,8,3,2', heldBy: [] });
  });
});
