/**
 * The view, files and schedule triggers, and the per-function concurrency
 * limit, end to end on real processes: a `laminate master` and one
 * `laminate worker` (containers are its child processes), each handler a
 * real module deployed through LaminateClient that writes what it was given
 * to a dataset, read back here. One cluster for every case; expectations are
 * computed here from the inputs (the view's key counts from the records
 * appended), never taken from a run.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LaminateClient } from '../../src/client/laminate-client.js';
import type { DatasetRecord } from '../../src/storage/record-body.js';
import { EXAMPLES, removeDir, startMasterProc, startWorkerProc, tempDir, type MasterProc, type Proc } from './harness.js';

const HANDLERS: Record<string, string> = {
  // Each writes its event and event id to a dataset of its own.
  'on-view': `export default defineFunction(async (event, ctx) => { await ctx.emit('view-events', { event, eventId: ctx.eventId }); });`,
  'on-file': `export default defineFunction(async (event, ctx) => { await ctx.emit('file-events', { event, eventId: ctx.eventId }); });`,
  'on-tick': `export default defineFunction(async (event, ctx) => { await ctx.emit('tick-events', { event, eventId: ctx.eventId }); });`,
  // Marks its start with the time, then holds until the release file exists.
  gate: `import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default defineFunction(async (event, ctx) => {
  writeFileSync(join(event.dir, 'started-' + ctx.requestId), String(Date.now()));
  while (!existsSync(join(event.dir, 'release'))) await new Promise((r) => setTimeout(r, 20));
  return { n: event.n };
});`,
};

interface Emitted<E> { event: E; eventId: string }

describe('function triggers end to end on real processes', () => {
  let dir: string;
  let master: MasterProc;
  let worker: Proc;
  let client: LaminateClient;

  const readAll = async (dataset: string): Promise<DatasetRecord[]> => {
    const out: DatasetRecord[] = [];
    for (const p of (await client.describeDataset(dataset)).partitions) {
      if (p.records === 0) continue;
      for await (const r of client.read(dataset, { partition: p.partition, endOffset: p.endOffset })) out.push(r.record);
    }
    return out;
  };
  /** Polls (every 50 ms) until `pred` holds for the dataset's records, or fails after timeoutMs. */
  const waitFor = async <T>(dataset: string, pred: (rs: T[]) => boolean, timeoutMs = 30_000): Promise<T[]> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const rs = await readAll(dataset) as T[];
      if (pred(rs)) return rs;
      if (Date.now() > until) throw new Error(`timed out waiting on dataset ${dataset}: ${JSON.stringify(rs).slice(0, 2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const deploy = async (name: string, options: Parameters<LaminateClient['deployFunction']>[1]): Promise<void> => {
    await client.deployFunction(join(dir, 'fns', `${name}.ts`), { name, ...options });
  };

  beforeAll(async () => {
    dir = await tempDir();
    await mkdir(join(dir, 'fns'));
    for (const [name, body] of Object.entries(HANDLERS)) await writeFile(join(dir, 'fns', `${name}.ts`), `import { defineFunction } from 'laminate';\n${body}\n`);
    // Idle containers give their slots back soon, so the view builds below find room beside them.
    master = await startMasterProc(dir, { args: ['--function-files-poll', '100', '--function-idle-stop', '1000'] });
    worker = await startWorkerProc(master.address, dir, { slots: 4, memoryMb: 2048 });
    client = new LaminateClient(master.address);
    // What the handlers emit to (ctx.emit appends to a dataset that exists).
    for (const d of ['view-events', 'file-events', 'tick-events']) await client.createDataset(d, { partitions: 1 });
  });

  afterAll(async () => {
    await client?.close();
    await worker?.kill();
    await master?.kill();
    await removeDir(dir);
  });

  it('a view trigger gets each published version with its keys added, removed and changed, counted here from the records', async () => {
    await client.createDataset('clicks', { partitions: 2 });
    await client.deployView(join(EXAMPLES, 'views', 'page-views.ts'), { partitions: 2 });
    await deploy('on-view', { triggers: [{ kind: 'view', view: 'page-views' }] });
    const first = [...Array.from({ length: 30 }, (_, i) => ({ page_id: `p${i % 12}`, event_type: 'view' })), { page_id: 'p99', event_type: 'click' }];
    const second = Array.from({ length: 10 }, (_, i) => ({ page_id: `p${8 + i}`, event_type: 'view' }));
    // The view's key sets, independently: page -> views.
    const fold = (rs: { page_id: string; event_type: string }[]): Map<string, number> => {
      const m = new Map<string, number>();
      for (const r of rs) if (r.event_type === 'view') m.set(r.page_id, (m.get(r.page_id) ?? 0) + 1);
      return m;
    };
    const diff = (before: Map<string, number>, after: Map<string, number>): { added: number; removed: number; changed: number } => ({
      added: [...after.keys()].filter((k) => !before.has(k)).length,
      removed: [...before.keys()].filter((k) => !after.has(k)).length,
      changed: [...after].filter(([k, v]) => before.has(k) && before.get(k) !== v).length,
    });
    await client.append('clicks', first);
    const v1 = await client.buildView('page-views', { wait: true });
    await client.append('clicks', second);
    const v2 = await client.buildView('page-views', { wait: true });
    const events = await waitFor<Emitted<Record<string, unknown>>>('view-events', (rs) => rs.length >= 2);
    const byVersion = new Map(events.map((e) => [e.event.version, e]));
    expect(byVersion.get(v1.version)).toEqual({
      event: { view: 'page-views', version: v1.version, cut: v1.cut, previousVersion: 0, ...diff(new Map(), fold(first)) }, eventId: `on-view:view:page-views:${v1.version}`,
    });
    expect(byVersion.get(v2.version)).toEqual({
      event: { view: 'page-views', version: v2.version, cut: v2.cut, previousVersion: v1.version, ...diff(fold(first), fold([...first, ...second])) },
      eventId: `on-view:view:page-views:${v2.version}`,
    });
    // The counts above are not trivially zero: 12 keys first, then 4 changed (p8-p11) and 6 added (p12-p17).
    expect(diff(fold(first), fold([...first, ...second]))).toEqual({ added: 6, removed: 0, changed: 4 });
    expect(events).toHaveLength(2);
  });

  it('a files trigger gets one created and one removed event per file, with its size', async () => {
    const watched = join(dir, 'inbox');
    await mkdir(watched);
    await deploy('on-file', { triggers: [{ kind: 'files', dir: watched }] });
    // deploy answers once the trigger has started, its first listing (the baseline) taken: files written from
    // now on are events. (Before, deploy answered first; CI wrote a.txt before the listing and saw only b.json.)
    const contents = { 'a.txt': 'hello', 'b.json': JSON.stringify({ x: [1, 2, 3] }) };
    for (const [name, text] of Object.entries(contents)) await writeFile(join(watched, name), text);
    const created = await waitFor<Emitted<{ type: string; path: string; size: number }>>('file-events', (rs) => rs.length >= 2);
    await rm(join(watched, 'a.txt'));
    const all = await waitFor<Emitted<{ type: string; path: string; size: number }>>('file-events', (rs) => rs.length >= 3);
    const seen = all.map((e) => e.event).sort((x, y) => `${x.type}${x.path}`.localeCompare(`${y.type}${y.path}`));
    expect(seen).toEqual([
      { type: 'created', path: join(watched, 'a.txt'), size: Buffer.byteLength(contents['a.txt']) },
      { type: 'created', path: join(watched, 'b.json'), size: Buffer.byteLength(contents['b.json']) },
      { type: 'removed', path: join(watched, 'a.txt'), size: Buffer.byteLength(contents['a.txt']) },
    ]);
    expect(created.map((e) => e.event.type)).toEqual(['created', 'created']);
    expect(new Set(all.map((e) => e.eventId)).size).toBe(3);
  });

  it('a schedule trigger runs every second, at anchor + k periods, each run once with its due time in its event id', async () => {
    await deploy('on-tick', { triggers: [{ kind: 'schedule', expression: 'every 1s' }] });
    const ticks = await waitFor<Emitted<{ type: string; scheduledAt: number; expression: string }>>('tick-events', (rs) => rs.length >= 3);
    // Stopped: a version without the trigger.
    await deploy('on-tick', { triggers: [{ kind: 'http' }] });
    const due = ticks.map((t) => t.event.scheduledAt).sort((a, b) => a - b);
    for (const t of ticks) {
      expect(t.event).toMatchObject({ type: 'schedule', expression: 'every 1s' });
      expect(t.eventId).toBe(`on-tick:schedule:${t.event.scheduledAt}`);
    }
    expect(new Set(due).size).toBe(due.length);
    for (let i = 1; i < due.length; i++) expect((due[i]! - due[0]!) % 1000).toBe(0);
    // The files trigger above delivered no event twice in all this time.
    expect(await readAll('file-events')).toHaveLength(3);
  });

  it('runs at most --concurrency invocations of a function at once: one more waits (a throttle), then runs when one ends', async () => {
    const gateDir = join(dir, 'gate');
    await mkdir(gateDir);
    await deploy('gate', { concurrency: 2, timeoutMs: 30_000, triggers: [{ kind: 'http' }] });
    const calls = [1, 2, 3].map((n) => client.invoke('gate', { dir: gateDir, n }));
    const started = async (): Promise<string[]> => (await readdir(gateDir)).filter((f) => f.startsWith('started-'));
    for (let until = Date.now() + 30_000; (await started()).length < 2;) {
      if (Date.now() > until) throw new Error('the first two invocations did not start');
      await new Promise((r) => setTimeout(r, 20));
    }
    // Two run, the third waits: the service says so, and counts its wait as a throttle.
    const summary = async (): Promise<{ running: number; queued: number; throttles: number }> => (await client.listFunctions()).find((f) => f.live.name === 'gate')!.metrics;
    for (let until = Date.now() + 30_000; (await summary()).queued < 1;) {
      if (Date.now() > until) throw new Error('the third invocation was not queued');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await summary()).toMatchObject({ running: 2, queued: 1, throttles: 1 });
    expect(await started()).toHaveLength(2);
    const releasedAt = Date.now();
    await writeFile(join(gateDir, 'release'), '');
    const outcomes = await Promise.all(calls);
    expect(outcomes.map((o) => (o.ok ? o.result : o))).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    const starts = await Promise.all((await started()).map(async (f) => Number(await readFile(join(gateDir, f), 'utf8'))));
    expect(starts).toHaveLength(3);
    // The third started only after the release, that is after one of the first two ended.
    expect(starts.filter((t) => t >= releasedAt)).toHaveLength(1);
    expect(await summary()).toMatchObject({ running: 0, queued: 0, throttles: 1 });
  });
});
