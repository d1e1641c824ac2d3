/**
 * The speed engine in-process beside an in-process master (its Dataset
 * service holds the source log): a view bundled from a module file, assigned
 * with cuts, records appended while it folds. Every answer is compared with
 * an independent sequential fold (a plain loop over the records read back
 * with the client's read API, no engine code) of exactly the records
 * [cut, applied) its coverage names.
 *
 * Needs `npm run build` first: the view threads load dist/.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr';
import { pino } from 'pino';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LaminateClient } from '../../src/client/laminate-client.js';
import { bundleView } from '../../src/client/view-bundle.js';
import { silentLogger } from '../../src/common/logger.js';
import type { SpeedAnswer, SpeedAssignment } from '../../src/common/speed-shapes.js';
import { encodeKeyPrefix, encodeViewKey } from '../../src/common/view-key.js';
import { Master } from '../../src/master/master.js';
import { DatasetClient } from '../../src/protocol/dataset-rpc.js';
import { encodeBody } from '../../src/storage/record-body.js';
import { createSpeedEngine } from '../../src/speed/engine.js';
import type { SpeedEngine } from '../../src/speed/speed-engine.js';
import { seededRandom } from '../support/seeded-random.js';
import { Teardown } from './fault-support.js';
import { removeDir, tempDir } from './harness.js';

const VIEW_MODULE = `
export default {
  source: 'clicks',
  map(r, emit) {
    if (r.bad) throw new Error('bad record ' + r.id);
    emit(r.page, 1);
    emit(['user', r.user], r.n);
  },
  merge: { zero: 0, plus: (a, b) => a + b },
};
`;

/** As VIEW_MODULE, but a record with `hog` outgrows any heap while the file it names exists. */
const HOG_MODULE = `
import { existsSync } from 'node:fs';
const hoard = [];
export default {
  source: 'clicks',
  map(r, emit) {
    if (r.hog && existsSync(r.hog)) for (;;) hoard.push(new Array(100000).fill(r.id));
    emit(r.page, 1);
    emit(['user', r.user], r.n);
  },
  merge: { zero: 0, plus: (a, b) => a + b },
};
`;

/** A windowed view: views per page per 10 s of event time, 1 s of allowed lateness. */
const WINDOW_MODULE = `
export default {
  source: 'clicks',
  map(r, emit) { emit(r.page, 1); },
  merge: { zero: 0, plus: (a, b) => a + b },
  window: { size: '10s', lateness: '1s', time: (r) => r.t },
};
`;

interface Click { readonly id: number; readonly page: string; readonly user: string; readonly n: number; readonly bad?: true; readonly hog?: string; readonly t?: number }
const PARTITIONS = 3;

/** The reference: what the view's map and merge mean, written out as a plain loop. */
function foldClicks(records: readonly Click[], into = new Map<string, number>()): Map<string, number> {
  for (const r of records) {
    into.set(encodeViewKey(r.page), (into.get(encodeViewKey(r.page)) ?? 0) + 1);
    const u = encodeViewKey(['user', r.user]);
    into.set(u, (into.get(u) ?? 0) + r.n);
  }
  return into;
}

let bundlePath: string;
let bundleDir: string;
let definitionHash: string;
let hogPath: string;
let hogHash: string;
let windowPath: string;
let windowHash: string;

beforeAll(async () => {
  bundleDir = await tempDir('laminate-speed-bundle-');
  const module = join(bundleDir, 'pages-view.js');
  await writeFile(module, VIEW_MODULE);
  const bundle = await bundleView(module);
  bundlePath = join(bundleDir, 'bundle.mjs');
  await writeFile(bundlePath, bundle.code);
  definitionHash = bundle.definitionHash;
  await writeFile(join(bundleDir, 'hog-view.js'), HOG_MODULE);
  const hog = await bundleView(join(bundleDir, 'hog-view.js'));
  hogPath = join(bundleDir, 'hog.mjs');
  await writeFile(hogPath, hog.code);
  hogHash = hog.definitionHash;
  await writeFile(join(bundleDir, 'window-view.js'), WINDOW_MODULE);
  const windowed = await bundleView(join(bundleDir, 'window-view.js'));
  windowPath = join(bundleDir, 'window.mjs');
  await writeFile(windowPath, windowed.code);
  windowHash = windowed.definitionHash;
  return () => removeDir(bundleDir);
});

