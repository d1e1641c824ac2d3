/**
 * Merged queries: a real serving node (in this process) and a real master
 * (a process), a version written into the view store by hand
 * (test/support/view-versions.ts), and two FAKE speed processes answering
 * from state the test sets: one in this process (FakeSpeed, so the test can
 * move its applied offsets during a wait), one a process of its own
 * (test/support/fake-speed-main.ts, so the test can SIGKILL it).
 *
 * The master does not list speed processes in its serving assignments yet:
 * the node is told where they run through its `speedPlacement` option (the
 * test seam). Every answer is checked against batch ⊕ speed computed here
 * from the same maps, independently of the engine.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { LaminateClient } from '../../src/client/laminate-client.js';
import type { ScanEntry } from '../../src/client/view-queries.js';
import { silentLogger } from '../../src/common/logger.js';
import { encodeViewKey, type KeyElement } from '../../src/common/view-key.js';
import { ViewsClient } from '../../src/protocol/view-rpc.js';
import { ServingNode } from '../../src/serving/serving-node.js';
import type { SpeedPlacement } from '../../src/serving/speed-reads.js';
import { Teardown } from './fault-support.js';
import { CLI, removeDir, startMasterProc, startScriptProc, tempDir, type MasterProc, type Proc } from './harness.js';
import { FakeSpeed } from '../support/fake-speed.js';
import type { FakeSpeedState } from '../support/fake-speed-main.js';
import { byUtf8, writeVersion } from '../support/view-versions.js';

const run = promisify(execFile);
const VIEW = 'pages';
const WINDOW_MS = 60_000;
const CUT = [100, 200, 300];

/** Key i: a page and its window start (the view is windowed by minute). */
const keyOf = (i: number): [string, number] => [`p${String(i).padStart(3, '0')}`, (i % 3) * WINDOW_MS];
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k);

/** The batch version: keys 0..59. Speed process a (partitions 0, 1): keys 40..89; b (partition 2): keys 50..99. */
const batch = new Map(range(0, 60).map((i) => [encodeViewKey(keyOf(i)), i + 1]));
const speedA = new Map(range(40, 90).map((i) => [encodeViewKey(keyOf(i)), 1000 + i]));
const speedB = new Map(range(50, 100).map((i) => [encodeViewKey(keyOf(i)), 100_000 + i]));
/** a's watermark is the least: windows ending at or before 2 minutes are final. */
const WATERMARK_A = 2 * WINDOW_MS;
const WATERMARK_B = 3 * WINDOW_MS;

/** Sums of the maps given, key by key: batch ⊕ speed with the view's monoid (sum), computed plainly. */
function sumOf(...maps: ReadonlyMap<string, number>[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of maps) for (const [k, n] of m) out.set(k, (out.get(k) ?? 0) + n);
  return out;
}

const finalOf = (key: readonly KeyElement[]): boolean => (key[1] as number) + WINDOW_MS <= WATERMARK_A;

const teardown = new Teardown();
let dir: string;
let master: MasterProc;
let client: LaminateClient;
let node: ServingNode;
let a: FakeSpeed;
let b: Proc & { address: string };
let placement: SpeedPlacement;

async function startB(): Promise<Proc & { address: string }> {
  const state: FakeSpeedState = { nodeId: 'speed-b', partitions: [2], cut: CUT, applied: { 2: 310 }, accs: [...speedB], watermark: WATERMARK_B };
  const p = startScriptProc(join('test', 'support', 'fake-speed-main.js'), [JSON.stringify(state)]);
  teardown.add(() => p.kill());
  const line = await p.waitFor(/fake speed process listening on (\S+)/);
  return { ...p, address: /listening on (\S+)/.exec(line)![1]! };
}

