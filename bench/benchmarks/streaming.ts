/**
 * streaming (issue 9): the Yahoo Streaming Benchmark re-expressed. Seeded ad
 * events (100 campaigns of 10 ads; view, click, purchase; about 240 bytes of
 * JSON; event time = scheduled send time) appended in open loop at a fixed
 * rate through the ingest API; the view bench/views/ysb-campaign-views.ts
 * counts view events per (campaign, 10 s window), joining ad to campaign in
 * its map; a batch build every 30 s during the run. Everything runs as
 * separate processes on this machine: master, 2 workers, serving node, speed
 * process, and the appender (bench/streaming/step.ts).
 *
 * Reported, per rate (a ladder, climbing until a rate is not sustained):
 * (1) the highest rate sustained with the backlog (log end minus applied
 * offsets) not growing over the second half of the run; (2) per window, the
 * time its final count became visible in a query minus the window's end,
 * p50/p90/p99; (3) exactness: answers at random moments, final windows, and
 * all answers after draining, equal the reference fold of the log up to
 * their coverage (test/integration/speed-reference.ts), with zero tolerance.
 * Baseline in the same run: the floor (baselines/streaming-floor.ts), and
 * the ratio of the sustained rate to it.
 *
 * Without `laminate speed` in the build, it runs what does not need it (the
 * generator's rate, the floor, the view built during ingest with its
 * batch-only answers checked against the reference) and fails with a check
 * saying the speed layer is missing.
 *
 * Flags: --seconds S (per rate; default 60 at scale 1, at least 20),
 * --rate R (one rate), --rates R1,R2,... (the ladder; default
 * 50000,100000,150000,200000), --build-every S (default 30, at most half a
 * run), --floor-events N (default 30,000 a second of run, 200,000 to
 * 2,000,000).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../cluster.js';
import { flagNumber, type BenchContext, type Benchmark } from '../context.js';
import { target, type BenchResult, type Check, type Contender } from '../report.js';
import { speedCommandAvailable } from '../streaming/processes.js';
import { runStep, type StepResult } from '../streaming/step.js';
import { countsDigest } from '../streaming/counts-digest.js';
import { ysbReferenceFold } from '../streaming/merged-answers.js';
import { FLOOR_SCHEDULE, YsbGenerator } from '../streaming/ysb-generator.js';

const run = promisify(execFile);
const SEED = 20261203;
const PARTITIONS = 4;
const DEFAULT_RATES = [50_000, 100_000, 150_000, 200_000];
const TARGET_RATE = 100_000;
const TARGET_P99_MS = 1000;

interface FloorFigures {
  readonly events: number;
  readonly bytes: number;
  readonly passes: number[];
  readonly bestSeconds: number;
  readonly eventsPerS: number;
  readonly cpuS: number;
  readonly views: number;
  readonly keys: number;
  readonly digest: string;
}

/** The reference's counts of the floor's events (regenerated here, folded without JSON): their digest. */
function floorReferenceDigest(events: number): string {
  const gen = new YsbGenerator(SEED, FLOOR_SCHEDULE);
  const counts = new Map<string, number>();
  for (let i = 0; i < events; i++) ysbReferenceFold.add(counts, gen.next());
  return countsDigest(counts);
}

