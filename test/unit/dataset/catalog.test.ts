import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateDatasetName, validatePartitionCount } from '../../../src/dataset/catalog.js';
import { appendOne, batchOf, openStore, readAll, rejectsWith, TestFileSystem, throwsWith, useTempDirs } from './helpers.js';

describe('dataset catalog', () => {
  const tempDir = useTempDirs();

  it('accepts names of letters, digits, dot, dash and underscore, and refuses the rest saying what it expects', () => {
    for (const ok of ['clicks', 'a', 'Clicks.2026-12_01', '0', 'x'.repeat(128)]) expect(validateDatasetName(ok)).toBe(ok);
    for (const bad of ['', '.hidden', '..', '-x', '_x', 'a/b', 'a b', 'é', 'x'.repeat(129), 'a\u0000']) {
      throwsWith(() => validateDatasetName(bad), 'INVALID_ARGUMENT', /Expected a dataset name of 1 to 128 letters, digits/);
    }
    throwsWith(() => validateDatasetName(7), 'INVALID_ARGUMENT', /got 7$/);
  });

  it('defaults to 4 partitions and refuses counts that are not positive integers up to 1024', () => {
    expect(validatePartitionCount(undefined)).toBe(4);
    expect(validatePartitionCount(1)).toBe(1);
    expect(validatePartitionCount(1024)).toBe(1024);
    for (const bad of [0, -1, 1.5, 1025, '4', Number.NaN]) {
      throwsWith(() => validatePartitionCount(bad), 'INVALID_ARGUMENT', /Expected partitions to be a positive integer of at most 1024, got/);
    }
  });

  it('creates a dataset with its partitions, all empty, and describes and lists it', async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const created = await store.createDataset('clicks');
    expect(created.name).toBe('clicks');
    expect(created.partitions.map((p) => [p.partition, p.endOffset, p.records, p.segments, p.bytes])).toEqual([
      [0, 0, 0, 1, 0], [1, 0, 0, 1, 0], [2, 0, 0, 1, 0], [3, 0, 0, 1, 0],
    ]);
    await store.createDataset('a-first', { partitions: 1 });
    expect(store.listDatasets().map((d) => [d.name, d.partitions.length])).toEqual([['a-first', 1], ['clicks', 4]]);
    expect(store.currentCut('clicks')).toEqual([0, 0, 0, 0]);
    const json = JSON.parse(await readFile(join(dir, 'clicks', 'dataset.json'), 'utf8')) as Record<string, unknown>;
    expect(json).toMatchObject({ name: 'clicks', partitions: 4 });
    expect((await readdir(join(dir, 'clicks'))).sort()).toEqual(['dataset.json', 'p-0000', 'p-0001', 'p-0002', 'p-0003']);
    await store.close();
  });

  it('treats a repeat with the same settings as a no-op and other settings as ALREADY_EXISTS', async () => {
    const store = await openStore(await tempDir());
    const first = await store.createDataset('clicks', { partitions: 2 });
    await appendOne(store, batchOf('clicks', 1, ['r']));
    const again = await store.createDataset('clicks', { partitions: 2 });
    expect(again.createdAt).toBe(first.createdAt);
    expect(again.partitions[1]!.endOffset).toBe(1);
    await rejectsWith(store.createDataset('clicks', { partitions: 3 }), 'ALREADY_EXISTS', /Expected dataset 'clicks' to be new or to have 3 partitions, got one that exists with 2/);
    await rejectsWith(store.createDataset('clicks'), 'ALREADY_EXISTS');
    await store.close();
  });

  it('lets concurrent creations of one name make one dataset', async () => {
    const store = await openStore(await tempDir());
    const results = await Promise.allSettled([store.createDataset('x', { partitions: 2 }), store.createDataset('x', { partitions: 2 }), store.createDataset('x', { partitions: 3 })]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(store.listDatasets()).toHaveLength(1);
    await store.close();
  });

  it('keeps datasets and their records across a reopen', async () => {
    const dir = await tempDir();
    let store = await openStore(dir);
    await store.createDataset('clicks', { partitions: 3 });
    await appendOne(store, batchOf('clicks', 2, [{ a: 1 }, { a: 2 }]));
    await store.close();
    store = await openStore(dir);
    expect(store.describeDataset('clicks').partitions.map((p) => p.endOffset)).toEqual([0, 0, 2]);
    expect(await readAll(store, 'clicks', 2)).toEqual([{ a: 1 }, { a: 2 }]);
    await store.close();
  });

  it('ignores a dataset folder whose creation was cut short, and a later create completes it', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'half', 'p-0000'), { recursive: true });
    await writeFile(join(dir, 'half', 'dataset.json.tmp'), '{"na');
    const store = await openStore(dir);
    expect(store.listDatasets()).toEqual([]);
    await rejectsWith(Promise.resolve().then(() => store.describeDataset('half')), 'NOT_FOUND', /Expected an existing dataset, got 'half'/);
    await store.createDataset('half', { partitions: 2 });
    expect(store.describeDataset('half').partitions).toHaveLength(2);
    await store.close();
  });

  it('skips stray entries of the datasets folder (a plain file, lost+found, a hidden folder) and opens the datasets beside them', async () => {
    const dir = await tempDir();
    let store = await openStore(dir);
    await store.createDataset('fine', { partitions: 1 });
    await appendOne(store, batchOf('fine', 0, ['kept']));
    await store.close();
    await writeFile(join(dir, 'notes.txt'), 'a plain file');
    await mkdir(join(dir, 'lost+found'));
    await mkdir(join(dir, '.trash', 'x'), { recursive: true });
    store = await openStore(dir);
    expect(store.listDatasets().map((d) => d.name)).toEqual(['fine']);
    expect(await readAll(store, 'fine', 0)).toEqual(['kept']);
    await rejectsWith(Promise.resolve().then(() => store.describeDataset('notes.txt')), 'NOT_FOUND');
    await store.close();
  });

  it('makes a dataset folder that may not be read unavailable (UNAVAILABLE), and opens the others', async () => {
    const dir = await tempDir();
    let store = await openStore(dir);
    await store.createDataset('locked', { partitions: 1 });
    await store.createDataset('fine', { partitions: 1 });
    await store.close();
    // Tests run as root, which permissions do not stop: the port answers as the kernel would.
    class Denied extends TestFileSystem {
      override fileSize = (path: string): Promise<number | undefined> =>
        path.startsWith(join(dir, 'locked')) ? Promise.reject(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })) : new TestFileSystem().fileSize(path);
    }
    store = await openStore(dir, { fs: new Denied() });
    expect(store.listDatasets().map((d) => d.name)).toEqual(['fine']);
    throwsWith(() => store.describeDataset('locked'), 'UNAVAILABLE', /locked.dataset\.json, got EACCES/);
    await store.close();
  });

  it('makes a dataset with an unreadable catalog entry unavailable (DATA_LOSS) rather than guess it', async () => {
    const dir = await tempDir();
    let store = await openStore(dir);
    await store.createDataset('broken', { partitions: 2 });
    await store.createDataset('fine', { partitions: 1 });
    await store.close();
    await writeFile(join(dir, 'broken', 'dataset.json'), '{"name":"broken","partitions":');
    store = await openStore(dir);
    expect(store.listDatasets().map((d) => d.name)).toEqual(['fine']);
    throwsWith(() => store.describeDataset('broken'), 'DATA_LOSS', /dataset.json to be JSON/);
    await rejectsWith(store.createDataset('broken', { partitions: 2 }), 'DATA_LOSS');
    await store.close();
  });

  it('answers NOT_FOUND for an unknown dataset or partition, naming what exists', async () => {
    const store = await openStore(await tempDir());
    await store.createDataset('clicks', { partitions: 2 });
    await rejectsWith(store.append([batchOf('nope', 0, [1])]), 'NOT_FOUND', /got 'nope'/);
    await rejectsWith(store.append([batchOf('clicks', 2, [1])]), 'NOT_FOUND', /Expected a partition of dataset 'clicks' from 0 to 1, got 2/);
    await rejectsWith(store.read('clicks', -1, 0), 'NOT_FOUND');
    throwsWith(() => store.currentCut('nope'), 'NOT_FOUND');
    await store.close();
  });

  it('refuses calls after close with UNAVAILABLE', async () => {
    const store = await openStore(await tempDir());
    await store.createDataset('clicks', { partitions: 1 });
    await store.close();
    await rejectsWith(store.append([batchOf('clicks', 0, [1])]), 'UNAVAILABLE');
    await rejectsWith(store.createDataset('other'), 'UNAVAILABLE');
  });
});
