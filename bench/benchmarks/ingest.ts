/**
 * ingest: ten million YSB-like events (about 220 bytes each as msgpack,
 * generated on the fly from a seed) appended to a 4-partition dataset by one
 * client process through one idempotent producer, against a master started
 * as an operator would start it. Reported:
 * - throughput: records/s and MB/s acknowledged durably (the producer's
 *   flush resolves once every record is fsync'd on the master), and the
 *   master's peak RSS, sampled every 100 ms;
 * - latency: p50/p99/max append latency at a fixed open-loop rate of 50,000
 *   records/s, each timed from the record's *intended* send time, so that a
 *   stall in the producer or the master shows up in the figures instead of
 *   delaying the sends that would have measured it (coordinated omission,
 *   Gil Tene's point, which hdr-histogram-js is built around).
 * Baseline in the same run: bench/baselines/ingest-floor.ts, one process
 * generating and msgpack-framing the same records into a file with one fsync
 * per MiB: the floor of any Node.js log.
 */
import { join } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { LaminateClient } from '../../src/client/laminate-client.js';
import { BenchCluster, ROOT } from '../cluster.js';
import { bestOf, runFigures, type BenchContext, type Benchmark } from '../context.js';
import { YsbEventGenerator } from '../data-gen/ysb-events.js';
import { machineBusySeconds, measureCommand, otherCores, processCpuSeconds, sampleRss, treeCpuSeconds } from '../measure.js';
import { target, type BenchResult, type Check } from '../report.js';

const FULL_RECORDS = 10_000_000;
const SEED = 20241201;
const PARTITIONS = 4;
const RATE = 50_000;
/** Seconds of open-loop load for the latency figures (at scale 1). */
const LATENCY_SECONDS = 20;

interface ThroughputRun {
  readonly wallS: number;
  readonly cpuS: number;
  readonly peakMb: number;
  readonly otherCores: number;
  readonly records: number;
  readonly bytes: number;
  readonly masterCpuS: number;
  readonly clientCpuS: number;
  readonly endOffsets: number[];
}

interface LatencyRun {
  readonly sent: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly achievedRate: number;
  readonly peakMb: number;
}

async function throughputRun(ctx: BenchContext, records: number, i: number): Promise<ThroughputRun> {
  const cluster = await BenchCluster.start({ dir: join(ctx.work, `tput-${i}`), workers: 0, slots: 1, workerMemoryMb: 1024, profileDir: ctx.profileDir });
  const client = new LaminateClient(cluster.address);
  try {
    await client.createDataset('events', { partitions: PARTITIONS });
    const producer = client.producer('events', {});
    const gen = new YsbEventGenerator(SEED);
    const rss = sampleRss([cluster.master.pid]);
    const masterCpu0 = processCpuSeconds(cluster.master.pid);
    const client0 = treeCpuSeconds(process.pid, new Set([cluster.master.pid]));
    const busy0 = machineBusySeconds();
    let failure: unknown;
    const onError = (err: unknown): void => { failure ??= err; };
    const t0 = performance.now();
    for (let n = 0; n < records; n++) {
      producer.send(gen.next()).then(undefined, onError);
      // Bounded memory: wait for room every so often rather than per record.
      if ((n & 1023) === 1023) await producer.ready();
    }
    await producer.flush();
    const wallS = (performance.now() - t0) / 1000;
    if (failure) throw failure;
    const peak = rss.stop();
    const masterCpuS = processCpuSeconds(cluster.master.pid) - masterCpu0;
    const clientCpuS = treeCpuSeconds(process.pid, new Set([cluster.master.pid])) - client0;
    const busy = machineBusySeconds() - busy0;
    const d = await client.describeDataset('events');
    await producer.close();
    const cpuS = masterCpuS + clientCpuS;
    return {
      wallS, cpuS, peakMb: peak.sumMb, otherCores: otherCores(busy, cpuS, wallS), records,
      bytes: d.partitions.reduce((n, p) => n + p.bytes, 0), masterCpuS, clientCpuS,
      endOffsets: d.partitions.map((p) => p.endOffset),
    };
  } finally {
    await client.close();
    await cluster.stop();
  }
}

