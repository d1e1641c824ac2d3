/**
 * Micro-benchmark of a speed process's Scan (src/speed/speed-read.ts
 * readScan) on live partition state, in one process: 4 partitions, each
 * with KEYS distinct keys spread over 10 closed panes and an open pane of
 * 2,000 recent keys; scans of the whole range with --limit (default 100)
 * and without, timed per call (best of --repeat rounds of --calls scans).
 *
 *   npm run build && node dist/bench/speed-scan.js [--keys N] [--limit L] [--calls C] [--repeat R]
 */
import { PartitionState } from '../src/speed/partition-state.js';
import { readScan, type PartitionSource } from '../src/speed/speed-read.js';
import { numberArg } from './args.js';

const KEYS = numberArg('keys', 50_000);
const LIMIT = numberArg('limit', 100);
const CALLS = numberArg('calls', 50);
const REPEAT = numberArg('repeat', 3);
const PARTITIONS = 4;
const PANES = 10;

const plus = (a: number, b: number): number => a + b;

function source(p: number): PartitionSource<number> {
  let now = 0;
  const s = new PartitionState<number>(p, plus, 0, now, { paneMs: 1000, settleMs: 1e12 });
  let offset = 0;
  const perPane = Math.ceil(KEYS / PANES);
  for (let pane = 0; pane < PANES; pane++) {
    for (let i = 0; i < perPane; i++) s.apply(offset++, [[`key-${p}-${(pane * perPane + i) * 7919 % KEYS}`, 1]], now);
    now += 1000;
  }
  // The open pane: recent records, some on keys the closed panes hold.
  for (let i = 0; i < 2000; i++) s.apply(offset++, [[`key-${p}-${(i * 31) % (KEYS * 2)}`, 1]], now);
  return { partition: p, state: s, end: offset, caughtUpAt: 1 };
}

function time(label: string, f: () => void): void {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < REPEAT; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) f();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e3 / CALLS);
  }
  console.log(`${label}: ${best.toFixed(0)} us per scan`);
}

const sources = Array.from({ length: PARTITIONS }, (_, p) => source(p));
const cut = new Array<number>(PARTITIONS).fill(0);
let entries = 0;
time(`scan limit ${LIMIT} over ${PARTITIONS} x ${KEYS} keys`, () => { entries += readScan(sources, cut, { limit: LIMIT }, plus).entries.length; });
time(`scan limit ${LIMIT} from the middle (from 'key-2')`, () => { entries += readScan(sources, cut, { from: 'key-2', limit: LIMIT }, plus).entries.length; });
time(`scan without limit over ${PARTITIONS} x ${KEYS} keys`, () => { entries += readScan(sources, cut, {}, plus).entries.length; });
console.log(`(${entries} entries read)`);
