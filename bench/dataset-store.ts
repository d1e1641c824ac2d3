/**
 * Micro-benchmark of the dataset store alone (no gRPC): append throughput of
 * one idempotent producer sending record bodies of a few hundred KB, with a
 * few calls in flight, against the floor of any Node log (the same bytes
 * written to one file with an fsync per MiB); then a read of it all back.
 *
 *   npm run build && node dist/bench/dataset-store.js [--records N] [--batch-bytes B] [--in-flight K] [--partitions P]
 *
 * Records are the ingest benchmark's YSB-like events (data-gen/ysb-events.ts, seeded), encoded
 * before timing starts (encoding is the producer's cost, reported apart).
 */
import { YsbEventGenerator } from './data-gen/ysb-events.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/common/logger.js';
import { LogDatasetStore } from '../src/dataset/log-dataset-store.js';
import { RecordBodyBuilder } from '../src/storage/record-body.js';
import type { FileSystem } from '../src/dataset/file-system.js';
import { nodeFileSystem } from '../src/dataset/file-system.js';
import { numberArg } from './args.js';

async function floor(dir: string, bodies: readonly Buffer[]): Promise<number> {
  const fh = await open(join(dir, 'floor.log'), 'w');
  const t0 = performance.now();
  let sinceSync = 0;
  let pos = 0;
  for (const b of bodies) {
    await fh.write(b, 0, b.length, pos);
    pos += b.length;
    sinceSync += b.length;
    if (sinceSync >= 1024 * 1024) {
      await fh.datasync();
      sinceSync = 0;
    }
  }
  await fh.datasync();
  const ms = performance.now() - t0;
  await fh.close();
  return ms;
}

async function main(): Promise<void> {
  const total = numberArg('records', 2_000_000);
  const batchBytes = numberArg('batch-bytes', 256 * 1024);
  const inFlight = numberArg('in-flight', 4);
  const partitions = numberArg('partitions', 1);
  const gen = new YsbEventGenerator(42);

  const events = Array.from({ length: total }, () => gen.next());
  const jsonBytes = events.reduce((n: number, e) => n + JSON.stringify(e).length, 0);
  const t0 = performance.now();
  const bodies: { body: Buffer; count: number }[] = [];
  const builder = new RecordBodyBuilder();
  for (let i = 0; i < total; i++) {
    builder.add(events[i]);
    if (builder.bytes >= batchBytes || i === total - 1) {
      const count = builder.count;
      bodies.push({ body: builder.take(), count });
    }
  }
  const encodeMs = performance.now() - t0;
  const bodyBytes = bodies.reduce((n, b) => n + b.body.length, 0);

  const dir = mkdtempSync(join(tmpdir(), 'laminate-bench-dataset-'));
  try {
    let fsyncs = 0;
    let fsyncMs = 0;
    let writeMs = 0;
    const counting: FileSystem = {
      ...nodeFileSystem,
      open: async (path, flags) => {
        const f = await nodeFileSystem.open(path, flags);
        return {
          ...f,
          datasync: async () => {
            fsyncs++;
            const s = performance.now();
            await f.datasync();
            fsyncMs += performance.now() - s;
          },
          writev: async (buffers, position) => {
            const s = performance.now();
            await f.writev(buffers, position);
            writeMs += performance.now() - s;
          },
        };
      },
    };
    const store = await LogDatasetStore.open({ dir: join(dir, 'store'), logger: silentLogger(), fs: counting });
    await store.createDataset('ysb', { partitions });
    const seqs = new Array<number>(partitions).fill(0);
    let next = 0;
    const latencies: number[] = [];
    const t1 = performance.now();
    const worker = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= bodies.length) return;
        const b = bodies[i]!;
        const partition = i % partitions;
        const sequence = seqs[partition]!;
        seqs[partition]! += b.count;
        const s = performance.now();
        await store.append([{ dataset: 'ysb', partition, body: b.body, count: b.count, producerId: 'bench', sequence }]);
        latencies.push(performance.now() - s);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const appendMs = performance.now() - t1;

    const t2 = performance.now();
    let readRecords = 0;
    for (let p = 0; p < partitions; p++) {
      let from = 0;
      for (;;) {
        const chunk = await store.read('ysb', p, from, { maxBytes: 1024 * 1024 });
        if (chunk.count === 0) break;
        readRecords += chunk.count;
        from = chunk.nextOffset;
      }
    }
    const readMs = performance.now() - t2;
    await store.close();
    if (readRecords !== total) throw new Error(`read back ${readRecords} records, appended ${total}`);

    const floorMs = await floor(dir, bodies.map((b) => b.body));
    latencies.sort((a, b) => a - b);
    const pct = (q: number): string => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1);
    const rate = (ms: number): string => `${Math.round(total / (ms / 1000)).toLocaleString('en-US')} records/s, ${(bodyBytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
    console.log(`records ${total.toLocaleString('en-US')}, ~${Math.round(jsonBytes / total)} B as JSON, ${Math.round(bodyBytes / total)} B framed msgpack; ${bodies.length} batches of ~${Math.round(bodyBytes / bodies.length / 1024)} KiB; ${inFlight} calls in flight; ${partitions} partition(s)`);
    console.log(`encode into bodies (producer side, not timed below): ${rate(encodeMs)}`);
    console.log(`store append, acknowledged durably: ${rate(appendMs)}; ${fsyncs} fsyncs taking ${(fsyncMs / 1000).toFixed(1)} s, writes ${(writeMs / 1000).toFixed(1)} s; call latency p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms`);
    console.log(`floor (same bytes, one file, fsync per MiB): ${rate(floorMs)}; store / floor = ${(floorMs / appendMs).toFixed(2)}`);
    console.log(`store read back, chunks of 1 MiB, CRC checked: ${rate(readMs)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
