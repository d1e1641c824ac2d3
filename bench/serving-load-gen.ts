/**
 * One load generator of the serving benchmark, a process of its own (as
 * YCSB runs its clients apart from the store): the parent
 * (serving-load.ts) forks G of these and each sends 1/G of the rate, so no
 * generator shares an event loop with the bench's other work, and none
 * holds the view's keys (each key is made from its zipfian rank when sent).
 *
 * Driven over the IPC channel, one command at a time:
 * - `{ kind: 'gets', rate, seconds, startAt, phase, spin }`: Gets of one key in
 *   open loop; request i is due at startAt + (i + phase) / rate (startAt in
 *   epoch ms, the same for every generator; phase in [0, 1) interleaves the
 *   generators' sends), and is timed from that intended send time, so a
 *   stall of the generator or the node is counted, not hidden (coordinated
 *   omission). Waits for each send spinning or by timer (send-pacing.ts).
 *   Answers the latency histogram (hdr, compressed base64) and how late the
 *   sends left.
 * - `{ kind: 'multiGets', batch, loops, seconds }`: MultiGets of `batch`
 *   keys from `loops` closed loops; answers the keys received.
 * - `{ kind: 'scan', seconds }`: Scans of the whole view one after another
 *   until `seconds` have passed (one when 0); answers the entries and scans.
 * - `{ kind: 'sweep', from, to, batch }`: MultiGets of every key
 *   kvKey(from..to-1) in order, `batch` keys each, 4 in flight (a warm-up that
 *   brings every block of the view into the node's cache); answers the keys.
 * - `{ kind: 'exit' }`.
 *
 * Started by: fork(this file, [address, view, keys, seed]). Sends
 * `{ kind: 'ready' }` once its channel answered a first Get.
 */
import * as hdr from 'hdr-histogram-js';
import { ServingClient } from '../src/protocol/serving-rpc.js';
import { kvKey } from './data-gen/kv-records.js';
import { ScrambledZipfian } from './zipfian.js';
import { waitUntil } from './send-pacing.js';

export type GeneratorCommand =
  | { readonly kind: 'gets'; readonly rate: number; readonly seconds: number; readonly startAt: number; readonly phase: number; readonly spin: boolean }
  | { readonly kind: 'multiGets'; readonly batch: number; readonly loops: number; readonly seconds: number }
  | { readonly kind: 'scan'; readonly seconds: number }
  | { readonly kind: 'sweep'; readonly from: number; readonly to: number; readonly batch: number }
  | { readonly kind: 'exit' };

export type GeneratorReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'gets'; readonly sent: number; readonly errors: number; readonly histogram: string; readonly lateP99Ms: number; readonly lateMaxMs: number; readonly wallS: number; readonly cpuS: number }
  | { readonly kind: 'multiGets'; readonly keys: number; readonly wallS: number; readonly cpuS: number }
  | { readonly kind: 'scan'; readonly entries: number; readonly scans: number; readonly wallS: number; readonly cpuS: number }
  | { readonly kind: 'sweep'; readonly keys: number }
  | { readonly kind: 'failed'; readonly message: string };

/** Histograms in microseconds, up to a minute, 3 significant digits. */
export function newLatencyHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

/** CPU seconds (user and system) this process spent since `start`. */
function cpuSince(start: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(start);
  return (c.user + c.system) / 1e6;
}

