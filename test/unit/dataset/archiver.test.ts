/**
 * The archiver over a real dataset store (small segments) and the local
 * backend of the storage port: sealed segments copied whole and recorded,
 * the active one left alone; a cut read from the archive and the store
 * together equal to the store's own reads; a copy cut short resumed; a
 * damaged segment never archived; a copy that reads back wrong never
 * recorded; a failing store retried by the next pass.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import type { DatasetSplit } from '../../../src/common/input-split.js';
import { silentLogger } from '../../../src/common/logger.js';
import { archiveManifestKey, archiveSegmentKey, parseManifest, type PartitionManifest } from '../../../src/dataset/archive-manifest.js';
import { readArchivedSplit } from '../../../src/dataset/archive-reader.js';
import { withArchivedRanges } from '../../../src/dataset/archive-splits.js';
import { SegmentArchiver, type ArchiverOptions } from '../../../src/dataset/archiver.js';
import { storeDatasetAccess } from '../../../src/dataset/input-access.js';
import type { LogDatasetStore } from '../../../src/dataset/log-dataset-store.js';
import { datasetFormat } from '../../../src/storage/input-formats/dataset.js';
import { LocalObjectStore } from '../../../src/storage/local-object-store.js';
import type { ObjectStore } from '../../../src/storage/object-store.js';
import { batchOf, openStore, readAll, records, useTempDirs } from './helpers.js';

const DATASET = 'clicks';
const PARTITIONS = 2;
const dirs = useTempDirs();
const stores: LogDatasetStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

/** A store of small segments (2 KiB) with several sealed in each partition, and a folder for the archive. */
async function setup(): Promise<{ store: LogDatasetStore; archiveDir: string }> {
  const dir = await dirs();
  const store = await openStore(join(dir, 'datasets'), { segmentBytes: 2048, indexIntervalBytes: 256 });
  stores.push(store);
  await store.createDataset(DATASET, { partitions: PARTITIONS });
  for (let i = 0; i < 40; i++) {
    await store.append([0, 1].map((p) => batchOf(DATASET, p, records(`p${p}`, i * 7, 7))));
  }
  return { store, archiveDir: join(dir, 'archive') };
}

function archiver(store: LogDatasetStore, archive: ObjectStore, prefix: string, o: Partial<ArchiverOptions> = {}): SegmentArchiver {
  return new SegmentArchiver({ store, archive, prefix, logger: silentLogger(), ...o });
}

async function manifestOf(archive: ObjectStore, prefix: string, partition: number): Promise<PartitionManifest> {
  return parseManifest((await archive.read(archiveManifestKey(prefix, DATASET, partition))).toString('utf8'), DATASET, partition, 'test');
}

/** Every archived object equals its local segment file, byte for byte, and has the CRC its entry says. */
async function expectArchiveWhole(store: LogDatasetStore, archive: ObjectStore, prefix: string, partition: number, m: PartitionManifest): Promise<void> {
  const local = store.sealedSegments(DATASET, partition);
  for (const [i, e] of m.segments.entries()) {
    const bytes = await archive.read(archiveSegmentKey(prefix, DATASET, partition, e.baseOffset));
    const file = await readFile(local[i]!.path);
    expect(bytes.equals(file)).toBe(true);
    expect(e).toEqual({ baseOffset: local[i]!.baseOffset, endOffset: local[i]!.endOffset, bytes: file.length, crc32: crc32(file) });
  }
}

