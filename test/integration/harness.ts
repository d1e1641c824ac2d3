/**
 * Starts real masters and workers for integration tests: in this process
 * (LocalCluster) or as child processes running the compiled CLI, on
 * 127.0.0.1 ports chosen at run time, with temporary directories removed
 * after each test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, watch } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { JobClient } from '../../src/client/job-client.js';
import { silentLogger } from '../../src/common/logger.js';
import { LocalCluster, type LocalClusterOptions } from '../../src/local/index.js';
import type { JobStatus } from '../../src/common/job-status.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'bin', 'laminate.cjs');
export const GUTENBERG = join(ROOT, 'data', 'gutenberg');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const EXAMPLES = join(ROOT, 'examples');

export async function tempDir(prefix = 'laminate-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  // Retried: a stopped master may still finish a view publish into its folder (views.stop() does not
  // wait for one in flight; seen once as ENOTEMPTY after the Lambda demo), which rm alone would fail on.
  await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}

/**
 * A local cluster for a test. Its blank containers do not warm up unless the
 * test asks (warmUp: true): a warm-up costs about 1 s of a core per blank container
 * left idle a second, on the 2 cores the test files share, and changes no
 * result (test/unit/worker/container-warm-up.test.ts tests it).
 */
export async function startLocal(o: Partial<LocalClusterOptions> & { dataDir: string }): Promise<LocalCluster> {
  return LocalCluster.start({ logger: silentLogger(), warmUp: false, ...o });
}

