/**
 * The streaming benchmark's processes beyond the master and workers
 * (bench/cluster.ts): a serving node, a speed process and the appender,
 * each a separate `node` process with its log in a file, started and
 * awaited on a line it prints.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { CLI } from '../cluster.js';

export interface StartedProcess {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  /** Every line the process printed on stdout so far. */
  readonly lines: string[];
  /** Resolves with the exit code once it exits. */
  readonly exited: Promise<number | null>;
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-2000);
  } catch {
    return '';
  }
}

/**
 * Starts `node ARGS` (stdout piped, stderr to `logFile`) and resolves once a
 * stdout line matches `ready`, with the match. Rejects, killing it, if it
 * exits first or takes longer than `timeoutMs`, with the tail of its log.
 */
export function startProcess(name: string, args: readonly string[], logFile: string, ready: RegExp, timeoutMs = 60_000): Promise<{ p: StartedProcess; match: RegExpExecArray }> {
  const log = openSync(logFile, 'a');
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', log], env: { ...process.env, LAMINATE_LOG_LEVEL: 'info' } });
  closeSync(log);
  if (proc.pid === undefined) throw new Error(`could not start ${name}`);
  const lines: string[] = [];
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const p: StartedProcess = { name, proc, pid: proc.pid, logFile, lines, exited };
  return new Promise((resolve, reject) => {
    let partial = '';
    let done = false;
    const t = setTimeout(() => {
      if (done) return;
      done = true;
      proc.kill('SIGKILL');
      reject(new Error(`${name} did not print ${ready} within ${timeoutMs} ms: ${tail(logFile)}`));
    }, timeoutMs);
    proc.stdout!.on('data', (d: Buffer) => {
      partial += d.toString();
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        const m = ready.exec(line);
        if (m && !done) {
          done = true;
          clearTimeout(t);
          resolve({ p, match: m });
        }
      }
    });
    void exited.then((code) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      reject(new Error(`${name} exited (${code}) before printing ${ready}: ${tail(logFile)}`));
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
export async function stopProcess(p: StartedProcess, graceMs = 5000): Promise<void> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  p.proc.kill('SIGTERM');
  const t = setTimeout(() => p.proc.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(t);
}

/**
 * Whether this build's CLI has the `laminate speed` command (issue 9's speed
 * process): `laminate speed --help` exits 0 only if it does.
 */
export function speedCommandAvailable(): Promise<{ available: boolean; detail: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'speed', '--help'], { timeout: 30_000 }, (err, stdout, stderr) => {
      // Without the command, commander prints the top-level help instead.
      if (err === null && /^Usage: laminate speed/m.test(stdout)) resolve({ available: true, detail: 'laminate speed --help describes the command' });
      else resolve({ available: false, detail: `this build's CLI (${CLI}) has no 'speed' command: 'laminate speed --help' printed ${JSON.stringify((stderr || stdout || String(err)).trim().split('\n')[0])}` });
    });
  });
}
