/**
 * Writes published view versions into a view store by hand (files by
 * ViewFileWriter, a manifest, CURRENT), without the batch layer: what
 * serving tests load. Keys are spread over files by the reference FNV-1a
 * (test/support/fnv1a.ts), as the engine's reducers spread them.
 */
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { ViewFileWriter } from '../../src/view/view-file-writer.js';
import { makeManifest, type ViewManifest, type ViewManifestFile } from '../../src/view/view-manifest.js';
import { prepareVersionDir, publishVersion, viewFileName, writeManifest } from '../../src/view/view-version-dir.js';
import { fnv1a } from './fnv1a.js';

/** Byte order of UTF-8, computed the plain way (the reference's order). */
export function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export interface VersionSpec {
  readonly view: string;
  readonly version: number;
  /** Engine keys to values (accumulators, stored as msgpack). */
  readonly entries: ReadonlyMap<string, unknown>;
  readonly partitions: number;
  readonly cut: readonly number[];
  readonly dataset?: string;
  /** Publish it (make it CURRENT). Default true. */
  readonly publish?: boolean;
  /** The merge recorded in the manifest; none when absent (a manifest written before merges were recorded). */
  readonly merge?: string;
  /** Target block size; small blocks make many blocks of few keys. Default 4 KiB. */
  readonly blockBytes?: number;
}

/** Writes version `spec.version` of `spec.view` under `root`; returns its manifest. */
export async function writeVersion(root: string, spec: VersionSpec): Promise<ViewManifest> {
  const dir = await prepareVersionDir(root, spec.view, spec.version);
  const sorted = [...spec.entries].sort((a, b) => byUtf8(a[0], b[0]));
  const files: ViewManifestFile[] = [];
  for (let p = 0; p < spec.partitions; p++) {
    const name = viewFileName(p);
    const w = await ViewFileWriter.create(join(dir, name), { blockBytes: spec.blockBytes ?? 4096 });
    for (const [k, v] of sorted) {
      if (fnv1a(k) % spec.partitions !== p) continue;
      w.add(k, pack(v));
      if (w.needsFlush()) await w.flush();
    }
    const s = await w.finish();
    files.push({ name, partition: p, bytes: s.bytes, checksum: s.checksum, records: s.records, firstKey: s.firstKey ?? null, lastKey: s.lastKey ?? null });
  }
  const manifest = makeManifest({
    view: spec.view, version: spec.version, dataset: spec.dataset ?? 'clicks', cut: [...spec.cut],
    jobId: `job-${String(spec.version).padStart(4, '0')}`, definitionHash: 'ab'.repeat(32),
    ...(spec.merge === undefined ? {} : { merge: spec.merge }), builtAt: new Date(0).toISOString(), files,
  });
  await writeManifest(root, manifest);
  if (spec.publish ?? true) await publishVersion(root, spec.view, spec.version);
  return manifest;
}
