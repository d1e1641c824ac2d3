import { execFile } from 'node:child_process';
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { unpack } from 'msgpackr';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LaminateClient } from '../../src/client/index.js';
import { LaminateError } from '../../src/common/errors.js';
import type { LocalCluster } from '../../src/local/local-cluster.js';
import { ViewFileReader } from '../../src/view/view-file-reader.js';
import { readManifest } from '../../src/view/view-version-dir.js';
import { viewBuild, viewList, viewVersions } from '../../src/cli/view.js';
import { seededRandom } from '../support/seeded-random.js';
import { encodeViewKey } from '../../src/common/view-key.js';
import { ServingClient } from '../../src/protocol/serving-rpc.js';
import { CLI, EXAMPLES, removeDir, startLocal, startServeProc, tempDir } from './harness.js';

interface Click { readonly page_id: string; readonly event_type: string; readonly user_id: string; readonly event_time: number }

/** Every entry of a published version, read from its view files. */
async function versionEntries(root: string, view: string, version: number): Promise<Map<string, unknown>> {
  const dir = join(root, view, `v${version}`);
  const out = new Map<string, unknown>();
  for (const name of (await readdir(dir)).filter((n) => n.startsWith('part-')).sort()) {
    const reader = await ViewFileReader.open(join(dir, name));
    try {
      for await (const e of reader.scan({})) {
        expect(out.has(e.key)).toBe(false); // partitions share no key
        out.set(e.key, unpack(e.value));
      }
    } finally {
      await reader.close();
    }
  }
  return out;
}

