/**
 * Faults of the speed layer with real processes (issue 9, "Faults"): one
 * cluster spawned from dist/ (master, worker, `laminate serve`, `laminate
 * speed` with the real engine) shared by the scenarios below, which run in
 * order on it while records are appended. Every answer is compared with an
 * independent sequential fold of the log up to the offsets its coverage
 * names (coverage.speed for a merged answer, the cut for a batch-only one),
 * with zero tolerance. Needs `npm run build` first.
 */
import { execFile } from 'node:child_process';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import type { Coverage } from '../../src/common/serving-shapes.js';
import type { HandoffHolder } from '../../src/common/speed-status.js';
import { DatasetClient } from '../../src/protocol/dataset-rpc.js';
import { encodeBody } from '../../src/storage/record-body.js';
import { seededRandom } from '../support/seeded-random.js';
import { Teardown } from './fault-support.js';
import { CLI, removeDir, startServeProc, tempDir } from './harness.js';
import {
  Appender, clicks, countedUpTo, foldSums, foldWindows, LogMirror, logEnd, PAGES, scanView, startSpeedCluster, SUMS_MODULE, SUMS_VIEW, until,
  WINDOW_MS, WINDOWS_MODULE, WINDOWS_VIEW,
  type SpeedCluster, type SpeedProc,
} from './speed-fault-support.js';

const run = promisify(execFile);
const PARTITIONS = 3;
const teardown = new Teardown();
let c: SpeedCluster;
let log: LogMirror;
let speed: SpeedProc;
const nextId = { value: 0 };
const ALL_PAGES = [...Array.from({ length: PAGES }, (_, i) => `page-${i}`), 'never-viewed'];

beforeAll(async () => {
  const dir = await tempDir('laminate-speed-faults-');
  teardown.add(() => removeDir(dir));
  c = await startSpeedCluster(dir, teardown);
  log = new LogMirror(c.client, 'clicks', PARTITIONS);
  await c.client.createDataset('clicks', { partitions: PARTITIONS });
  await c.client.append('clicks', clicks(seededRandom(1), nextId.value, 1500));
  nextId.value += 1500;
  await c.client.deployView(SUMS_MODULE, { partitions: 2 });
  await c.client.buildView(SUMS_VIEW, { wait: true });
  speed = await c.startSpeed('speed-1');
}, 60_000);
afterAll(() => teardown.run());

/**
 * One answer checked: a whole scan and a multiGet of every page, each equal
 * to the fold of the records before its coverage's offsets. Returns the scan's coverage.
 */
async function checkAnswer(o: { atLeast?: readonly number[]; waitMs?: number; batchOnly?: boolean } = {}): Promise<Coverage> {
  const scan = await scanView(c.client, SUMS_VIEW, o);
  checkCoverage(scan.coverage);
  expect(scan.entries).toEqual(foldSums(await log.upTo(countedUpTo(scan.coverage))));
  const got = await c.client.multiGet(SUMS_VIEW, ALL_PAGES, o);
  checkCoverage(got.coverage);
  const expected = foldSums(await log.upTo(countedUpTo(got.coverage)));
  expect(got.results.map((r) => r.value)).toEqual(ALL_PAGES.map((p) => expected.get(JSON.stringify(p))));
  expect(got.results.map((r) => r.found)).toEqual(ALL_PAGES.map((p) => expected.has(JSON.stringify(p))));
  return scan.coverage;
}

/** A coverage is consistent: A >= cut, and A = cut on every uncovered partition. */
function checkCoverage(cov: Coverage): void {
  if (cov.speed === undefined) return;
  cov.speed.forEach((a, p) => expect(a).toBeGreaterThanOrEqual(cov.cut[p]!));
  for (const u of cov.uncovered ?? []) expect(cov.speed[u.partition]).toBe(cov.cut[u.partition]);
}

/** Appenders and samplers of the running test, stopped after it even when it fails. */
const running: Array<{ stop(): Promise<unknown> }> = [];

function appender(o: { tolerant?: boolean } = {}): Appender {
  const a = new Appender(c.client, 'clicks', nextId, 40, o.tolerant === true).start();
  running.push(a);
  return a;
}