export interface Proc {
  readonly proc: ChildProcess;
  /** Everything the process wrote to stderr so far. */
  readonly stderr: () => string;
  /** Resolves once a line matching `re` has appeared on stderr or stdout. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

function startProc(args: string[], env: Record<string, string> = {}, script = CLI): Proc {
  const proc = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, LAMINATE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); for (const l of listeners) l(); });
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); for (const l of listeners) l(); });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    stderr: () => err,
    waitFor(re, timeoutMs = 15_000) {
      return new Promise((resolvePromise, reject) => {
        const check = (): boolean => {
          const m = re.exec(out + err);
          if (m) {
            listeners.delete(check as () => void);
            clearTimeout(t);
            resolvePromise(m[0]);
            return true;
          }
          return false;
        };
        const t = setTimeout(() => {
          listeners.delete(check as () => void);
          reject(new Error(`timed out waiting for ${re} from laminate ${args[0]}; stderr:\n${err.slice(-2000)}`));
        }, timeoutMs);
        if (!check()) listeners.add(check as () => void);
      });
    },
    async kill(signal = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}

/**
 * Resolves with the line that says `p` is up; if it never comes (a slow
 * machine, a crash), kills `p` before failing, since no teardown knows of it yet.
 */
async function startedOrKilled(p: Proc, re: RegExp): Promise<string> {
  try {
    return await p.waitFor(re);
  } catch (err) {
    await p.kill();
    throw err;
  }
}

/** Runs a compiled script of the project (under dist/, from `npm run build`) as a child process. */
export function startScriptProc(script: string, args: string[]): Proc {
  return startProc(args, {}, join(ROOT, 'dist', script));
}

export interface MasterProc extends Proc {
  readonly address: string;
}

/** A master process on a free port, with a fast heartbeat so that lost workers are found quickly. */
export async function startMasterProc(
  dataDir: string, o: { heartbeatTimeoutMs?: number; heartbeatIntervalMs?: number; port?: number; env?: Record<string, string>; args?: string[] } = {},
): Promise<MasterProc> {
  const p = startProc(['master', '--port', String(o.port ?? 0), ...((o.args ?? []).includes('--http-port') ? [] : ['--http-port', '0']), '--data', join(dataDir, 'master'),
    '--heartbeat-timeout', String(o.heartbeatTimeoutMs ?? 2000), '--heartbeat-interval', String(o.heartbeatIntervalMs ?? 250), ...(o.args ?? [])], o.env);
  const line = await startedOrKilled(p, /master listening on (\S+)/);
  return { ...p, address: line.replace('master listening on ', '') };
}

let workerSeq = 0;

/**
 * A worker process; resolves once it has registered, with the id the master
 * gave it. `env` is added to its environment (and its containers');
 * `shuffleService` attaches it to that node's shuffle service. Started with
 * `--no-warm-up` unless `warmUp` (as startLocal's clusters).
 */
export async function startWorkerProc(
  master: string, dataDir: string, o: { slots?: number; memoryMb?: number; env?: Record<string, string>; shuffleService?: string; hostLocalReads?: false; warmUp?: true } = {},
): Promise<Proc & { id: string }> {
  const p = startProc(['worker', '--master', master, '--slots', String(o.slots ?? 1), '--memory', String(o.memoryMb ?? 1024),
    '--data', join(dataDir, `worker-proc-${++workerSeq}`), ...(o.shuffleService ? ['--shuffle-service', o.shuffleService] : []),
    ...(o.hostLocalReads === false ? ['--no-host-local-reads'] : []), ...(o.warmUp === true ? [] : ['--no-warm-up'])], o.env);
  const line = await startedOrKilled(p, /"workerId":"(worker-\d+)"[^\n]*"msg":"registered"/);
  const id = /worker-\d+/.exec(line)![0];
  return { ...p, id };
}

/** A shuffle service process on a free port, its folder `<dataDir>/<name>`, once it listens. */
export async function startShuffleServiceProc(dataDir: string, name: string): Promise<Proc & { address: string; dir: string }> {
  const dir = join(dataDir, name);
  const p = startProc(['shuffle-service', '--port', '0', '--data', dir]);
  const line = await startedOrKilled(p, /shuffle service listening on (\S+)/);
  return { ...p, address: line.replace('shuffle service listening on ', ''), dir };
}

/** A serving node process (`laminate serve`) on a free port, its folder `<dataDir>/<name>`, once it listens. */
export async function startServeProc(
  master: string, dataDir: string, name: string, o: { heartbeatIntervalMs?: number; env?: Record<string, string>; args?: readonly string[] } = {},
): Promise<Proc & { address: string; nodeId: string; dir: string }> {
  const dir = join(dataDir, name);
  const p = startProc(['serve', '--master', master, '--port', '0', '--data', dir, '--heartbeat-interval', String(o.heartbeatIntervalMs ?? 200), ...(o.args ?? [])], o.env);
  const line = await startedOrKilled(p, /serving node (\S+) listening on (\S+)/);
  const [, nodeId, address] = /serving node (\S+) listening on (\S+)/.exec(line)!;
  return { ...p, address: address!, nodeId: nodeId!, dir };
}

/** The fake speed engine (test/support/fake-speed-engine.ts) as compiled to dist/, for `laminate speed` processes. */
export const FAKE_SPEED_ENGINE = join(ROOT, 'dist', 'test', 'support', 'fake-speed-engine.js');

/** For startSpeedProc's `engine`: the real engine (an empty LAMINATE_SPEED_ENGINE loads the default). */
export const REAL_SPEED_ENGINE = '';

/**
 * A speed process (`laminate speed`) on a free port, its folder `<dataDir>/<name>`, once it listens.
 * `engine`: the module of its engine (default: the fake one; REAL_SPEED_ENGINE for the engine on main).
 */
export async function startSpeedProc(
  master: string, dataDir: string, name: string,
  o: { heartbeatIntervalMs?: number; engine?: string; checkpoints?: string; args?: string[]; env?: Record<string, string> } = {},
): Promise<Proc & { address: string; nodeId: string; dir: string }> {
  const dir = join(dataDir, name);
  const p = startProc(['speed', '--master', master, '--port', '0', '--data', dir, '--heartbeat-interval', String(o.heartbeatIntervalMs ?? 200),
    ...(o.checkpoints ? ['--checkpoints', o.checkpoints] : []), ...(o.args ?? [])], { LAMINATE_SPEED_ENGINE: o.engine ?? FAKE_SPEED_ENGINE, ...o.env });
  const line = await startedOrKilled(p, /speed process (\S+) listening on (\S+)/);
  const [, nodeId, address] = /speed process (\S+) listening on (\S+)/.exec(line)!;
  return { ...p, address: address!, nodeId: nodeId!, dir };
}

/** Resolves once `path` exists (created by another process), or fails after timeoutMs. */
export async function waitForFile(path: string, timeoutMs = 30_000): Promise<void> {
  const watcher = watch(dirname(path));
  try {
    const seen = new Promise<void>((resolveSeen, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${path}`)), timeoutMs);
      const check = (): void => {
        if (!existsSync(path)) return;
        clearTimeout(t);
        resolveSeen();
      };
      watcher.on('change', check);
      watcher.on('error', reject);
      // Watching first, then looking, so a file made in between is not missed.
      check();
    });
    await seen;
  } finally {
    watcher.close();
  }
}

/** Polls the job until `pred` holds for its status (with tasks), or fails after timeoutMs. */
export async function waitForStatus(client: JobClient, jobId: string, pred: (s: JobStatus) => boolean, timeoutMs = 30_000): Promise<JobStatus> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await client.status(jobId);
    if (pred(s)) return s;
    if (Date.now() > until) throw new Error(`timed out waiting on ${jobId}: ${s.state} ${JSON.stringify(s.maps)} ${JSON.stringify(s.reduces)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every attempt of a job's status, flattened. */
export function attemptsOf(s: JobStatus): Array<JobStatus['tasks'][number]['attempts'][number] & { kind: string; taskId: string }> {
  return s.tasks.flatMap((t) => t.attempts.map((a) => ({ ...a, kind: t.kind, taskId: t.taskId })));
}

export { JobClient };

/** A port that was free a moment ago, for a master that must come back on the same address. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}