beforeEach(async () => {
  dir = await tempDir('laminate-merged-');
  teardown.add(() => removeDir(dir));
  master = await startMasterProc(dir);
  teardown.add(() => master.kill());
  const views = new ViewsClient(master.address);
  teardown.add(() => views.close());
  client = new LaminateClient(master.address);
  teardown.add(() => client.close());
  await client.createDataset('clicks', { partitions: 3 });
  await views.deployView({ name: VIEW, bundle: Buffer.from('export default {};\n'), source: 'clicks', definitionHash: 'c'.repeat(64), merge: 'sum', windowSizeMs: WINDOW_MS });
  await writeVersion(join(dir, 'master', 'views'), { view: VIEW, version: 1, entries: batch, partitions: 2, cut: CUT });

  a = await new FakeSpeed({ nodeId: 'speed-a', partitions: [0, 1], cut: CUT, watermark: WATERMARK_A }).start();
  teardown.add(() => a.stop());
  for (const [k, n] of speedA) a.accs.set(k, n);
  a.advance({ 0: 130, 1: 250 });
  a.lag = 4;
  a.caughtUpAt = Date.now();
  b = await startB();
  placement = { speed: [a.location, { nodeId: 'speed-b', address: b.address, partitions: [2] }], windowSizeMs: WINDOW_MS };

  node = new ServingNode({
    master: master.address, dataDir: join(dir, 'serving'), port: 0, logger: silentLogger(), heartbeatIntervalMs: 200,
    speedPlacement: (view) => (view === VIEW ? placement : undefined),
  });
  await node.start();
  teardown.add(() => node.stop());
  // Polled: the node has no event for a version loaded.
  while (!node.loaded().some((l) => l.view === VIEW && l.version === 1)) await new Promise((r) => setTimeout(r, 50));
  onTestFailed(() => console.error(`master log:\n${master.stderr().slice(-3000)}`));
});
afterEach(() => teardown.run());

const ALL_KEYS = range(0, 100).map(keyOf);

async function scanAll(options: Parameters<LaminateClient['scan']>[1] = {}): Promise<{ entries: ScanEntry[]; coverage: unknown }> {
  const scan = client.scan(VIEW, options);
  const entries: ScanEntry[] = [];
  for await (const e of scan) entries.push(e);
  return { entries, coverage: scan.coverage };
}