interface Sampler {
  readonly seen: Coverage[];
  /** Waits until `pred` holds for the answers seen so far; rejects at once with the sampler's failure, if any. */
  until(pred: (seen: readonly Coverage[]) => boolean, what: string): Promise<void>;
  /** Stops; resolves with the coverages of every answer checked, or rejects with the first failure. */
  stop(): Promise<Coverage[]>;
}

/** Checks answers one after another until stopped. */
function sampler(o: { batchOnly?: boolean } = {}): Sampler {
  let stopping = false;
  let failure: unknown;
  const seen: Coverage[] = [];
  const loop = (async () => {
    while (!stopping) seen.push(await checkAnswer(o));
  })().catch((err: unknown) => { failure = err; });
  const s: Sampler = {
    seen,
    until: (pred, what) => until(() => {
      if (failure !== undefined) throw failure instanceof Error ? failure : new Error(String(failure));
      return pred(seen) ? true : undefined;
    }, 30_000, what).then(() => undefined),
    async stop() {
      stopping = true;
      await loop;
      if (failure !== undefined) throw failure;
      return seen;
    },
  };
  running.push(s);
  return s;
}

/** Drained: no appends running, an answer that must count up to the log's end, checked. */
async function checkDrained(): Promise<Coverage> {
  const end = await logEnd(c.client, 'clicks');
  // Every answer is checked; until the serving node has heard where the speed
  // processes are (and they cover every partition), they may be batch-only or partial.
  const cov = await until(async () => {
    const x = await checkAnswer({ atLeast: end, waitMs: 30_000 });
    return x.speed !== undefined && x.uncovered!.length === 0 ? x : undefined;
  }, 30_000, 'a merged answer covering every partition');
  expect(cov.speed).toEqual(end);
  return cov;
}

async function handoffOf(view: string): Promise<{ handoffCut: readonly number[]; heldBy: readonly HandoffHolder[]; starts: number[] }> {
  const s = await c.status();
  const h = s.handoffs.find((x) => x.view === view)!;
  const starts = new Array<number>(PARTITIONS).fill(-1);
  for (const n of s.nodes) for (const v of n.views) if (v.view === view) for (const p of v.partitions) starts[p.partition] = p.start;
  return { handoffCut: h.handoffCut, heldBy: h.heldBy, starts };
}

/** Waits until the speed processes report their state starting exactly at `cut` (the handoff drop happened). */
async function waitForStarts(cut: readonly number[], what: string): Promise<void> {
  await until(async () => {
    const h = await handoffOf(SUMS_VIEW);
    return JSON.stringify(h.handoffCut) === JSON.stringify(cut) && JSON.stringify(h.starts) === JSON.stringify(cut) ? h : undefined;
  }, 30_000, what);
}

afterEach(async () => {
  for (const r of running.splice(0)) await r.stop().catch(() => {});
});

