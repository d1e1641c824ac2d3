import { existsSync } from 'node:fs';
import { open, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/common/logger.js';
import type { ServedView } from '../../../src/common/view-shapes.js';
import { createQueryHandlers } from '../../../src/serving/query-handlers.js';
import { ServingSync } from '../../../src/serving/serving-sync.js';
import { VersionSet } from '../../../src/serving/version-set.js';
import { BlockCache } from '../../../src/view/block-cache.js';
import { readCurrent, versionDir } from '../../../src/view/view-version-dir.js';
import { keyMap, useTempDirs, writeVersion } from './helpers.js';

const tempDir = useTempDirs();
const log = silentLogger();
const VIEW = 'clicks-by-page';
const RETRY_MS = 30_000;

interface Node {
  readonly set: VersionSet;
  readonly sync: ServingSync;
  readonly clock: ManualClock;
  readonly local: string;
  /** The value of key k0000 as the node answers it now, and the version it came from. */
  read(): Promise<{ version: number; value: unknown }>;
}

function node(local: string, clock = new ManualClock(1000)): Node {
  const set = new VersionSet();
  const sync = new ServingSync({ versions: set, localRoot: local, cache: new BlockCache(1 << 20), clock, log, refusalRetryMs: RETRY_MS });
  const q = createQueryHandlers(set, { log });
  return {
    set, sync, clock, local,
    async read() {
      const a = await q.get({ view: VIEW, keys: ['k0000'] });
      return { version: a.coverage.version, value: unpack(a.entries[0]!.value as Buffer) };
    },
  };
}

/** What the master would say: `current` and the kept versions, newest first. */
function assignment(store: string, current: number, kept: number[] = [], merge = 'sum'): ServedView[] {
  const versions = [current, ...kept].map((v) => ({ version: v, cut: [v], dir: versionDir(store, VIEW, v) }));
  return [{ view: VIEW, merge, current, versions }];
}

async function offer(n: Node, a: ServedView[]): Promise<void> {
  n.sync.offer(a);
  await n.sync.idle();
}

/** Version v of VIEW in the store: 300 keys, each worth v * 100. */
async function publish(store: string, v: number): Promise<void> {
  await writeVersion(store, { view: VIEW, version: v, entries: keyMap(300, () => v * 100), partitions: 3, cut: [v] });
}

async function flipByte(path: string, at: number): Promise<void> {
  const fh = await open(path, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, at);
  b[0] = b[0]! ^ 0x01;
  await fh.write(b, 0, 1, at);
  await fh.close();
}

describe('ServingSync', () => {
  it('tells where each view\'s speed side runs, as the latest assignment says, at once', async () => {
    const store = await tempDir();
    const n = node(await tempDir());
    expect(n.sync.placement(VIEW)).toBeUndefined();
    const speed = [{ nodeId: 'speed-a', address: '127.0.0.1:9', partitions: [0] }];
    // Taken before any load: the store has no version yet.
    n.sync.offer(assignment(store, 1).map((v) => ({ ...v, speed, windowSizeMs: 60_000 })));
    expect(n.sync.placement(VIEW)).toEqual({ speed, windowSizeMs: 60_000 });
    n.sync.offer(assignment(store, 1));
    expect(n.sync.placement(VIEW)).toEqual({ speed: [], windowSizeMs: 0 });
    n.sync.offer([]);
    expect(n.sync.placement(VIEW)).toBeUndefined();
    await n.sync.idle();
  });

  it('copies the version it is told to serve into its own folder, verifies it, serves it, and acknowledges it', async () => {
    const store = await tempDir();
    const n = node(await tempDir());
    await publish(store, 1);
    await offer(n, assignment(store, 1));
    expect(await n.read()).toEqual({ version: 1, value: 100 });
    expect(n.set.loaded()).toEqual([{ view: VIEW, version: 1 }]);
    // Served from the copy: the store's files can go.
    expect((await readdir(versionDir(n.local, VIEW, 1))).sort()).toEqual(['MANIFEST.json', 'SERVED.json', 'part-00000', 'part-00001', 'part-00002'].map((f) => f.startsWith('part') ? `${f}.view` : f).sort());
    await rm(versionDir(store, VIEW, 1), { recursive: true });
    expect(await n.read()).toEqual({ version: 1, value: 100 });
    expect(await readCurrent(n.local, VIEW)).toBe(1);
    await n.sync.stop();
    await n.set.closeAll();
  });

  for (const damage of ['a flipped byte', 'a truncated file', 'a missing file', 'a damaged manifest'] as const) {
    it(`refuses a version with ${damage}, says why, keeps serving the old version, and tries again later`, async () => {
      const store = await tempDir();
      const n = node(await tempDir());
      await publish(store, 1);
      await offer(n, assignment(store, 1));
      await publish(store, 2);
      const file = join(versionDir(store, VIEW, 2), 'part-00001.view');
      if (damage === 'a flipped byte') await flipByte(file, 40);
      else if (damage === 'a truncated file') await truncate(file, 100);
      else if (damage === 'a missing file') await rm(file);
      else await flipByte(join(versionDir(store, VIEW, 2), 'MANIFEST.json'), 60);

      await offer(n, assignment(store, 2, [1]));
      expect(await n.read()).toEqual({ version: 1, value: 100 });
      expect(n.set.loaded()).toEqual([{ view: VIEW, version: 1 }]);
      const r = n.sync.refusals();
      expect(r.refused).toEqual([{ view: VIEW, version: 2 }]);
      const why = {
        'a flipped byte': /part-00001\.view.*(checksum|fails)/,
        'a truncated file': /part-00001\.view' is 100 bytes, its manifest says \d+: it was truncated/,
        'a missing file': /part-00001\.view' is missing from the view store/,
        'a damaged manifest': /Malformed view manifest .*MANIFEST\.json/,
      }[damage];
      expect(r.reason).toMatch(new RegExp(`^${VIEW} v2: `));
      expect(r.reason).toMatch(why);
      // Nothing of the refused copy is left in the node's folder.
      expect(existsSync(versionDir(n.local, VIEW, 2))).toBe(false);

      // Not tried again before the retry delay, even once repaired...
      await publishRepaired(store);
      await offer(n, assignment(store, 2, [1]));
      expect(await n.read()).toEqual({ version: 1, value: 100 });
      // ...and loaded after it.
      n.clock.advance(RETRY_MS);
      await offer(n, assignment(store, 2, [1]));
      expect(await n.read()).toEqual({ version: 2, value: 200 });
      expect(n.sync.refusals()).toEqual({ refused: [], reason: '' });
      await n.sync.stop();
      await n.set.closeAll();
    });
  }

  it('keeps the versions the master lists, swaps back at once on a rollback, and removes the copies of versions let go', async () => {
    const store = await tempDir();
    const n = node(await tempDir());
    for (const v of [1, 2, 3]) await publish(store, v);
    await offer(n, assignment(store, 3, [2, 1]));
    expect(n.set.versionsOf(VIEW)).toEqual([3, 2, 1]);
    expect(await n.read()).toEqual({ version: 3, value: 300 });

    // A rollback to 2: no copy, no wait; 3 is let go, with its local copy.
    await rm(versionDir(store, VIEW, 2), { recursive: true });
    await offer(n, assignment(store, 2, [1]));
    expect(await n.read()).toEqual({ version: 2, value: 200 });
    expect(n.set.versionsOf(VIEW)).toEqual([2, 1]);
    await n.sync.stop(); // waits for the removals
    expect(existsSync(versionDir(n.local, VIEW, 3))).toBe(false);
    expect(existsSync(versionDir(n.local, VIEW, 1))).toBe(true);
    expect(await readCurrent(n.local, VIEW)).toBe(2);
    await n.set.closeAll();
  });

  it('never lets go of the version it serves before the new current one is loaded', async () => {
    const store = await tempDir();
    const n = node(await tempDir());
    await publish(store, 1);
    await offer(n, assignment(store, 1));
    await publish(store, 2);
    await truncate(join(versionDir(store, VIEW, 2), 'part-00000.view'), 10);
    // Told to keep nothing but 2, which fails: 1 keeps serving.
    await offer(n, assignment(store, 2));
    expect(await n.read()).toEqual({ version: 1, value: 100 });
    await n.sync.stop();
    await n.set.closeAll();
  });

  it('lets go of a view the master no longer lists, and its folder once no request holds it', async () => {
    const store = await tempDir();
    const n = node(await tempDir());
    await publish(store, 1);
    await offer(n, assignment(store, 1));
    const held = n.set.acquire(VIEW);
    await offer(n, []);
    expect(n.set.viewNames()).toEqual([]);
    expect(existsSync(versionDir(n.local, VIEW, 1))).toBe(true);
    held.release();
    await n.sync.stop();
    expect(existsSync(join(n.local, VIEW))).toBe(false);
  });

  it('after a restart serves its verified local copies at once, the one it served last as current, and drops a damaged copy', async () => {
    const store = await tempDir();
    const local = await tempDir();
    const first = node(local);
    for (const v of [1, 2, 3]) await publish(store, v);
    await offer(first, assignment(store, 3, [2, 1]));
    await offer(first, assignment(store, 2, [1])); // a rollback: current 2, and 3 is let go
    await first.sync.stop();
    await first.set.closeAll();
    await flipByte(join(versionDir(local, VIEW, 1), 'part-00002.view'), 20);
    // A copy that was being made when the node died: no manifest.
    await writeFile(join(local, VIEW, 'v9.tmp'), 'x');

    const second = node(local);
    await second.sync.restore();
    expect(await second.read()).toEqual({ version: 2, value: 200 });
    expect(second.set.versionsOf(VIEW)).toEqual([2]);
    expect(existsSync(versionDir(local, VIEW, 1))).toBe(false);
    expect(existsSync(join(local, VIEW, 'v9.tmp'))).toBe(false);
    // The master's word then brings back what was dropped.
    await offer(second, assignment(store, 2, [1]));
    expect(second.set.versionsOf(VIEW)).toEqual([2, 1]);
    await second.sync.stop();
    await second.set.closeAll();
  });

  it('presents values with the merge the master names, and remembers it across a restart', async () => {
    const store = await tempDir();
    const local = await tempDir();
    await writeVersion(store, { view: VIEW, version: 1, entries: new Map([['k0000', [['a', 2], ['b', 5], ['c', 1]]]]), partitions: 1, cut: [1] });
    const first = node(local);
    await offer(first, assignment(store, 1, [], 'topK(2)'));
    expect((await first.read()).value).toEqual([{ item: 'b', count: 5 }, { item: 'a', count: 2 }]);
    await first.sync.stop();
    await first.set.closeAll();
    const second = node(local);
    await second.sync.restore();
    expect((await second.read()).value).toEqual([{ item: 'b', count: 5 }, { item: 'a', count: 2 }]);
    await second.set.closeAll();
  });
});

/** Rewrites version 2 whole, correct this time. */
async function publishRepaired(store: string): Promise<void> {
  await rm(versionDir(store, VIEW, 2), { recursive: true });
  await writeVersion(store, { view: VIEW, version: 2, entries: keyMap(300, () => 200), partitions: 3, cut: [2] });
}
