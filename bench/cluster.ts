/**
 * A Laminate cluster of separate processes for a benchmark: one master and
 * some workers, each running the compiled CLI as an operator would, with
 * their logs (default level, info) in files under the run's folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'bin', 'laminate.cjs');

export interface ClusterOptions {
  readonly dir: string;
  readonly workers: number;
  readonly slots: number;
  readonly workerMemoryMb: number;
  /** When set, every process runs with --cpu-prof and writes its profiles to profileDir/ROLE[-N]. */
  readonly profileDir?: string | undefined;
  /** Node.js options for the master's process (V8 heap flags, say), before the CLI. Default none. */
  readonly masterNodeArgs?: readonly string[];
}

export interface ClusterProcess {
  readonly role: 'master' | 'worker';
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
}

export class BenchCluster {
  private constructor(
    readonly address: string, readonly master: ClusterProcess, readonly workers: ClusterProcess[], readonly options: ClusterOptions,
    /** The master's HTTP port (host:port), picked at start. */
    readonly httpAddress: string,
  ) {}

  get processes(): ClusterProcess[] {
    return [this.master, ...this.workers];
  }

  static async start(o: ClusterOptions): Promise<BenchCluster> {
    mkdirSync(o.dir, { recursive: true });
    const prof = (name: string): string[] => (o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(o.profileDir, name)}`] : []);
    const master = launch('master', [...prof('master'), ...(o.masterNodeArgs ?? []), CLI, 'master', '--port', '0', '--data', join(o.dir, 'master')], join(o.dir, 'master.log'), true);
    const started: ClusterProcess[] = [master];
    try {
      const [address, httpAddress] = await new Promise<[string, string]>((resolveAddr, reject) => {
        let out = '';
        const t = setTimeout(() => reject(new Error(`the master did not start: ${tail(master.logFile)}`)), 20_000);
        master.proc.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /master listening on (\S+)/.exec(out);
          const h = /master http on (\S+)/.exec(out);
          if (m && h) { clearTimeout(t); resolveAddr([m[1]!, h[1]!]); }
        });
        master.proc.once('exit', (c) => { clearTimeout(t); reject(new Error(`the master exited (${c}): ${tail(master.logFile)}`)); });
      });
      const workers: ClusterProcess[] = [];
      for (let i = 0; i < o.workers; i++) {
        const w = launch('worker', [...prof(`worker-${i + 1}`), CLI, 'worker', '--master', address, '--slots', String(o.slots), '--memory', String(o.workerMemoryMb),
          '--data', join(o.dir, `worker-${i + 1}`)], join(o.dir, `worker-${i + 1}.log`), false);
        workers.push(w);
        started.push(w);
      }
      await Promise.all(workers.map((w) => waitForLog(w, /"msg":"registered"/, 20_000, 'register')));
      // Measured on a cluster as it is a few seconds after its start: every worker's blank containers (one per
      // slot) started and warmed up, not warming up on the cores the measured job shares (src/worker/container-warm-up.ts).
      await Promise.all(workers.map((w) => waitForLog(w, /"msg":"container warm-up (ended|failed)/, 30_000, 'warm up its containers', o.slots)));
      return new BenchCluster(address, master, workers, o, httpAddress);
    } catch (err) {
      for (const p of started) p.proc.kill('SIGKILL');
      throw err;
    }
  }

  /** Stops every process (SIGTERM, then SIGKILL after 5 s). */
  async stop(): Promise<void> {
    await stopAll(this.processes);
  }

  /** Stops the workers only (and with them their containers), leaving the master serving its clients. */
  async stopWorkers(): Promise<void> {
    await stopAll(this.processes.filter((p) => p.role === 'worker'));
  }
}

/** SIGTERM to each process, then SIGKILL to any still running 5 s later; resolves when all have exited. */
async function stopAll(processes: readonly ClusterProcess[]): Promise<void> {
  await Promise.all(processes.map(async (p) => {
    if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.proc.once('exit', () => r()));
    p.proc.kill('SIGTERM');
    const t = setTimeout(() => p.proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }));
}

function launch(role: 'master' | 'worker', args: string[], logFile: string, pipeStdout: boolean): ClusterProcess {
  const log = openSync(logFile, 'a');
  // The default log level, whatever the caller's environment says: start-up is detected from the logs.
  const env = { ...process.env, LAMINATE_LOG_LEVEL: 'info' };
  const proc = spawn(process.execPath, args, { stdio: ['ignore', pipeStdout ? 'pipe' : log, log], env });
  closeSync(log);
  if (proc.pid === undefined) throw new Error(`could not start laminate ${role}`);
  return { role, proc, pid: proc.pid, logFile };
}

/** Waits until `re` matches `count` times in the process's log. */
async function waitForLog(p: ClusterProcess, re: RegExp, timeoutMs: number, what: string, count = 1): Promise<void> {
  const until = Date.now() + timeoutMs;
  const all = new RegExp(re.source, 'g');
  for (;;) {
    if ((readFileSync(p.logFile, 'utf8').match(all) ?? []).length >= count) return;
    if (p.proc.exitCode !== null) throw new Error(`laminate ${p.role} exited (${p.proc.exitCode}): ${tail(p.logFile)}`);
    if (Date.now() > until) throw new Error(`laminate ${p.role} did not ${what}: ${tail(p.logFile)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-2000);
  } catch {
    return '';
  }
}
