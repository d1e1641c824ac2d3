import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LaminateError } from '../../../src/common/errors.js';
import { ViewFileReader } from '../../../src/view/view-file-reader.js';
import {
  cutIsBehind,
  decodeManifest,
  encodeManifest,
  fileForKey,
  filesForScan,
  makeManifest,
  type ViewManifest,
} from '../../../src/view/view-manifest.js';
import { fnv1a } from '../../support/fnv1a.js';
import { byUtf8, partitionedVersion, referenceEntries, rng, throwsWith, useTempDirs } from './helpers.js';

/** Wraps a body in the manifest envelope with its right checksum, to test what lies past the checksum. */
function envelope(body: string): Buffer {
  return Buffer.from(`{"crc32":"${crc32(Buffer.from(body)).toString(16).padStart(8, '0')}","manifest":${body}}\n`);
}

function decodeError(bytes: Uint8Array): LaminateError {
  try {
    decodeManifest(bytes, '/v/MANIFEST.json');
  } catch (err) {
    if (err instanceof LaminateError) return err;
    throw new Error(`Expected a LaminateError, got ${String(err)}`);
  }
  throw new Error('Expected decodeManifest to refuse');
}

const BASE: ViewManifest = makeManifest({
  view: 'v',
  version: 1,
  dataset: 'd',
  cut: [2, 3],
  jobId: 'job-0001',
  definitionHash: 'deadbeef',
  builtAt: '2024-06-01T12:00:00.000Z',
  files: [
    { name: 'part-00000.view', partition: 0, bytes: 100, checksum: 7, records: 0, firstKey: null, lastKey: null },
    // 'b' and 'd' hash to partition 1 of 2 (fnv1a: 0xe70c2de5, 0xe10c2473); 'a' and 'c' to 0.
    { name: 'part-00001.view', partition: 1, bytes: 200, checksum: 8, records: 2, firstKey: 'b', lastKey: 'd' },
  ],
});

