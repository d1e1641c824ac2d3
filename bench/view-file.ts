/**
 * Micro-benchmark of the view file format alone (no gRPC, one process):
 * write rate, load-and-verify time per million keys, Get/s (uniform and
 * zipfian keys, one at a time and many in flight), MultiGet keys/s and Scan
 * entries/s, for a view of N keys with values of about 100 bytes of msgpack.
 *
 *   npm run build && node dist/bench/view-file.js [--keys N] [--block-bytes B] [--repeat R] [--sweep]
 *
 * Each figure is the best of R runs (default 3: the machine is shared).
 * Gets and MultiGets run twice: with a reader's default block cache
 * (16 MiB, a sixth of the view) and with one that holds the whole view.
 * --sweep repeats the write, Get and Scan figures for blocks of 4, 16, 32
 * and 64 KiB (the figures behind the default block size).
 * Files are written to a temporary folder (removed at the end) and read
 * from the page cache, as a serving node reads a version it just loaded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { hashKey } from '../src/common/partitioner.js';
import { BlockCache, DEFAULT_BLOCK_CACHE_BYTES } from '../src/view/block-cache.js';
import { ViewFileReader } from '../src/view/view-file-reader.js';
import { DEFAULT_BLOCK_BYTES, ViewFileWriter } from '../src/view/view-file-writer.js';
import { mergeScanBatches } from '../src/view/view-merge.js';
import { numberArg } from './args.js';

const KEYS = numberArg('keys', 1_000_000);
const BLOCK_BYTES = numberArg('block-bytes', DEFAULT_BLOCK_BYTES);
const REPEAT = numberArg('repeat', 3);
const CACHE_BYTES = DEFAULT_BLOCK_CACHE_BYTES;
const SWEEP = process.argv.includes('--sweep');

/** Key i: an engine-like key, zero-padded so that numeric and byte order agree. */
function keyOf(i: number): string {
  return `page/${String(i).padStart(8, '0')}`;
}

/** About 100 bytes of msgpack: a small accumulator object (count, last seen, a short label). */
function valuesOf(n: number): { bytes: Buffer; ends: Uint32Array } {
  const parts: Buffer[] = [];
  const ends = new Uint32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = Buffer.from(pack({ count: i * 7, last: 1_700_000_000_000 + i, label: `referrer-${(i * 2654435761) >>> 0}-`.padEnd(62, 'x') }));
    parts.push(v);
    total += v.length;
    ends[i] = total;
  }
  return { bytes: Buffer.concat(parts, total), ends };
}

/**
 * YCSB's zipfian generator (Gray et al., "Quickly generating billion-record
 * synthetic databases"), constant 0.99, scrambled by a hash so that the hot
 * keys are spread over the key space (YCSB's ScrambledZipfianGenerator).
 */
function zipfian(n: number, theta = 0.99, seed = 42): () => number {
  let zetan = 0;
  for (let i = 1; i <= n; i++) zetan += 1 / i ** theta;
  const zeta2 = 1 + 1 / 2 ** theta;
  const alpha = 1 / (1 - theta);
  const eta = (1 - (2 / n) ** (1 - theta)) / (1 - zeta2 / zetan);
  let s = seed >>> 0;
  const random = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => {
    const u = random();
    const uz = u * zetan;
    let rank: number;
    if (uz < 1) rank = 0;
    else if (uz < zeta2) rank = 1;
    else rank = Math.floor(n * (eta * u - eta + 1) ** alpha);
    return hashKey(String(rank)) % n;
  };
}

function uniform(n: number, seed = 7): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