async function gets(client: ServingClient, view: string, key: () => string, c: Extract<GeneratorCommand, { kind: 'gets' }>): Promise<GeneratorReply> {
  const latency = newLatencyHistogram();
  const late = newLatencyHistogram();
  const total = Math.round(c.rate * c.seconds);
  const interval = 1000 / c.rate;
  // The shared epoch start, on this process's monotonic clock.
  const t0 = performance.now() + (c.startAt - Date.now()) + c.phase * interval;
  let sent = 0;
  let done = 0;
  let errors = 0;
  let allDone: (() => void) | undefined;
  const finished = (): void => {
    if (++done === total) allDone?.();
  };
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  while (sent < total) {
    const now = performance.now();
    // Every request whose intended time has come, each timed from that time.
    for (; sent < total && t0 + sent * interval <= now; sent++) {
      const intended = t0 + sent * interval;
      late.recordValue(Math.max(1, Math.round((now - intended) * 1000)));
      client.get(view, [key()]).then(
        () => {
          latency.recordValue(Math.max(1, Math.round((performance.now() - intended) * 1000)));
          finished();
        },
        () => {
          errors++;
          finished();
        },
      );
    }
    if (sent < total) await waitUntil(t0 + sent * interval, c.spin);
  }
  if (done < total) await new Promise<void>((r) => { allDone = r; });
  const reply: GeneratorReply = {
    kind: 'gets', sent: total, errors, histogram: hdr.encodeIntoCompressedBase64(latency),
    lateP99Ms: late.getValueAtPercentile(99) / 1000, lateMaxMs: late.maxValue / 1000,
    wallS: (performance.now() - w0) / 1000, cpuS: cpuSince(cpu0),
  };
  latency.destroy();
  late.destroy();
  return reply;
}

async function multiGets(client: ServingClient, view: string, key: () => string, c: Extract<GeneratorCommand, { kind: 'multiGets' }>): Promise<GeneratorReply> {
  let keys = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + c.seconds * 1000;
  await Promise.all(Array.from({ length: c.loops }, async () => {
    while (performance.now() < end) {
      const r = await client.get(view, Array.from({ length: c.batch }, key));
      keys += r.entries.length;
    }
  }));
  return { kind: 'multiGets', keys, wallS: (performance.now() - t0) / 1000, cpuS: cpuSince(cpu0) };
}

async function scan(client: ServingClient, view: string, c: Extract<GeneratorCommand, { kind: 'scan' }>): Promise<GeneratorReply> {
  let entries = 0;
  let scans = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + c.seconds * 1000;
  do {
    for await (const chunk of client.scan({ view })) entries += chunk.entries.length;
    scans++;
  } while (performance.now() < end);
  return { kind: 'scan', entries, scans, wallS: (performance.now() - t0) / 1000, cpuS: cpuSince(cpu0) };
}

async function sweep(client: ServingClient, view: string, c: Extract<GeneratorCommand, { kind: 'sweep' }>): Promise<GeneratorReply> {
  let next = c.from;
  let keys = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < c.to) {
      const from = next;
      next = Math.min(c.to, next + c.batch);
      const r = await client.get(view, Array.from({ length: next - from }, (_, i) => kvKey(from + i)));
      keys += r.entries.filter((e) => e.found).length;
    }
  }));
  return { kind: 'sweep', keys };
}

async function main(): Promise<void> {
  const [address, view, keysArg, seedArg] = process.argv.slice(2);
  const keyCount = Number(keysArg);
  const seed = Number(seedArg);
  if (address === undefined || view === undefined || !Number.isSafeInteger(keyCount) || keyCount <= 0 || !Number.isSafeInteger(seed)) {
    throw new Error(`usage: serving-load-gen ADDRESS VIEW KEYS SEED, got ${process.argv.slice(2).join(' ')}`);
  }
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('serving-load-gen runs as a forked child (it is driven over IPC)');
  const zipf = new ScrambledZipfian(keyCount, seed);
  const key = (): string => kvKey(zipf.next());
  const client = new ServingClient(address);
  await client.get(view, [key()]);
  const commands: GeneratorCommand[] = [];
  let wake: (() => void) | undefined;
  process.on('message', (m: GeneratorCommand) => {
    commands.push(m);
    wake?.();
  });
  send({ kind: 'ready' } satisfies GeneratorReply);
  for (;;) {
    while (commands.length === 0) await new Promise<void>((r) => { wake = r; });
    const c = commands.shift()!;
    if (c.kind === 'exit') break;
    let reply: GeneratorReply;
    try {
      reply = c.kind === 'gets' ? await gets(client, view, key, c)
        : c.kind === 'multiGets' ? await multiGets(client, view, key, c)
          : c.kind === 'sweep' ? await sweep(client, view, c)
            : await scan(client, view, c);
    } catch (err) {
      reply = { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
    }
    send(reply);
  }
  client.close();
  process.disconnect();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
