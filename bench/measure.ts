/**
 * Measuring processes: wall time, CPU seconds (user + system) and peak
 * resident memory.
 *
 * - A command run to completion is wrapped in GNU `/usr/bin/time` (or, where
 *   that is missing, a python3 wrapper around wait4), whose figures include
 *   every process the command waited for (a shell pipeline's stages). Peak
 *   memory is then the largest single process's peak RSS.
 * - Long-running processes (a Laminate master and its workers) are read from
 *   /proc: utime + stime of every thread in /proc/PID/stat, and VmHWM (peak
 *   RSS) in /proc/PID/status, reset before a run through /proc/PID/clear_refs.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Usage {
  wallS: number;
  cpuS: number;
  peakMb: number;
  /**
   * Noise: CPU cores kept busy by other processes during the run, on average
   * (machine-wide busy time from /proc/stat minus the run's own CPU, over wall).
   */
  otherCores: number;
}

export interface CommandOptions {
  /** Standard output goes to this file (else it is discarded). */
  readonly stdoutFile?: string;
  readonly env?: Record<string, string>;
  readonly cwd?: string;
}

const GNU_TIME = '/usr/bin/time';

/** Runs argv to completion and measures it; rejects on a non-zero exit. */
export async function measureCommand(argv: readonly string[], o: CommandOptions = {}): Promise<Usage> {
  const report = join(tmpdir(), `laminate-bench-usage-${process.pid}-${Date.now()}.txt`);
  const wrapped = existsSync(GNU_TIME)
    ? [GNU_TIME, '-f', '%e %U %S %M', '-o', report, ...argv]
    : ['python3', '-c', PY_WRAPPER, report, ...argv];
  const out = o.stdoutFile ? openSync(o.stdoutFile, 'w') : 'ignore';
  let stderr = '';
  const busy0 = machineBusySeconds();
  const started = performance.now();
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(wrapped[0]!, wrapped.slice(1), {
        stdio: ['ignore', out, 'pipe'], env: { ...process.env, ...o.env }, ...(o.cwd ? { cwd: o.cwd } : {}),
      });
      child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
      child.on('error', reject);
      child.on('close', (c) => resolve(c));
    });
    const wallS = (performance.now() - started) / 1000;
    const busy = machineBusySeconds() - busy0;
    if (code !== 0) throw new Error(`${argv.join(' ')} exited with ${code}: ${stderr}`);
    const line = readFileSync(report, 'utf8').trim().split('\n').pop() ?? '';
    const [, user, sys, maxKb] = line.split(/\s+/).map(Number);
    if (user === undefined || sys === undefined || maxKb === undefined || [user, sys, maxKb].some(Number.isNaN)) {
      throw new Error(`could not read the usage of ${argv.join(' ')}: '${line}'`);
    }
    return { wallS, cpuS: user + sys, peakMb: maxKb / 1024, otherCores: otherCores(busy, user + sys, wallS) };
  } finally {
    if (typeof out === 'number') closeSync(out);
    rmSync(report, { force: true });
  }
}

/** The python3 fallback: runs argv, writes "wall user sys maxrss_kb" like GNU time's format above. */
const PY_WRAPPER = `
import os, sys, time
start = time.time()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
with open(sys.argv[1], 'w') as f:
    f.write('%.2f %.2f %.2f %d\\n' % (time.time() - start, ru.ru_utime, ru.ru_stime, ru.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
`;

const CLK_TCK = 100;

/** CPU seconds the whole machine has spent busy since boot (all cores; /proc/stat). */
export function machineBusySeconds(): number {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
    return (user + nice + system + irq + softirq + steal) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Cores busy with other work on average, given the machine's busy seconds and the run's own CPU seconds. */
export function otherCores(machineBusyS: number, ownCpuS: number, wallS: number): number {
  return wallS > 0 ? Math.max(0, machineBusyS - ownCpuS) / wallS : 0;
}

/**
 * CPU seconds of a live process: its threads' user + system time, plus that
 * of the children it has waited for.
 */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds (user + system) of each live thread of a process, by thread id:
 * taken before and after a phase, the difference says which thread spent
 * what (a worker's main thread, its container thread, V8's helper threads).
 */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(t), (Number(f[11]) + Number(f[12])) / CLK_TCK);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/**
 * A phase's CPU of one process split three ways, from threadCpuSeconds before
 * and after: its main thread, its busiest other thread (a worker's container,
 * the one running the tasks), and all the rest (V8's GC and compiler helpers,
 * libuv's pool), plus the threads that ended within the phase as far as the
 * process total shows them; and every live thread but the main one, busiest
 * first. Seconds.
 */
export function threadSplit(pid: number, before: Map<number, number>, after: Map<number, number>, totalS: number): { main: number; busiest: number; rest: number; others: number[] } {
  let main = 0;
  const others: number[] = [];
  for (const [tid, s] of after) {
    const d = s - (before.get(tid) ?? 0);
    if (tid === pid) main = d;
    else others.push(d);
  }
  others.sort((a, b) => b - a);
  const busiest = others[0] ?? 0;
  return { main, busiest, rest: Math.max(0, totalS - main - busiest), others };
}

/**
 * CPU seconds of a live process's own threads (user + system), without the
 * children it has waited for: what it spent itself, for a phase of a
 * long-lived process whose children come and go (function containers).
 */
export function ownCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** The live descendants of a process (children found through /proc/PID/task/TID/children). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number): void => {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let kids = '';
      try {
        kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const k of kids.trim().split(/\s+/).filter(Boolean).map(Number)) {
        out.push(k);
        visit(k);
      }
    }
  };
  visit(pid);
  return out;
}

/** CPU seconds of a process and every live descendant. */
export function treeCpuSeconds(pid: number, exclude: ReadonlySet<number> = new Set()): number {
  let sum = processCpuSeconds(pid);
  for (const d of descendants(pid)) if (!exclude.has(d)) sum += processCpuSeconds(d);
  return sum;
}

/** Peak resident memory of a live process so far (VmHWM), in MB; 0 when unreadable. */
export function processPeakMb(pid: number): number {
  return statusKb(pid, 'VmHWM') / 1024;
}

/** Current resident memory (VmRSS), in MB. */
export function processRssMb(pid: number): number {
  return statusKb(pid, 'VmRSS') / 1024;
}

function statusKb(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resets a process's peak RSS to its current RSS (Linux clear_refs 5); false when not allowed. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Samples the RSS of some processes every intervalMs; stop() returns each one's largest sample and the largest sum. */
export function sampleRss(pids: readonly number[], intervalMs = 100): { stop(): { perPid: number[]; sumMb: number } } {
  const perPid = pids.map(() => 0);
  let sumMb = 0;
  const tick = (): void => {
    let sum = 0;
    pids.forEach((p, i) => {
      const r = processRssMb(p);
      sum += r;
      if (r > perPid[i]!) perPid[i] = r;
    });
    if (sum > sumMb) sumMb = sum;
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return { perPid, sumMb };
    },
  };
}
