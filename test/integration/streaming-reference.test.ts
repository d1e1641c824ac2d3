/**
 * The speed reference (speed-reference.ts) against a real cluster, and the
 * streaming benchmark's view with it: YSB events appended to a dataset, the
 * campaign view (bench/views/ysb-campaign-views.ts) built at a cut inside
 * the log and at its end, and every answer of the serving node equal to the
 * reference fold up to its coverage; the reference over the whole log equal
 * to a count of the events as generated, in memory. Then with a speed
 * process: a merged answer (read your writes) counts exactly the records
 * before its speed vector, a batch-only one those before its cut.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LaminateClient } from '../../src/client/index.js';
import type { LocalCluster } from '../../src/local/local-cluster.js';
import { ysbKey, ysbReferenceFold } from '../../bench/streaming/merged-answers.js';
import { CAMPAIGN_OF_AD, CAMPAIGNS, YSB_WINDOW_MS } from '../../bench/streaming/ysb-campaigns.js';
import { YsbGenerator, type YsbEvent } from '../../bench/streaming/ysb-generator.js';
import { removeDir, ROOT, startLocal, tempDir } from './harness.js';
import { answerOffsets, describeMismatches, diffAnswer, foldLog, foldLogAt } from './speed-reference.js';

const VIEW_FILE = join(ROOT, 'bench', 'views', 'ysb-campaign-views.ts');
const START = 1_700_000_000_000;
const EVENTS = 6000;

describe('the speed reference over a real log, and the YSB campaign view', () => {
  let dir: string;
  let cluster: LocalCluster;
  let client: LaminateClient;
  const events: YsbEvent[] = [];

  beforeAll(async () => {
    dir = await tempDir('laminate-streaming-ref-');
    cluster = await startLocal({ dataDir: dir, workers: 2 });
    client = new LaminateClient(cluster.address);
    await client.createDataset('ysb', { partitions: 3 });
    // 6,000 events scheduled at 1,000/s: 6 s of event time over a window boundary.
    const gen = new YsbGenerator(11, { startMs: START + 7000, rate: 1000 });
    for (let i = 0; i < EVENTS; i++) events.push(gen.next());
    await client.append('ysb', events, { key: 'user_id' });
  });
  afterAll(async () => {
    await client.close();
    await cluster.stop();
    await removeDir(dir);
  });

  /** Views per campaign and window of `records`, counted in this test. */
  function countInMemory(records: readonly YsbEvent[]): Map<string, number> {
    const m = new Map<string, number>();
    for (const e of records) {
      if (e.event_type !== 'view') continue;
      const key = `${CAMPAIGN_OF_AD.get(e.ad_id)}|${Math.floor(e.event_time / YSB_WINDOW_MS) * YSB_WINDOW_MS}`;
      m.set(key, (m.get(key) ?? 0) + 1);
    }
    return m;
  }

  it('folds the whole log to the count of the events as generated', async () => {
    const ends = (await client.describeDataset('ysb')).partitions.map((p) => p.endOffset);
    expect(ends.reduce((a, b) => a + b, 0)).toBe(EVENTS);
    const whole = await foldLog(client, 'ysb', ends, ysbReferenceFold);
    expect(diffAnswer(countInMemory(events), whole, { complete: true })).toEqual([]);
    // Event times S+7s to S+13s: two windows, [S, S+10s) and [S+10s, S+20s).
    expect(new Set([...whole.keys()].map((k) => k.split('|')[1])).size).toBe(2);
  });

  it('gives, at a cut inside the log, what the records before it count', async () => {
    const ends = (await client.describeDataset('ysb')).partitions.map((p) => p.endOffset);
    const cut = ends.map((e, p) => Math.floor(e / (p + 2)));
    const before: YsbEvent[] = [];
    for (let p = 0; p < cut.length; p++) {
      for await (const r of client.read('ysb', { partition: p, endOffset: cut[p]! })) before.push(r.record as YsbEvent);
    }
    const [atCut, atEnd] = await foldLogAt(client, 'ysb', [cut, ends], ysbReferenceFold);
    expect(diffAnswer(countInMemory(before), atCut!, { complete: true })).toEqual([]);
    expect(diffAnswer(countInMemory(events), atEnd!, { complete: true })).toEqual([]);
    expect(diffAnswer(atEnd!, atCut!, { complete: true }).length).toBeGreaterThan(0);
  });

  it('equals every answer of the view built at a cut and at the end, at the answer coverage', async () => {
    await client.deployView(VIEW_FILE, { name: 'campaigns', partitions: 2 });
    const ends = (await client.describeDataset('ysb')).partitions.map((p) => p.endOffset);
    const cuts = [ends.map((e) => Math.floor(e / 3)), ends];
    for (const cut of cuts) {
      const b = await client.buildView('campaigns', { cut, wait: true });
      expect(b.state).toBe('PUBLISHED');
      // The serving node loads the new version and acknowledges it; reads are pinned to it.
      const deadline = Date.now() + 30_000;
      while (!(await client.viewVersions('campaigns')).versions.some((v) => v.version === b.version && v.servedBy.length > 0)) {
        if (Date.now() > deadline) throw new Error(`version ${b.version} was not served`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const scan = client.scan('campaigns', { version: b.version });
      const entries: Array<[string, number]> = [];
      for await (const e of scan) entries.push([ysbKey(e.key), e.value as number]);
      const upTo = answerOffsets(scan.coverage!);
      expect(upTo).toEqual(cut);
      const expected = await foldLog(client, 'ysb', upTo, ysbReferenceFold);
      expect(describeMismatches(diffAnswer(expected, entries, { complete: true }))).toBe('no mismatch');
      // A MultiGet of one window's 100 campaigns, compared key by key.
      const w = Math.floor((START + 7000) / YSB_WINDOW_MS) * YSB_WINDOW_MS;
      const got = await client.multiGet('campaigns', CAMPAIGNS.map((c) => [c, w]), { version: b.version });
      expect(answerOffsets(got.coverage)).toEqual(cut);
      expect(got.results.filter((r) => r.found).length).toBeGreaterThan(90);
      expect(diffAnswer(expected, got.results.map((r) => [ysbKey(r.key), r.found ? (r.value as number) : undefined] as const), { complete: false })).toEqual([]);
    }
  });
});

