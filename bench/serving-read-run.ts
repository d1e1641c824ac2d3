/**
 * The serving benchmark's reads on their own, without the build (which
 * `npm run bench -- serving` times first):
 *
 *   npm run build && node dist/bench/serving-read-run.js [--keys N] [--step-seconds S] [--only serve|floor] [--profile DIR] [--cache-mb MB] [--row-cache-mb MB] [--no-gets]
 *       [--rates R1,R2,...] [--every-rate] [--no-bulk] [--no-sweep] [--timer-sends] [--help]
 *
 * A master and a `laminate serve` process (the compiled CLI) serve a view of
 * N keys (default 1,000,000) with ~100-byte values in 4 files, written by
 * hand into the master's view store as a build leaves them (kv-version.ts: kvKey(i) ->
 * a 100-character string, merge max, as bench/views/kv-max.ts builds);
 * then the RPC floor (baselines/serving-rpc-floor.ts) serves the same files
 * from a Map. Each gets the same reads (serving-reads.ts), from 2 load
 * generator processes. Prints one block per contender. --profile: the
 * serving node, the floor and the load generators run with
 * `node --cpu-prof`, their profiles written to DIR (kept). --cache-mb: the
 * serving node's block cache (default: the node's, 64 MB); --row-cache-mb:
 * its row cache (default: the node's, 32 MB; 0: none). --no-gets: no
 * open-loop Get steps (only their warm-up), for MultiGet and Scan alone.
 * --rates: the open-loop rates tried (default serving-reads.ts's GET_RATES);
 * --every-rate: each of them even past a miss (CPU per Get at each rate);
 * --no-bulk: no MultiGet and Scan; --no-sweep: no read of every key before
 * the Gets (serving-reads.ts: the node's cache then fills during them);
 * --timer-sends: the Gets' sender (and the wake-up probe's) sleeps on timers
 * between sends instead of spinning (send-pacing.ts).
 */
import { formatWakeupProbe, probeWakeups } from './wakeup-probe.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ViewsClient } from '../src/protocol/view-rpc.js';
import { LaminateClient } from '../src/client/laminate-client.js';
import { versionDir } from '../src/view/view-version-dir.js';
import { publishKv } from './kv-version.js';
import { numberArg } from './args.js';
import { formatBulk, formatStep, readFigures, STEP_SECONDS as DEFAULT_STEP_SECONDS, type ReadFigures } from './serving-reads.js';

const KEYS = numberArg('keys', 1_000_000, true);
const STEP_SECONDS = numberArg('step-seconds', DEFAULT_STEP_SECONDS);
const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
};
const ONLY = flag('only');
const PROFILE = flag('profile');
const CACHE_MB = flag('cache-mb');
/** --row-cache-mb: the serving node's row cache (default: the node's); 0 for none. */
const ROW_CACHE_MB = flag('row-cache-mb');
/** --no-gets: only the warm-up Gets, then MultiGets and Scan (what a MultiGet or Scan profile wants). */
const NO_GETS = process.argv.includes('--no-gets');
const RATES = flag('rates')?.split(',').map((r) => {
  const v = Number(r);
  if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`Expected --rates to be positive integers joined by commas, got '${r}'`);
  return v;
});
const EVERY_RATE = process.argv.includes('--every-rate');
const NO_BULK = process.argv.includes('--no-bulk');
const NO_SWEEP = process.argv.includes('--no-sweep');
const TIMER_SENDS = process.argv.includes('--timer-sends');
/** --exec-argv A,B: node flags for the node, the floor and the generators (--trace-gc ...), after --profile's. */
const EXEC_ARGV = flag('exec-argv')?.split(',') ?? [];
const PROFILE_ARGS = [...(PROFILE === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', PROFILE]), ...EXEC_ARGV];
const VIEW = 'kv';
const SEED = 20261201;
const CLI = join(import.meta.dirname, '..', '..', 'bin', 'laminate.cjs');

/** Starts `node args`; resolves with the process and what `re` matched on its stdout. */
export async function startListening(args: string[], re: RegExp, logFile: string): Promise<{ proc: ChildProcess; match: RegExpExecArray }> {
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', openSync(logFile, 'w')] });
  let out = '';
  const match = await new Promise<RegExpExecArray>((ok, fail) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m) ok(m);
    });
    proc.once('exit', (code) => fail(new Error(`${args.join(' ')} exited (${code}) before it listened`)));
  });
  return { proc, match };
}

