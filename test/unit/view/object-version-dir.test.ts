/**
 * The view store's layout on an object store (s3rver on 127.0.0.1): the
 * same functions as for a folder (view-version-dir.ts), given an s3://
 * root. Files are made locally, as a reducer stages them, and put where the
 * build's committer would.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../../src/storage/s3-object-store.js';
import { joinStorePath } from '../../../src/storage/store-path.js';
import { verifyVersionFiles } from '../../../src/view/verify-version.js';
import { ViewFileReader } from '../../../src/view/view-file-reader.js';
import { makeManifest, type ViewManifest, type ViewManifestFile } from '../../../src/view/view-manifest.js';
import {
  listVersions, listViews, prepareVersionDir, publishVersion, readCurrent, readManifest, removeLeftovers, removeVersion, versionDir, viewFileName, writeManifest,
} from '../../../src/view/view-version-dir.js';
import { fnv1a } from '../../support/fnv1a.js';
import { startS3Server, type TestS3Server } from '../../support/s3-server.js';
import { collect, rejectsWith, useTempDirs, writeView } from './helpers.js';

const BUCKET = 'views-unit';
const VIEW = 'page-views';
let s3: TestS3Server;
let store: S3ObjectStore;
let n = 0;
const tempDir = useTempDirs();

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket(BUCKET);
  store = new S3ObjectStore(s3.client, BUCKET);
});
afterAll(async () => {
  await s3?.stop();
});

/** A fresh root for one case: `s3://views-unit/rN/`. */
function freshRoot(): { root: string; prefix: string } {
  n++;
  return { root: `s3://${BUCKET}/r${n}/`, prefix: `r${n}/` };
}

/** Version `version` of VIEW (2 partitions, keys k000..k049 valued `${version}`), its files on the store; the manifest not yet written. */
async function buildFiles(root: string, version: number, cut: number[]): Promise<ViewManifest> {
  const dir = await prepareVersionDir(root, VIEW, version);
  const local = await tempDir();
  const files: ViewManifestFile[] = [];
  for (let p = 0; p < 2; p++) {
    const keys = Array.from({ length: 50 }, (_, i) => `k${String(i).padStart(3, '0')}`).filter((k) => fnv1a(k) % 2 === p);
    const path = join(local, viewFileName(p));
    const s = await writeView(path, keys.map((k) => [k, Buffer.from(String(version))]));
    await store.put(joinStorePath(dir, viewFileName(p)).slice(`s3://${BUCKET}/`.length), await readFile(path));
    files.push({ name: viewFileName(p), partition: p, bytes: s.bytes, checksum: s.checksum, records: s.records, firstKey: s.firstKey ?? null, lastKey: s.lastKey ?? null });
  }
  return makeManifest({ view: VIEW, version, dataset: 'clicks', cut, jobId: `job-${String(version).padStart(4, '0')}`, definitionHash: 'abcdef01', builtAt: new Date(0).toISOString(), files });
}

async function keysUnder(prefix: string): Promise<string[]> {
  return (await store.listAll(prefix)).map((o) => o.key.slice(prefix.length));
}