async function latencyRun(ctx: BenchContext, seconds: number): Promise<LatencyRun> {
  const cluster = await BenchCluster.start({ dir: join(ctx.work, 'latency'), workers: 0, slots: 1, workerMemoryMb: 1024, profileDir: undefined });
  const client = new LaminateClient(cluster.address);
  try {
    await client.createDataset('events', { partitions: PARTITIONS });
    const producer = client.producer('events', {});
    const gen = new YsbEventGenerator(SEED + 1);
    const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
    const rss = sampleRss([cluster.master.pid]);
    const total = Math.round(RATE * seconds);
    let sent = 0;
    let failure: unknown;
    const pending: Array<Promise<void>> = [];
    const t0 = performance.now();
    // Open loop: every millisecond or so, send every record whose intended
    // time has come, each timed from that intended time.
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
      for (; sent < due; sent++) {
        const intended = t0 + (sent * 1000) / RATE;
        pending.push(producer.send(gen.next()).then(
          () => { histogram.recordValue(Math.max(1, Math.round((performance.now() - intended) * 1000))); },
          (err: unknown) => { failure ??= err; },
        ));
      }
      if (pending.length > 100_000) await Promise.all(pending.splice(0, pending.length - 10_000));
      await new Promise((r) => setTimeout(r, 1));
    }
    await producer.flush();
    await Promise.all(pending);
    const wallS = (performance.now() - t0) / 1000;
    if (failure) throw failure;
    const peak = rss.stop();
    await producer.close();
    const q = (p: number): number => histogram.getValueAtPercentile(p) / 1000;
    return { sent: total, p50Ms: q(50), p99Ms: q(99), p999Ms: q(99.9), maxMs: histogram.maxValue / 1000, achievedRate: total / wallS, peakMb: peak.sumMb };
  } finally {
    await client.close();
    await cluster.stop();
  }
}

export const ingest: Benchmark = {
  name: 'ingest',
  async run(ctx: BenchContext): Promise<BenchResult> {
    const records = Math.round(FULL_RECORDS * ctx.scale);
    const floorOut = join(ctx.work, 'floor.bin');
    const floor = await bestOf(ctx, `node floor: ${records} records, fsync per MiB`, () =>
      measureCommand([process.execPath, join(ROOT, 'dist', 'bench', 'baselines', 'ingest-floor.js'), floorOut, String(records), String(SEED)]));
    const tput = await bestOf(ctx, `Laminate: ${records} records through one idempotent producer`, (i) => throughputRun(ctx, records, i));
    ctx.log(`Laminate at a fixed ${RATE} records/s, open loop`);
    const lat = await latencyRun(ctx, Math.max(2, LATENCY_SECONDS * Math.min(1, ctx.scale * 4)));

    const best = tput.best;
    const rate = best.records / best.wallS;
    const floorRate = records / floor.best.wallS;
    const checks: Check[] = [
      { name: 'every record acknowledged is stored once', ok: best.endOffsets.reduce((a, b) => a + b, 0) === records, detail: `end offsets ${best.endOffsets.join(',')} (sum ${best.endOffsets.reduce((a, b) => a + b, 0)}) for ${records} records` },
    ];
    return {
      name: 'ingest',
      description: `${records} YSB-like events (~220 B msgpack) into ${PARTITIONS} partitions, one client process, one idempotent producer`,
      scale: ctx.scale,
      contenders: [
        { name: 'node floor (file, fsync/MiB)', ...floor.best, walls: floor.walls, runs: runFigures(floor.all) },
        { name: 'Laminate producer -> master', wallS: best.wallS, cpuS: best.cpuS, peakMb: best.peakMb, otherCores: best.otherCores, walls: tput.walls, runs: runFigures(tput.all), detail: { masterCpuS: best.masterCpuS, clientCpuS: best.clientCpuS, bytes: best.bytes } },
      ],
      targets: [
        target('records/s acknowledged durably', rate, 300_000, 'rec/s', true),
        target('Laminate rate / floor rate', rate / floorRate, 0.5, 'x', true),
        target(`p99 append latency at ${RATE} records/s`, lat.p99Ms, 20, 'ms'),
      ],
      checks,
      notes: [
        `Laminate: ${Math.round(rate)} records/s, ${(best.bytes / best.wallS / 1e6).toFixed(1)} MB/s on disk (batches with headers); floor ${Math.round(floorRate)} records/s`,
        `CPU: master ${best.masterCpuS.toFixed(2)} s, client ${best.clientCpuS.toFixed(2)} s (generation and encoding included, as in the floor)`,
        `master peak RSS: ${best.peakMb.toFixed(0)} MB in the throughput run, ${lat.peakMb.toFixed(0)} MB in the latency run`,
        `latency at ${RATE} records/s open loop (${lat.sent} records, achieved ${Math.round(lat.achievedRate)}/s): p50 ${lat.p50Ms.toFixed(2)} ms, p99 ${lat.p99Ms.toFixed(2)} ms, p99.9 ${lat.p999Ms.toFixed(2)} ms, max ${lat.maxMs.toFixed(2)} ms`,
      ],
      params: { records, seed: SEED, partitions: PARTITIONS, rate: RATE },
    };
  },
};
