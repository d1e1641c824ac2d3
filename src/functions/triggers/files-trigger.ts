/**
 * The `files:DIR` trigger, the local stand-in for an S3 bucket's
 * object-created and object-removed notifications: one event
 * `{ type: 'created' | 'removed', path, size }` per change of the folder's
 * files (top level only; sub-folders and other non-files are not watched).
 *
 * How: the folder is listed every pollMs (fs.watch loses events on some file
 * systems and says nothing of what happened while the master was down; a
 * listing compared with a saved snapshot does). The trigger keeps, in its
 * state file, the snapshot the events so far describe (`known`) and an outbox
 * of events found but not yet settled. Each poll's changes go into the outbox
 * and the snapshot in one atomic save, before any is delivered; each event
 * leaves the outbox once its delivery has settled. So across a restart none
 * is lost, and none is repeated except the one in flight at the crash, which
 * is delivered again with the same event id.
 *
 * - A file is created once two listings in a row saw it with the same size,
 *   modification time and inode: a file still being written is not reported
 *   until it has stayed unchanged for one poll interval. A file rewritten or
 *   replaced is reported created again once stable (as S3 reports an
 *   overwrite); one created and removed between two polls is never seen.
 * - Files already in the folder when the function is deployed are not
 *   events (as a bucket notification set up today says nothing of old
 *   objects).
 * - Events are delivered one at a time, in the order found.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { sleep, unlessAborted, type Trigger, type TriggerDeps } from './trigger.js';

/** How often the folder is listed when the deployment does not say. */
export const DEFAULT_FILES_POLL_MS = 1000;

/** The event, as FileEvent in src/api/function.ts says (not imported: functions/ does not depend on api/). */
interface FileEvent {
  readonly type: 'created' | 'removed';
  readonly path: string;
  readonly size: number;
}

interface FileStamp {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

interface FilesTriggerState {
  readonly dir: string;
  /** When this state began (ms): part of event ids, so that a function deleted and deployed again never reuses one. */
  readonly epoch: number;
  /** Sequence number of the next event found. */
  seq: number;
  /** The folder as the events found so far describe it. */
  known: Record<string, FileStamp>;
  /** Found, not yet settled, in order. */
  pending: { readonly id: string; readonly event: FileEvent }[];
}

const same = (a: FileStamp, b: FileStamp): boolean => a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;

export class FilesTrigger implements Trigger {
  private readonly abort = new AbortController();
  private readonly dir: string;
  private state: FilesTriggerState | undefined;
  /** The previous listing (not saved: after a restart, a file must be seen unchanged twice again). */
  private seen = new Map<string, FileStamp>();
  private loop: Promise<void> | undefined;
  private polling: Promise<void> = Promise.resolve();
  private missingLogged = false;
  private readonly pollMs: number;

  constructor(private readonly deps: TriggerDeps, options: { readonly dir: string; readonly pollMs?: number }) {
    this.dir = resolve(options.dir);
    this.pollMs = options.pollMs ?? DEFAULT_FILES_POLL_MS;
  }

  async start(): Promise<void> {
    const saved = await this.deps.state.load() as FilesTriggerState | undefined;
    if (saved?.dir === this.dir) {
      this.state = saved;
      this.deps.log.info({ dir: this.dir, files: Object.keys(saved.known).length, pending: saved.pending.length }, 'files trigger resumes from its snapshot');
    } else {
      const now = await this.list();
      this.seen = now;
      this.state = { dir: this.dir, epoch: this.deps.clock.now(), seq: 0, known: Object.fromEntries(now), pending: [] };
      await this.deps.state.save(this.state);
      this.deps.log.info({ dir: this.dir, files: now.size }, 'files trigger starts: the files there now are not events');
    }
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await this.polling;
  }

  /** The folder's regular files now; an absent folder is empty. */
  private async list(): Promise<Map<string, FileStamp>> {
    const out = new Map<string, FileStamp>();
    let names: string[];
    try {
      names = await readdir(this.dir);
      this.missingLogged = false;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (!this.missingLogged) this.deps.log.warn({ dir: this.dir }, 'watched folder does not exist: as empty until it does');
      this.missingLogged = true;
      return out;
    }
    for (const name of names.sort()) {
      try {
        const s = await lstat(join(this.dir, name));
        if (s.isFile()) out.set(name, { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino });
      } catch (err) {
        // Removed between the listing and the stat: absent.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return out;
  }

  /** Compares a listing with the snapshot: the events it makes, in name order (removals first). */
  private changes(now: Map<string, FileStamp>): FileEvent[] {
    const state = this.state!;
    const events: FileEvent[] = [];
    for (const [name, stamp] of Object.entries(state.known)) {
      if (!now.has(name)) {
        events.push({ type: 'removed', path: join(this.dir, name), size: stamp.size });
        delete state.known[name];
      }
    }
    for (const [name, stamp] of now) {
      const before = state.known[name];
      const prev = this.seen.get(name);
      if ((before === undefined || !same(before, stamp)) && prev !== undefined && same(prev, stamp)) {
        events.push({ type: 'created', path: join(this.dir, name), size: stamp.size });
        state.known[name] = stamp;
      }
    }
    this.seen = now;
    return events;
  }

  /**
   * One listing, and the delivery of every event pending after it. The loop
   * calls it every pollMs; a test calls it to step the trigger one listing at
   * a time. Calls are serialised. Never rejects: a failure is logged and
   * the next listing tries again.
   */
  pollOnce(): Promise<void> {
    const p = this.polling.then(() => this.cycle());
    this.polling = p;
    return p;
  }

  private async cycle(): Promise<void> {
    const signal = this.abort.signal;
    const state = this.state!;
    if (signal.aborted) return;
    try {
      const events = this.changes(await this.list());
      if (events.length > 0) {
        for (const event of events) state.pending.push({ id: `${this.deps.functionName}:files:${state.epoch}:${state.seq++}`, event });
        await this.deps.state.save(state);
      }
      while (state.pending.length > 0 && !signal.aborted) {
        const { id, event } = state.pending[0]!;
        const outcome = await unlessAborted(this.deps.invoker.deliver(this.deps.functionName, event, { eventId: id, source: 'files' }), signal);
        if (outcome === undefined || outcome.status === 'function-deleted') return;
        if (outcome.status === 'dead-lettered') this.deps.log.warn({ eventId: id, event, attempts: outcome.attempts }, 'file event dead-lettered');
        state.pending.shift();
        await this.deps.state.save(state);
      }
    } catch (err) {
      if (signal.aborted) return;
      this.deps.log.warn({ err, dir: this.dir }, 'files trigger: listing, saving or delivery failed; trying again at the next poll');
    }
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      await this.pollOnce();
      if (!(await sleep(this.pollMs, signal))) return;
    }
  }
}
