/**
 * A Monte Carlo model of the crash test (test/crash/crash-run.ts) that drives
 * the real scheduling core with simulated time: 3 one-slot workers, 8 maps,
 * 10 reduces, each attempt's fate drawn as crash-wordcount.ts draws it (same
 * seed, attempt id and call), a dead worker noticed after `--detect` ms and
 * started again 1 s (+ startup) after its death, losing its map outputs. It
 * runs hundreds of seeds in seconds, to tell what a change to the scheduler
 * or to the cluster would do to the test's times without burning minutes of
 * a shared machine per run. Its figures are a model's: it leaves out CPU
 * contention, gRPC and the file system.
 *
 *   node dist/scripts/crash-sim.js [--runs 300] [--detect 2000] [--heartbeat 250] [--no-speculation] [--durable-outputs]
 *
 * --durable-outputs models map outputs that outlive their worker (as on
 * 6.824's shared folder), the way the crash test now runs: each worker
 * registers with its node's shuffle service, which keeps its outputs when it
 * dies (src/scheduler/map-outputs.ts).
 */
import { parseArgs } from 'node:util';
import { Scheduler } from '../src/scheduler/scheduler.js';
import type { Decision, LaunchDecision } from '../src/scheduler/types.js';
import { seededRandom } from '../test/support/seeded-random.js';
import { hashKey as fnv1a } from '../src/common/partitioner.js';

const FILES = ['pg-being_ernest.txt', 'pg-dorian_gray.txt', 'pg-frankenstein.txt', 'pg-grimm.txt',
  'pg-huckleberry_finn.txt', 'pg-metamorphosis.txt', 'pg-sherlock_holmes.txt', 'pg-tom_sawyer.txt'];

interface Model {
  readonly seed: number;
  readonly detectMs: number;
  readonly heartbeatMs: number;
  readonly speculation: boolean;
  readonly durableOutputs: boolean;
}

/** Model times, in ms: what the real runs show on a 2-core machine, roughly. */
const RESTART_MS = 1000;
const STARTUP_MS = 600;
const FETCH_FAILURE_MS = 1500;
const WORK_MS = 300;
const TICK_MS = 100;
const DEADLINE_MS = 600_000;

/** The fate crash-wordcount.ts gives the one call of an attempt: crash, or finish after `sleepMs`. */
function fate(seed: number, d: LaunchDecision): { crash: true } | { crash: false; sleepMs: number } {
  const call = d.kind === 'map' ? FILES[d.index]! : String(d.index);
  const rand = seededRandom(fnv1a(`${seed}/${d.attemptId}/${call}`));
  const r = rand();
  if (r < 1 / 3) return { crash: true };
  return { crash: false, sleepMs: r < 2 / 3 ? Math.floor(rand() * 5000) : 0 };
}

interface Slot { id: string; alive: boolean; readonly node: string }

