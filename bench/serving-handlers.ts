/**
 * The serving node's own work per MultiGet key and per scanned entry, in
 * one process and without gRPC: the query handlers (src/serving/
 * query-handlers.ts) over a hand-written version (kv-version.ts) with a
 * block cache that holds it all, answers packed as the Serving service
 * packs them (also through a row cache of --row-cache-mb, default the
 * node's), and unpacked as its client does. CPU microseconds per key,
 * best of R runs: what the node's and the client's profiles under the
 * whole benchmark are made of, measured apart from gRPC and from the
 * machine's other load (CPU time, not wall time).
 *
 *   npm run build && node dist/bench/serving-handlers.js [--keys N] [--repeat R] [--batches B] [--row-cache-mb MB]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/common/logger.js';
import { packEntries, unpackEntries } from '../src/protocol/packed-entries.js';
import { LoadedVersion } from '../src/serving/loaded-version.js';
import { createQueryHandlers } from '../src/serving/query-handlers.js';
import { DEFAULT_ROW_CACHE_BYTES, RowCache } from '../src/serving/row-cache.js';
import { VersionSet } from '../src/serving/version-set.js';
import { BlockCache } from '../src/view/block-cache.js';
import { presentationOf } from '../src/view/monoid-by-name.js';
import { ViewFileReader } from '../src/view/view-file-reader.js';
import { readManifest, versionDir } from '../src/view/view-version-dir.js';
import { numberArg } from './args.js';
import { kvKey } from './data-gen/kv-records.js';
import { publishKv } from './kv-version.js';
import { ScrambledZipfian } from './zipfian.js';

const KEYS = numberArg('keys', 1_000_000, true);
const REPEAT = numberArg('repeat', 5);
const BATCHES = numberArg('batches', 2000);
const ROW_CACHE_MB = numberArg('row-cache-mb', DEFAULT_ROW_CACHE_BYTES / (1024 * 1024));
const VIEW = 'kv';
const SEED = 20261201;

/** CPU microseconds `f` takes (user and system). */
async function cpuUs(f: () => Promise<void>): Promise<number> {
  const c0 = process.cpuUsage();
  await f();
  const c = process.cpuUsage(c0);
  return c.user + c.system;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'laminate-bench-handlers-'));
  try {
    await publishKv(work, VIEW, KEYS, SEED);
    const manifest = await readManifest(work, VIEW, 1);
    const dir = versionDir(work, VIEW, 1);
    const cache = new BlockCache(1024 * 1024 * 1024);
    const readers = await Promise.all(manifest.files.map((f) => ViewFileReader.open(join(dir, f.name), { cache })));
    const set = new VersionSet();
    set.add(new LoadedVersion(manifest, readers, presentationOf('max'), dir));
    set.setCurrent(VIEW, 1);
    const q = createQueryHandlers(set, { log: silentLogger() });
    const rowCache = new RowCache(ROW_CACHE_MB * 1024 * 1024);
    const rows = createQueryHandlers(set, { log: silentLogger(), rowCache });
    // Every block in the cache, and the code warm: every key once, in MultiGets of 100.
    for (let i = 0; i < KEYS; i += 100) await q.get({ view: VIEW, keys: Array.from({ length: Math.min(100, KEYS - i) }, (_, j) => kvKey(i + j)) });
    const zipf = new ScrambledZipfian(KEYS, SEED + 7);
    const batches = Array.from({ length: BATCHES }, () => Array.from({ length: 100 }, () => kvKey(zipf.next())));
    let best = { mgRows: Infinity, mgServer: Infinity, mgGeneral: Infinity, mgClient: Infinity, scanServer: Infinity, scanGeneral: Infinity, scanClient: Infinity };
    for (let r = 0; r < REPEAT; r++) {
      const packed: Buffer[] = [];
      const mgServer = await cpuUs(async () => {
        for (const keys of batches) packed.push((await q.getPacked({ view: VIEW, keys })).packed);
      });
      // The same with the row cache in front of the blocks: the same bytes.
      let rowBytes = 0;
      const mgRows = await cpuUs(async () => {
        for (const keys of batches) rowBytes += (await rows.getPacked({ view: VIEW, keys })).packed.length;
      });
      // The general path (entries as objects, then packed), which views with a speed side or a presentation take.
      let generalBytes = 0;
      const mgGeneral = await cpuUs(async () => {
        for (const keys of batches) generalBytes += packEntries((await q.get({ view: VIEW, keys })).entries).length;
      });
      if (rowBytes !== packed.reduce((n, p) => n + p.length, 0)) throw new Error(`expected the MultiGets through the row cache to pack the same bytes, got ${rowBytes}`);
      if (generalBytes !== packed.reduce((n, p) => n + p.length, 0)) throw new Error(`expected the general MultiGets to pack the same bytes, got ${generalBytes}`);
      let found = 0;
      const mgClient = await cpuUs(async () => {
        for (const p of packed) found += unpackEntries(p).filter((e) => e.found).length;
      });
      if (found !== BATCHES * 100) throw new Error(`expected every key found, got ${found} of ${BATCHES * 100}`);
      const chunks: Buffer[] = [];
      const scanServer = await cpuUs(async () => {
        for await (const c of q.scanPacked({ view: VIEW })) chunks.push(c.packed);
      });
      // The general path (entries as objects, then packed), which views with a speed side or a presentation take.
      let general = 0;
      const scanGeneral = await cpuUs(async () => {
        for await (const c of q.scan({ view: VIEW })) general += packEntries(c.entries).length;
      });
      if (general !== chunks.reduce((n, c) => n + c.length, 0)) throw new Error(`expected the general scan to pack the same bytes, got ${general}`);
      let entries = 0;
      const scanClient = await cpuUs(async () => {
        for (const c of chunks) entries += unpackEntries(c).length;
      });
      if (entries !== KEYS) throw new Error(`expected a scan of ${KEYS} entries, got ${entries}`);
      const keys = BATCHES * 100;
      best = {
        mgRows: Math.min(best.mgRows, mgRows / keys), mgServer: Math.min(best.mgServer, mgServer / keys), mgGeneral: Math.min(best.mgGeneral, mgGeneral / keys), mgClient: Math.min(best.mgClient, mgClient / keys),
        scanServer: Math.min(best.scanServer, scanServer / KEYS), scanGeneral: Math.min(best.scanGeneral, scanGeneral / KEYS), scanClient: Math.min(best.scanClient, scanClient / KEYS),
      };
    }
    console.log(`MultiGet of 100 (zipfian): server ${best.mgServer.toFixed(3)} µs/key packed from the blocks, ${best.mgRows.toFixed(3)} through a row cache of ${ROW_CACHE_MB} MB (hit rate ${(rowCache.hits / (rowCache.hits + rowCache.misses)).toFixed(3)}, ${rowCache.turns} turns) (${best.mgGeneral.toFixed(3)} the general way: entries, then packed), client ${best.mgClient.toFixed(3)} µs/key (unpack)`);
    console.log(`Scan: server ${best.scanServer.toFixed(3)} µs/entry packed from the blocks (${best.scanGeneral.toFixed(3)} the general way: entries, then packed), client ${best.scanClient.toFixed(3)} µs/entry (unpack)`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
