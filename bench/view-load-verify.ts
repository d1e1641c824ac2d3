/**
 * One load-and-verify of a published view version, in a fresh process, as
 * a serving node pays it once per version, through the node's own code
 * (version-loader.ts openVerified: the files opened together, then each
 * verified against the manifest: its whole CRC-32, every block's CRC only
 * when that differs, its size and record count). The serving benchmark
 * runs this several times (serving.ts) so that first calls (JIT, module
 * state) are counted, as they are on a node that just started.
 *
 *   node dist/bench/view-load-verify.js VIEW_STORE VIEW VERSION
 *
 * Prints one line of JSON: { "ms", "cpuMs", "keys", "bytes" } (ms: wall
 * time from the first open to the last verify; cpuMs: this process's CPU).
 */
import { openVerified } from '../src/serving/version-loader.js';
import { BlockCache } from '../src/view/block-cache.js';
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
// The node's own open-and-verify (version-loader.ts): the files opened together, then verified in turn against the manifest.
const readers = await openVerified(manifest, dir, new BlockCache());
await Promise.all(readers.map((r) => r.close()));
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, keys: manifest.keys, bytes: manifest.bytes })}\n`);