describe('merged queries', () => {
  it('answer Get, MultiGet and Scan as batch ⊕ every speed process, with the coverage of both and final windows', async () => {
    const expected = sumOf(batch, speedA, speedB);
    const asked = [...ALL_KEYS, ['absent', 0] as [string, number]];
    const r = await client.multiGet(VIEW, asked);
    expect(r.coverage).toMatchObject({ version: 1, cut: CUT, speed: [130, 250, 310], lag: 8, uncovered: [], watermark: WATERMARK_A });
    expect(r.coverage.freshnessMs).toBeGreaterThanOrEqual(0);
    expect(r.results.map((x) => x.value)).toEqual(asked.map((k) => expected.get(encodeViewKey(k))));
    expect(r.results.map((x) => x.found)).toEqual(asked.map((k) => expected.has(encodeViewKey(k))));
    expect(r.results.map((x) => x.final)).toEqual(asked.map((k) => (expected.has(encodeViewKey(k)) ? finalOf(k) : undefined)));
    // Both processes were asked from exactly the version's cut.
    expect(a.queries.every((q) => JSON.stringify(q.cut) === JSON.stringify(CUT))).toBe(true);

    const sorted = [...expected].sort((x, y) => byUtf8(x[0], y[0]));
    const whole = await scanAll();
    expect(whole.coverage).toMatchObject({ version: 1, speed: [130, 250, 310], uncovered: [] });
    expect(whole.entries.map((e) => encodeViewKey(e.key as KeyElement[]))).toEqual(sorted.map(([k]) => k));
    expect(whole.entries.map((e) => e.value)).toEqual(sorted.map(([, n]) => n));
    expect(whole.entries.map((e) => e.final)).toEqual(whole.entries.map((e) => finalOf(e.key as KeyElement[])));

    // Pages of 7 (from the last key of a page, inclusive, dropping it): every key once, in order.
    const paged: ScanEntry[] = [];
    for (let from: KeyElement[] | undefined; ;) {
      const page = (await scanAll({ limit: 8, ...(from !== undefined ? { from } : {}) })).entries.slice(from === undefined ? 0 : 1);
      paged.push(...page.slice(0, 7));
      if (page.length < 7 + (from === undefined ? 1 : 0)) {
        paged.push(...page.slice(7));
        break;
      }
      from = paged[paged.length - 1]!.key as KeyElement[];
    }
    expect(paged.map((e) => [e.key, e.value])).toEqual(whole.entries.map((e) => [e.key, e.value]));

    // Batch only: the version alone, and no speed fields.
    const batchOnly = await client.multiGet(VIEW, ALL_KEYS, { batchOnly: true });
    expect(batchOnly.coverage).toEqual({ version: 1, cut: CUT });
    expect(batchOnly.results.map((x) => x.value)).toEqual(ALL_KEYS.map((k) => batch.get(encodeViewKey(k))));
    expect(batchOnly.results.every((x) => x.final === undefined)).toBe(true);
    const batchScan = await scanAll({ batchOnly: true });
    expect(batchScan.entries.map((e) => e.value)).toEqual([...batch].sort((x, y) => byUtf8(x[0], y[0])).map(([, n]) => n));

    // laminate query --json prints the coverage with the speed side, and final per result.
    const key = keyOf(45);
    const { stdout } = await run(process.execPath, [CLI, 'query', VIEW, JSON.stringify(key), '--master', master.address, '--json']);
    const doc = JSON.parse(stdout) as { coverage: Record<string, unknown>; results: unknown[] };
    expect(doc.coverage).toMatchObject({ version: 1, cut: CUT, speed: [130, 250, 310], lag: 8, uncovered: [], watermark: WATERMARK_A });
    expect(typeof doc.coverage['freshnessMs']).toBe('number');
    expect(doc.results).toEqual([{ key, value: expected.get(encodeViewKey(key)), found: true, final: finalOf(key) }]);
    const text = await run(process.execPath, [CLI, 'query', VIEW, JSON.stringify(key), '--master', master.address, '--batch-only']);
    expect(text.stdout).toMatch(/^view pages {2}version 1 {2}cut 100,200,300\nKEY +VALUE\n.* 46\n$/);
  });

  it('leaves the partitions of a SIGKILLed speed process uncovered, naming it: never a silently partial answer', async () => {
    await b.kill('SIGKILL');
    const expected = sumOf(batch, speedA);
    const r = await client.multiGet(VIEW, ALL_KEYS);
    expect(r.coverage.speed).toEqual([130, 250, 300]);
    expect(r.coverage.uncovered).toEqual([{ partition: 2, reason: expect.stringMatching(/speed-b/) as unknown }]);
    expect(r.results.map((x) => x.value)).toEqual(ALL_KEYS.map((k) => expected.get(encodeViewKey(k))));
    const scan = await scanAll();
    expect(scan.coverage).toMatchObject({ speed: [130, 250, 300], uncovered: [{ partition: 2 }] });
    expect(scan.entries.map((e) => e.value)).toEqual([...expected].sort((x, y) => byUtf8(x[0], y[0])).map(([, n]) => n));
    // A process that comes back at another address is merged again once the node is told where.
    b = await startB();
    placement = { ...placement, speed: [a.location, { nodeId: 'speed-b', address: b.address, partitions: [2] }] };
    const again = await client.get(VIEW, keyOf(70));
    expect(again.coverage.uncovered).toEqual([]);
    expect(again.value).toBe(sumOf(batch, speedA, speedB).get(encodeViewKey(keyOf(70))));
  });

  it('waits for atLeast until the speed side counts those records (read your writes), and fails with TIMEOUT naming the partitions behind', async () => {
    a.onWait = () => {
      a.accs.set(encodeViewKey(keyOf(200)), 7);
      a.advance({ 0: 140 });
    };
    const r = await client.get(VIEW, keyOf(200), { atLeast: [140, 0, 0], waitMs: 30_000 });
    expect(r.coverage.speed).toEqual([140, 250, 310]);
    expect(r.value).toBe(7);
    const s = client.scan(VIEW, { atLeast: [140, 250, 310], waitMs: 30_000, limit: 1 });
    for await (const e of s) expect(e.key).toEqual(keyOf(0));
    expect(s.coverage?.speed).toEqual([140, 250, 310]);

    await expect(client.get(VIEW, keyOf(1), { atLeast: [999, 0, 0], waitMs: 300 })).rejects.toMatchObject({
      code: 'TIMEOUT', message: expect.stringMatching(/partition 0 at 140 < 999/) as unknown,
    });
    // Batch only, the cut alone must reach it.
    await expect(client.get(VIEW, keyOf(1), { atLeast: [101, 0, 0], batchOnly: true })).rejects.toMatchObject({ code: 'TIMEOUT' });
  });
});
