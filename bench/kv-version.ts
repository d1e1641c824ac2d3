/**
 * A hand-written version of the serving benchmark's view, as a build leaves
 * it: kvKey(i) -> a 100-character string (merge max, as bench/views/kv-max.ts
 * builds), hash-partitioned into 4 files, manifest written and published.
 * Used by serving-read-run.ts and serving-handlers.ts, which time reads
 * without the build.
 */
import { join } from 'node:path';
import { hashPartition } from '../src/common/partitioner.js';
import { ViewFileWriter } from '../src/view/view-file-writer.js';
import { makeManifest, type ViewManifestFile } from '../src/view/view-manifest.js';
import { prepareVersionDir, publishVersion, viewFileName, writeManifest } from '../src/view/view-version-dir.js';
import { kvKey } from './data-gen/kv-records.js';
import { Prng } from './data-gen/prng.js';

const PARTITIONS = 4;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Writes and publishes version 1 of `view` under the view store `store`: `keys` keys, values from `seed`. */
export async function publishKv(store: string, view: string, keys: number, seed: number): Promise<void> {
  const dir = await prepareVersionDir(store, view, 1);
  const writers = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => ViewFileWriter.create(join(dir, viewFileName(p)))));
  const prng = new Prng(seed);
  for (let i = 0; i < keys; i++) {
    const k = kvKey(i);
    let value = '';
    for (let c = 0; c < 100; c++) value += ALPHABET[prng.u32() % ALPHABET.length];
    const w = writers[hashPartition(k, PARTITIONS)]!;
    w.addValue(k, value);
    if (w.needsFlush()) await w.flush();
  }
  const files: ViewManifestFile[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const s = await writers[p]!.finish();
    files.push({ name: viewFileName(p), partition: p, bytes: s.bytes, checksum: s.checksum, records: s.records, firstKey: s.firstKey ?? null, lastKey: s.lastKey ?? null });
  }
  await writeManifest(store, makeManifest({
    view, version: 1, dataset: 'kv', cut: [keys, 0, 0, 0], jobId: 'job-0001', definitionHash: 'f'.repeat(64), builtAt: new Date().toISOString(), files,
  }));
  await publishVersion(store, view, 1);
}