async function waitFor<T>(get: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs `laminate ARGS` (the compiled CLI, a process of its own); resolves with its stdout. */
async function laminate(...args: string[]): Promise<string> {
  return (await promisify(execFile)(process.execPath, [CLI, ...args])).stdout;
}

/** The independent, sequential count: views per page over exactly the records given. */
function pageViews(records: readonly Click[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) if (r.event_type === 'view') m.set(r.page_id, (m.get(r.page_id) ?? 0) + 1);
  return m;
}

describe('views built by the batch layer over a cut', () => {
  let dir: string;
  let cluster: LocalCluster;
  let client: LaminateClient;
  const published: Array<{ version: number; filesReadWhole: number }> = [];
  const random = seededRandom(808);
  const click = (): Click => ({
    page_id: `page-${Math.floor(random() * 40)}`, event_type: random() < 0.6 ? 'view' : 'click', user_id: `u${Math.floor(random() * 500)}`,
    event_time: 1_700_000_000_000 + Math.floor(random() * 600_000),
  });

  beforeAll(async () => {
    dir = await tempDir();
    // Info lines kept for the master's 'view version published' (how many files it read whole).
    const logger = pino({ level: 'info' }, {
      write: (line: string) => {
        if (!line.includes('"view version published"')) return;
        const { version, filesReadWhole } = JSON.parse(line) as { version: number; filesReadWhole: number };
        published.push({ version, filesReadWhole });
      },
    });
    cluster = await startLocal({ dataDir: dir, workers: 2, logger });
    client = new LaminateClient(cluster.address);
    await client.createDataset('clicks', { partitions: 3 });
  });
  afterAll(async () => {
    await client.close();
    await cluster.stop();
    await removeDir(dir);
  });

  /** The records of `dataset` before `cut`, read back through the client. */
  const before = async (cut: readonly number[], dataset = 'clicks'): Promise<Click[]> => {
    const records: Click[] = [];
    for (let p = 0; p < cut.length; p++) {
      if (cut[p] === 0) continue;
      for await (const r of client.read(dataset, { partition: p, endOffset: cut[p]! })) records.push(r.record as Click);
    }
    return records;
  };

  it('deploys a view, builds versions over cuts, and each equals a sequential count of exactly the records before its cut', async () => {
    await client.append('clicks', Array.from({ length: 3000 }, click));
    const deployed = await client.deployView(join(EXAMPLES, 'views', 'page-views.ts'), { partitions: 3 });
    expect(deployed.view).toMatchObject({ name: 'page-views', source: 'clicks', merge: 'sum', partitions: 3, currentVersion: 0 });
    expect(deployed.sampled).toBe(1000);
    expect(deployed.lawCheck.values).toBeGreaterThan(0);

    // Records keep arriving; the build reads only those before its cut.
    await client.append('clicks', Array.from({ length: 1000 }, click));
    const ends = (await client.describeDataset('clicks')).partitions.map((p) => p.endOffset);
    const cut1 = ends.map((e, p) => Math.max(0, e - 100 * (p + 1)));
    await client.append('clicks', Array.from({ length: 500 }, click));
    const b1 = await client.buildView('page-views', { cut: cut1, wait: true });
    expect(b1).toMatchObject({ view: 'page-views', version: 1, state: 'PUBLISHED', cut: cut1, error: '' });
    const root = join(dir, 'views');
    expect(Object.fromEntries(await versionEntries(root, 'page-views', 1))).toEqual(Object.fromEntries(pageViews(await before(cut1))));

    // A build over the end now: version 2, current.
    const b2 = await client.buildView('page-views', { wait: true });
    const cut2 = (await client.describeDataset('clicks')).partitions.map((p) => p.endOffset);
    expect(b2).toMatchObject({ version: 2, state: 'PUBLISHED', cut: cut2, incremental: true, baseVersion: 1 });
    expect(Object.fromEntries(await versionEntries(root, 'page-views', 2))).toEqual(Object.fromEntries(pageViews(await before(cut2))));

    // The embedded serving node loads version 2, acknowledges it, and answers from it.
    const served = await waitFor(async () => {
      const v = (await client.viewVersions('page-views')).versions.find((x) => x.version === 2);
      return v !== undefined && v.servedBy.length > 0 ? v : undefined;
    });
    expect(served.servedBy).toEqual([cluster.serving!.nodeId]);
    const counts2 = pageViews(await before(cut2));
    const pages = [...counts2.keys()].sort();
    const got = await client.multiGet('page-views', [...pages, 'no-such-page']);
    expect(got.coverage).toEqual({ version: 2, cut: cut2 });
    expect(got.results).toEqual([...pages.map((key) => ({ key, value: counts2.get(key), found: true })), { key: 'no-such-page', value: undefined, found: false }]);
    expect(await client.get('page-views', pages[0]!)).toMatchObject({ key: pages[0], value: counts2.get(pages[0]!), found: true, coverage: { version: 2 } });
    const scanned: Array<[unknown, unknown]> = [];
    for await (const e of client.scan('page-views', { prefix: 'page-1' })) scanned.push([e.key, e.value]);
    expect(scanned).toEqual(pages.filter((p) => p.startsWith('page-1')).map((p) => [p, counts2.get(p)]));
    // Pinned to a kept version, once the node has loaded it too (it loads the current version first).
    await waitFor(async () => {
      const v = (await client.viewVersions('page-views')).versions.find((x) => x.version === 1);
      return v !== undefined && v.servedBy.length > 0 ? v : undefined;
    });
    const pinned = await client.get('page-views', pages[0]!, { version: 1 });
    expect(pinned).toMatchObject({ value: pageViews(await before(cut1)).get(pages[0]!), coverage: { version: 1, cut: cut1 } });

    const versions = await client.viewVersions('page-views');
    expect(versions.versions.map((v) => [v.version, v.current, v.cut, v.records])).toEqual([
      [2, true, cut2, cut2.reduce((a, b) => a + b, 0)],
      [1, false, cut1, cut1.reduce((a, b) => a + b, 0)],
    ]);
    expect(versions.versions[0]!.keys).toBe(pageViews(await before(cut2)).size);
    expect(versions.builds.map((b) => [b.version, b.state, b.jobId !== ''])).toEqual([[2, 'PUBLISHED', true], [1, 'PUBLISHED', true]]);
    const [listed] = await client.listViews();
    expect(listed).toMatchObject({ name: 'page-views', currentVersion: 2, currentCut: cut2, lastBuildError: '' });

    // A cut behind the current version's is refused, and so is one past the end; nothing changes.
    await expect(client.buildView('page-views', { cut: cut1 })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringMatching(/a version may not un-count records/) as unknown });
    await expect(client.buildView('page-views', { cut: cut2.map((o) => o + 1) })).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
    await expect(client.buildView('nope')).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/No view 'nope'/) as unknown });
    expect((await client.viewVersions('page-views')).versions[0]).toMatchObject({ version: 2, current: true });

    // The commands print what the issue gives.
    const lines: string[] = [];
    await client.append('clicks', Array.from({ length: 10 }, click));
    await viewBuild(client, { name: 'page-views', wait: true, json: true }, (l) => lines.push(l));
    const cut3 = (await client.describeDataset('clicks')).partitions.map((p) => p.endOffset);
    expect(JSON.parse(lines[0]!)).toMatchObject({ view: 'page-views', version: 3, cut: cut3 });
    lines.length = 0;
    await viewVersions(client, { name: 'page-views' }, (l) => lines.push(l));
    expect(lines[0]).toBe('view page-views: 3 versions');
    expect(lines[1]).toMatch(/^ {2}version +cut +records +keys +bytes +job +built at +served by$/);
    expect(lines[2]).toMatch(new RegExp(`^ {2}3 \\(current\\) +${cut3.join(',')} +${cut3.reduce((a, b) => a + b, 0)} `));
    lines.length = 0;
    await viewList(client, { json: true }, (l) => lines.push(l));
    expect((JSON.parse(lines[0]!) as { views: Array<{ name: string; currentVersion: number }> }).views.map((v) => [v.name, v.currentVersion])).toEqual([['page-views', 3]]);

    // diff against an independent comparison of the two counts.
    const [m1, m2] = [pageViews(await before(cut1)), pageViews(await before(cut2))];
    const diff = await client.diffView('page-views', 1, 2, 1000);
    const added = [...m2.keys()].filter((k) => !m1.has(k)).sort();
    const removed = [...m1.keys()].filter((k) => !m2.has(k)).sort();
    const changed = [...m1.keys()].filter((k) => m2.has(k) && m2.get(k) !== m1.get(k)).sort();
    expect(diff).toMatchObject({ view: 'page-views', a: 1, b: 2, added: added.length, removed: removed.length, changed: changed.length });
    expect(diff.unchanged).toBe(m1.size - removed.length - changed.length);
    expect(diff.changed).toBeGreaterThan(0);
    expect([...diff.addedKeys].sort()).toEqual(added);
    expect([...diff.changedKeys].sort()).toEqual(changed);
    // The command prints the same counts, as a process of its own.
    const printed = JSON.parse(await laminate('view', 'diff', 'page-views', '1', '2', '--master', cluster.address, '--json')) as { added: number; removed: number; changed: number };
    expect(printed).toMatchObject({ added: added.length, removed: removed.length, changed: changed.length });

    // Rollback makes version 1 current again; the newer versions stay, and a later build goes on from there.
    expect(await laminate('view', 'rollback', 'page-views', '--to', '1', '--master', cluster.address)).toBe(`view page-views rolled back: version 1 (cut ${cut1.join(',')}) is current\n`);
    const afterRollback = await client.viewVersions('page-views');
    expect(afterRollback.versions.map((v) => [v.version, v.current])).toEqual([[3, false], [2, false], [1, true]]);
    // The rollback is an event of the view's history, after the deploy and the three publishes; nothing was deleted.
    expect(afterRollback.history.map((e) => [e.event, e.version ?? null, e.detail ?? null])).toEqual([
      ['rolled back', 1, 'from version 3'], ['published', 3, null], ['published', 2, null], ['published', 1, null],
      ['deployed', null, expect.stringMatching(/^definition [0-9a-f]{12}$/) as unknown],
    ]);
    expect(afterRollback.history.every((e, i, all) => i === 0 || e.at <= all[i - 1]!.at)).toBe(true);
    lines.length = 0;
    await viewVersions(client, { name: 'page-views' }, (l) => lines.push(l));
    const historyAt = lines.indexOf('history (newest first):');
    expect(historyAt).toBeGreaterThan(0);
    expect(lines[historyAt + 1]).toMatch(/^ {2}\d{4}-\d\d-\d\dT[\d:.]+Z {2}rolled back to version 1 \(from version 3\)$/);
    expect(lines[historyAt + 2]).toMatch(/ {2}published: version 3$/);
    await expect(client.rollbackView('page-views', 9)).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/has no version 9 \(kept: 1, 2, 3\)/) as unknown });
    const b4 = await client.buildView('page-views', { wait: true });
    expect(b4).toMatchObject({ version: 4, state: 'PUBLISHED', incremental: true, baseVersion: 1 });
    expect(Object.fromEntries(await versionEntries(root, 'page-views', 4))).toEqual(Object.fromEntries(pageViews(await before(b4.cut))));

    // A full build over the same cut writes the very same files; so does an incremental one with no new record.
    const b5 = await client.buildView('page-views', { cut: b4.cut, full: true, wait: true });
    expect(b5).toMatchObject({ version: 5, state: 'PUBLISHED', incremental: false, baseVersion: 0 });
    const b6 = await client.buildView('page-views', { cut: b4.cut, wait: true });
    expect(b6).toMatchObject({ version: 6, state: 'PUBLISHED', incremental: true, baseVersion: 5 });
    const manifests = await Promise.all([4, 5, 6].map((v) => readManifest(root, 'page-views', v)));
    const files = manifests.map((m) => m.files.map((f) => [f.name, f.bytes, f.checksum, f.records]));
    expect(files[1]).toEqual(files[0]);
    expect(files[2]).toEqual(files[0]);
    for (const name of manifests[0]!.files.map((f) => f.name)) {
      const [f4, f5] = await Promise.all([4, 5].map((v) => readFile(join(root, 'page-views', `v${v}`, name))));
      expect(f5!.equals(f4!)).toBe(true);
    }
    // Each manifest names its files' bytes (their CRCs computed here), taken from what the reducers
    // reported as they wrote them: the master read none of these files whole (build-files.ts).
    for (const m of manifests) {
      for (const f of m.files) {
        const bytes = await readFile(join(root, 'page-views', `v${m.version}`, f.name));
        expect([f.bytes, f.checksum]).toEqual([bytes.length, crc32(bytes)]);
      }
    }
    expect(published.filter((p) => p.version >= 4)).toEqual([4, 5, 6].map((version) => ({ version, filesReadWhole: 0 })));
    // Two builds asked for at once: one starts, the other is refused (they would share a version folder).
    await client.append('clicks', Array.from({ length: 10 }, click));
    const both = await Promise.allSettled([client.buildView('page-views', { wait: true }), client.buildView('page-views', { wait: true })]);
    expect(both.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ version: number; state: string }>).value))
      .toMatchObject([{ version: 7, state: 'PUBLISHED' }]);
    const refused = both.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringMatching(/is being built/) as unknown });

    // The current version and the 3 before it are kept; older ones are gone.
    expect((await client.viewVersions('page-views')).versions.map((v) => v.version)).toEqual([7, 6, 5, 4]);
    expect((await readdir(join(root, 'page-views'))).filter((n) => /^v\d+$/.test(n)).sort()).toEqual(['v4', 'v5', 'v6', 'v7']);
  });

  it('refuses a view whose merge breaks the monoid laws, showing the counterexample, and one with no map', async () => {
    const views = join(dir, 'bad-views');
    await mkdir(views, { recursive: true });
    const src = join(import.meta.dirname, '..', '..', 'src', 'index.js');
    await writeFile(join(views, 'minus.ts'), `import { defineView } from ${JSON.stringify(src)};
export default defineView({ source: 'clicks', map(e, emit) { emit(e.page_id, 1); }, merge: { name: 'minus', zero: 0, plus: (a, b) => a - b } });\n`);
    const err = await client.deployView(join(views, 'minus.ts')).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(LaminateError);
    expect((err as LaminateError).code).toBe('INVALID_ARGUMENT');
    expect((err as LaminateError).message).toMatch(/View 'minus' not deployed: .*commutativ|View 'minus' not deployed: .*identity|View 'minus' not deployed: .*associativ/);
    await writeFile(join(views, 'nomap.ts'), `import { defineView, sum } from ${JSON.stringify(src)};\nexport default defineView({ source: 'clicks', merge: sum } as never);\n`);
    await expect(client.deployView(join(views, 'nomap.ts'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/map function/) as unknown });
    expect((await client.listViews()).map((v) => v.name)).toEqual(['page-views']);
  });

  it('builds in full when the current version fails its check, instead of failing every incremental build on it', async () => {
    await client.deployView(join(EXAMPLES, 'views', 'page-views.ts'), { name: 'page-damaged', partitions: 2 });
    const b1 = await client.buildView('page-damaged', { wait: true });
    expect(b1).toMatchObject({ version: 1, state: 'PUBLISHED' });
    const root = join(dir, 'views');
    // A flipped byte in a data block of version 1's first file.
    const fh = await open(join(root, 'page-damaged', 'v1', 'part-00000'), 'r+');
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, 40);
    await fh.write(Buffer.from([byte[0]! ^ 0x20]), 0, 1, 40);
    await fh.close();
    await client.append('clicks', Array.from({ length: 200 }, click));
    const b2 = await client.buildView('page-damaged', { wait: true });
    expect(b2).toMatchObject({ version: 2, state: 'PUBLISHED', incremental: false, baseVersion: 0, error: '' });
    expect(Object.fromEntries(await versionEntries(root, 'page-damaged', 2))).toEqual(Object.fromEntries(pageViews(await before(b2.cut))));
    // From a sound base, builds are incremental again.
    await client.append('clicks', Array.from({ length: 50 }, click));
    const b3 = await client.buildView('page-damaged', { wait: true });
    expect(b3).toMatchObject({ version: 3, state: 'PUBLISHED', incremental: true, baseVersion: 2 });
    expect(Object.fromEntries(await versionEntries(root, 'page-damaged', 3))).toEqual(Object.fromEntries(pageViews(await before(b3.cut))));
  });

  it('builds a view redeployed with another definition in full, and serves its older version as it was built', async () => {
    const views = join(dir, 'redeployed-views');
    await mkdir(views, { recursive: true });
    const src = JSON.stringify(join(import.meta.dirname, '..', '..', 'src', 'index.js'));
    // The same view name twice: first the two users who viewed each page most (topK), then a count of views (sum).
    await writeFile(join(views, 'top.ts'), `import { defineView, topK } from ${src};
export default defineView({ source: 'clicks', map(e, emit) { if (e.event_type === 'view') emit(e.page_id, e.user_id); }, merge: topK(2) });\n`);
    await writeFile(join(views, 'count.ts'), `import { defineView, sum } from ${src};
export default defineView({ source: 'clicks', map(e, emit) { if (e.event_type === 'view') emit(e.page_id, 1); }, merge: sum });\n`);
    await client.append('clicks', Array.from({ length: 500 }, click));
    const top = await client.deployView(join(views, 'top.ts'), { name: 'page-fans', partitions: 2 });
    expect(top.view.merge).toBe('topK(2)');
    const b1 = await client.buildView('page-fans', { wait: true });
    expect(b1).toMatchObject({ version: 1, state: 'PUBLISHED', incremental: false });
    const root = join(dir, 'views');
    expect((await readManifest(root, 'page-fans', 1)).merge).toBe('topK(2)');

    await client.append('clicks', Array.from({ length: 300 }, click));
    const counted = await client.deployView(join(views, 'count.ts'), { name: 'page-fans' });
    expect(counted.view).toMatchObject({ merge: 'sum', currentVersion: 1 });
    expect(counted.view.definitionHash).not.toBe(top.view.definitionHash);
    // Not asked for --full: version 1 was built by another definition, so it is no base to merge with.
    const b2 = await client.buildView('page-fans', { wait: true });
    expect(b2).toMatchObject({ version: 2, state: 'PUBLISHED', incremental: false, baseVersion: 0 });
    expect((await readManifest(root, 'page-fans', 2)).merge).toBe('sum');
    expect(Object.fromEntries(await versionEntries(root, 'page-fans', 2))).toEqual(Object.fromEntries(pageViews(await before(b2.cut))));

    // Independently: per page, the two users with most views (ties by user id), over version 1's cut.
    const fans = new Map<string, Map<string, number>>();
    for (const r of await before(b1.cut)) {
      if (r.event_type !== 'view') continue;
      const m = fans.get(r.page_id) ?? new Map<string, number>();
      m.set(r.user_id, (m.get(r.user_id) ?? 0) + 1);
      fans.set(r.page_id, m);
    }
    const topOf = (page: string): Array<{ item: string; count: number }> => [...fans.get(page)!]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, 2).map(([item, count]) => ({ item, count }));
    await waitFor(async () => {
      const v = (await client.viewVersions('page-fans')).versions;
      return v.length === 2 && v.every((x) => x.servedBy.length > 0) ? v : undefined;
    });
    const pages = [...fans.keys()].sort().slice(0, 5);
    const pinned = await client.multiGet('page-fans', pages, { version: 1 });
    expect(pinned.coverage.version).toBe(1);
    expect(pinned.results.map((r) => r.value)).toEqual(pages.map(topOf));
    const now = await client.multiGet('page-fans', pages);
    const counts = pageViews(await before(b2.cut));
    expect(now.results.map((r) => r.value)).toEqual(pages.map((p) => counts.get(p)));

    // A serving node that first copies version 1 after the redeploy presents it as it was built too.
    const late = await startServeProc(cluster.address, dir, 'late-node');
    const node = new ServingClient(late.address);
    try {
      await waitFor(async () => {
        const v = (await client.viewVersions('page-fans')).versions;
        return v.length === 2 && v.every((x) => x.servedBy.includes(late.nodeId)) ? v : undefined;
      });
      const answer = await node.get('page-fans', pages.map((p) => encodeViewKey(p)), 1);
      expect(answer.coverage.version).toBe(1);
      expect(answer.entries.map((e) => unpack(e.value) as unknown)).toEqual(pages.map(topOf));
    } finally {
      node.close();
      await late.kill();
    }
  });

  // Last in the file: the schedule keeps running until the cluster stops.
  it('builds on a schedule (--every), and a scheduled build that fails leaves the current version serving and is reported', async () => {
    await client.createDataset('scheduled', { partitions: 2 });
    await client.append('scheduled', Array.from({ length: 300 }, click));
    const views = join(dir, 'scheduled-views');
    await mkdir(views, { recursive: true });
    const src = JSON.stringify(join(import.meta.dirname, '..', '..', 'src', 'index.js'));
    // A human error in a view: a record the map was not written for stops the build (NonRetryableError: no retries).
    await writeFile(join(views, 'strict.ts'), `import { defineView, NonRetryableError, sum } from ${src};
export default defineView({ source: 'scheduled', map(e, emit) {
  if (e.event_type === 'poison') throw new NonRetryableError('unexpected event type poison from ' + e.user_id);
  if (e.event_type === 'view') emit(e.page_id, 1);
}, merge: sum });\n`);
    // Deployed by the command, as a process of its own, with the flags the issue names.
    const deployed = JSON.parse(await laminate('view', 'deploy', join(views, 'strict.ts'), '--master', cluster.address, '--name', 'strict', '--every', '1s', '--keep', '2', '--partitions', '2', '--json')) as { view: { everyMs: number; keep: number; partitions: number } };
    expect(deployed.view).toMatchObject({ everyMs: 1000, keep: 2, partitions: 2 });
    const scheduled = async (cut: readonly number[]): Promise<Map<string, number>> => pageViews(await before(cut, 'scheduled'));
    const root = join(dir, 'views');
    const publishedAt = async (cut: readonly number[]): Promise<number> => waitFor(async () => {
      const v = (await client.viewVersions('strict')).versions.find((x) => x.current);
      return v !== undefined && v.cut.every((o, i) => o === cut[i]) ? v.version : undefined;
    });

    // No buildView call: the first scheduled build comes right after the deploy, the next once records arrive.
    const end = async (): Promise<number[]> => (await client.describeDataset('scheduled')).partitions.map((p) => p.endOffset);
    const cut1 = await end();
    const v1 = await publishedAt(cut1);
    expect(Object.fromEntries(await versionEntries(root, 'strict', v1))).toEqual(Object.fromEntries(await scheduled(cut1)));
    await client.append('scheduled', Array.from({ length: 200 }, click));
    const cut2 = await end();
    const v2 = await publishedAt(cut2);
    expect(v2).toBeGreaterThan(v1);
    expect(Object.fromEntries(await versionEntries(root, 'strict', v2))).toEqual(Object.fromEntries(await scheduled(cut2)));
    const expected = await scheduled(cut2);
    const pages = [...expected.keys()].sort().slice(0, 6);
    await waitFor(async () => ((await client.multiGet('strict', pages)).coverage.version === v2 ? true : undefined));

    await client.append('scheduled', [{ ...click(), event_type: 'poison', user_id: 'u-poison' }, ...Array.from({ length: 20 }, click)]);
    const failed = await waitFor(async () => (await client.viewVersions('strict')).builds.find((b) => b.state === 'FAILED'));
    expect(failed.error).toMatch(/unexpected event type poison from u-poison/);
    const after = await client.viewVersions('strict');
    expect(after.versions.find((v) => v.current)).toMatchObject({ version: v2, cut: cut2 });
    expect(after.versions.some((v) => v.version === failed.version)).toBe(false);
    expect(after.history.find((e) => e.event === 'build failed')).toMatchObject({ version: failed.version, detail: expect.stringMatching(/poison from u-poison/) as unknown });
    expect((await client.listViews()).find((v) => v.name === 'strict')).toMatchObject({ currentVersion: v2, lastBuildError: expect.stringMatching(/poison from u-poison/) as unknown });
    // The current version keeps serving, with the values of its cut.
    const answer = await client.multiGet('strict', pages);
    expect(answer.coverage.version).toBe(v2);
    expect(answer.results.map((r) => r.value)).toEqual(pages.map((p) => expected.get(p)));
    const lines: string[] = [];
    await viewVersions(client, { name: 'strict' }, (l) => lines.push(l));
    expect(lines).toContain('builds not published:');
    expect(lines.some((l) => l.includes(`version ${failed.version}`) && l.includes('poison from u-poison'))).toBe(true);
    // And in `laminate status`, on the view's line (besides its job's).
    const stdout = await laminate('status', '--master', cluster.address);
    const viewsPart = stdout.slice(stdout.indexOf('\nviews\n'));
    expect(viewsPart).toMatch(new RegExp(`\\n {2}strict {2}source scheduled {2}merge sum .*builds every 1s .*version ${v2} over cut ${cut2.join(',')}; last build failed: .*poison from u-poison`));
  });
});
