/**
 * Reading V8 CPU profiles (`node --cpu-prof`, one .cpuprofile per thread):
 * self time per function, the usual way to see where a process's time goes.
 * `npm run bench -- NAME --profile` starts the cluster's processes with
 * --cpu-prof and prints this summary for each profile they write.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  readonly file: string;
  readonly totalMs: number;
  /** Time not idle. */
  readonly busyMs: number;
  /** Time with a module loader frame on the stack (loading code: container start-up, bundles). */
  readonly moduleLoadingMs: number;
  readonly gcMs: number;
  /** Self time by function, largest first: [label, ms]. */
  readonly top: Array<[string, number]>;
  /** Inclusive time (self and callees) of the engine's and the job's functions, largest first. */
  readonly inclusive: Array<[string, number]>;
}

/** Frames worth an inclusive figure: Laminate's own code and the job bundle. */
function isEngineOrJob(url: string): boolean {
  return url.includes('/dist/src/') || url.includes('/bundles/');
}

function label(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  if (!url) return functionName || '(anonymous)';
  const file = url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^node:/, 'node:');
  return `${functionName || '(anonymous)'} ${file.includes('/') || file.startsWith('node:') ? file : basename(file)}:${lineNumber + 1}`;
}

export function summarizeProfile(file: string, topN = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Whether a node's stack holds a module loader frame, memoized per node.
  const loading = new Map<number, boolean>();
  const isLoading = (id: number): boolean => {
    const known = loading.get(id);
    if (known !== undefined) return known;
    const url = byId.get(id)?.callFrame.url ?? '';
    const up = parent.get(id);
    const v = url.startsWith('node:internal/modules/') || (up !== undefined && isLoading(up));
    loading.set(id, v);
    return v;
  };
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let gc = 0;
  let moduleLoading = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    const node = byId.get(p.samples[i]!);
    if (!node) continue;
    const l = label(node);
    self.set(l, (self.get(l) ?? 0) + dt);
    total += dt;
    if (l === '(idle)') idle += dt;
    else if (l === '(garbage collector)') gc += dt;
    else if (isLoading(node.id)) moduleLoading += dt;
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      if (!isEngineOrJob(n.callFrame.url)) continue;
      const fl = label(n);
      if (seen.has(fl)) continue;
      seen.add(fl);
      incl.set(fl, (incl.get(fl) ?? 0) + dt);
    }
  }
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, topN);
  const inclusive = [...incl.entries()].sort((a, b) => b[1] - a[1]).slice(0, topN);
  return { file, totalMs: total, busyMs: total - idle, moduleLoadingMs: moduleLoading, gcMs: gc, top, inclusive };
}

export function formatProfile(s: ProfileSummary): string {
  const lines = [`  profile ${basename(s.file)}: ${(s.totalMs / 1000).toFixed(2)} s sampled, ${(s.busyMs / 1000).toFixed(2)} s busy`
    + ` (GC ${(s.gcMs / 1000).toFixed(2)} s, loading modules ${(s.moduleLoadingMs / 1000).toFixed(2)} s)`];
  lines.push('    self time:');
  for (const [l, ms] of s.top) lines.push(`    ${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / s.totalMs).toFixed(1).padStart(5)}%  ${l}`);
  if (s.inclusive.length > 0 && s.inclusive[0]![1] > 0.05 * s.busyMs) {
    lines.push('    inclusive time of engine and job functions:');
    for (const [l, ms] of s.inclusive) lines.push(`    ${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / s.totalMs).toFixed(1).padStart(5)}%  ${l}`);
  }
  return lines.join('\n');
}

/** Summaries of every .cpuprofile in dir (none if it does not exist). */
export function summarizeProfiles(dir: string, topN?: number): ProfileSummary[] {
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  } catch {
    return [];
  }
  return files.map((f) => summarizeProfile(join(dir, f), topN));
}
