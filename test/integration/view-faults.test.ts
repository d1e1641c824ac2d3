import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unpack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { LaminateClient } from '../../src/client/index.js';
import { JobClient } from '../../src/client/job-client.js';
import { ViewFileReader } from '../../src/view/view-file-reader.js';
import { seededRandom } from '../support/seeded-random.js';
import { EXAMPLES, FIXTURES, freePort, removeDir, startMasterProc, startWorkerProc, tempDir, type Proc } from './harness.js';

interface Click { readonly page_id: string; readonly event_type: string }

async function until<T>(get: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Views per page over `records`: the sequential count every published version must equal. */
function pageViews(records: readonly Click[]): Record<string, number> {
  const m = new Map<string, number>();
  for (const r of records) if (r.event_type === 'view') m.set(r.page_id, (m.get(r.page_id) ?? 0) + 1);
  return Object.fromEntries(m);
}

/** Every entry of the version folder's view files. */
async function versionEntries(vdir: string): Promise<Record<string, unknown>> {
  const got = new Map<string, unknown>();
  for (const name of (await readdir(vdir)).filter((n) => n.startsWith('part-'))) {
    const reader = await ViewFileReader.open(join(vdir, name));
    for await (const e of reader.scan()) got.set(e.key, unpack(e.value));
    await reader.close();
  }
  return Object.fromEntries(got);
}

let dir: string;
const procs: Proc[] = [];
const clients: Array<{ close(): unknown }> = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const p of procs.splice(0)) await p.kill();
  await removeDir(dir);
});

describe('a view build through a master SIGKILL', () => {
  it('resumes the build after the restart and publishes a version equal to a sequential count over its cut', async () => {
    dir = await tempDir();
    const port = await freePort();
    const master = await startMasterProc(dir, { port });
    procs.push(master);
    const workers = await Promise.allSettled([0, 1].map(() => startWorkerProc(master.address, dir, { slots: 2 })));
    for (const w of workers) if (w.status === 'fulfilled') procs.push(w.value);
    for (const w of workers) if (w.status === 'rejected') throw w.reason;
    const client = new LaminateClient(master.address);
    clients.push(client);
    await client.createDataset('clicks', { partitions: 4 });
    const random = seededRandom(99);
    const records: Click[] = Array.from({ length: 20_000 }, () => ({ page_id: `p${Math.floor(random() * 30)}`, event_type: random() < 0.5 ? 'view' : 'click' }));
    for (let i = 0; i < records.length; i += 2500) await client.append('clicks', records.slice(i, i + 2500));
    await client.deployView(join(FIXTURES, 'views', 'slow-page-views.ts'), { name: 'pages', partitions: 2 });
    const started = await client.buildView('pages');
    expect(started).toMatchObject({ version: 1, state: 'RUNNING' });

    // Kill the master once the build's job has finished a map but not the job.
    const jobs = new JobClient(master.address);
    clients.push(jobs);
    await until(async () => {
      const s = await jobs.status(started.jobId);
      return (s.maps?.succeeded ?? 0) > 0 && s.state === 'RUNNING' ? s : undefined;
    }, 60_000, 'a finished map of the build');
    await master.kill('SIGKILL');
    const again = await startMasterProc(dir, { port });
    procs.push(again);

    const published = await until(async () => {
      const l = await client.viewVersions('pages');
      return l.builds[0]?.state === 'PUBLISHED' ? l : undefined;
    }, 120_000, 'the build to be published after the restart');
    expect(published.versions.map((v) => [v.version, v.current, v.cut])).toEqual([[1, true, started.cut]]);

    expect(await versionEntries(join(dir, 'master', 'views', 'pages', 'v1'))).toEqual(pageViews(records));
  });
});

/**
 * The master SIGKILLed right after each durable step of a publish (by the
 * LAMINATE_FAULT_KILL_AT crash-test hook): the manifest written; CURRENT's
 * new contents written but not renamed; CURRENT renamed but the folder not
 * synced. Restarted, the master finishes the publish: the version is
 * current, equal to a sequential count, and nothing half-written is left.
 */
describe('a publish through a master SIGKILL at each of its steps', () => {
  it.each(['manifest:renamed', 'current:temp-written', 'current:renamed'])('finishes a publish killed at %s', async (step) => {
    dir = await tempDir();
    const port = await freePort();
    const master = await startMasterProc(dir, { port, env: { LAMINATE_FAULT_KILL_AT: step } });
    procs.push(master);
    procs.push(await startWorkerProc(master.address, dir, { slots: 2 }));
    const client = new LaminateClient(master.address);
    clients.push(client);
    await client.createDataset('clicks', { partitions: 2 });
    const random = seededRandom(step.length);
    const records: Click[] = Array.from({ length: 2000 }, () => ({ page_id: `p${Math.floor(random() * 20)}`, event_type: random() < 0.5 ? 'view' : 'click' }));
    await client.append('clicks', records);
    await client.deployView(join(EXAMPLES, 'views', 'page-views.ts'), { partitions: 2 });
    // The build runs, and the master kills itself at the step (the hook), SIGKILL as a crash would.
    const exited = new Promise<NodeJS.Signals | null>((r) => {
      if (master.proc.exitCode !== null || master.proc.signalCode !== null) r(master.proc.signalCode);
      else master.proc.once('exit', (_code, signal) => r(signal));
    });
    await client.buildView('page-views');
    expect(await exited).toBe('SIGKILL');

    const root = join(dir, 'master', 'views');
    const current = await readFile(join(root, 'page-views', 'CURRENT'), 'utf8').catch(() => undefined);
    expect(current === undefined || current === 'v1\n').toBe(true);
    procs.push(await startMasterProc(dir, { port }));
    const published = await until(async () => {
      const l = await client.viewVersions('page-views');
      return l.builds[0]?.state === 'PUBLISHED' ? l : undefined;
    }, 120_000, `the build to be published after a kill at ${step}`);
    expect(published.versions.map((v) => [v.version, v.current])).toEqual([[1, true]]);

    const vdir = join(root, 'page-views', 'v1');
    expect(await versionEntries(vdir)).toEqual(pageViews(records));
    const leftovers = [...await readdir(join(root, 'page-views')), ...await readdir(vdir)].filter((n) => n.endsWith('.tmp'));
    expect(leftovers).toEqual([]);
  });
});
