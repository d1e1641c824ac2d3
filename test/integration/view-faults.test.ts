import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LaminateClient } from '../../src/client/index.js';
import { JobClient } from '../../src/client/job-client.js';
import { seededRandom } from '../support/seeded-random.js';
import type { ViewBuild } from '../../src/common/view-shapes.js';
import { FIXTURES, freePort, startMasterProc, startWorkerProc, tempDir, type MasterProc, type Proc } from './harness.js';
import { pageViews, StartedByTest, until, versionEntries, type Click } from './view-crash-support.js';

/** What each test started: stopped, closed and removed after it. */
const t = new StartedByTest();
afterEach(t.cleanup);

/**
 * A master and two workers (processes), 20,000 clicks in 4 partitions, the
 * slow page-views view deployed as 'pages' and its first build started.
 */
async function startSlowBuild(port: number): Promise<{ master: MasterProc; workers: Array<Proc & { id: string }>; client: LaminateClient; jobs: JobClient; records: Click[]; started: ViewBuild }> {
  t.dir = await tempDir();
  const master = await startMasterProc(t.dir, { port });
  t.procs.push(master);
  const started = await Promise.allSettled([0, 1].map(() => startWorkerProc(master.address, t.dir, { slots: 2 })));
  const workers: Array<Proc & { id: string }> = [];
  for (const w of started) if (w.status === 'fulfilled') workers.push(w.value);
  t.procs.push(...workers);
  for (const w of started) if (w.status === 'rejected') throw w.reason;
  const client = new LaminateClient(master.address);
  t.clients.push(client);
  const jobs = new JobClient(master.address);
  t.clients.push(jobs);
  await client.createDataset('clicks', { partitions: 4 });
  const random = seededRandom(99);
  const records: Click[] = Array.from({ length: 20_000 }, () => ({ page_id: `p${Math.floor(random() * 30)}`, event_type: random() < 0.5 ? 'view' : 'click' }));
  for (let i = 0; i < records.length; i += 2500) await client.append('clicks', records.slice(i, i + 2500));
  await client.deployView(join(FIXTURES, 'views', 'slow-page-views.ts'), { name: 'pages', partitions: 2 });
  const build = await client.buildView('pages');
  expect(build).toMatchObject({ version: 1, state: 'RUNNING' });
  return { master, workers, client, jobs, records, started: build };
}

describe('a view build through a master SIGKILL', () => {
  it('resumes the build after the restart and publishes a version equal to a sequential count over its cut', async () => {
    const port = await freePort();
    const { master, client, jobs, records, started } = await startSlowBuild(port);

    // Kill the master once the build's job has finished a map but not the job.
    await until(async () => {
      const s = await jobs.status(started.jobId);
      return (s.maps?.succeeded ?? 0) > 0 && s.state === 'RUNNING' ? s : undefined;
    }, 60_000, 'a finished map of the build');
    await master.kill('SIGKILL');
    const again = await startMasterProc(t.dir, { port });
    t.procs.push(again);

    const published = await until(async () => {
      const l = await client.viewVersions('pages');
      return l.builds[0]?.state === 'PUBLISHED' ? l : undefined;
    }, 120_000, 'the build to be published after the restart');
    expect(published.versions.map((v) => [v.version, v.current, v.cut])).toEqual([[1, true, started.cut]]);

    expect(await versionEntries(join(t.dir, 'master', 'views', 'pages', 'v1'))).toEqual(pageViews(records));
  });
});

describe('a view build through a worker SIGKILL', () => {
  it('re-executes what the worker held and publishes a version equal to a sequential count, with nothing of the dead attempts in it', async () => {
    const { workers, client, jobs, records, started } = await startSlowBuild(await freePort());
    // Kill a worker mid-job: once two maps are done (their outputs on the workers that ran them) or a reduce runs.
    const at = await until(async () => {
      const s = await jobs.status(started.jobId);
      return s.state === 'RUNNING' && ((s.maps?.succeeded ?? 0) >= 2 || (s.reduces?.running ?? 0) > 0) ? s : undefined;
    }, 60_000, 'two finished maps or a running reduce of the build');
    expect(at.state).toBe('RUNNING');
    await workers[0]!.kill('SIGKILL');

    const published = await until(async () => {
      const l = await client.viewVersions('pages');
      return l.builds[0]?.state !== 'RUNNING' ? l : undefined;
    }, 120_000, 'the build to end after the worker was lost');
    expect(published.builds[0]).toMatchObject({ version: 1, state: 'PUBLISHED' });
    expect(published.versions.map((v) => [v.version, v.current, v.cut])).toEqual([[1, true, started.cut]]);
    // The job lost work with the worker (what it ran or had finished was run again on the other), and still counted every record once.
    const job = await jobs.status(started.jobId);
    const dead = workers[0]!.id;
    const redone = job.tasks.filter((t) => t.attempts.some((a) => a.workerId === dead) && t.attempts.some((a) => a.workerId !== dead && a.state === 'SUCCEEDED'));
    expect(redone.length).toBeGreaterThan(0);
    expect(job.tasks.every((t) => t.state === 'SUCCEEDED')).toBe(true);
    const vdir = join(t.dir, 'master', 'views', 'pages', 'v1');
    expect(await versionEntries(vdir)).toEqual(pageViews(records));
    expect((await readdir(vdir)).filter((n) => n.startsWith('part-')).sort()).toEqual(['part-00000', 'part-00001']);
    expect((await readdir(vdir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