const teardown = new Teardown();
let dir: string;
let master: Master;
let datasets: DatasetClient;
let client: LaminateClient;
let random: () => number;
let nextId = 0;

beforeEach(async () => {
  dir = await tempDir('laminate-speed-');
  teardown.add(() => removeDir(dir));
  master = new Master({ port: 0, dataDir: join(dir, 'master'), logger: silentLogger() });
  await master.start();
  teardown.add(() => master.stop());
  datasets = new DatasetClient(master.address);
  teardown.add(() => datasets.close());
  client = new LaminateClient(master.address);
  teardown.add(() => client.close());
  await client.createDataset('clicks', { partitions: PARTITIONS });
  random = seededRandom(77);
});
afterEach(() => teardown.run());

function click(extra: Partial<Click> = {}): Click {
  return { id: nextId++, page: `page-${Math.floor(random() * 12)}`, user: `u${Math.floor(random() * 30)}`, n: 1 + Math.floor(random() * 5), ...extra };
}

/** Appends `n` records to each partition (explicit partitions, so offsets are known); returns the new ends. */
async function append(n: number, extra: (p: number, i: number) => Partial<Click> = () => ({})): Promise<number[]> {
  const results = await datasets.append(Array.from({ length: PARTITIONS }, (_, p) => {
    const records = Array.from({ length: n }, (_, i) => click(extra(p, i)));
    return { dataset: 'clicks', partition: p, body: encodeBody(records), count: records.length };
  }));
  return results.map((r) => r.firstOffset + r.count);
}

function startEngine(idleTimeoutMs = 1000, log = silentLogger()): SpeedEngine {
  const paths = new Map([[hogHash, hogPath], [windowHash, windowPath]]);
  const engine = createSpeedEngine({
    masterAddress: master.address, checkpointDir: join(dir, 'checkpoints'), viewMemoryMb: 48,
    checkpointIntervalMs: 100, idleTimeoutMs, bundlePath: (hash) => Promise.resolve(paths.get(hash) ?? bundlePath), log,
  }, { paneMs: 20, settleMs: 100 });
  teardown.add(() => engine.close());
  return engine;
}

function assignment(cuts: number[][], handoffCut: number[], partitions = [0, 1, 2], hash = definitionHash): SpeedAssignment {
  return { views: [{ view: 'pages', source: 'clicks', bundleHash: hash, definitionHash: hash, merge: 'custom', partitions, cuts, handoffCut }] };
}

/** The records [from, to) of a partition, read back with the client's read API. */
async function records(p: number, from: number, to: number): Promise<Click[]> {
  const out: Click[] = [];
  if (to <= from) return out;
  for await (const r of client.read('clicks', { partition: p, from, endOffset: to })) out.push(r.record as Click);
  return out;
}

/** The fold of exactly what an answer's coverage names: [cut, applied) of each covered partition. */
async function expectedFor(answer: SpeedAnswer, cut: readonly number[]): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for (const c of answer.partitions) {
    if (c.uncovered !== undefined) {
      expect(c.applied).toBe(cut[c.partition]);
      continue;
    }
    foldClicks(await records(c.partition, cut[c.partition]!, c.applied), m);
  }
  return m;
}

function entriesOf(a: SpeedAnswer): Map<string, number> {
  return new Map(a.entries.map((e) => [e.key, unpack(e.acc) as number]));
}

const ALL_KEYS = [...Array.from({ length: 12 }, (_, i) => encodeViewKey(`page-${i}`)), ...Array.from({ length: 30 }, (_, i) => encodeViewKey(['user', `u${i}`])), encodeViewKey('never')];

/** Checks a Get of every key and a few Scans at `cut` against the reference; returns the Get's answer. */
async function checkAt(engine: SpeedEngine, cut: number[], atLeast?: number[]): Promise<SpeedAnswer> {
  const got = await engine.get({ view: 'pages', cut, keys: ALL_KEYS, ...(atLeast !== undefined ? { atLeast, waitMs: 20_000 } : { waitMs: 20_000 }) });
  const expected = await expectedFor(got, cut);
  expect(entriesOf(got)).toEqual(expected);
  const scans = [{}, { prefix: encodeKeyPrefix(['user']) }, { from: encodeViewKey('page-3'), to: encodeViewKey('page-7'), limit: 3 }];
  for (const bounds of scans) {
    const scan = await engine.scan({ view: 'pages', cut, ...bounds });
    const ref = await expectedFor(scan, cut);
    const keys = [...ref.keys()].filter((k) => (!('prefix' in bounds) || k.startsWith(bounds.prefix!)) && (!('from' in bounds) || Buffer.compare(Buffer.from(k), Buffer.from(bounds.from!)) >= 0) && (!('to' in bounds) || Buffer.compare(Buffer.from(k), Buffer.from(bounds.to!)) < 0))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const want = 'limit' in bounds ? keys.slice(0, bounds.limit) : keys;
    expect(scan.entries.map((e) => [e.key, unpack(e.acc)])).toEqual(want.map((k) => [k, ref.get(k)]));
  }
  return got;
}

