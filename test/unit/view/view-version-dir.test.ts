import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AtomicWriteStep } from '../../../src/storage/atomic-file.js';
import { ViewFileReader } from '../../../src/view/view-file-reader.js';
import { ViewFileWriter } from '../../../src/view/view-file-writer.js';
import { makeManifest, type ViewManifest, type ViewManifestFile } from '../../../src/view/view-manifest.js';
import {
  listVersions,
  listViews,
  prepareVersionDir,
  publishVersion,
  readCurrent,
  readManifest,
  removeLeftovers,
  removeVersion,
  versionDir,
  viewFileName,
  writeManifest,
} from '../../../src/view/view-version-dir.js';
import { fnv1a } from '../../support/fnv1a.js';
import { rejectsWith, throwsWith, useTempDirs, writeView } from './helpers.js';

const VIEW = 'page-views';
const STEPS: AtomicWriteStep[] = ['temp-written', 'renamed', 'folder-synced'];

/** Thrown from onStep to stop a publish where a crash would. */
class Crash extends Error {}

/** Builds version `version` of VIEW (2 partitions) whose keys map to `${version}`; returns its manifest, not yet written. */
async function buildFiles(root: string, version: number, cut: number[], dataset = 'clicks'): Promise<ViewManifest> {
  const dir = await prepareVersionDir(root, VIEW, version);
  const files: ViewManifestFile[] = [];
  for (let p = 0; p < 2; p++) {
    const keys = Array.from({ length: 50 }, (_, i) => `k${String(i).padStart(3, '0')}`).filter((k) => fnv1a(k) % 2 === p);
    const s = await writeView(join(dir, viewFileName(p)), keys.map((k) => [k, Buffer.from(String(version))]));
    files.push({ name: viewFileName(p), partition: p, bytes: s.bytes, checksum: s.checksum, records: s.records, firstKey: s.firstKey ?? null, lastKey: s.lastKey ?? null });
  }
  return makeManifest({ view: VIEW, version, dataset, cut, jobId: `job-${String(version).padStart(4, '0')}`, definitionHash: 'abcdef01', builtAt: new Date(0).toISOString(), files });
}

async function buildAndPublish(root: string, version: number, cut: number[]): Promise<void> {
  await writeManifest(root, await buildFiles(root, version, cut));
  await publishVersion(root, VIEW, version);
}

/** Everything under the view's folder, relative, sorted. */
async function tree(root: string): Promise<string[]> {
  const entries = await readdir(join(root, VIEW), { recursive: true });
  return entries.map(String).sort();
}

/** What a restarted serving node does: clean up, read CURRENT, load and verify every file. Returns the value of 'k000'. */
async function restartAndRead(root: string): Promise<{ current: number | undefined; value: string | undefined }> {
  await removeLeftovers(root, VIEW);
  const current = await readCurrent(root, VIEW);
  if (current === undefined) return { current, value: undefined };
  const manifest = await readManifest(root, VIEW, current);
  let value: string | undefined;
  for (const f of manifest.files) {
    const r = await ViewFileReader.open(join(versionDir(root, VIEW, current), f.name));
    await r.verify({ checksum: f.checksum });
    value ??= (await r.get('k000'))?.toString();
    await r.close();
  }
  return { current, value };
}