/** The p-th percentile (nearest rank) of `xs`; NaN for none. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

function ratesOf(ctx: BenchContext): { rates: number[]; ladder: boolean } {
  if (ctx.flags.has('rate')) return { rates: [flagNumber(ctx, 'rate', 0)], ladder: false };
  const raw = ctx.flags.get('rates');
  if (raw === undefined) return { rates: DEFAULT_RATES, ladder: true };
  const rates = raw.split(',').map(Number);
  if (rates.length === 0 || rates.some((r) => !(r > 0))) throw new Error(`Expected --rates to be positive numbers separated by commas, got '${raw}'`);
  return { rates, ladder: true };
}

const f0 = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');

function stepNotes(s: StepResult): string[] {
  const g = s.generator;
  const lat = s.windowLatenciesMs;
  const cpu = Object.entries(s.cpuS).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
  return [
    `${f0(s.rate)}/s: generator sent ${f0(g.sent)} events, achieved ${f0(g.achievedRate)}/s, at most ${g.maxBehindMs.toFixed(0)} ms behind schedule (p99 of ticks ${g.p99BehindMs.toFixed(1)} ms, last event ${g.endBehindMs.toFixed(0)} ms)${g.keptRate ? '' : `: it could NOT keep ${f0(s.rate)}/s (tolerance ${g.toleranceMs} ms), so this rate says nothing of the engine`}`,
    `${f0(s.rate)}/s: builds ${s.builds.map((b) => `v${b.version} ${f0(b.records)} records${Number.isFinite(b.wallS) ? ` ${b.wallS.toFixed(1)} s` : ' (last)'}`).join('; ')}; log end [${s.endOffsets.join(',')}]`,
    ...(s.backlog ? [`${f0(s.rate)}/s: backlog (${s.backlog.source}) max ${f0(s.backlog.maxBacklog)}, last ${f0(s.backlog.lastBacklog)}, slope over the second half ${s.backlog.slopePerS.toFixed(0)} records/s (allowed ${s.backlog.allowedSlopePerS.toFixed(0)}): ${s.backlog.sustained === undefined ? 'too few samples' : s.backlog.sustained ? 'not growing' : 'GROWING'}; drained in ${s.drainS?.toFixed(1) ?? '-'} s`] : []),
    ...(lat.length > 0 || s.windowsNeverFinal > 0 ? [`${f0(s.rate)}/s: window latency over ${lat.length} windows: p50 ${f0(percentile(lat, 50))} ms, p90 ${f0(percentile(lat, 90))} ms, p99 ${f0(percentile(lat, 99))} ms, max ${f0(percentile(lat, 100))} ms; ${s.windowsNeverFinal} never shown final`] : []),
    `${f0(s.rate)}/s: answers checked ${s.answers.checked} (${s.answers.withSpeed} with a speed side, ${s.answers.withUncovered} with uncovered partitions): ${s.answers.detail}`,
    `${f0(s.rate)}/s: CPU s during ingest: ${cpu}; peak RSS of the cluster ${f0(s.peakMb)} MB`,
    ...(s.queryErrors > 0 ? [`${f0(s.rate)}/s: ${s.queryErrors} sampling queries failed (last: ${s.lastQueryError})`] : []),
  ];
}

export const streaming: Benchmark = {
  name: 'streaming',
  flags: {
    seconds: 'seconds of ingest per rate',
    rate: 'one rate (events/s) instead of the ladder',
    rates: 'the ladder of rates, comma-separated',
    'build-every': 'seconds between batch builds during ingest',
    'floor-events': 'events the floor counts',
  },
  async run(ctx: BenchContext): Promise<BenchResult> {
    const seconds = flagNumber(ctx, 'seconds', Math.max(20, Math.round(60 * ctx.scale)));
    const buildEvery = flagNumber(ctx, 'build-every', Math.min(30, seconds / 2));
    // The floor's input grows with the run (1.8 M events for a minute), so that a short run stays short.
    const floorEvents = flagNumber(ctx, 'floor-events', Math.min(2_000_000, Math.max(200_000, Math.round(seconds * 30_000))), true);
    const { rates, ladder } = ratesOf(ctx);

    ctx.log(`floor: ${floorEvents} events parsed, filtered, joined and counted in one process`);
    const { stdout } = await run(process.execPath, [join(ROOT, 'dist', 'bench', 'baselines', 'streaming-floor.js'), String(floorEvents), String(SEED), String(Math.max(3, ctx.repeat))],
      { maxBuffer: 1024 * 1024 });
    const floor = JSON.parse(stdout.trim()) as FloorFigures;
    ctx.log(`floor: ${f0(floor.eventsPerS)} events/s`);

    const speed = await speedCommandAvailable();
    if (!speed.available) ctx.log(`no speed layer in this build (${speed.detail}): running what does not need it`);
    const steps: StepResult[] = [];
    // Without a speed process, one step: the backlog and the windows' final counts need one.
    for (const rate of speed.available ? rates : rates.slice(0, 1)) {
      const s = await runStep({ dir: join(ctx.work, `rate-${rate}`), rate, seconds, buildEverySeconds: buildEvery, speed: speed.available, seed: SEED + steps.length, partitions: PARTITIONS, profileDir: ctx.profileDir, log: ctx.log });
      steps.push(s);
      for (const n of stepNotes(s)) ctx.log(n);
      const sustained = s.generator.keptRate && s.backlog?.sustained === true;
      if (ladder && speed.available && !sustained) break;
    }

    const sustainedSteps = steps.filter((s) => s.generator.keptRate && s.backlog?.sustained === true);
    const best = sustainedSteps.reduce<StepResult | undefined>((a, s) => (a === undefined || s.rate > a.rate ? s : a), undefined);
    const latencyStep = best ?? steps[steps.length - 1];
    const p99 = percentile(latencyStep?.windowLatenciesMs ?? [], 99);
    const floorDigest = floorReferenceDigest(floor.events);
    const checks: Check[] = [
      { name: "the floor's counts equal the reference fold of its events", ok: floor.digest === floorDigest, detail: `${f0(floor.views)} view events in ${floor.keys} keys; digest ${floor.digest.slice(0, 12)} (reference ${floorDigest.slice(0, 12)})` },
      { name: 'laminate speed is in this build', ok: speed.available, detail: speed.available ? speed.detail : `${speed.detail}: the sustained rate, the window latencies and the merged answers need the speed layer (issue 9); what ran without it is below` },
      ...steps.map((s) => ({ name: `answers at ${f0(s.rate)}/s equal the reference fold up to their coverage`, ok: s.answers.mismatched === 0 && s.answers.checked > 0, detail: s.answers.detail })),
      ...steps.map((s) => ({ name: `the last build at ${f0(s.rate)}/s covers every record appended`, ok: s.lastBuildCovers, detail: `log end [${s.endOffsets.join(',')}]` })),
      ...steps.slice(0, 1).map((s) => ({ name: `the generator kept ${f0(s.rate)}/s`, ok: s.generator.keptRate, detail: `achieved ${f0(s.generator.achievedRate)}/s; behind schedule p99 ${s.generator.p99BehindMs.toFixed(0)} ms, at the end ${s.generator.endBehindMs.toFixed(0)} ms, at most ${s.generator.maxBehindMs.toFixed(0)} ms (tolerance ${s.generator.toleranceMs} ms for the p99 and the end)` })),
      ...(speed.available ? steps.map((s) => ({ name: `windows shown final at ${f0(s.rate)}/s never changed afterwards`, ok: s.finalWindowsChanged === 0, detail: `${s.finalWindowsChanged} final windows differ from the whole log's counts` })) : []),
    ];
    const contenders: Contender[] = [
      { name: 'node floor (parse, filter, join, count)', wallS: floor.bestSeconds, cpuS: floor.cpuS, peakMb: Number.NaN, walls: floor.passes, detail: { events: floor.events, eventsPerS: floor.eventsPerS } },
      ...steps.map((s) => ({
        name: `Laminate at ${f0(s.rate)}/s`, wallS: s.ingestWallS,
        cpuS: Object.values(s.cpuS).reduce((a, b) => a + b, 0), peakMb: s.peakMb, detail: { cpuS: s.cpuS, generator: s.generator, backlog: s.backlog, windowLatenciesMs: s.windowLatenciesMs },
      })),
    ];
    return {
      name: 'streaming',
      description: `YSB: ${seconds} s of events per rate, view events per (campaign, 10 s window), builds every ${buildEvery} s; master, 2 workers, serving node${speed.available ? ', speed process' : ' (no speed process in this build)'} and the appender as processes`,
      scale: ctx.scale,
      contenders,
      targets: speed.available ? [
        target('highest rate sustained (backlog not growing over the second half)', best?.rate ?? 0, TARGET_RATE, 'events/s', true),
        target(`p99 window latency (final count visible - window end) at ${f0(latencyStep?.rate ?? 0)}/s`, p99, TARGET_P99_MS, 'ms'),
      ] : [],
      checks,
      notes: [
        `floor: ${f0(floor.eventsPerS)} events/s on one core (${f0(floor.events)} events, ${(floor.bytes / floor.events).toFixed(0)} bytes of JSON each, best of ${floor.passes.length} passes: ${floor.passes.map((p) => p.toFixed(2)).join(', ')} s; ${f0(floor.views)} view events in ${floor.keys} (campaign, window) keys)`,
        ...(best ? [`highest sustained rate ${f0(best.rate)}/s = ${(best.rate / floor.eventsPerS).toFixed(3)}x the floor's rate`] : speed.available ? ['no rate was sustained'] : []),
        ...steps.flatMap(stepNotes),
      ],
      params: { seconds, rates, buildEverySeconds: buildEvery, floorEvents, seed: SEED, partitions: PARTITIONS, speed: speed.available },
    };
  },
};
