/**
 * One load-and-verify of a published view version, in a fresh process, as
 * a serving node pays it once per version: open the files (footer, index)
 * and verify each (ViewFileReader.verify: its whole CRC-32 against the
 * manifest, every block's CRC only when that differs; its size and record
 * count). The serving benchmark runs this
 * several times (serving.ts) so that first calls (JIT, module state) are
 * counted, as they are on a node that just started.
 *
 *   node dist/bench/view-load-verify.js VIEW_STORE VIEW VERSION
 *
 * Prints one line of JSON: { "ms", "cpuMs", "keys", "bytes" } (ms: wall
 * time from the first open to the last verify; cpuMs: this process's CPU).
 */
import { join } from 'node:path';
import { ViewFileReader } from '../src/view/view-file-reader.js';
import { readManifest, versionDir } from '../src/view/view-version-dir.js';

const [root, view, versionArg] = process.argv.slice(2);
const version = Number(versionArg);
if (root === undefined || view === undefined || !Number.isSafeInteger(version) || version <= 0) {
  throw new Error(`usage: view-load-verify VIEW_STORE VIEW VERSION, got ${process.argv.slice(2).join(' ')}`);
}
const manifest = await readManifest(root, view, version);
const dir = versionDir(root, view, version);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
// As the node's version loader does: the files opened together, then verified one after the other.
const opened = await Promise.allSettled(manifest.files.map((f) => ViewFileReader.open(join(dir, f.name))));
const readers = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
try {
  const refused = opened.find((o) => o.status === 'rejected');
  if (refused !== undefined) throw new Error(`a file of the version did not open: ${String(refused.reason)}`);
  for (let i = 0; i < readers.length; i++) {
    const f = manifest.files[i]!;
    const reader = readers[i]!;
    const check = await reader.verify({ checksum: f.checksum });
    if (check.bytes !== f.bytes || reader.records !== f.records) {
      throw new Error(`${f.name}: ${reader.records} records in ${check.bytes} bytes, the manifest says ${f.records} in ${f.bytes}`);
    }
  }
} finally {
  await Promise.all(readers.map((r) => r.close()));
}
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, keys: manifest.keys, bytes: manifest.bytes })}\n`);
