/**
 * The master's journal: an append-only file of what must survive a master
 * restart (worker ids handed out, jobs submitted, reduce tasks committed,
 * jobs finished), one JSON object a line, each fsync'd before the master
 * tells anyone of the event (a client its job id, a waiter its job's end).
 * A task commit is journaled right after its rename: a crash in between
 * only runs the task again, whose commit replaces the file.
 * A restarted master reads it back and resumes its unfinished jobs, as
 * Hadoop's MapReduce application master recovers from its job history.
 */
import { open, readFile } from 'node:fs/promises';
import type { Logger } from '../common/logger.js';
import type { JobStatus } from '../protocol/messages.js';
import type { InputSplit } from '../storage/input-split.js';
import type { ResolvedJobSpec } from './job-spec.js';

export type JournalEntry =
  | { readonly type: 'worker'; readonly workerId: string }
  | { readonly type: 'submit'; readonly jobId: string; readonly spec: ResolvedJobSpec; readonly bundleHash: string; readonly splits: readonly InputSplit[]; readonly submitTime: number }
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
