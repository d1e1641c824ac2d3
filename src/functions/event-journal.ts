/**
 * The durable queue of asynchronous invocations (`invoke --async`): an event
 * is appended here, fsync'd, before its id is given to the caller, and
 * marked done once it has settled (succeeded, dead-lettered, or its function
 * deleted). A restarted master delivers again every event not marked done,
 * with the same event id (Lambda's internal event queue keeps async events
 * the same way). One JSON object a line; rewritten without the settled
 * events once they are most of the file.
 */
import { open, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../storage/atomic-file.js';
import type { InvocationSource } from '../common/function-shapes.js';

export interface JournaledEvent {
  readonly eventId: string;
  readonly function: string;
  readonly event: unknown;
  readonly source: InvocationSource;
  readonly at: number;
}

type Line = { readonly type: 'event'; readonly e: JournaledEvent } | { readonly type: 'done'; readonly eventId: string };

export class EventJournal {
  private tail: Promise<void> = Promise.resolve();
  private readonly pending = new Map<string, JournaledEvent>();
  private doneLines = 0;

  private constructor(private readonly path: string) {}

  /** Reads the journal (an empty one when missing); a last line cut short by a crash is dropped. Called once at start. */
  static async open(path: string): Promise<EventJournal> {
    const j = new EventJournal(path);
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let l: Line;
      try {
        l = JSON.parse(line) as Line;
      } catch {
        continue;
      }
      if (l.type === 'event') j.pending.set(l.e.eventId, l.e);
      else {
        j.pending.delete(l.eventId);
        j.doneLines++;
      }
    }
    return j;
  }

  /** The events not yet settled, oldest first. */
  unsettled(): JournaledEvent[] {
    return [...this.pending.values()];
  }

  /** Appends an event; resolves once it is on disk. */
  add(e: JournaledEvent): Promise<void> {
    this.pending.set(e.eventId, e);
    return this.write({ type: 'event', e });
  }

  /** Marks an event settled; a repeat or an unknown id writes nothing. */
  async done(eventId: string): Promise<void> {
    if (!this.pending.delete(eventId)) return;
    this.doneLines++;
    await this.write({ type: 'done', eventId });
    if (this.doneLines > 1_000 && this.doneLines > 2 * this.pending.size) await this.compact();
  }

  private write(line: Line): Promise<void> {
    const p = this.tail.then(async () => {
      const fh = await open(this.path, 'a');
      try {
        await fh.write(`${JSON.stringify(line)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
    this.tail = p.catch(() => {});
    return p;
  }

  private compact(): Promise<void> {
    const p = this.tail.then(async () => {
      // Temporary file, fsync, rename, fsync of the folder: a crash leaves the old journal or the new one.
      await writeFileAtomic(this.path, [...this.pending.values()].map((e) => `${JSON.stringify({ type: 'event', e })}\n`).join(''));
      this.doneLines = 0;
    });
    this.tail = p.catch(() => {});
    return p;
  }
}
