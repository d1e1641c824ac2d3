/**
 * The master's journal: an append-only file of what must survive a master
 * restart (worker ids handed out, jobs submitted, reduce tasks committed,
 * jobs finished), one JSON object a line, each fsync'd before the master
 * tells anyone of the event (a client its job id, a waiter or a status call
 * its job's end).
 * A task commit is journaled right after its rename: a crash in between
 * only runs the task again, whose commit replaces the file.
 * A restarted master reads it back and resumes its unfinished jobs, as
 * Hadoop's MapReduce application master recovers from its job history.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { parseJobId, parseWorkerId } from '../common/ids.js';
import type { InputSplit } from '../common/input-split.js';
import type { JobStatus } from '../common/job-status.js';
import type { Logger } from '../common/logger.js';
import type { ResolvedJobSpec } from './job-spec.js';

/** A job's submission: everything needed to run it again. */
export interface SubmitEntry {
  readonly type: 'submit';
  readonly jobId: string;
  readonly spec: ResolvedJobSpec;
  readonly bundleHash: string;
  readonly splits: readonly InputSplit[];
  readonly submitTime: number;
}

/** The journal's lines: domain types only, so the file does not change with the wire. */
export type JournalEntry =
  | { type: 'worker'; readonly workerId: string }
  | SubmitEntry
  | { readonly type: 'taskCommitted'; readonly jobId: string; readonly index: number; readonly attemptId: string; readonly counters: Record<string, number> }
  | { readonly type: 'finish'; readonly jobId: string; readonly status: JobStatus };

export class JobJournal {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly path: string, private readonly log: Logger) {}

  /**
   * The entries written so far. A last line cut short by a crash is dropped;
   * an unreadable line elsewhere is skipped with a warning.
   */
  async read(): Promise<JournalEntry[]> {
    const text = await readFile(this.path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    const lines = text.split('\n');
    const entries: JournalEntry[] = [];
    lines.forEach((line, i) => {
      if (line === '') return;
      try {
        entries.push(JSON.parse(line) as JournalEntry);
      } catch {
        if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l !== '')) {
          this.log.warn({ line: i + 1, path: this.path }, 'skipping an unreadable journal line');
        }
      }
    });
    return entries;
  }

  /**
   * Drops what compactEntries says need not be kept, in turn with appends.
   * Called by the master at start and then every so many finished jobs.
   */
  compact(retain: number): Promise<void> {
    const p = this.tail.then(async () => {
      const entries = await this.read();
      const kept = compactEntries(entries, retain);
      if (kept.length < entries.length) await this.rewrite(kept);
    });
    this.tail = p.catch(() => {});
    return p;
  }

  /**
   * Replaces the journal with `entries`, atomically (a new file, fsync'd,
   * renamed over the old). Called through compact, in turn with appends.
   */
  async rewrite(entries: readonly JournalEntry[]): Promise<void> {
    const tmp = `${this.path}.compacting`;
    const fh = await open(tmp, 'w');
    try {
      await fh.write(entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
  }

  /** Appends one entry and waits until it is on disk. Appends are applied in call order. */
  append(entry: JournalEntry): Promise<void> {
    const write = async (): Promise<void> => {
      const fh = await open(this.path, 'a');
      try {
        await fh.write(`${JSON.stringify(entry)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
    };
    const p = this.tail.then(write);
    this.tail = p.catch(() => {});
    return p;
  }
}

/**
 * What a journal must keep: the highest worker id handed out, every
 * unfinished job with its committed tasks, and the `retain` most recently
 * finished jobs; older finished jobs, and entries of jobs whose submission
 * is not there, are dropped (Hadoop's job
 * history keeps a bounded number the same way).
 */
export function compactEntries(entries: readonly JournalEntry[], retain: number): JournalEntry[] {
  const submitted = new Set<string>();
  for (const e of entries) if (e.type === 'submit') submitted.add(e.jobId);
  const finishedAt = new Map<string, number>();
  for (const e of entries) if (e.type === 'finish' && submitted.has(e.jobId)) finishedAt.set(e.jobId, e.status.finishMs);
  const finished = new Set(finishedAt.keys());
  const finishedOrder = [...finished].sort((a, b) => finishedAt.get(a)! - finishedAt.get(b)! || parseJobId(a) - parseJobId(b));
  const dropped = new Set(finishedOrder.slice(0, Math.max(0, finishedOrder.length - retain)));
  let lastWorker: { type: 'worker'; workerId: string } | undefined;
  for (const e of entries) {
    if (e.type === 'worker' && (!lastWorker || parseWorkerId(e.workerId) > parseWorkerId(lastWorker.workerId))) lastWorker = e;
  }
  const kept = entries.filter((e) => {
    if (e.type === 'worker' || dropped.has(e.jobId) || !submitted.has(e.jobId)) return false;
    // A finished job needs only its submission and its final status.
    return !(e.type === 'taskCommitted' && finished.has(e.jobId));
  });
  return lastWorker ? [lastWorker, ...kept] : kept;
}