describe('the speed engine', () => {
  it('answers gets and scans with the fold of exactly [cut, applied) while records arrive, and at a cut it had folded past', async () => {
    const engine = startEngine();
    const zero = [0, 0, 0];
    let ends = await append(40);
    await engine.assign(assignment([zero], zero));
    let a = await checkAt(engine, zero, ends);
    expect(a.partitions.map((c) => c.applied)).toEqual(ends);
    expect(a.partitions.every((c) => c.uncovered === undefined)).toBe(true);
    for (let round = 0; round < 5; round++) {
      // Reads while appends run: each answer exact for whatever it says it counts.
      const appending = append(25);
      await checkAt(engine, zero);
      ends = await appending;
    }
    a = await checkAt(engine, zero, ends);
    expect(a.partitions.map((c) => c.applied)).toEqual(ends);

    // A cut strictly inside what was folded (a build's cut heard late): split, then exact at both cuts.
    const mid = ends.map((e) => Math.floor(e / 2) + 1);
    await engine.assign(assignment([zero, mid], zero));
    const atMid = await checkAt(engine, mid, ends);
    expect(atMid.partitions.every((c) => c.uncovered === undefined)).toBe(true);
    expect(atMid.entries.length).toBeGreaterThan(0);
    await checkAt(engine, zero, ends);
    // A cut no assignment keeps is answered only where a segment happens to start there, and then exactly.
    const oddCut = mid.map((m) => m + 1);
    const odd = await engine.get({ view: 'pages', cut: oddCut, keys: ALL_KEYS });
    for (const c of odd.partitions) if (c.uncovered !== undefined) expect(c.uncovered).toMatch(/^busy: no boundary/);
    expect(entriesOf(odd)).toEqual(await expectedFor(odd, oddCut));

    // A custom monoid's base accumulators are merged in the view's thread: base ⊕ speed.
    const key = encodeViewKey('page-1');
    const withBase = await engine.get({ view: 'pages', cut: mid, keys: [key], base: [pack(1000)] });
    expect(entriesOf(withBase).get(key)).toBe(1000 + (entriesOf(atMid).get(key) ?? Number.NaN));

    // A batch version built from another definition is never merged with this one's fold.
    const sameDefinition = await engine.get({ view: 'pages', cut: mid, definitionHash, keys: [key] });
    expect(entriesOf(sameDefinition).get(key)).toBe(entriesOf(atMid).get(key));
    const other = await engine.get({ view: 'pages', cut: mid, definitionHash: 'f'.repeat(64), keys: [key] });
    expect(other.entries).toEqual([]);
    expect(other.partitions.map((c) => [c.partition, c.applied])).toEqual(mid.map((m, p) => [p, m]));
    for (const c of other.partitions) expect(c.uncovered).toMatch(/^another definition/);
    const otherScan = await engine.scan({ view: 'pages', cut: mid, definitionHash: 'f'.repeat(64) });
    expect(otherScan.entries).toEqual([]);

    await expect(engine.get({ view: 'nope', cut: zero, keys: [] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(engine.get({ view: 'pages', cut: [0], keys: [] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const report = engine.report();
    expect(report).toHaveLength(1);
    expect(report[0]!.partitions.map((p) => [p.partition, p.applied, p.start])).toEqual(ends.map((e, p) => [p, e, 0]));
  });

  it('drops state before the handoff cut, and a new engine restores from the checkpoints without counting a record twice', async () => {
    let engine = startEngine();
    const zero = [0, 0, 0];
    let ends = await append(30);
    await engine.assign(assignment([zero], zero));
    await checkAt(engine, zero, ends);
    // A version with cut `ends` is published and acknowledged: the handoff moves there.
    const c1 = ends;
    ends = await append(20);
    await engine.assign(assignment([zero, c1], zero));
    await checkAt(engine, c1, ends);
    await engine.assign(assignment([c1], c1));
    const dropped = await engine.get({ view: 'pages', cut: zero, keys: ALL_KEYS });
    expect(dropped.partitions.map((c) => c.uncovered)).toEqual(['dropped', 'dropped', 'dropped']);
    expect(dropped.entries).toEqual([]);
    await checkAt(engine, c1, ends);
    expect(engine.report()[0]!.partitions.map((p) => p.start)).toEqual(c1);

    await engine.close();
    ends = await append(15); // appended while no engine runs
    engine = startEngine();
    await engine.assign(assignment([c1], c1));
    const restored = await checkAt(engine, c1, ends);
    expect(restored.partitions.map((c) => c.applied)).toEqual(ends);
    ends = await append(10);
    await checkAt(engine, c1, ends);

    // Skip ahead: the handoff passes what the engine applied (the batch side has those records).
    await engine.close();
    const far = (await append(50)).map((e) => e - 5);
    engine = startEngine();
    await engine.assign(assignment([far], far));
    const skipped = await checkAt(engine, far, far.map((f) => f + 5));
    expect(skipped.partitions.map((c) => c.applied)).toEqual(far.map((f) => f + 5));
    // Rollback to an earlier cut: refolds from the log.
    await engine.assign(assignment([c1, far], c1));
    const back = await checkAt(engine, c1, far.map((f) => f + 5));
    expect(back.partitions.every((c) => c.uncovered === undefined)).toBe(true);
  });

  it('stops a partition at the record its map throws on, and keeps the other partitions covered', async () => {
    const engine = startEngine();
    const zero = [0, 0, 0];
    const first = await append(20);
    await engine.assign(assignment([zero], zero));
    await checkAt(engine, zero, first);
    const ends = await append(10, (p, i) => (p === 1 && i === 4 ? { bad: true } : {}));
    const badOffset = first[1]! + 4;
    const a = await checkAt(engine, zero, ends);
    expect(a.partitions[0]!.uncovered).toBeUndefined();
    expect(a.partitions[2]!.uncovered).toBeUndefined();
    expect(a.partitions[1]!.uncovered).toMatch(new RegExp(`^stopped at offset ${badOffset}: .*bad record ${nextId - 30 + 10 + 4}`));
    expect(a.partitions[1]!.applied).toBe(0);
    expect(a.partitions[0]!.applied).toBe(ends[0]);
    const p1 = engine.report()[0]!.partitions[1]!;
    expect(p1.stopped?.offset).toBe(badOffset);
    expect(p1.applied).toBe(badOffset);
  });

  it('reports a view whose thread outgrew its heap, and restarts it: exact again, nothing counted twice', async () => {
    const engine = startEngine();
    const zero = [0, 0, 0];
    const flag = join(dir, 'hog-on');
    await writeFile(flag, '');
    const first = await append(20);
    await engine.assign(assignment([zero], zero, [0, 1, 2], hogHash));
    await checkAt(engine, zero, first);
    const ends = await append(10, (p, i) => (p === 0 && i === 3 ? { hog: flag } : {}));
    const deadline = Date.now() + 30_000;
    while (!(engine.report()[0]?.partitions.every((p) => p.busy?.includes('ran out of its 48 MB heap')) ?? false)) {
      if (Date.now() > deadline) throw new Error(`no out-of-memory report: ${JSON.stringify(engine.report())}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const down = await engine.get({ view: 'pages', cut: zero, keys: ALL_KEYS });
    expect(down.entries).toEqual([]);
    for (const c of down.partitions) {
      expect(c.uncovered).toMatch(/^busy: the view's thread ran out of its 48 MB heap; restarting/);
      expect(c.applied).toBe(0);
    }
    // Whatever it had not saved is refolded from the log after the restart: exact, nothing twice.
    await rm(flag);
    const back = await checkAt(engine, zero, ends);
    expect(back.partitions.map((c) => c.applied)).toEqual(ends);
  });

  it('folds a windowed view into its event-time windows and reports its watermark, lateness subtracted', async () => {
    const engine = startEngine(600_000); // no partition goes idle during the test
    const zero = [0, 0, 0];
    const base = 1_800_000_000_000;
    const ends = await append(40, (p, i) => ({ t: base + p * 7_000 + i * 1_300 - (i % 5 === 4 ? 15_000 : 0) }));
    await engine.assign(assignment([zero], zero, [0, 1, 2], windowHash));
    const all: Click[][] = await Promise.all([0, 1, 2].map((p) => records(p, 0, ends[p]!)));
    const expected = new Map<string, number>();
    for (const r of all.flat()) {
      const key = encodeViewKey([r.page, Math.floor(r.t! / 10_000) * 10_000]);
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    const a = await engine.get({ view: 'pages', cut: zero, keys: [...expected.keys(), encodeViewKey(['page-1', 0])], atLeast: ends, waitMs: 20_000 });
    expect(a.partitions.map((c) => c.applied)).toEqual(ends);
    expect(entriesOf(a)).toEqual(expected);
    const maxTime = all.map((rs) => Math.max(...rs.map((r) => r.t!)));
    expect(a.watermark).toBe(Math.min(...maxTime) - 1_000);
    // The report is never older than an answer already given.
    expect(engine.report()[0]!.watermark).toBe(a.watermark);
    const scan = await engine.scan({ view: 'pages', cut: zero, prefix: encodeKeyPrefix(['page-3']) });
    expect(new Map(scan.entries.map((e) => [e.key, unpack(e.acc)]))).toEqual(new Map([...expected].filter(([k]) => k.startsWith(encodeKeyPrefix(['page-3'])))));
    expect(scan.watermark).toBe(a.watermark);
  });

  it('moves a partition to another engine, which restores it from the shared checkpoints and catches up', async () => {
    const a = startEngine();
    const b = startEngine();
    const zero = [0, 0, 0];
    let ends = await append(30);
    await a.assign(assignment([zero], zero));
    await checkAt(a, zero, ends);
    // Partition 2 moves to b: a stops it after a last checkpoint, b restores it from there.
    await a.assign(assignment([zero], zero, [0, 1]));
    ends = await append(10);
    await b.assign(assignment([zero], zero, [2]));
    const fromA = await checkAt(a, zero, ends);
    expect(fromA.partitions.map((c) => c.partition)).toEqual([0, 1]);
    const fromB = await checkAt(b, zero, ends);
    expect(fromB.partitions.map((c) => [c.partition, c.applied, c.uncovered])).toEqual([[2, ends[2], undefined]]);
    // Together they answer for every partition, each exactly once.
    const keys = ALL_KEYS;
    const [ga, gb] = await Promise.all([a.get({ view: 'pages', cut: zero, keys }), b.get({ view: 'pages', cut: zero, keys })]);
    const merged = new Map<string, number>();
    for (const e of [...ga.entries, ...gb.entries]) merged.set(e.key, (merged.get(e.key) ?? 0) + (unpack(e.acc) as number));
    const all = foldClicks((await Promise.all([0, 1, 2].map((p) => records(p, 0, [...ga.partitions, ...gb.partitions].find((c) => c.partition === p)!.applied)))).flat());
    expect(merged).toEqual(all);
  });

  it('refolds from the handoff cut a partition whose checkpoint is damaged, and restores the others', async () => {
    let engine = startEngine();
    const zero = [0, 0, 0];
    let ends = await append(25);
    await engine.assign(assignment([zero], zero));
    await checkAt(engine, zero, ends);
    await engine.close();
    const path = join(dir, 'checkpoints', 'pages', definitionHash, 'p1.ckpt');
    const bytes = await readFile(path);
    bytes[bytes.length - 7] = bytes[bytes.length - 7]! ^ 0x10;
    await writeFile(path, bytes);
    ends = await append(5);
    const lines: string[] = [];
    engine = startEngine(1000, pino({ level: 'info' }, { write: (line: string) => { lines.push(line); } }));
    await engine.assign(assignment([zero], zero));
    const a = await checkAt(engine, zero, ends);
    expect(a.partitions.map((c) => [c.applied, c.uncovered])).toEqual(ends.map((e) => [e, undefined]));
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; partition?: number });
    expect(logged.filter((l) => l.msg.startsWith('checkpoint damaged')).map((l) => l.partition)).toEqual([1]);
    expect(logged.filter((l) => l.msg === 'restored from its checkpoint').map((l) => l.partition).sort()).toEqual([0, 2]);
  });
});
