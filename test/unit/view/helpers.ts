import { join } from 'node:path';
import { ViewFileWriter, type ViewFileSummary, type ViewFileWriterOptions } from '../../../src/view/view-file-writer.js';
import { makeManifest, type ViewManifest, type ViewManifestFile } from '../../../src/view/view-manifest.js';
import { fnv1a } from '../../support/fnv1a.js';
import { seededRandom } from '../../support/seeded-random.js';

export { rejectsWith, throwsWith } from '../storage/helpers.js';
import { useTempDirs as useTempDirsWithPrefix } from '../../support/temp-dirs.js';

export const rng = seededRandom;

/** Temporary folders made in a test, removed after it. */
export const useTempDirs = (): (() => Promise<string>) => useTempDirsWithPrefix('laminate-view-');

/** Byte order of UTF-8, computed the plain way (the reference's order). */
export function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// Code points around where UTF-16 and UTF-8 orders differ, multi-byte and astral ones.
const ALPHABET = ['a', 'b', 'c', 'Z', '0', '/', ' ', '\u00e9', '\u07ff', '\u0800', '\u4e2d', '\ue000', '\ufffd', '\uffff', '\u{10000}', '\u{1f600}', '\u{10ffff}'];

/** A random key: a shared-looking prefix (as encoded tuples have) and 0-6 random characters. */
export function randomKey(random: () => number): string {
  const prefixes = ['', 'page/', 'page/1', 'user\u00e9/', '\u{1f600}/'];
  let s = prefixes[Math.floor(random() * prefixes.length)]!;
  const n = Math.floor(random() * 7);
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(random() * ALPHABET.length)]!;
  return s;
}

export function randomBytes(random: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(random() * 256);
  return b;
}

/**
 * The independent reference: distinct keys sorted by their UTF-8 bytes
 * (Buffer.compare, not the code under test), with random binary values.
 */
export function referenceEntries(random: () => number, count: number, valueBytes: () => number): [string, Buffer][] {
  const map = new Map<string, Buffer>();
  while (map.size < count) map.set(randomKey(random), randomBytes(random, valueBytes()));
  return [...map].sort((x, y) => byUtf8(x[0], y[0]));
}

/** Writes `entries` (already sorted) into a view file at `path`. */
export async function writeView(path: string, entries: readonly (readonly [string, Uint8Array])[], options: ViewFileWriterOptions = {}): Promise<ViewFileSummary> {
  const w = await ViewFileWriter.create(path, options);
  for (const [k, v] of entries) {
    w.add(k, v);
    if (w.needsFlush()) await w.flush();
  }
  return w.finish();
}

/** Drains an async iterable into an array. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Writes `entries` into `partitions` files by the reference FNV-1a; returns the manifest and file paths. */
export async function partitionedVersion(dir: string, entries: [string, Buffer][], partitions: number): Promise<{ manifest: ViewManifest; paths: string[] }> {
  const files: ViewManifestFile[] = [];
  const paths: string[] = [];
  for (let p = 0; p < partitions; p++) {
    const name = `part-${String(p).padStart(5, '0')}.view`;
    const mine = entries.filter(([k]) => fnv1a(k) % partitions === p);
    const s = await writeView(join(dir, name), mine, { blockBytes: 4096 });
    files.push({ name, partition: p, bytes: s.bytes, checksum: s.checksum, records: s.records, firstKey: s.firstKey ?? null, lastKey: s.lastKey ?? null });
    paths.push(join(dir, name));
  }
  const manifest = makeManifest({
    view: 'page-views',
    version: 3,
    dataset: 'clicks',
    cut: [1200, 0, 310],
    jobId: 'job-0007',
    definitionHash: 'a3f1c2d4e5b60718',
    builtAt: '2024-06-01T12:00:00.000Z',
    files,
  });
  return { manifest, paths };
}