describe('the speed layer under faults (real processes)', () => {
  beforeEach(() => {
    onTestFailed(() => console.error(`speed log:\n${speed.stderr().slice(-4000)}\nmaster log:\n${c.master.stderr().slice(-3000)}\nserve log:\n${c.serve.stderr().slice(-3000)}`));
  });

  it('merges exactly once the speed process has caught up', async () => {
    const cov = await checkDrained();
    expect(cov.version).toBe(1);
    // Nothing appended since the build: the speed side is empty, A = cut.
    expect(cov.speed).toEqual(cov.cut);
    const batch = await checkAnswer({ batchOnly: true });
    expect(batch.speed).toBeUndefined();
  });

  it('a speed process SIGKILLed during ingest and restarted: exact before, while down, after; nothing counted twice', async () => {
    const ingest = appender();
    // Answers with the speed side counting records past the cut, before the kill.
    const before = sampler();
    await before.until((seen) => seen.filter((x) => x.speed !== undefined && x.speed.some((a, p) => a > x.cut[p]!)).length >= 3, 'merged answers');
    await before.stop();
    await speed.kill('SIGKILL');
    // While it is down: exact, its partitions named uncovered.
    const down = await checkAnswer();
    // Merged with the process's partitions uncovered, or batch-only once the master has let it go.
    if (down.speed !== undefined) expect(down.uncovered!.map((u) => u.partition)).toEqual([0, 1, 2]);
    speed = await c.startSpeed('speed-1');
    const after = sampler();
    await after.until((seen) => seen.some((x) => x.speed !== undefined && x.uncovered!.length === 0 && x.speed.some((a, p) => a > x.cut[p]!)), 'merged answers after the restart')
      .catch(async (err: unknown) => { console.error(JSON.stringify(await c.views.listServingNodes())); throw err; });
    await after.stop();
    await ingest.stop();
    expect(ingest.appended).toBeGreaterThan(0);
    await checkDrained();
  });

  it('a batch publish during ingest: every answer before, during and after it and its handoff is exact; the speed state then starts at the new cut', async () => {
    const ingest = appender();
    const s = sampler();
    await s.until((seen) => seen.length >= 3, 'answers before the build');
    const build = await c.client.buildView(SUMS_VIEW, { wait: true });
    expect(build).toMatchObject({ version: 2, state: 'PUBLISHED' });
    await s.until((seen) => seen.some((x) => x.version === 2), 'answers from version 2');
    await waitForStarts(build.cut, 'the handoff drop to version 2\'s cut');
    const seen = await s.stop();
    await ingest.stop();
    expect(new Set(seen.map((x) => x.version))).toEqual(new Set([1, 2]));
    await checkDrained();
  });

  it('a serving node that never acknowledges (SIGKILLed): nothing dropped, answers exact, speed-status names it until it is forgotten', async () => {
    const serve2 = await startServeProc(c.master.address, c.dir, 'serve-2');
    teardown.add(() => serve2.kill());
    await until(async () => ((await c.views.listServingNodes()).find((n) => n.nodeId === serve2.nodeId)?.loaded.some((l) => l.view === SUMS_VIEW && l.version === 2) ? true : undefined),
      30_000, 'serve-2 to report version 2');
    await serve2.kill('SIGKILL');
    const v2cut = (await c.client.viewVersions(SUMS_VIEW)).versions.find((v) => v.version === 2)!.cut;

    const ingest = appender();
    const s = sampler();
    const build = await c.client.buildView(SUMS_VIEW, { wait: true });
    expect(build.version).toBe(3);
    await s.until((seen) => seen.some((x) => x.version === 3), 'answers from version 3');
    await ingest.stop();
    await s.stop();
    // Once serve-1's report of version 3 has reached the master, serve-2 alone holds the handoff back.
    const held = await until(async () => {
      const h = await handoffOf(SUMS_VIEW);
      return h.heldBy.length === 1 ? h : undefined;
    }, 30_000, 'serve-1 to report version 3');
    expect(held.handoffCut).toEqual(v2cut);
    expect(held.heldBy.map((x) => [x.nodeId, x.version])).toEqual([[serve2.nodeId, 2]]);
    // Nothing was dropped: the state still starts at version 2's cut.
    expect(held.starts).toEqual(v2cut);
    const { stdout } = await run(process.execPath, [CLI, 'speed-status', '--master', c.master.address]);
    expect(stdout).toContain(`held back by ${serve2.nodeId} (serving v2`);
    await checkDrained();

    await run(process.execPath, [CLI, 'forget-serving-node', serve2.nodeId, '--master', c.master.address]);
    await waitForStarts(build.cut, 'the handoff drop to version 3\'s cut once serve-2 is forgotten');
    await checkDrained();
  });

  it('a speed process far behind (SIGSTOPped) while a build passes its applied offsets: it skips ahead, exact', async () => {
    speed.proc.kill('SIGSTOP');
    let stopped = true;
    teardown.add(() => { if (stopped) speed.proc.kill('SIGCONT'); });
    const endAtStop = await logEnd(c.client, 'clicks');
    // A backlog large enough that, resumed, the process hears of the new handoff cut before it could fold up to it.
    await c.client.append('clicks', clicks(seededRandom(3), nextId.value, 150_000));
    nextId.value += 150_000;
    const build = await c.client.buildView(SUMS_VIEW, { wait: true });
    expect(build.version).toBe(4);
    // The build's cut is past every offset the stopped process may have applied.
    expect(build.cut.every((x, p) => x > endAtStop[p]!)).toBe(true);
    // Batch-only answers need no speed process.
    await until(async () => ((await checkAnswer({ batchOnly: true })).version === 4 ? true : undefined), 30_000, 'version 4 served');
    const ingest = appender();
    speed.proc.kill('SIGCONT');
    stopped = false;
    await waitForStarts(build.cut, 'the state to start at version 4\'s cut');
    await ingest.stop();
    await checkDrained();
    expect(speed.stderr()).toMatch(/skipped ahead to the handoff cut/);
  });

  it('a speed process SIGKILLed while writing a checkpoint (temp file written, not renamed): restarted, exact, no temp file left', async () => {
    await speed.kill('SIGKILL');
    const ingest = appender();
    // The hook kills the process at its first checkpoint write after a change.
    const crashing = await c.startSpeed('speed-1', { LAMINATE_FAULT_KILL_AT: 'checkpoint:temp-written' });
    const signal = await new Promise<NodeJS.Signals | null>((r) => {
      if (crashing.proc.exitCode !== null || crashing.proc.signalCode !== null) r(crashing.proc.signalCode);
      else crashing.proc.once('exit', (_code, sig) => r(sig));
    });
    expect(signal).toBe('SIGKILL');
    const leftByCrash = (await checkpointFiles()).filter((f) => f.endsWith('.tmp'));
    expect(leftByCrash.length).toBeGreaterThan(0);
    speed = await c.startSpeed('speed-1');
    const s = sampler();
    await s.until((seen) => seen.some((x) => x.speed !== undefined && x.uncovered!.length === 0), 'merged answers after the restart');
    await s.stop();
    await ingest.stop();
    await checkDrained();
    // Restored: the crashed writes' temp files are gone (the live process may be writing one of its own now).
    const files = await checkpointFiles();
    expect(leftByCrash.filter((f) => files.includes(f))).toEqual([]);
  });

  it('two speed processes sharing a checkpoint folder, one SIGKILLed: the other takes its partitions over; answers exact or naming uncovered partitions', async () => {
    const second = await c.startSpeed('speed-2');
    // A new process gets only unowned partitions: speed-1 keeps all three.
    const ingest = appender();
    const s = sampler();
    await s.until((seen) => seen.length >= 2, 'answers before the kill');
    await speed.kill('SIGKILL');
    await until(async () => {
      const st = await c.status();
      const owned = st.nodes.find((n) => n.nodeId === second.nodeId)?.assigned.find((a) => a.view === SUMS_VIEW)?.partitions ?? [];
      return [...owned].sort().join(',') === '0,1,2' ? true : undefined;
    }, 30_000, 'speed-2 to be assigned every partition');
    await s.until((seen) => seen.some((x) => x.speed !== undefined && x.uncovered!.length === 0 && x.speed.some((a, p) => a > x.cut[p]!) && x === s.seen[s.seen.length - 1]), 'merged answers from speed-2');
    const seen = await s.stop();
    await ingest.stop();
    expect(seen.length).toBeGreaterThan(2);
    await checkDrained();
    speed = second;
  });

  it('duplicate appends from a retrying producer (same producer id, replayed): stored and counted once', async () => {
    const records = clicks(seededRandom(9), 1_000_000, 500);
    const send = async (): Promise<number> => {
      const producer = c.client.producer('clicks', { producerId: 'retrying-producer', replay: true });
      const acks = await Promise.all(records.map((r) => producer.send(r)));
      await producer.close();
      return acks.filter((a) => a.alreadyStored === true).length;
    };
    expect(await send()).toBe(0);
    const cov = await checkDrained();
    expect(await send()).toBe(records.length);
    const again = await checkDrained();
    expect(again.speed).toEqual(cov.speed);
    const ids = (await log.upTo(again.speed!)).flat().map((r) => r.id).filter((id) => id >= 1_000_000);
    expect(ids.sort((a, b) => a - b)).toEqual(records.map((r) => r.id));
  });

  it('one idle partition does not hold a windowed view\'s watermark back: windows become final, answers exact', async () => {
    await c.client.deployView(WINDOWS_MODULE, { partitions: 2 });
    await c.client.buildView(WINDOWS_VIEW, { wait: true });
    const datasets = new DatasetClient(c.master.address);
    teardown.add(() => datasets.close());
    const random = seededRandom(5);
    const appendTo = async (partition: number, n: number, t: number): Promise<void> => {
      const records = clicks(random, nextId.value, n, () => t);
      nextId.value += n;
      await datasets.append([{ dataset: 'clicks', partition, body: encodeBody(records), count: n }]);
    };
    // Partition 2 gets one record now, then nothing; the others get records an hour ahead in event time,
    // in two windows: the first can only become final once partition 2 no longer holds the watermark back.
    const now = Date.now();
    await appendTo(2, 1, now);
    const first = Math.floor(now / WINDOW_MS) * WINDOW_MS + 3600_000;
    const second = first + 2 * WINDOW_MS;
    await appendTo(0, 20, first + 1);
    await appendTo(1, 20, first + 2);
    const answer = await until(async () => {
      // Partitions 0 and 1 stay active (a record within the 1 s idle timeout).
      await appendTo(0, 3, second + 1);
      await appendTo(1, 3, second + 2);
      const got = await scanView(c.client, WINDOWS_VIEW);
      expect(got.entries).toEqual(foldWindows(await log.upTo(countedUpTo(got.coverage))));
      return got.coverage.watermark !== undefined && got.coverage.watermark >= first + WINDOW_MS && got.coverage.uncovered!.length === 0 ? got : undefined;
    }, 30_000, 'the watermark to pass the first window');
    expect(answer.coverage.uncovered).toEqual([]);
    const watermark = answer.coverage.watermark!;
    expect(watermark).toBeGreaterThan(now + 3000_000);
    // Final exactly where the window ends at or before the watermark: the first window is, the second is not.
    const finals = [...answer.finals].map(([k, f]) => [k, f]);
    expect(finals).toEqual([...answer.finals.keys()].map((k) => [k, (JSON.parse(k) as [string, number])[1] + WINDOW_MS <= watermark]));
    const starts = new Set([...answer.finals].map(([k, f]) => `${(JSON.parse(k) as [string, number])[1]}:${String(f)}`));
    expect(starts).toContain(`${first}:true`);
    expect(starts).toContain(`${second}:false`);
  });

  it('crashes between a publish and its acknowledgement, and between the acknowledgement and the drop: exact throughout and after', async () => {
    const ingest = appender();
    await until(() => (ingest.appended > 200 ? true : undefined), 30_000, 'records appended');
    // Published, and at once the serving node and the speed process SIGKILLed: the node has likely not
    // loaded (acknowledged) the version yet; whatever it had, both restart from their folders.
    const build = await c.client.buildView(SUMS_VIEW, { wait: true });
    await Promise.all([c.serve.kill('SIGKILL'), speed.kill('SIGKILL')]);
    c.serve = await startServeProc(c.master.address, c.dir, 'serve-1');
    teardown.add(() => c.serve.kill());
    speed = await c.startSpeed('speed-2');
    const s = sampler();
    await waitForStarts(build.cut, 'the handoff to the new cut after the restarts');
    await s.until((seen) => seen.some((x) => x.version === build.version && x.speed !== undefined && x.uncovered!.length === 0), 'merged answers from the new version');

    // The next publish: the speed process SIGKILLed as soon as the master has the acknowledgement
    // (the handoff cut moves), before or just after it dropped; restarted, it restores and drops.
    const next = await c.client.buildView(SUMS_VIEW, { wait: true });
    await until(async () => (JSON.stringify((await handoffOf(SUMS_VIEW)).handoffCut) === JSON.stringify(next.cut) ? true : undefined), 30_000, 'the acknowledgement');
    await speed.kill('SIGKILL');
    speed = await c.startSpeed('speed-2');
    await waitForStarts(next.cut, 'the drop after the restart');
    await s.until((seen) => seen.some((x) => x.version === next.version && x.speed !== undefined && x.uncovered!.length === 0), 'merged answers after the restart');
    await s.stop();
    await ingest.stop();
    await checkDrained();
  });
  it('a rollback to a version with an earlier cut during ingest: the speed side folds again from that cut; answers exact, batch-only where not caught up, or waiting when asked', async () => {
    // A version with records past the one before it, to roll back from.
    await c.client.append('clicks', clicks(seededRandom(11), nextId.value, 300));
    nextId.value += 300;
    await c.client.buildView(SUMS_VIEW, { wait: true });
    const info = await c.client.viewVersions(SUMS_VIEW);
    const current = info.versions.find((v) => v.current)!;
    const target = info.versions.filter((v) => v.version < current.version).sort((a, b) => b.version - a.version)[0]!;
    expect(target.cut.some((x, p) => x < current.cut[p]!)).toBe(true);
    await waitForStarts(current.cut, 'the state to start at the current cut');
    const ingest = appender();
    const s = sampler();
    await s.until((seen) => seen.some((x) => x.version === current.version && x.speed !== undefined && x.uncovered!.length === 0), 'merged answers before the rollback');
    await c.client.rollbackView(SUMS_VIEW, target.version);
    const endAtRollback = await logEnd(c.client, 'clicks');
    // Read your writes across the rollback: waits until the refold from the older cut has reached the log end seen.
    const waited = await until(async () => {
      const x = await checkAnswer({ atLeast: endAtRollback, waitMs: 30_000 });
      return x.version === target.version ? x : undefined;
    }, 30_000, 'an answer from the rolled-back version covering the log end at the rollback');
    expect(waited.speed!.every((a, p) => a >= endAtRollback[p]!)).toBe(true);
    // The speed side went back to the older cut (the log is immutable, so it can fold it again).
    await waitForStarts(target.cut, 'the state to start again at the rolled-back version\'s cut');
    await s.until((seen) => seen.some((x) => x.version === target.version && x.speed !== undefined && x.uncovered!.length === 0 && x.speed.some((a, p) => a > current.cut[p]!)), 'merged answers from the rolled-back version');
    const seen = await s.stop();
    await ingest.stop();
    // Until caught up, a partition is not merged: uncovered with its reason, never a partial fold.
    for (const x of seen.filter((y) => y.version === target.version)) {
      for (const u of x.uncovered ?? []) expect(u.reason).toMatch(/dropped|not reached|busy|no speed process|moving/);
    }
    await checkDrained();
  });

  it('a serving node that refuses a damaged version (checksums): it never acknowledges, the handoff is held, nothing dropped, answers exact, speed-status names it', async () => {
    const before = (await c.client.viewVersions(SUMS_VIEW)).versions.find((v) => v.current)!;
    await waitForStarts(before.cut, 'the state to start at the current cut');
    // Records past the current cut, so that the new version's cut is ahead of it.
    await c.client.append('clicks', clicks(seededRandom(12), nextId.value, 300));
    nextId.value += 300;
    // Stopped, the node cannot load the new version before its file is damaged.
    c.serve.proc.kill('SIGSTOP');
    let stopped = true;
    teardown.add(() => { if (stopped) c.serve.proc.kill('SIGCONT'); });
    const build = await c.client.buildView(SUMS_VIEW, { wait: true });
    const dir = join(c.dir, 'master', 'views', SUMS_VIEW, `v${build.version}`);
    try {
      // The largest of the version's files (a partition with no key has an empty one).
      const files = (await readdir(dir, { withFileTypes: true })).filter((f) => f.isFile() && f.name.startsWith('part-'));
      const sizes = await Promise.all(files.map(async (f) => ({ path: join(dir, f.name), size: (await stat(join(dir, f.name))).size })));
      expect(sizes.length).toBeGreaterThan(0);
      await flipByte(sizes.sort((a, b) => b.size - a.size)[0]!.path);
    } finally {
      c.serve.proc.kill('SIGCONT');
      stopped = false;
    }
    const ingest = appender();
    const refused = await until(async () => {
      const v = (await c.client.viewVersions(SUMS_VIEW)).versions.find((x) => x.version === build.version)!;
      return v.refusedBy.some((r) => r.startsWith(`${c.serve.nodeId}:`)) ? v : undefined;
    }, 30_000, 'serve-1 to refuse the damaged version');
    expect(refused.servedBy).toEqual([]);
    const s = sampler();
    await s.until((seen) => seen.filter((x) => x.speed !== undefined && x.uncovered!.length === 0).length >= 3, 'merged answers while the version is refused');
    const seen = await s.stop();
    await ingest.stop();
    // The node keeps serving what it served; the handoff stays at that version's cut, and nothing before it was dropped.
    expect(new Set(seen.map((x) => x.version))).toEqual(new Set([before.version]));
    const held = await handoffOf(SUMS_VIEW);
    expect(held.handoffCut).toEqual(before.cut);
    expect(held.starts).toEqual(before.cut);
    expect(held.heldBy.map((x) => [x.nodeId, x.version, x.live])).toEqual([[c.serve.nodeId, before.version, true]]);
    const { stdout } = await run(process.execPath, [CLI, 'speed-status', '--master', c.master.address]);
    expect(stdout).toContain(`held back by ${c.serve.nodeId} (serving v${before.version}`);
    await checkDrained();
    // A sound version after it is loaded, and the handoff moves on.
    const next = await c.client.buildView(SUMS_VIEW, { wait: true });
    await waitForStarts(next.cut, 'the handoff to the next sound version');
    await checkDrained();
  });

  it('the master SIGKILLed during speed ingest and restarted: speed processes and serving nodes reconnect; answers exact, nothing counted twice', async () => {
    const ingest = appender({ tolerant: true });
    const s = sampler();
    await s.until((seen) => seen.filter((x) => x.speed !== undefined && x.uncovered!.length === 0 && x.speed.some((a, p) => a > x.cut[p]!)).length >= 2, 'merged answers before the kill');
    await s.stop();
    const appendedBefore = ingest.appended;
    await c.restartMaster();
    // Appends go on against the restarted master; the speed process and the serving node heartbeat it again.
    await until(() => (ingest.appended > appendedBefore + 200 ? true : undefined), 30_000, 'appends to the restarted master');
    await until(async () => {
      const st = await c.status();
      const owned = st.nodes.find((n) => n.nodeId === speed.nodeId)?.assigned.find((a) => a.view === SUMS_VIEW)?.partitions ?? [];
      return [...owned].sort().join(',') === '0,1,2' ? true : undefined;
    }, 30_000, 'the speed process to be assigned its partitions again');
    await until(async () => ((await c.views.listServingNodes()).some((n) => n.nodeId === c.serve.nodeId) ? true : undefined), 30_000, 'the serving node to heartbeat again');
    const after = sampler();
    await after.until((seen) => seen.some((x) => x.speed !== undefined && x.uncovered!.length === 0 && x.speed.some((a, p) => a > x.cut[p]!)), 'merged answers after the restart')
      .catch(async (err: unknown) => { console.error(JSON.stringify(await c.views.listServingNodes())); throw err; });
    await after.stop();
    await ingest.stop();
    await checkDrained();
  });
});

/** Flips one byte in the middle of a file (a damaged view file: its checksums no longer match). */
async function flipByte(path: string): Promise<void> {
  const f = await open(path, 'r+');
  try {
    const { size } = await f.stat();
    const at = Math.floor(size / 2);
    const b = Buffer.alloc(1);
    await f.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    await f.write(b, 0, 1, at);
  } finally {
    await f.close();
  }
}

/** The names of the files under the shared checkpoint folder. */
async function checkpointFiles(): Promise<string[]> {
  return (await readdir(c.checkpoints, { recursive: true })).map(String);
}