describe('merged answers of the YSB campaign view against the speed reference', () => {
  let dir: string;
  let cluster: LocalCluster;
  let client: LaminateClient;

  beforeAll(async () => {
    dir = await tempDir('laminate-streaming-merged-');
    cluster = await startLocal({ dataDir: dir, workers: 2, speed: true });
    client = new LaminateClient(cluster.address);
    await client.createDataset('ysb', { partitions: 3 });
  });
  afterAll(async () => {
    await client.close();
    await cluster.stop();
    await removeDir(dir);
  });

  it('counts exactly the records before the coverage speed vector: batch up to the cut, speed after it', async () => {
    const gen = new YsbGenerator(12, { startMs: START + 4000, rate: 1000 });
    const batch = (n: number): YsbEvent[] => Array.from({ length: n }, () => gen.next());
    await client.append('ysb', batch(3000), { key: 'user_id' });
    await client.deployView(VIEW_FILE, { name: 'campaigns', partitions: 2 });
    const b = await client.buildView('campaigns', { wait: true });
    expect(b.state).toBe('PUBLISHED');
    const deadline = Date.now() + 30_000;
    while ((await client.viewVersions('campaigns')).versions.find((v) => v.version === b.version)?.servedBy.length !== 1) {
      if (Date.now() > deadline) throw new Error(`version ${b.version} was not served`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Records after the version's cut: only the speed side has them.
    await client.append('ysb', batch(3000), { key: 'user_id' });
    const ends = (await client.describeDataset('ysb')).partitions.map((p) => p.endOffset);
    expect(ends.reduce((x, y) => x + y, 0)).toBe(6000);

    // Read your writes: the answer counts at least every record appended.
    const scan = client.scan('campaigns', { atLeast: ends, waitMs: 20_000 });
    const entries: Array<[string, number]> = [];
    for await (const e of scan) entries.push([ysbKey(e.key), e.value as number]);
    const coverage = scan.coverage!;
    expect(coverage.version).toBe(b.version);
    expect(coverage.cut).toEqual(b.cut);
    expect(coverage.speed).toEqual(ends);
    expect(describeMismatches(diffAnswer(await foldLog(client, 'ysb', answerOffsets(coverage), ysbReferenceFold), entries, { complete: true }))).toBe('no mismatch');

    // Batch only: the records before the cut, no speed side in the coverage.
    const batchOnly = client.scan('campaigns', { batchOnly: true });
    const batchEntries: Array<[string, number]> = [];
    for await (const e of batchOnly) batchEntries.push([ysbKey(e.key), e.value as number]);
    expect(batchOnly.coverage!.speed).toBeUndefined();
    expect(answerOffsets(batchOnly.coverage!)).toEqual(b.cut);
    expect(describeMismatches(diffAnswer(await foldLog(client, 'ysb', b.cut, ysbReferenceFold), batchEntries, { complete: true }))).toBe('no mismatch');
    expect(diffAnswer(new Map(entries), batchEntries, { complete: true }).length).toBeGreaterThan(0);
  });
});