describe('view version folders', () => {
  const tempDir = useTempDirs();

  it('builds, publishes and lists versions, and reads CURRENT', async () => {
    const root = await tempDir();
    expect(await readCurrent(root, VIEW)).toBeUndefined();
    expect(await listVersions(root, VIEW)).toEqual([]);
    await buildAndPublish(root, 1, [10, 20]);
    await buildAndPublish(root, 2, [15, 20]);
    expect(await readCurrent(root, VIEW)).toBe(2);
    expect(await readFile(join(root, VIEW, 'CURRENT'), 'utf8')).toBe('v2\n');
    expect(await listVersions(root, VIEW)).toEqual([1, 2]);
    expect(await listViews(root)).toEqual([VIEW]);
    expect(await tree(root)).toEqual(['CURRENT', 'v1', 'v1/MANIFEST.json', 'v1/part-00000.view', 'v1/part-00001.view', 'v2', 'v2/MANIFEST.json', 'v2/part-00000.view', 'v2/part-00001.view']);
    expect(await restartAndRead(root)).toEqual({ current: 2, value: '2' });
    // A repeated publish of the current version changes nothing.
    expect((await publishVersion(root, VIEW, 2)).version).toBe(2);
  });

  it('refuses to publish an incomplete or missing version, a version behind, or a cut behind; allows a rollback', async () => {
    const root = await tempDir();
    await buildAndPublish(root, 1, [10, 20]);
    await buildFiles(root, 2, [12, 20]); // no manifest: incomplete
    await rejectsWith(publishVersion(root, VIEW, 2), 'NOT_FOUND', /View 'page-views' has no version 2/);
    await rejectsWith(publishVersion(root, VIEW, 9), 'NOT_FOUND', /has no version 9/);
    await writeManifest(root, await buildFiles(root, 3, [12, 19]));
    await rejectsWith(publishVersion(root, VIEW, 3), 'FAILED_PRECONDITION', /its cut 12,19 is behind the cut 10,20 of current version 1/);
    await writeManifest(root, await buildFiles(root, 4, [12, 21]));
    await publishVersion(root, VIEW, 4);
    await rejectsWith(publishVersion(root, VIEW, 1), 'FAILED_PRECONDITION', /version 4 is current and newer/);
    expect(await readCurrent(root, VIEW)).toBe(4);
    await publishVersion(root, VIEW, 1, { rollback: true });
    expect(await restartAndRead(root)).toEqual({ current: 1, value: '1' });
    // A rebuild from another dataset (the definition changed) is not compared by cut.
    await writeManifest(root, await buildFiles(root, 5, [0], 'other'));
    await publishVersion(root, VIEW, 5);
    expect(await readCurrent(root, VIEW)).toBe(5);
  });

  for (const step of STEPS) {
    it(`keeps a complete version current when a publish stops after '${step}'`, async () => {
      const root = await tempDir();
      await buildAndPublish(root, 1, [10, 20]);
      await writeManifest(root, await buildFiles(root, 2, [11, 20]));
      await expect(
        publishVersion(root, VIEW, 2, {
          onStep: (s) => {
            if (s === step) throw new Crash(s);
          },
        }),
      ).rejects.toBeInstanceOf(Crash);
      const after = await restartAndRead(root);
      // Before the rename the old version is current; from it on, the new one.
      expect(after).toEqual(step === 'temp-written' ? { current: 1, value: '1' } : { current: 2, value: '2' });
      expect((await tree(root)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
      // The publish, repeated after the restart, completes.
      await publishVersion(root, VIEW, 2);
      expect(await readCurrent(root, VIEW)).toBe(2);
    });

    it(`leaves the version incomplete, then removed at restart, when its manifest write stops after '${step}'`, async () => {
      const root = await tempDir();
      await buildAndPublish(root, 1, [10, 20]);
      const manifest = await buildFiles(root, 2, [11, 20]);
      await expect(
        writeManifest(root, manifest, {
          onStep: (s) => {
            if (s === step) throw new Crash(s);
          },
        }),
      ).rejects.toBeInstanceOf(Crash);
      expect(await restartAndRead(root)).toEqual({ current: 1, value: '1' });
      const complete = step !== 'temp-written';
      expect(await listVersions(root, VIEW)).toEqual(complete ? [1, 2] : [1]);
      expect(await tree(root)).toEqual(
        complete
          ? ['CURRENT', 'v1', 'v1/MANIFEST.json', 'v1/part-00000.view', 'v1/part-00001.view', 'v2', 'v2/MANIFEST.json', 'v2/part-00000.view', 'v2/part-00001.view']
          : ['CURRENT', 'v1', 'v1/MANIFEST.json', 'v1/part-00000.view', 'v1/part-00001.view'],
      );
    });
  }

  it('removes at restart what a build stopped midway left: writers\' temporary files, a job\'s _temporary and a folder without manifest', async () => {
    const root = await tempDir();
    await buildAndPublish(root, 1, [10, 20]);
    const dir = await prepareVersionDir(root, VIEW, 2);
    const w = await ViewFileWriter.create(join(dir, viewFileName(0)));
    w.add('k000', Buffer.from('x'));
    await w.flush(); // the build "crashes" here: never finished nor aborted
    await writeFile(join(root, VIEW, 'CURRENT.tmp'), 'v2\n');
    await writeFile(join(root, VIEW, 'v1', 'part-00002.view.0123456789ab.tmp'), 'partial');
    // An attempt's folder left in a published version (a commit of the build job cut short).
    await mkdir(join(root, VIEW, 'v1', '_temporary', 'job-0001-r-00000-a2.worker-0001'), { recursive: true });
    await writeFile(join(root, VIEW, 'v1', '_temporary', 'job-0001-r-00000-a2.worker-0001', 'part-00000'), 'late');
    const removed = await removeLeftovers(root, VIEW);
    expect(removed.sort()).toEqual([
      join(root, VIEW, 'CURRENT.tmp'), join(root, VIEW, 'v1', '_temporary'), join(root, VIEW, 'v1', 'part-00002.view.0123456789ab.tmp'), join(root, VIEW, 'v2'),
    ]);
    expect(await tree(root)).toEqual(['CURRENT', 'v1', 'v1/MANIFEST.json', 'v1/part-00000.view', 'v1/part-00001.view']);
    expect(await removeLeftovers(root, VIEW)).toEqual([]);
    await w.abort();
  });

  it('keeps every version folder when CURRENT is damaged, and says so when read', async () => {
    const root = await tempDir();
    await buildAndPublish(root, 1, [10, 20]);
    await mkdir(join(root, VIEW, 'v2'));
    await writeFile(join(root, VIEW, 'CURRENT'), 'v1');
    await rejectsWith(readCurrent(root, VIEW), 'DATA_LOSS', /Malformed '.*CURRENT': expected a version such as 'v7' and a newline, got 'v1'/);
    await removeLeftovers(root, VIEW);
    expect((await stat(join(root, VIEW, 'v2'))).isDirectory()).toBe(true);
  });

  it('refuses a manifest whose files are missing or of another size, and a version that exists', async () => {
    const root = await tempDir();
    const manifest = await buildFiles(root, 1, [1, 1]);
    await writeFile(join(versionDir(root, VIEW, 1), viewFileName(1)), 'short');
    await rejectsWith(writeManifest(root, manifest), 'FAILED_PRECONDITION', /part-00001\.view' of \d+ bytes for the manifest of version 1 of view 'page-views', got 5 bytes/);
    await rm(join(versionDir(root, VIEW, 1), viewFileName(1)));
    await rejectsWith(writeManifest(root, manifest), 'FAILED_PRECONDITION', /got no such file/);
    expect(await listVersions(root, VIEW)).toEqual([]);
    const again = await buildFiles(root, 1, [1, 1]); // the leftover folder is emptied and reused
    await writeManifest(root, again);
    await rejectsWith(prepareVersionDir(root, VIEW, 1), 'ALREADY_EXISTS', /Version 1 of view 'page-views' already exists/);
  });

  it('refuses a manifest that names another version than its folder', async () => {
    const root = await tempDir();
    const manifest = await buildFiles(root, 1, [1, 1]);
    await writeManifest(root, manifest);
    await mkdir(versionDir(root, VIEW, 2));
    await writeFile(join(versionDir(root, VIEW, 2), 'MANIFEST.json'), await readFile(join(versionDir(root, VIEW, 1), 'MANIFEST.json')));
    await rejectsWith(readManifest(root, VIEW, 2), 'DATA_LOSS', /describes version 1 of view 'page-views'/);
  });

  it('removes a version that is not current, manifest first, and refuses the current one', async () => {
    const root = await tempDir();
    await buildAndPublish(root, 1, [10, 20]);
    await buildAndPublish(root, 2, [11, 20]);
    await rejectsWith(removeVersion(root, VIEW, 2), 'FAILED_PRECONDITION', /it is current/);
    await removeVersion(root, VIEW, 1);
    await removeVersion(root, VIEW, 1);
    expect(await listVersions(root, VIEW)).toEqual([2]);
    expect(await tree(root)).toEqual(['CURRENT', 'v2', 'v2/MANIFEST.json', 'v2/part-00000.view', 'v2/part-00001.view']);
  });

  it('refuses view names that would make another path', () => {
    for (const bad of ['..', '.hidden', 'a/b', '', 'x'.repeat(129), 'a\\b']) {
      throwsWith(() => versionDir('/root', bad, 1), 'INVALID_ARGUMENT', /Expected a view name/);
    }
    throwsWith(() => versionDir('/root', 'v', 0), 'INVALID_ARGUMENT', /positive integer, got 0/);
  });
});