describe('SegmentArchiver', () => {
  it('copies every sealed segment and records it in the manifest; the active segment stays local', async () => {
    const { store, archiveDir } = await setup();
    const archive = new LocalObjectStore();
    await archiver(store, archive, archiveDir).runPass();
    for (let p = 0; p < PARTITIONS; p++) {
      const sealed = store.sealedSegments(DATASET, p);
      expect(sealed.length).toBeGreaterThan(3);
      const m = await manifestOf(archive, archiveDir, p);
      expect(m.segments.map((s) => [s.baseOffset, s.endOffset])).toEqual(sealed.map((s) => [s.baseOffset, s.endOffset]));
      await expectArchiveWhole(store, archive, archiveDir, p, m);
      const activeBase = sealed.at(-1)!.endOffset;
      expect(await archive.stat(archiveSegmentKey(archiveDir, DATASET, p, activeBase))).toBeUndefined();
      expect(store.describeDataset(DATASET).partitions[p]!.endOffset).toBeGreaterThan(activeBase);
    }
  });

  it('reads a cut from the archive and the rest from the store with offsets and records identical to the store\'s reads', async () => {
    const { store, archiveDir } = await setup();
    const archive = new LocalObjectStore();
    const a = archiver(store, archive, archiveDir);
    await a.runPass();
    // Mid-batch cuts, past the archived end: part of each partition comes from each side.
    const cut = store.currentCut(DATASET).map((e) => e - 3);
    const access = storeDatasetAccess(store);
    const planned = await datasetFormat(access).listSplits({ kind: 'datasets', cuts: [{ dataset: DATASET, offsets: cut }] }, 700);
    const splits = await withArchivedRanges(planned, {
      archivedSegments: (d, p) => a.archivedSegments(d, p),
      segmentPath: (d, p, b) => a.segmentPath(d, p, b),
      sealedByteRange: (d, p, b, from, end) => store.sealedByteRange(d, p, b, from, end),
    });
    const archived = splits.filter((s) => s.kind === 'dataset' && s.archive !== undefined);
    expect(archived.length).toBeGreaterThan(2 * PARTITIONS);
    expect(splits.length - archived.length).toBeGreaterThanOrEqual(PARTITIONS);
    // As the store streams the object (whole batches per chunk here), and in 5-byte pieces (a batch across many
    // chunks, as S3 bodies come).
    const local = new LocalObjectStore();
    async function* inPieces(path: string, start: number, end: number): AsyncIterable<Buffer> {
      for await (const chunk of local.readStream(path, start, end)) {
        for (let i = 0; i < chunk.length; i += 5) yield chunk.subarray(i, i + 5);
      }
    }
    // And in 1,000-byte chunks (batches are ~350 bytes): a batch across two chunks, then whole batches in the rest of
    // the second, read in place.
    async function* in1000(path: string, start: number, end: number): AsyncIterable<Buffer> {
      const got: Buffer[] = [];
      for await (const chunk of local.readStream(path, start, end)) got.push(chunk);
      const whole = Buffer.concat(got);
      for (let i = 0; i < whole.length; i += 1000) yield whole.subarray(i, i + 1000);
    }
    for (const read of [undefined, inPieces, in1000]) {
      const seen: unknown[][] = cut.map(() => []);
      for (const split of splits as DatasetSplit[]) {
        const chunks = split.archive === undefined ? access.readRange(split) : readArchivedSplit(split, read);
        let next = split.startOffset;
        for await (const c of chunks) {
          expect(c.firstOffset).toBe(next);
          next += c.records.length;
          seen[split.partition]!.push(...c.records.map((r) => ({ offset: c.firstOffset, r })));
        }
        expect(next).toBe(split.endOffset);
      }
      for (let p = 0; p < PARTITIONS; p++) {
        const expected = (await readAll(store, DATASET, p)).slice(0, cut[p]);
        expect(seen[p]!.map((x) => (x as { r: unknown }).r)).toEqual(expected);
      }
    }
  });

  it('after a copy cut short, a new archiver copies again what was not recorded, and the archive reads whole', async () => {
    const { store, archiveDir } = await setup();
    const archive = new LocalObjectStore();
    let uploads = 0;
    const crash = new Error('killed after the second upload');
    await expect(archiver(store, archive, archiveDir, {
      onStep: (step) => { if (step === 'archive:uploaded' && ++uploads === 2) throw crash; },
    }).runPass()).rejects.toBe(crash);
    const m1 = await manifestOf(archive, archiveDir, 0);
    expect(m1.segments).toHaveLength(1);
    // The second segment's object is there but not recorded; spoil it, as a torn copy would be.
    const second = store.sealedSegments(DATASET, 0)[1]!;
    const orphan = archiveSegmentKey(archiveDir, DATASET, 0, second.baseOffset);
    expect(await archive.stat(orphan)).toBeDefined();
    await writeFile(orphan, 'torn');

    await archiver(store, archive, archiveDir).runPass();
    for (let p = 0; p < PARTITIONS; p++) {
      const m = await manifestOf(archive, archiveDir, p);
      expect(m.segments).toHaveLength(store.sealedSegments(DATASET, p).length);
      await expectArchiveWhole(store, archive, archiveDir, p, m);
    }
    // A third run finds nothing to do and changes nothing.
    const before = await archive.read(archiveManifestKey(archiveDir, DATASET, 0));
    await archiver(store, archive, archiveDir).runPass();
    expect((await archive.read(archiveManifestKey(archiveDir, DATASET, 0))).equals(before)).toBe(true);
  });

  it('never archives a damaged segment nor any after it, and archives the other partitions', async () => {
    const { store, archiveDir } = await setup();
    const archive = new LocalObjectStore();
    const third = store.sealedSegments(DATASET, 0)[2]!;
    const bytes = await readFile(third.path);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 5) ^ 0xff, bytes.length - 5);
    await writeFile(third.path, bytes);
    await archiver(store, archive, archiveDir).runPass();
    expect((await manifestOf(archive, archiveDir, 0)).segments.map((s) => s.baseOffset)).toEqual(store.sealedSegments(DATASET, 0).slice(0, 2).map((s) => s.baseOffset));
    expect((await manifestOf(archive, archiveDir, 1)).segments).toHaveLength(store.sealedSegments(DATASET, 1).length);
  });

  it('records nothing whose read-back differs from the file, and copies it again on the next pass', async () => {
    const { store, archiveDir } = await setup();
    const local = new LocalObjectStore();
    let spoil = true;
    const lying: ObjectStore = Object.assign(Object.create(local) as ObjectStore, {
      async *readStream(key: string, start?: number, end?: number): AsyncIterable<Buffer> {
        for await (const chunk of local.readStream(key, start, end)) {
          // The first read-back sees one flipped bit, as a store that damaged the copy would show.
          if (spoil) {
            spoil = false;
            const copy = Buffer.from(chunk);
            copy.writeUInt8(copy.readUInt8(0) ^ 1, 0);
            yield copy;
          } else {
            yield chunk;
          }
        }
      },
    });
    const a = archiver(store, lying, archiveDir);
    await expect(a.runPass()).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/to have CRC-32 \d+, got \d+ when read back; it will be copied again/) as unknown });
    expect(await local.stat(archiveManifestKey(archiveDir, DATASET, 0))).toBeUndefined();
    await a.runPass();
    const m = await manifestOf(local, archiveDir, 0);
    expect(m.segments).toHaveLength(store.sealedSegments(DATASET, 0).length);
    await expectArchiveWhole(store, local, archiveDir, 0, m);
  });

  it('ends a pass on a store error, and the next pass goes on where it stopped', async () => {
    const { store, archiveDir } = await setup();
    const local = new LocalObjectStore();
    let failPuts = 1;
    const flaky: ObjectStore = Object.assign(Object.create(local) as ObjectStore, {
      put: (key: string, body: Buffer | string) => (failPuts-- > 0 ? Promise.reject(new LaminateError('UNAVAILABLE', 'S3 did not answer after retries')) : local.put(key, body)),
    });
    const a = archiver(store, flaky, archiveDir);
    await expect(a.runPass()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(await local.stat(archiveManifestKey(archiveDir, DATASET, 0))).toBeUndefined();
    expect(a.archivedSegments(DATASET, 0)).toEqual([]);
    await a.runPass();
    for (let p = 0; p < PARTITIONS; p++) {
      const m = await manifestOf(local, archiveDir, p);
      expect(a.archivedSegments(DATASET, p)).toEqual(m.segments);
      await expectArchiveWhole(store, local, archiveDir, p, m);
    }
  });
});
