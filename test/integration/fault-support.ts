/**
 * Helpers for the fault-injection tests: seeded input files, teardown of
 * everything a test started, the CLI run as a child process, and questions
 * about attempts in a job's status.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { JobStatus } from '../../src/common/job-status.js';
import { CLI, ROOT } from './harness.js';
import { byKey, readOutput, runSequential } from './reference.js';
import { seededRandom } from '../support/seeded-random.js';

export type Attempt = JobStatus['tasks'][number]['attempts'][number];

const seeded = seededRandom;

export interface CorpusFile {
  readonly name: string;
  readonly lines: number;
}

/**
 * Writes text files of whitespace-separated words drawn from a vocabulary of
 * `vocabulary` words (a few with non-ASCII letters, so key order is byte
 * order), `wordsPerLine` words a line. Returns the folder.
 */
export async function writeCorpus(dir: string, files: readonly CorpusFile[], o: { seed: number; vocabulary?: number; wordsPerLine?: number }): Promise<string> {
  const rand = seeded(o.seed);
  const vocabulary = o.vocabulary ?? 200;
  const words = Array.from({ length: vocabulary }, (_, i) => (i % 17 === 0 ? `wört${i}` : `w${String(i).padStart(3, '0')}`));
  await mkdir(dir, { recursive: true });
  for (const f of files) {
    const lines: string[] = [];
    for (let l = 0; l < f.lines; l++) {
      const n = o.wordsPerLine ?? 8;
      lines.push(Array.from({ length: n }, () => words[Math.floor(rand() * vocabulary)]!).join(' '));
    }
    await writeFile(join(dir, f.name), `${lines.join('\n')}\n`);
  }
  return dir;
}

/** Runs teardown steps in reverse order of registration; a failing step does not stop the others. */
export class Teardown {
  private readonly steps: Array<() => unknown> = [];

  add(step: () => unknown): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'teardown failed');
  }
}

/** Runs `laminate ARGS` to its end; never rejects on a non-zero exit. */
export function runCli(args: string[], timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, timeout: timeoutMs, env: { ...process.env, LAMINATE_LOG_LEVEL: 'warn' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      });
  });
}

/** The attempts of a job's tasks of one kind, each with its task id. */
export function attempts(s: JobStatus, kind?: 'map' | 'reduce'): Array<Attempt & { taskId: string; kind: string }> {
  return s.tasks.filter((t) => kind === undefined || t.kind === kind)
    .flatMap((t) => t.attempts.map((a) => ({ ...a, taskId: t.taskId, kind: t.kind })));
}

export function task(s: JobStatus, taskId: string): JobStatus['tasks'][number] {
  const t = s.tasks.find((x) => x.taskId === taskId);
  if (!t) throw new Error(`no task ${taskId} in ${s.jobId}`);
  return t;
}

/** A running attempt of `kind` on `workerId`, if any. */
export function runningOn(s: JobStatus, workerId: string, kind: 'map' | 'reduce'): (Attempt & { taskId: string }) | undefined {
  return attempts(s, kind).find((a) => a.workerId === workerId && a.state === 'RUNNING');
}

/** Pairs of attempts on different workers whose [start, finish] intervals overlap. */
export function overlappingPairs(list: readonly Attempt[]): Array<[Attempt, Attempt]> {
  const done = list.filter((a) => a.finishMs > 0);
  const out: Array<[Attempt, Attempt]> = [];
  for (let i = 0; i < done.length; i++) {
    for (let j = i + 1; j < done.length; j++) {
      const a = done[i]!;
      const b = done[j]!;
      if (a.workerId !== b.workerId && a.startMs < b.finishMs && b.startMs < a.finishMs) out.push([a, b]);
    }
  }
  return out;
}

export function counter(s: JobStatus, name: string): number | undefined {
  return s.counters.find((c) => c.name === name)?.value;
}

/** A regular expression matching `s` literally. */
export function literal(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The committed output folder holds exactly `reducers` part files and
 * _SUCCESS (no leftovers of failed or killed attempts), and its lines are
 * those of a sequential run of the same job over the same input.
 */
export async function expectSameAsSequential(job: string, input: string, out: string, reducers: number): Promise<void> {
  const parts = Array.from({ length: reducers }, (_, i) => `part-${String(i).padStart(5, '0')}`);
  expect((await readdir(out)).sort()).toEqual([...parts, '_SUCCESS'].sort());
  const { lines } = await readOutput(out);
  expect([...lines].sort(byKey)).toEqual(await runSequential(job, [input]));
}
