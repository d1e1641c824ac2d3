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
import { EXAMPLES, freePort, removeDir, startMasterProc, startWorkerProc, tempDir, type Proc } from './harness.js';
import { pageViews, until, versionEntries, type Click } from './view-crash-support.js';

let dir: string;
const procs: Proc[] = [];
const clients: Array<{ close(): unknown }> = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const p of procs.splice(0)) await p.kill();
  await removeDir(dir);
});

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