/** One simulated run: the time the job took (Infinity past the deadline), and the worker deaths. */
export function simulate(m: Model): { ms: number; deaths: number; state: string } {
  const s = new Scheduler({ heartbeatTimeoutMs: m.detectMs });
  const events: Array<{ at: number; seq: number; run: () => void }> = [];
  let seq = 0;
  let now = 0;
  const at = (t: number, run: () => void): void => { events.push({ at: t, seq: seq++, run }); };
  const slots: Slot[] = [];
  const running = new Set<string>();
  let nextWorker = 1;
  let deaths = 0;
  let state = 'RUNNING';

  const handle = (ds: readonly Decision[]): void => { for (const d of ds) decide(d); };
  const alive = (workerId: string): boolean => slots.some((x) => x.id === workerId && x.alive);
  const decide = (d: Decision): void => {
    if (d.type === 'kill') running.delete(d.attemptId);
    else if (d.type === 'commitJob') handle(s.jobCommitted(d.jobId, now));
    else if (d.type === 'jobFinished') state = d.state;
    else if (d.type === 'launch') launch(d);
  };
  const launch = (d: LaunchDecision): void => {
    const slot = slots.find((x) => x.id === d.workerId);
    if (!slot?.alive) return; // sent to a worker that died unnoticed: it never runs
    const id = d.attemptId;
    running.add(id);
    if (d.kind === 'reduce' && !m.durableOutputs) {
      const gone = d.sources?.find((src) => !alive(src.workerId));
      if (gone) {
        at(now + FETCH_FAILURE_MS, () => {
          if (running.delete(id)) handle(s.fetchFailed(id, gone.mapIndex, gone.attemptId, 'connection refused', now));
        });
        return;
      }
    }
    const f = fate(m.seed, d);
    if (f.crash) {
      at(now + 50, () => { if (running.has(id) && slot.alive && slot.id === d.workerId) crash(slot); });
      return;
    }
    at(now + 50 + f.sleepMs + WORK_MS, () => {
      if (!running.delete(id)) return;
      if (d.kind === 'map') {
        const partitions = Array.from({ length: 10 }, () => ({ offset: 0, length: 1, records: 1 }));
        handle(s.attemptSucceeded(id, { partitions, counters: {} }, now));
      } else if (s.requestCommit(id)) {
        handle(s.attemptSucceeded(id, { counters: {} }, now));
      } else {
        handle(s.attemptFailed(id, { code: 'KILLED', message: 'commit denied' }, now));
      }
    });
  };
  const start = (slot: Slot): void => {
    slot.id = `w${nextWorker++}`;
    slot.alive = true;
    handle(s.registerWorker(slot.id, { slots: 1, memoryMb: 1024 }, now, m.durableOutputs ? slot.node : undefined));
  };
  const crash = (slot: Slot): void => {
    deaths++;
    slot.alive = false;
    for (const id of [...running]) if (s.attempt(id)?.workerId === slot.id) running.delete(id);
    at(now + RESTART_MS + STARTUP_MS, () => start(slot));
  };
  let ticks = 0;
  const tick = (): void => {
    if ((ticks++ * TICK_MS) % m.heartbeatMs < TICK_MS) for (const x of slots) if (x.alive) s.heartbeat(x.id, now);
    handle(s.tick(now));
    if (state === 'RUNNING') at(now + TICK_MS, tick);
  };

  handle(s.submitJob({ jobId: 'job-0001', name: 'crash', maps: 8, reducers: 10, mapMemoryMb: 512, reduceMemoryMb: 512, speculation: m.speculation }, now));
  for (let k = 0; k < 3; k++) {
    const slot: Slot = { id: '', alive: false, node: `node-${k}:7337` };
    slots.push(slot);
    at(STARTUP_MS, () => start(slot));
  }
  at(TICK_MS, tick);
  while (state === 'RUNNING' && events.length > 0 && now <= DEADLINE_MS) {
    events.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const e = events.shift()!;
    now = e.at;
    e.run();
  }
  return { ms: state === 'SUCCEEDED' ? now : Infinity, deaths, state };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '300' },
      detect: { type: 'string', default: '2000' },
      heartbeat: { type: 'string', default: '250' },
      'no-speculation': { type: 'boolean', default: false },
      'durable-outputs': { type: 'boolean', default: false },
    },
  });
  const runs = Number(values.runs);
  const model = { detectMs: Number(values.detect), heartbeatMs: Number(values.heartbeat), speculation: !values['no-speculation'], durableOutputs: values['durable-outputs'] };
  const results = Array.from({ length: runs }, (_, i) => simulate({ ...model, seed: i + 1 }));
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  const at = (p: number): string => `${(ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]! / 1000).toFixed(0)} s`;
  const under60 = results.filter((r) => r.ms <= 60_000).length / runs;
  const deaths = results.map((r) => r.deaths).sort((a, b) => a - b)[Math.floor(runs / 2)];
  const failed = results.filter((r) => r.state !== 'SUCCEEDED');
  console.log(`${runs} simulated runs, ${JSON.stringify(model)}`);
  console.log(`median ${at(0.5)}, p90 ${at(0.9)}, p95 ${at(0.95)}; under 60 s: ${(under60 * 100).toFixed(0)}% `
    + `(20 of 20: ${(under60 ** 20 * 100).toFixed(1)}%); median worker deaths ${deaths}; not succeeded ${failed.length}`);
}

main();