describe('view versions on an object store', () => {
  it('keeps files, manifest and pointer as keys; a version is listed once its manifest is there, and current once the pointer names it', async () => {
    const { root, prefix } = freshRoot();
    expect(versionDir(root, VIEW, 3)).toBe(`${root}${VIEW}/v3`);
    const m1 = await buildFiles(root, 1, [10, 20]);
    expect(await listVersions(root, VIEW)).toEqual([]);
    await rejectsWith(publishVersion(root, VIEW, 1), 'NOT_FOUND', /no version 1/);
    await writeManifest(root, m1);
    expect(await listVersions(root, VIEW)).toEqual([1]);
    expect(await readCurrent(root, VIEW)).toBeUndefined();
    await publishVersion(root, VIEW, 1);
    expect(await readCurrent(root, VIEW)).toBe(1);
    expect((await store.read(`${prefix}${VIEW}/CURRENT`)).toString()).toBe('v1\n');
    expect(await keysUnder(prefix)).toEqual([`${VIEW}/CURRENT`, `${VIEW}/v1/MANIFEST.json`, `${VIEW}/v1/part-00000.view`, `${VIEW}/v1/part-00001.view`]);
    expect(await readManifest(root, VIEW, 1)).toEqual(m1);
    // The master's other prefixes beside the views are no views.
    await store.put(`${prefix}_catalog/x.json`, '{}');
    await store.put(`${prefix}_function-code/f.v1.bin`, 'x');
    expect(await listViews(root)).toEqual([VIEW]);

    // Version 2 complete but not published: the pointer still names 1.
    await writeManifest(root, await buildFiles(root, 2, [15, 20]));
    expect(await listVersions(root, VIEW)).toEqual([1, 2]);
    expect(await readCurrent(root, VIEW)).toBe(1);
    await publishVersion(root, VIEW, 2);
    await rejectsWith(publishVersion(root, VIEW, 1), 'FAILED_PRECONDITION', /rollback/);
    await publishVersion(root, VIEW, 1, { rollback: true });
    expect(await readCurrent(root, VIEW)).toBe(1);
    await rejectsWith(prepareVersionDir(root, VIEW, 2), 'ALREADY_EXISTS', /already exists/);
  });

  it('refuses a manifest naming a file that is missing or of another size', async () => {
    const { root, prefix } = freshRoot();
    const m = await buildFiles(root, 1, [1]);
    await store.delete(`${prefix}${VIEW}/v1/part-00001.view`);
    await rejectsWith(writeManifest(root, m), 'FAILED_PRECONDITION', /no such file/);
    await store.put(`${prefix}${VIEW}/v1/part-00001.view`, 'short');
    await rejectsWith(writeManifest(root, m), 'FAILED_PRECONDITION', /5 bytes/);
    expect(await listVersions(root, VIEW)).toEqual([]);
  });

  it('removes leftovers (versions without a manifest, a build\'s _temporary/) but never the current version; retires a version manifest first', async () => {
    const { root, prefix } = freshRoot();
    await writeManifest(root, await buildFiles(root, 1, [1]));
    await publishVersion(root, VIEW, 1);
    await writeManifest(root, await buildFiles(root, 2, [2]));
    await publishVersion(root, VIEW, 2);
    await buildFiles(root, 3, [3]);
    await store.put(`${prefix}${VIEW}/v2/_temporary/a/part-00000.pending`, '{}');
    const removed = await removeLeftovers(root, VIEW);
    expect(removed).toEqual(expect.arrayContaining([`${root}${VIEW}/v3`, `s3://${BUCKET}/${prefix}${VIEW}/v2/_temporary/a/part-00000.pending`]));
    expect((await keysUnder(`${prefix}${VIEW}/`)).filter((k) => k.startsWith('v3/') || k.includes('_temporary'))).toEqual([]);
    await rejectsWith(removeVersion(root, VIEW, 2), 'FAILED_PRECONDITION', /current/);
    await removeVersion(root, VIEW, 1);
    expect(await listVersions(root, VIEW)).toEqual([2]);
    expect((await keysUnder(`${prefix}${VIEW}/`)).filter((k) => k.startsWith('v1/'))).toEqual([]);
  });

  it('reads and verifies view files in place with ranged reads, and finds one damaged on the store', async () => {
    const { root, prefix } = freshRoot();
    const m = await buildFiles(root, 1, [1]);
    await writeManifest(root, m);
    await verifyVersionFiles(versionDir(root, VIEW, 1), m);
    const readers = await Promise.all(m.files.map((f) => ViewFileReader.openStored(joinStorePath(versionDir(root, VIEW, 1), f.name))));
    try {
      const keys = (await Promise.all(readers.map(async (r) => (await collect(r.scan())).map((e) => [e.key, e.value.toString()])))).flat();
      expect(keys.sort()).toEqual(Array.from({ length: 50 }, (_, i) => [`k${String(i).padStart(3, '0')}`, '1']));
      expect(readers.map((r) => [r.records, r.firstKey, r.lastKey])).toEqual(m.files.map((f) => [f.records, f.firstKey, f.lastKey]));
    } finally {
      await Promise.all(readers.map((r) => r.close()));
    }
    // One byte flipped in a block: same size, another checksum.
    const key = `${prefix}${VIEW}/v1/part-00000.view`;
    const bytes = Buffer.from(await store.read(key));
    bytes[3] = bytes[3]! ^ 0xff;
    await store.put(key, bytes);
    await rejectsWith(verifyVersionFiles(versionDir(root, VIEW, 1), m), 'DATA_LOSS', /part-00000\.view/);
    await rejectsWith(ViewFileReader.openStored(`${root}${VIEW}/v1/none.view`), 'NOT_FOUND', /does not exist/);
  });
});

describe('joinStorePath', () => {
  it('joins an s3:// URL with single slashes and a local path as path.join does', () => {
    expect(joinStorePath('s3://b/p/', 'v', 'v1')).toBe('s3://b/p/v/v1');
    expect(joinStorePath('s3://b/p', 'x')).toBe('s3://b/p/x');
    expect(joinStorePath('s3://b', 'x')).toBe('s3://b/x');
    expect(joinStorePath('/data/views/', 'v', '..', 'w')).toBe('/data/views/w');
  });
});