describe('view manifest', () => {
  const tempDir = useTempDirs();

  it('round-trips through its encoding, and routes each key to the one file that holds it', async () => {
    const random = rng(3);
    const entries = referenceEntries(random, 3000, () => 12);
    const dir = await tempDir();
    const { manifest, paths } = await partitionedVersion(dir, entries, 4);
    expect(manifest).toMatchObject({ records: 1510, keys: 3000, bytes: manifest.files.reduce((a, f) => a + f.bytes, 0), partitioner: 'fnv1a-32' });
    const decoded = decodeManifest(encodeManifest(manifest), 'm');
    expect(decoded).toEqual(manifest);

    const readers = await Promise.all(paths.map((p) => ViewFileReader.open(p)));
    for (const [k, v] of entries) {
      const f = fileForKey(decoded, k);
      expect(f?.partition, k).toBe(fnv1a(k) % 4);
      expect(await readers[f!.partition]!.get(k)).toEqual(v);
    }
    // Absent keys: either no file, or the file of their partition (which does not hold them).
    const present = new Set(entries.map(([k]) => k));
    for (const k of ['', 'absent', 'page/zzz', 'page/1\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9', '\u{10ffff}'].filter((x) => !present.has(x))) {
      const f = fileForKey(decoded, k);
      if (f !== undefined) {
        expect(f.partition).toBe(fnv1a(k) % 4);
        expect(await readers[f.partition]!.get(k)).toBeUndefined();
      }
    }
    await Promise.all(readers.map((r) => r.close()));
  });

  it('chooses for a scan every file that may hold keys within its bounds', async () => {
    const random = rng(6);
    const entries = referenceEntries(random, 400, () => 1);
    const { manifest } = await partitionedVersion(await tempDir(), entries, 5);
    const keys = entries.map(([k]) => k);
    const bounds = [{}, { from: 'page/' }, { to: 'page/' }, { prefix: 'page/1' }, { prefix: '\u{1f600}' }, { from: 'user', to: 'user\u00e9/b' }, { prefix: 'nothing' }, { from: '\u{10ffff}' }];
    for (const b of bounds) {
      const chosen = new Set(filesForScan(manifest, b).map((f) => f.partition));
      const needed = new Set(
        keys
          .filter((k) => (b.from === undefined || byUtf8(k, b.from) >= 0) && (b.to === undefined || byUtf8(k, b.to) < 0) && (b.prefix === undefined || k.startsWith(b.prefix)))
          .map((k) => fnv1a(k) % 5),
      );
      for (const p of needed) expect(chosen.has(p), `${JSON.stringify(b)} partition ${p}`).toBe(true);
    }
  });

  it('refuses malformed manifests with DATA_LOSS saying what is wrong', () => {
    const body = JSON.stringify(BASE, null, 2);
    const mutate = (f: (o: Record<string, unknown>) => void): Buffer => {
      const o = JSON.parse(body) as Record<string, unknown>;
      f(o);
      return envelope(JSON.stringify(o));
    };
    const files = (o: Record<string, unknown>): Record<string, unknown>[] => o['files'] as Record<string, unknown>[];
    const cases: [Uint8Array, RegExp][] = [
      [Buffer.alloc(0), /expected \{"crc32"/],
      [Buffer.from('garbage'), /expected \{"crc32"/],
      [encodeManifest(BASE).subarray(0, 50), /expected \{"crc32"/],
      [Buffer.from(encodeManifest(BASE).toString().replace('"cut": [\n    2', '"cut": [\n    3')), /checksum is [0-9a-f]{8}, expected/],
      [envelope('{"view": '), /not JSON/],
      [envelope('[]'), /expected an object, got an array/],
      [mutate((o) => delete o['cut']), /expected cut to be a non-empty array/],
      [mutate((o) => (o['cut'] = [1, -1])), /expected cut offset 1 to be an integer of at least 0, got -1/],
      [mutate((o) => (o['version'] = '1')), /expected version to be an integer of at least 1, got '1'/],
      [mutate((o) => (o['formatVersion'] = 2)), /format version 2/],
      [mutate((o) => (o['view'] = '../etc')), /expected view to be a view name/],
      [mutate((o) => (o['jobId'] = 'job-7')), /expected jobId to be a job id/],
      [mutate((o) => (o['definitionHash'] = 'XYZ')), /definitionHash/],
      [mutate((o) => (o['builtAt'] = 'yesterday')), /builtAt/],
      [mutate((o) => (o['partitioner'] = 'range')), /partitioner/],
      [mutate((o) => (o['files'] = [])), /files to be a non-empty array/],
      [mutate((o) => files(o).reverse()), /expected files in partition order, got partition 1 at position 0/],
      [mutate((o) => (files(o)[1]!['name'] = 'part-00000.view')), /appears twice/],
      [mutate((o) => (files(o)[0]!['name'] = '../x')), /name to be a file name/],
      [mutate((o) => (files(o)[1]!['checksum'] = 2 ** 32)), /checksum to be a CRC-32/],
      [mutate((o) => (files(o)[0]!['firstKey'] = 'a')), /no record, so its firstKey and lastKey must be null/],
      [mutate((o) => (files(o)[1]!['firstKey'] = 'a')), /file 1's firstKey "a" belongs to partition 0 of 2/],
      [mutate((o) => (files(o)[1]!['firstKey'] = 'f')), /file 1's key range does not fit its 2 records/],
      [mutate((o) => (files(o)[1]!['lastKey'] = 'b')), /does not fit its 2 records/],
      [mutate((o) => (files(o)[1]!['lastKey'] = 7)), /lastKey to be a string, got 7/],
      [mutate((o) => (o['records'] = 6)), /records 6 is not the sum of the cut, 5/],
      [mutate((o) => (o['keys'] = 3)), /keys 3 is not the sum of the files' records, 2/],
      [mutate((o) => (o['bytes'] = 301)), /bytes 301 is not the sum/],
      [mutate((o) => (o['merge'] = '')), /expected merge to be a monoid's name/],
      [mutate((o) => (o['merge'] = 7)), /expected merge to be a monoid's name of 1 to 256 characters, got 7/],
    ];
    for (const [bytes, message] of cases) {
      const err = decodeError(bytes);
      expect(err.code, err.message).toBe('DATA_LOSS');
      expect(err.message).toMatch(/^Malformed view manifest '\/v\/MANIFEST\.json': /);
      expect(err.message).toMatch(message);
    }
    expect(decodeManifest(envelope(body), 'x')).toEqual(BASE);
  });

  it('keeps the merge a version was built with, and reads a manifest written without one as naming none', () => {
    const topK = makeManifest({ ...BASE, merge: 'topK(3)' });
    expect(topK.merge).toBe('topK(3)');
    expect(decodeManifest(encodeManifest(topK), 'm')).toEqual(topK);
    expect(encodeManifest(topK).toString()).toMatch(/"merge": "topK\(3\)"/);
    // BASE has none (as manifests before merges were recorded): decoded without the field.
    expect(encodeManifest(BASE).toString()).not.toMatch(/"merge"/);
    const old = decodeManifest(encodeManifest(BASE), 'm');
    expect(old.merge).toBeUndefined();
    expect('merge' in old).toBe(false);
  });

  it('refuses every single flipped byte of an encoded manifest, never crashing', () => {
    const good = encodeManifest(BASE);
    for (let i = 0; i < good.length; i++) {
      const bad = Buffer.from(good);
      bad[i] = bad[i]! ^ 0x01;
      expect(decodeError(bad).code).toBe('DATA_LOSS');
    }
  });

  it('refuses to encode an invalid manifest', () => {
    throwsWith(() => encodeManifest({ ...BASE, version: 0 }), 'INVALID_ARGUMENT', /Expected a valid view manifest: expected version to be an integer of at least 1/);
    throwsWith(() => encodeManifest({ ...BASE, keys: 9 }), 'INVALID_ARGUMENT', /keys 9/);
  });

  it('finds no file for a key when its partition is empty or it lies outside the range', () => {
    for (const k of ['b', 'bb', 'd']) {
      expect(fnv1a(k) % 2).toBe(1);
      expect(fileForKey(BASE, k)?.partition, k).toBe(1);
    }
    // Partition 1, but before 'b' or after 'd'; then 'c', of the empty partition 0.
    for (const k of ['a1', 'f', 'z']) {
      expect(fnv1a(k) % 2).toBe(1);
      expect(fileForKey(BASE, k), k).toBeUndefined();
    }
    expect(fnv1a('c') % 2).toBe(0);
    expect(fileForKey(BASE, 'c')).toBeUndefined();
  });

  it('leaves out of a scan the empty files and those wholly outside its bounds', () => {
    const names = (b: { from?: string; to?: string; prefix?: string }): string[] => filesForScan(BASE, b).map((f) => f.name);
    expect(names({})).toEqual(['part-00001.view']);
    expect(names({ prefix: 'b' })).toEqual(['part-00001.view']);
    expect(names({ prefix: 'c' })).toEqual(['part-00001.view']);
    expect(names({ prefix: 'a' })).toEqual([]);
    expect(names({ prefix: 'e' })).toEqual([]);
    expect(names({ from: 'd' })).toEqual(['part-00001.view']);
    expect(names({ from: 'd\u0000' })).toEqual([]);
    expect(names({ to: 'b' })).toEqual([]);
    expect(names({ to: 'b\u0000' })).toEqual(['part-00001.view']);
  });

  it('tells a cut behind another at any partition', () => {
    expect(cutIsBehind([5, 5], [5, 5])).toBe(false);
    expect(cutIsBehind([6, 5], [5, 5])).toBe(false);
    expect(cutIsBehind([6, 4], [5, 5])).toBe(true);
    throwsWith(() => cutIsBehind([1], [1, 2]), 'FAILED_PRECONDITION', /same dataset partitions/);
  });
});