function print(who: string, f: ReadFigures): void {
  console.log(`${who}: Get ${f.getRate}/s with p99 <= 5 ms${f.getRate > 0 ? ` (p99 ${f.getP99Ms.toFixed(2)} ms)` : ''}; ${formatBulk(f)}`);
  for (const s of f.steps) console.log(`  ${formatStep(s)}`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log('node dist/bench/serving-read-run.js [--keys N] [--step-seconds S] [--only serve|floor] [--profile DIR] [--cache-mb MB] [--row-cache-mb MB] [--no-gets] [--rates R1,R2,...] [--every-rate] [--no-bulk] [--no-sweep] [--timer-sends] [--exec-argv F1,F2]');
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'laminate-bench-reads-'));
  const procs: ChildProcess[] = [];
  try {
    const master = await startListening([CLI, 'master', '--port', '0', '--data', join(work, 'master')], /master listening on (\S+)/, join(work, 'master.log'));
    procs.push(master.proc);
    const address = master.match[1]!;
    const store = join(work, 'master', 'views');
    const client = new LaminateClient(address);
    const views = new ViewsClient(address);
    await client.createDataset('kv', { partitions: 4 });
    await views.deployView({ name: VIEW, bundle: Buffer.from('export default {};\n'), source: 'kv', definitionHash: 'f'.repeat(64), merge: 'max' });
    await publishKv(store, VIEW, KEYS, SEED);
    const options = {
      stepSeconds: STEP_SECONDS, warmupSeconds: 3, generatorExecArgv: PROFILE_ARGS, everyRate: EVERY_RATE, bulk: !NO_BULK, sweep: !NO_SWEEP, timerSends: TIMER_SENDS,
      ...(NO_GETS ? { rates: [] } : RATES !== undefined ? { rates: RATES } : {}),
    };
    if (!NO_GETS) console.log(formatWakeupProbe(await probeWakeups(8000, 3, !TIMER_SENDS)));
    if (ONLY !== 'floor') {
      const node = await startListening([...PROFILE_ARGS, CLI, 'serve', '--master', address, '--port', '0', '--data', join(work, 'serve'), ...(CACHE_MB !== undefined ? ['--cache-mb', CACHE_MB] : []),
        ...(ROW_CACHE_MB !== undefined ? ['--row-cache-mb', ROW_CACHE_MB] : [])], /listening on (\S+)/, join(work, 'serve.log'));
      procs.push(node.proc);
      while (!(await views.listServingNodes()).some((n) => n.loaded.some((l) => l.view === VIEW && l.version === 1))) await new Promise((r) => setTimeout(r, 50));
      print('laminate serve', await readFigures(node.match[1]!, VIEW, KEYS, SEED + 7, node.proc.pid!, options));
      node.proc.kill('SIGTERM');
    }
    if (ONLY !== 'serve') {
      const floor = await startListening([...PROFILE_ARGS, join(import.meta.dirname, 'baselines', 'serving-rpc-floor.js'), versionDir(store, VIEW, 1), VIEW], /listening on (\S+)/, join(work, 'floor.log'));
      procs.push(floor.proc);
      print('RPC floor', await readFigures(floor.match[1]!, VIEW, KEYS, SEED + 7, floor.proc.pid!, options));
    }
    await client.close();
    views.close();
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(null) : p.once('exit', r)))));
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
