/**
 * The master's cache of served versions, on a real view store in a
 * temporary folder with a manual clock: a new CURRENT is seen at once; the
 * rest of an answer is reused until the view service says the view changed
 * or the time to live passes (versions removed here by hand, behind its
 * back, show which answer it gave), concurrent
 * callers share one read, and answers with an unreadable manifest or a
 * failed read are not kept.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/common/logger.js';
import { ServedVersionsCache, servedVersions } from '../../../src/master/served-versions.js';
import { CURRENT_FILE, MANIFEST_FILE, removeVersion, versionDir, viewDir } from '../../../src/view/view-version-dir.js';
import { writeVersion } from '../../support/view-versions.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('laminate-served-versions-');
const TTL = 10_000;

async function storeWith(versions: number): Promise<string> {
  const root = await tempDir();
  for (let v = 1; v <= versions; v++) await put(root, v);
  return root;
}

function put(root: string, version: number): Promise<unknown> {
  return writeVersion(root, { view: 'pages', version, entries: new Map([['k', version]]), partitions: 1, cut: [version * 10] });
}

const shape = (s: Awaited<ReturnType<typeof servedVersions>>): unknown => s && { current: s.current, versions: s.versions.map((v) => [v.version, v.cut]) };

describe('the served versions cache', () => {
  it('answers as the store does, sees a new CURRENT at once, and keeps the rest until told the view changed or its time to live has passed', async () => {
    const root = await storeWith(2);
    const clock = new ManualClock(0);
    const cache = new ServedVersionsCache(root, clock, silentLogger(), TTL);
    const first = await cache.get('pages', 3);
    expect(shape(first)).toEqual(shape(await servedVersions(root, 'pages', 3, silentLogger())));
    expect(shape(first)).toEqual({ current: 2, versions: [[2, [20]], [1, [10]]] });

    await put(root, 3); // published behind the cache's back: CURRENT moved
    expect(shape(await cache.get('pages', 3))).toEqual({ current: 3, versions: [[3, [30]], [2, [20]], [1, [10]]] });

    await removeVersion(root, 'pages', 1); // removed behind its back under the same CURRENT
    clock.advance(TTL - 1);
    expect(shape(await cache.get('pages', 3))).toEqual({ current: 3, versions: [[3, [30]], [2, [20]], [1, [10]]] });
    cache.changed('pages');
    expect(shape(await cache.get('pages', 3))).toEqual({ current: 3, versions: [[3, [30]], [2, [20]]] });

    await removeVersion(root, 'pages', 2);
    clock.advance(TTL - 1);
    expect((await cache.get('pages', 3))?.versions.length).toBe(2);
    clock.advance(1);
    expect(shape(await cache.get('pages', 3))).toEqual({ current: 3, versions: [[3, [30]]] });
    // Another keep is another question.
    await put(root, 4);
    await put(root, 5);
    expect(shape(await cache.get('pages', 1))).toEqual({ current: 5, versions: [[5, [50]], [4, [40]]] });
  });

  it('reads once for callers that ask at the same time', async () => {
    const cache = new ServedVersionsCache(await storeWith(1), new ManualClock(0), silentLogger(), TTL);
    const [a, b] = await Promise.all([cache.get('pages', 3), cache.get('pages', 3)]);
    expect(a).toBeDefined();
    expect(a).toBe(b);
  });

  it('does not keep an answer in which a manifest could not be read, nor a failed read', async () => {
    const root = await storeWith(2);
    const cache = new ServedVersionsCache(root, new ManualClock(0), silentLogger(), TTL);
    const manifest = join(versionDir(root, 'pages', 1), MANIFEST_FILE);
    const good = await readFile(manifest);
    await writeFile(manifest, 'not json');
    expect(shape(await cache.get('pages', 3))).toEqual({ current: 2, versions: [[2, [20]], [1, []]] });
    await writeFile(manifest, good);
    expect(shape(await cache.get('pages', 3))).toEqual({ current: 2, versions: [[2, [20]], [1, [10]]] });

    const current = join(viewDir(root, 'pages'), CURRENT_FILE);
    const pointer = await readFile(current);
    await writeFile(current, 'garbage');
    await expect(cache.get('pages', 3)).rejects.toThrow();
    await writeFile(current, pointer);
    expect((await cache.get('pages', 3))?.current).toBe(2);
  });

  it('is undefined before any version is published, and reads again once one is', async () => {
    const root = await tempDir();
    const cache = new ServedVersionsCache(root, new ManualClock(0), silentLogger(), TTL);
    expect(await cache.get('pages', 3)).toBeUndefined();
    await put(root, 1);
    expect((await cache.get('pages', 3))?.current).toBe(1);
  });
});