async function write(path: string, keys: number, values: { bytes: Buffer; ends: Uint32Array }, blockBytes: number, from = 0, step = 1): Promise<{ ms: number; bytes: number; blocks: number; checksum: number; records: number }> {
  const t0 = performance.now();
  const w = await ViewFileWriter.create(path, { blockBytes });
  for (let i = from; i < keys; i += step) {
    w.add(keyOf(i), values.bytes.subarray(i === 0 ? 0 : values.ends[i - 1]!, values.ends[i]!));
    if (w.needsFlush()) await w.flush();
  }
  const s = await w.finish();
  return { ms: performance.now() - t0, bytes: s.bytes, blocks: s.blocks, checksum: s.checksum, records: s.records };
}

async function timeGets(r: ViewFileReader, next: () => number, count: number, inFlight: number): Promise<number> {
  const t0 = performance.now();
  let done = 0;
  const worker = async (): Promise<void> => {
    while (done < count) {
      done++;
      const v = await r.get(keyOf(next()));
      if (v === undefined) throw new Error('a present key was not found');
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return count / ((performance.now() - t0) / 1000);
}

/** The best (highest) of REPEAT runs of a rate measurement. */
async function best(run: () => Promise<number>): Promise<number> {
  let top = 0;
  for (let i = 0; i < REPEAT; i++) top = Math.max(top, await run());
  return top;
}

async function timeScan(iterable: AsyncIterable<unknown>): Promise<{ perSecond: number; entries: number }> {
  const t0 = performance.now();
  let entries = 0;
  for await (const _ of iterable) entries++;
  return { perSecond: entries / ((performance.now() - t0) / 1000), entries };
}

/** timeScan for batches: entries counted as each batch's length, one await per batch. */
async function timeBatches(batches: AsyncIterable<readonly unknown[]>): Promise<number> {
  const t0 = performance.now();
  let entries = 0;
  for await (const b of batches) entries += b.length;
  if (entries !== KEYS) throw new Error(`Expected ${KEYS} entries from the scan, got ${entries}`);
  return entries / ((performance.now() - t0) / 1000);
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'laminate-view-bench-'));
  try {
    console.log(`view file benchmark: ${fmt(KEYS)} keys, block ${BLOCK_BYTES / 1024} KiB, cache ${CACHE_BYTES / 1024 / 1024} MiB, node ${process.version}`);
    const values = valuesOf(KEYS);
    console.log(`values: ${(values.bytes.length / KEYS).toFixed(1)} bytes of msgpack on average`);
    const path = join(dir, 'part-00000.view');
    let w = await write(path, KEYS, values, BLOCK_BYTES);
    for (let i = 1; i < REPEAT; i++) {
      const again = await write(path, KEYS, values, BLOCK_BYTES);
      if (again.ms < w.ms) w = again;
    }
    console.log(`write: ${fmt(KEYS / (w.ms / 1000))} records/s, ${(w.bytes / 1024 / 1024 / (w.ms / 1000)).toFixed(0)} MiB/s (${(w.bytes / 1024 / 1024).toFixed(1)} MiB, ${fmt(w.blocks)} blocks, ${w.ms.toFixed(0)} ms)`);

    const gets = Math.min(KEYS, 200_000);
    const loads: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      const r = await ViewFileReader.open(path);
      await r.verify({ checksum: w.checksum });
      loads.push(performance.now() - t0);
      await r.close();
    }
    loads.sort((a, b) => a - b);
    const perMillion = (ms: number): string => (ms * (1_000_000 / KEYS)).toFixed(1);
    console.log(`load and verify: best ${perMillion(loads[0]!)} ms, median ${perMillion(loads[3]!)} ms per million keys (target <= 50)`);

    for (const cacheBytes of [CACHE_BYTES, 2 * w.bytes]) {
      const cache = new BlockCache(cacheBytes);
      const r = await ViewFileReader.open(path, { cache });
      const label = cacheBytes === CACHE_BYTES ? `cache ${CACHE_BYTES / 1024 / 1024} MiB` : 'cache holds the view';
      for (const [name, seed] of [['uniform', 0], ['zipfian 0.99', 1]] as const) {
        const gen = seed === 0 ? uniform(KEYS) : zipfian(KEYS);
        await timeGets(r, gen, 50_000, 1); // warm up the JIT and the cache
        const one = await best(() => timeGets(r, gen, gets, 1));
        const many = await best(() => timeGets(r, gen, gets, 64));
        console.log(`get (${name}, ${label}): ${fmt(one)}/s one at a time, ${fmt(many)}/s with 64 in flight`);
      }
      const z = zipfian(KEYS);
      const keysPerSecond = await best(async () => {
        const t0 = performance.now();
        for (let b = 0; b < 2000; b++) await r.multiGet(Array.from({ length: 100 }, () => keyOf(z())));
        return (2000 * 100) / ((performance.now() - t0) / 1000);
      });
      console.log(`multiGet of 100 zipfian keys (${label}): ${fmt(keysPerSecond)} keys/s`);
      await r.close();
    }

    const r = await ViewFileReader.open(path);
    const scanRate = await best(async () => {
      const t = await timeScan(r.scan());
      if (t.entries !== KEYS) throw new Error(`Expected ${KEYS} entries from the scan, got ${t.entries}`);
      return t.perSecond;
    });
    const batchRate = await best(() => timeBatches(r.scanBatches()));
    console.log(`scan: ${fmt(scanRate)} entries/s one by one, ${fmt(batchRate)} entries/s in batches (scanBatches)`);
    await r.close();

    // A version of 2 reducer partitions, scanned as one: the merge's cost.
    const halves = [join(dir, 'p0.view'), join(dir, 'p1.view')];
    await write(halves[0]!, KEYS, values, BLOCK_BYTES, 0, 2);
    await write(halves[1]!, KEYS, values, BLOCK_BYTES, 1, 2);
    const readers = await Promise.all(halves.map((p) => ViewFileReader.open(p)));
    const merged = await best(() => timeBatches(mergeScanBatches(readers.map((x) => x.scanBatches()))));
    console.log(`scan of 2 files merged (mergeScanBatches): ${fmt(merged)} entries/s`);
    await Promise.all(readers.map((x) => x.close()));

    if (SWEEP) {
      console.log(`\nblock size sweep (cache ${CACHE_BYTES / 1024 / 1024} MiB, Gets one at a time; best of ${REPEAT}):`);
      console.log('block   write rec/s   index   get uniform/s   get zipf/s   scan entries/s   load ms/M');
      for (const kib of [4, 8, 16, 32, 64]) {
        const p = join(dir, `sweep-${kib}.view`);
        let s = await write(p, KEYS, values, kib * 1024);
        for (let i = 1; i < REPEAT; i++) {
          const again = await write(p, KEYS, values, kib * 1024);
          if (again.ms < s.ms) s = again;
        }
        let load = Number.POSITIVE_INFINITY;
        for (let i = 0; i < REPEAT; i++) {
          const t1 = performance.now();
          const y = await ViewFileReader.open(p);
          await y.verify({ checksum: s.checksum });
          load = Math.min(load, performance.now() - t1);
          await y.close();
        }
        const x = await ViewFileReader.open(p, { cache: new BlockCache(CACHE_BYTES) });
        await timeGets(x, uniform(KEYS, 3), 20_000, 1);
        const gu = await best(() => timeGets(x, uniform(KEYS, 9), gets / 2, 1));
        await timeGets(x, zipfian(KEYS, 0.99, 5), 20_000, 1);
        const gz = await best(() => timeGets(x, zipfian(KEYS, 0.99, 6), gets / 2, 1));
        const sc = await best(() => timeBatches(x.scanBatches()));
        console.log(
          `${String(kib).padStart(2)} KiB  ${fmt(KEYS / (s.ms / 1000)).padStart(11)}   ${String(s.blocks).padStart(5)}   ${fmt(gu).padStart(13)}   ${fmt(gz).padStart(10)}   ${fmt(sc).padStart(14)}   ${perMillion(load).padStart(9)}`,
        );
        await x.close();
        rmSync(p);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
