/**
 * A view publish through a master SIGKILL at each of its steps, by the
 * master's own crash-test hook (LAMINATE_FAULT_KILL_AT): a kill at a step,
 * not mid-task, with no heartbeat or task timeout to hit, so these run with
 * the results-only files (vitest.config.ts), as dataset-archive's do.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LaminateClient } from '../../src/client/index.js';
import { seededRandom } from '../support/seeded-random.js';
import { EXAMPLES, freePort, startMasterProc, startWorkerProc, tempDir } from './harness.js';
import { pageViews, StartedByTest, until, versionEntries, type Click } from './view-crash-support.js';

/** What each test started: stopped, closed and removed after it. */
const t = new StartedByTest();
afterEach(t.cleanup);

/**
 * The master SIGKILLed right after each step of a publish (by the
 * LAMINATE_FAULT_KILL_AT crash-test hook), for the manifest and then for
 * CURRENT: the new contents written to a temporary file but not renamed;
 * renamed but the folder not synced; the folder synced. Restarted, the
 * master finishes the publish: the version is current, equal to a
 * sequential count, and nothing half-written is left.
 */
describe('a publish through a master SIGKILL at each of its steps', () => {
  it.each(['manifest:temp-written', 'manifest:renamed', 'manifest:folder-synced', 'current:temp-written', 'current:renamed', 'current:folder-synced'])('finishes a publish killed at %s', async (step) => {
    t.dir = await tempDir();
    const port = await freePort();
    const master = await startMasterProc(t.dir, { port, env: { LAMINATE_FAULT_KILL_AT: step } });
    t.procs.push(master);
    t.procs.push(await startWorkerProc(master.address, t.dir, { slots: 2 }));
    const client = new LaminateClient(master.address);
    t.clients.push(client);
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

    const root = join(t.dir, 'master', 'views');
    const current = await readFile(join(root, 'page-views', 'CURRENT'), 'utf8').catch(() => undefined);
    expect(current === undefined || current === 'v1\n').toBe(true);
    t.procs.push(await startMasterProc(t.dir, { port }));
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
