/**
 * Serving nodes as real processes of the compiled CLI (`laminate serve`),
 * beside a real master. Versions are written into the master's view store
 * by hand (files, manifest, CURRENT: test/support/view-versions.ts) for a
 * view deployed through the master's DeployView, so these tests need no
 * build; the master tells the nodes what to serve from what is on disk.
 * Every answer is checked against the maps the versions were written from.
 */
import { execFile } from 'node:child_process';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { unpack } from 'msgpackr';
import { afterEach, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { LaminateClient } from '../../src/client/laminate-client.js';
import { encodeViewKey, type ViewKey } from '../../src/common/view-key.js';
import { ServingClient } from '../../src/protocol/serving-rpc.js';
import { ViewsClient } from '../../src/protocol/view-rpc.js';
import { publishVersion, versionDir } from '../../src/view/view-version-dir.js';
import { Teardown } from './fault-support.js';
import { CLI, removeDir, startMasterProc, startServeProc, tempDir, type MasterProc, type Proc } from './harness.js';
import { byUtf8, writeVersion } from '../support/view-versions.js';
import { seededRandom } from '../support/seeded-random.js';

const run = promisify(execFile);
const VIEW = 'pages';
const KEYS = 3000;

/** The view's keys: strings and tuples. */
const viewKeys: ViewKey[] = Array.from({ length: KEYS }, (_, i) => (i % 3 === 0 ? ['page', i, 'day'] : `page/${String(i).padStart(5, '0')}`));
/** Version v's value of key i: tells the version it came from. */
const valueOf = (v: number, i: number): number => v * 1_000_000 + i;
const indexOf = new Map(viewKeys.map((k, i) => [JSON.stringify(k), i]));

function entriesOf(v: number): Map<string, number> {
  return new Map(viewKeys.map((k, i) => [encodeViewKey(k), valueOf(v, i)]));
}

const teardown = new Teardown();
let dir: string;
let master: MasterProc;
let store: string;
let views: ViewsClient;
let client: LaminateClient;
const nodes: Array<Proc & { address: string; nodeId: string; dir: string }> = [];

beforeEach(async () => {
  dir = await tempDir('laminate-serving-');
  teardown.add(() => removeDir(dir));
  master = await startMasterProc(dir);
  teardown.add(() => master.kill());
  store = join(dir, 'master', 'views');
  views = new ViewsClient(master.address);
  teardown.add(() => views.close());
  client = new LaminateClient(master.address);
  teardown.add(() => client.close());
  await client.createDataset('clicks', { partitions: 2 });
  await views.deployView({ name: VIEW, bundle: Buffer.from('export default {};\n'), source: 'clicks', definitionHash: 'c'.repeat(64), merge: 'sum' });
  nodes.length = 0;
  onTestFailed(() => {
    for (const n of nodes) console.error(`serving node ${n.nodeId} log:\n${n.stderr().slice(-4000)}`);
  });
});
afterEach(() => teardown.run());

async function publish(version: number): Promise<void> {
  await writeVersion(store, { view: VIEW, version, entries: entriesOf(version), partitions: 3, cut: [version * 100, version * 10] });
}

async function serve(name: string, o: { heartbeatIntervalMs?: number; args?: readonly string[] } = {}): Promise<Proc & { address: string; nodeId: string; dir: string }> {
  const n = await startServeProc(master.address, dir, name, o);
  nodes.push(n);
  teardown.add(() => n.kill());
  return n;
}

/** Waits until the master lists `nodeId` as holding `version` of the view (polled: the master has no event for it). */
async function loaded(nodeId: string, version: number, timeoutMs = 30_000, pollMs = 50): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const list = await views.listServingNodes();
    if (list.some((n) => n.nodeId === nodeId && n.loaded.some((l) => l.view === VIEW && l.version === version))) return;
    if (Date.now() > until) throw new Error(`node ${nodeId} did not load version ${version}: ${JSON.stringify(list)}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Checks a MultiGet's answer: every value from the version its coverage names. */
function expectOneVersion(r: { coverage: { version: number }; results: readonly { key: unknown; value: unknown; found: boolean }[] }): void {
  for (const x of r.results) {
    const i = indexOf.get(JSON.stringify(x.key));
    if (i === undefined) {
      expect(x.found).toBe(false);
      continue;
    }
    expect(x).toEqual({ key: x.key, value: valueOf(r.coverage.version, i), found: true });
  }
}

describe('laminate serve', () => {
  it('answers Get, MultiGet and Scan as the maps the versions were written from, through the library and laminate query', async () => {
    await publish(1);
    const a = await serve('node-a');
    await loaded(a.nodeId, 1);

    const one = await client.get(VIEW, viewKeys[7]!);
    expect(one).toEqual({ key: viewKeys[7], value: valueOf(1, 7), found: true, coverage: { version: 1, cut: [100, 10] } });
    expect(await client.get(VIEW, 'absent')).toEqual({ key: 'absent', value: undefined, found: false, coverage: { version: 1, cut: [100, 10] } });
    const random = seededRandom(7);
    const asked: ViewKey[] = Array.from({ length: 400 }, () => (random() < 0.8 ? viewKeys[Math.floor(random() * KEYS)]! : ['nope', Math.floor(random() * 100)]));
    const many = await client.multiGet(VIEW, asked);
    expect(many.coverage.version).toBe(1);
    expect(many.results.map((x) => x.key)).toEqual(asked);
    expectOneVersion(many);
    expect(many.results.filter((x) => x.found).length).toBe(asked.filter((k) => indexOf.has(JSON.stringify(k))).length);

    // Scans against the reference order (UTF-8 bytes of the encoded keys).
    const sorted = [...entriesOf(1)].sort((x, y) => byUtf8(x[0], y[0]));
    const all = [];
    const scan = client.scan(VIEW);
    for await (const e of scan) all.push(e);
    expect(scan.coverage).toEqual({ version: 1, cut: [100, 10] });
    expect(all.map((e) => encodeViewKey(e.key as ViewKey))).toEqual(sorted.map(([k]) => k));
    expect(all.map((e) => e.value)).toEqual(sorted.map(([, v]) => v));
    const tuples = [];
    for await (const e of client.scan(VIEW, { prefix: ['page'], limit: 10 })) tuples.push(e);
    expect(tuples.map((e) => e.key)).toEqual(sorted.filter(([k]) => k.startsWith(encodeViewKey(['page']))).slice(0, 10).map(([, v]) => viewKeys[v % 1_000_000]));
    const range = [];
    for await (const e of client.scan(VIEW, { from: 'page/00100', to: 'page/00200' })) range.push(e.key);
    expect(range).toEqual(viewKeys.filter((k) => typeof k === 'string' && k >= 'page/00100' && k < 'page/00200'));

    // laminate query --json: one document.
    const { stdout } = await run(process.execPath, [CLI, 'query', VIEW, 'page/00001', '["page", 3, "day"]', 'absent', '--master', master.address, '--json']);
    expect(JSON.parse(stdout)).toEqual({
      view: VIEW, coverage: { version: 1, cut: [100, 10] },
      results: [{ key: 'page/00001', value: valueOf(1, 1), found: true }, { key: ['page', 3, 'day'], value: valueOf(1, 3), found: true }, { key: 'absent', value: null, found: false }],
    });
    const scanned = await run(process.execPath, [CLI, 'query', VIEW, '--prefix', 'page/0000', '--limit', '5', '--master', master.address, '--json']);
    expect(JSON.parse(scanned.stdout)).toEqual({
      view: VIEW, coverage: { version: 1, cut: [100, 10] },
      results: ['page/00001', 'page/00002', 'page/00004', 'page/00005', 'page/00007'].map((key) => ({ key, value: valueOf(1, Number(key.slice(5))), found: true })),
    });
    const table = await run(process.execPath, [CLI, 'query', VIEW, 'page/00002', '--master', master.address]);
    expect(table.stdout).toMatch(/^view pages {2}version 1 {2}cut 100,10\nKEY +VALUE\npage\/00002 +1000002\n$/);

    // An unknown view or version is NOT_FOUND (exit 2), not a key not found.
    const unknown = await run(process.execPath, [CLI, 'query', 'nosuch', 'k', '--master', master.address]).then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(unknown?.code).toBe(2);
    expect(unknown?.stderr).toMatch(/NOT_FOUND: No view named 'nosuch'/);
    await expect(client.get(VIEW, 'page/00001', { version: 5 })).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/has no version 5/) as unknown });
  });

  it('swaps 100 times under loops of MultiGets and Scans: no failed read, no answer mixing versions', async () => {
    const SWAPS = 100;
    const last = SWAPS + 1;
    await publish(1);
    // Heartbeats every 50 ms: a swap is seen and acknowledged within about one, so 100 of them take seconds, not a minute.
    const a = await serve('node-a', { heartbeatIntervalMs: 50 });
    await loaded(a.nodeId, 1);
    const random = seededRandom(11);
    const seen = new Map<number, number>();
    let failures = 0;
    let stop = false;
    const readers = [0, 1].map(async () => {
      while (!stop) {
        try {
          const r = await client.multiGet(VIEW, Array.from({ length: 100 }, () => viewKeys[Math.floor(random() * KEYS)]!));
          expectOneVersion(r);
          seen.set(r.coverage.version, (seen.get(r.coverage.version) ?? 0) + 1);
          if ((seen.get(last) ?? 0) >= 30) stop = true;
        } catch (err) {
          failures++;
          throw err;
        }
      }
    });
    const scanner = (async () => {
      while (!stop) {
        const scan = client.scan(VIEW, { limit: 1500 });
        const values: number[] = [];
        for await (const e of scan) values.push(e.value as number);
        expect(values).toHaveLength(1500);
        expect(new Set(values.map((v) => Math.floor(v / 1_000_000)))).toEqual(new Set([scan.coverage!.version]));
      }
    })();
    // Let the readers get going on version 1 before version 2 appears; then each version once the node has the one before.
    while ((seen.get(1) ?? 0) < 10) await new Promise((r) => setTimeout(r, 10));
    for (let v = 2; v <= last; v++) {
      await publish(v);
      await loaded(a.nodeId, v, 30_000, 10);
    }
    await Promise.all([...readers, scanner]);
    expect(failures).toBe(0);
    expect(seen.get(1)).toBeGreaterThanOrEqual(10);
    expect(seen.get(last)).toBeGreaterThanOrEqual(30);
    // The reads ran across the swaps, not before and after them: most versions answered some.
    expect(seen.size).toBeGreaterThan(SWAPS / 2);
    // The version before stays readable by number.
    const pinned = await client.multiGet(VIEW, viewKeys.slice(0, 50), { version: last - 1 });
    expect(pinned.coverage.version).toBe(last - 1);
    expectOneVersion(pinned);
  });

  it('serves its local copies again at once after a SIGKILL, without the view store', async () => {
    await publish(1);
    await publish(2);
    const a = await serve('node-a');
    await loaded(a.nodeId, 2);
    await a.kill('SIGKILL');
    // The store's current version goes away: the master cannot say what to serve any more.
    const current = versionDir(store, VIEW, 2);
    await rename(current, `${current}.away`);
    const again = await serve('node-a');
    expect(again.nodeId).toBe(a.nodeId);
    // Straight to the node, before it has heard anything from the master.
    const direct = new ServingClient(again.address);
    teardown.add(() => direct.close());
    const r = await direct.get(VIEW, viewKeys.slice(0, 20).map((k) => encodeViewKey(k)));
    expect(r.coverage.version).toBe(2);
    expect(r.entries.map((e) => e.found)).toEqual(viewKeys.slice(0, 20).map(() => true));
    // And through the master's list, which it joined with its first heartbeat.
    await loaded(again.nodeId, 2);
    const viaClient = await client.multiGet(VIEW, viewKeys.slice(0, 100));
    expect(viaClient.coverage.version).toBe(2);
    expectOneVersion(viaClient);
    expect(again.stderr()).toMatch(/serving local copies again/);
    await rename(`${current}.away`, current);
  });

  it('runs two serving nodes that both serve; a query moves to the other when one is SIGKILLed; a damaged version is refused by both', async () => {
    await publish(1);
    const a = await serve('node-a');
    const b = await serve('node-b', { args: ['--row-cache-mb', '0'] }); // no row cache: every key from its block
    await Promise.all([loaded(a.nodeId, 1), loaded(b.nodeId, 1)]);
    const keys = viewKeys.slice(100, 200).map((k) => encodeViewKey(k));
    for (const n of [a, b]) {
      const c = new ServingClient(n.address);
      teardown.add(() => c.close());
      // Three times: node-a answers the later ones from its row cache (each key kept on its second read).
      for (let round = 0; round < 3; round++) {
        const r = await c.get(VIEW, keys);
        expect(r.entries.map((e) => e.found)).toEqual(keys.map(() => true));
        expect(r.entries.map((e) => unpack(Buffer.from(e.value)) as unknown)).toEqual(keys.map((_, j) => valueOf(1, 100 + j)));
        expect(r.coverage.version).toBe(1);
      }
    }

    // Version 2 with a flipped byte: refused by both, version 1 keeps serving.
    await writeVersion(store, { view: VIEW, version: 2, entries: entriesOf(2), partitions: 3, cut: [200, 20], publish: false });
    const fh = await open(join(versionDir(store, VIEW, 2), 'part-00001.view'), 'r+');
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, 30);
    byte[0] = byte[0]! ^ 0x04;
    await fh.write(byte, 0, 1, 30);
    await fh.close();
    await publishVersion(store, VIEW, 2);
    await Promise.all([a.waitFor(/view version refused/), b.waitFor(/view version refused/)]);
    const still = await client.multiGet(VIEW, viewKeys.slice(0, 100));
    expect(still.coverage.version).toBe(1);
    expectOneVersion(still);
    // The master says which nodes refused version 2, and why (once their next heartbeat told it).
    const refusedBy = await (async () => {
      for (let i = 0; i < 100; i++) {
        const v2 = (await views.viewVersions(VIEW)).versions.find((v) => v.version === 2);
        if (v2 && v2.refusedBy.length === 2) return v2.refusedBy;
        await new Promise((r) => setTimeout(r, 100));
      }
      return [];
    })();
    expect([...refusedBy].sort()).toEqual([a.nodeId, b.nodeId].sort().map((id) => expect.stringMatching(new RegExp(`^${id}: .*(DATA_LOSS|checksum|CRC)`, 'i')) as unknown));

    await a.kill('SIGKILL');
    // The master still lists the dead node for a while: queries that try it first move to the other one.
    for (let i = 0; i < 30; i++) {
      const r = await client.get(VIEW, viewKeys[i]!);
      expect(r).toEqual({ key: viewKeys[i], value: valueOf(1, i), found: true, coverage: { version: 1, cut: [100, 10] } });
    }
  });
});
