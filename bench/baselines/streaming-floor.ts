/**
 * The floor of the streaming benchmark: a hand-written single-process Node.js
 * program doing the Yahoo Streaming Benchmark's work on events held in memory,
 * with nothing between them and the loop: split the JSON lines, parse each,
 * keep the view events, join the ad to its campaign (a Map), and count per
 * (campaign, 10 s window). No log, no network, no state to hand off: what is
 * left is the cost any JS engine pays per event.
 *
 *   node dist/bench/baselines/streaming-floor.js EVENTS [SEED] [PASSES]
 *
 * Generates EVENTS events (bench/streaming/ysb-generator.ts, seed SEED,
 * FLOOR_SCHEDULE: 100,000/s) as JSON lines into one buffer before timing, then
 * times PASSES (default 3) passes over it and prints one JSON line:
 * { events, bytes, passes: [seconds...], bestSeconds, eventsPerS, cpuS, views, keys, digest }
 * (digest: countsDigest of its counts, for the benchmark to check against the reference).
 */
import { CAMPAIGN_OF_AD, YSB_WINDOW_MS } from '../streaming/ysb-campaigns.js';
import { countsDigest } from '../streaming/counts-digest.js';
import { FLOOR_SCHEDULE, YsbGenerator } from '../streaming/ysb-generator.js';

const [eventsArg, seedArg, passesArg] = process.argv.slice(2);
const events = Number(eventsArg);
const seed = Number(seedArg ?? 20261202);
const passes = Number(passesArg ?? 3);
if (!Number.isSafeInteger(events) || events <= 0) throw new Error(`Expected EVENTS to be a positive integer, got '${eventsArg}'`);
if (!Number.isSafeInteger(passes) || passes <= 0) throw new Error(`Expected PASSES to be a positive integer, got '${passesArg}'`);

// The input, as a consumer would get it from a log: JSON lines in a buffer.
const gen = new YsbGenerator(seed, FLOOR_SCHEDULE);
const parts: Buffer[] = [];
let pending: string[] = [];
for (let i = 0; i < events; i++) {
  pending.push(JSON.stringify(gen.next()));
  if (pending.length === 10_000) {
    parts.push(Buffer.from(`${pending.join('\n')}\n`));
    pending = [];
  }
}
if (pending.length > 0) parts.push(Buffer.from(`${pending.join('\n')}\n`));
const input = Buffer.concat(parts);
parts.length = 0;

interface Counted { views: number; windows: Map<number, Map<string, number>> }

/** One pass: parse, filter, join, count. */
function pass(): Counted {
  const windows = new Map<number, Map<string, number>>();
  let views = 0;
  let start = 0;
  for (;;) {
    const nl = input.indexOf(10, start);
    if (nl < 0) break;
    const e = JSON.parse(input.toString('latin1', start, nl)) as { ad_id: string; event_type: string; event_time: number };
    start = nl + 1;
    if (e.event_type !== 'view') continue;
    const campaign = CAMPAIGN_OF_AD.get(e.ad_id);
    if (campaign === undefined) continue;
    const w = e.event_time - (e.event_time % YSB_WINDOW_MS);
    let counts = windows.get(w);
    if (counts === undefined) windows.set(w, (counts = new Map()));
    counts.set(campaign, (counts.get(campaign) ?? 0) + 1);
    views++;
  }
  return { views, windows };
}

const times: number[] = [];
let counted: Counted = { views: 0, windows: new Map() };
const cpu0 = process.cpuUsage();
for (let i = 0; i < passes; i++) {
  const t0 = performance.now();
  counted = pass();
  times.push((performance.now() - t0) / 1000);
}
const cpu = process.cpuUsage(cpu0);
const bestSeconds = Math.min(...times);
const counts = new Map<string, number>();
for (const [w, m] of counted.windows) for (const [campaign, n] of m) counts.set(`${campaign}|${w}`, n);
process.stdout.write(`${JSON.stringify({
  events, bytes: input.length, passes: times, bestSeconds, eventsPerS: events / bestSeconds,
  cpuS: (cpu.user + cpu.system) / 1e6 / passes, views: counted.views, keys: counts.size, digest: countsDigest(counts),
})}\n`);
