/**
 * One word-count map attempt alone, in-process, against the floor's counting
 * loop on the same bytes: the quickest way to see what a change to the map
 * side does, without a cluster. Runs every contender in turn, `--rounds`
 * times, in one worker thread with a map container's heap limits, and prints
 * the least and the median CPU of each (CPU of the whole process: the thread
 * and V8's helper threads; the machine is shared, so compare within one run).
 *
 *   node dist/bench/map-ab.js [--input FILE] [--bytes N] [--rounds N] [--no-floor] [BUILD...]
 *
 * BUILD is a checkout (its `dist` is used) or a compiled tree, default this
 * one; several, e.g. an older commit's `git archive` built elsewhere, compare
 * engines side by side. The default input is the wordcount benchmark's cached text; run
 * `npm run bench -- wordcount` once to make it. Add `node --cpu-prof` for a
 * profile (bench/profile.ts summarizes it).
 */
import { countWords, formatCounts } from './baselines/wordcount-loop.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { DATA_ROOT } from './data-cache.js';

interface Options {
  readonly input: string;
  readonly bytes: number;
  readonly rounds: number;
  readonly floor: boolean;
  readonly builds: readonly string[];
}

const HERE = resolve(import.meta.dirname, '..');

/** A checkout's `dist`, or the folder itself when it is the compiled tree. */
function compiledRoot(dir: string): string {
  return existsSync(join(dir, 'dist', 'src')) ? join(dir, 'dist') : dir;
}

function parseArgs(argv: readonly string[]): Options {
  let input = join(DATA_ROOT, 'wordcount-20240601-268435456', 'text.txt');
  let bytes = 32 * 1024 * 1024;
  let rounds = 5;
  let floor = true;
  const builds: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--input') input = argv[++i] ?? '';
    else if (a === '--bytes') bytes = Number(argv[++i]);
    else if (a === '--rounds') rounds = Number(argv[++i]);
    else if (a === '--no-floor') floor = false;
    else builds.push(compiledRoot(resolve(a)));
  }
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`Expected --bytes to be a positive integer, got ${bytes}`);
  if (!Number.isSafeInteger(rounds) || rounds <= 0) throw new Error(`Expected --rounds to be a positive integer, got ${rounds}`);
  return { input, bytes, rounds, floor, builds: builds.length > 0 ? builds : [HERE] };
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** The floor's loop (baselines/wordcount-loop.ts) over the first `bytes` of `input`, and its output text, as the floor writes it. */
function floorRun(input: string, bytes: number): Promise<void> {
  const out = formatCounts(countWords(input, bytes));
  if (out.length === 0) throw new Error('The floor counted no words');
  return Promise.resolve();
}

/** A map attempt of the wordcount job from the compiled tree at `build`, as a map container runs it. */
async function mapRunner(build: string, input: string, bytes: number): Promise<() => Promise<void>> {
  const { runMap } = await import(join(build, 'src', 'worker', 'map-runner.js')) as typeof import('../src/worker/map-runner.js');
  const job = (await import(join(build, 'bench', 'jobs', 'wordcount.js')) as typeof import('./jobs/wordcount.js')).default;
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'map-ab-'));
    try {
      await runMap(job as never, {
        attemptId: 'job-0001-m-00000-a1', jobId: 'job-0001', bundleHash: '', kind: 'map', index: 0, memoryMb: 512, timeoutMs: 0,
        reducers: 2, format: 'text', outputDir: dir, split: { kind: 'file', path: input, start: 0, length: bytes }, sources: [], splitPoints: [],
        sortBufferBytes: Math.floor(512 * 1024 * 1024 * 0.2), workerId: 'w',
      }, dir, { masterAddress: '127.0.0.1:1' }); // text input: the master is never called
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

async function inWorker(o: Options): Promise<string> {
  const contenders: { name: string; run: () => Promise<void> }[] = [];
  if (o.floor) contenders.push({ name: 'floor', run: () => floorRun(o.input, o.bytes) });
  for (const build of o.builds) contenders.push({ name: build, run: await mapRunner(build, o.input, o.bytes) });
  const times = contenders.map((): number[] => []);
  for (let r = 0; r < o.rounds; r++) {
    for (let i = 0; i < contenders.length; i++) {
      const c0 = cpuMs();
      await contenders[i]!.run();
      times[i]!.push(cpuMs() - c0);
    }
  }
  return contenders.map((c, i) => {
    const t = [...times[i]!].sort((a, b) => a - b);
    return `${c.name}: CPU ms least ${t[0]!.toFixed(0)}, median ${t[Math.floor(t.length / 2)]!.toFixed(0)} (${t.map((x) => x.toFixed(0)).join(' ')})`;
  }).join('\n');
}

if (isMainThread) {
  const options = parseArgs(process.argv.slice(2));
  // A map container's limits (src/worker/container.ts for a 512 MB map).
  const worker = new Worker(new URL(import.meta.url), { workerData: options, resourceLimits: { maxOldGenerationSizeMb: 512, maxYoungGenerationSizeMb: 64 } });
  worker.on('message', (m: string) => console.log(m));
  worker.on('error', (err) => {
    console.error(err);
    process.exitCode = 1;
  });
} else {
  parentPort!.postMessage(await inWorker(workerData as Options));
}
