import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILDS_KEPT, ViewCatalog, type ViewBuildRecord, type ViewDeployment } from '../../../src/master/view-catalog.js';
import { rejectsWith, useTempDirs } from '../storage/helpers.js';

const deployment = (name: string, at = 1): ViewDeployment => ({
  name, source: 'clicks', definitionHash: 'a'.repeat(64), merge: 'sum', partitions: 4, everyMs: 0, keep: 3, bundleHash: 'b'.repeat(64), deployedAt: at,
});
const build = (view: string, version: number): ViewBuildRecord => ({
  view, version, source: 'clicks', partitions: 4, cut: [version, 0], jobId: `job-${version}`, state: 'RUNNING', startedAt: version, incremental: false, baseVersion: 0, definitionHash: 'a'.repeat(64),
});

describe('the view catalog', () => {
  const tempDir = useTempDirs();

  it('keeps deployments, builds and history across a reopen, and finishes a build once', async () => {
    const dir = await tempDir();
    const c = await ViewCatalog.open(dir);
    await c.deploy(deployment('pages'));
    await c.deploy(deployment('ads'));
    await c.startBuild(build('pages', 1));
    await c.startBuild(build('pages', 2));
    await c.finishBuild('pages', 1, { state: 'PUBLISHED', at: 10 });
    await c.finishBuild('pages', 2, { state: 'FAILED', error: 'reducer 3 wrote an unsorted key', at: 11 });
    // A second end of a finished build changes nothing.
    await c.finishBuild('pages', 2, { state: 'PUBLISHED', at: 12 });

    const again = await ViewCatalog.open(dir);
    expect(again.list().map((v) => v.name)).toEqual(['ads', 'pages']);
    expect(again.require('pages')).toEqual(deployment('pages'));
    expect(again.buildsOf('pages').map((b) => [b.version, b.state, b.error])).toEqual([[2, 'FAILED', 'reducer 3 wrote an unsorted key'], [1, 'PUBLISHED', undefined]]);
    expect(again.running()).toEqual([]);
    expect(again.historyOf('pages').map((h) => [h.event, h.version])).toEqual([['deployed', undefined], ['published', 1], ['build failed', 2]]);
    // Only the catalog file is left in the folder: no temporary files.
    expect(await readdir(dir)).toEqual(['catalog.json']);
  });

  it('says which view is unknown, keeps the newest builds only, and refuses a damaged file', async () => {
    const dir = await tempDir();
    const c = await ViewCatalog.open(dir);
    expect(() => c.require('nope')).toThrow(/No view 'nope'/);
    await c.deploy(deployment('v'));
    for (let n = 1; n <= BUILDS_KEPT + 5; n++) await c.startBuild(build('v', n));
    expect(c.buildsOf('v').map((b) => b.version)).toEqual(Array.from({ length: BUILDS_KEPT }, (_, i) => BUILDS_KEPT + 5 - i));
    expect(c.running()).toHaveLength(BUILDS_KEPT);
    await writeFile(join(dir, 'catalog.json'), '{"format":1,"views":[');
    await rejectsWith(ViewCatalog.open(dir), 'DATA_LOSS', /is not JSON/);
  });
});
