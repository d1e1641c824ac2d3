/**
 * What one view should serve, read from the view store: its current
 * version first, then the `keep` previous ones, each with its cut. Both
 * the serving assignment (view-service.ts) and the speed assignment
 * (speed-service.ts) are made from it, so they never disagree.
 */
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import type { ServedVersion } from '../common/view-shapes.js';
import { listVersions, readCurrent, readManifest, versionDir } from '../view/view-version-dir.js';

export interface ServedVersions {
  readonly current: number;
  /** Current first, then older kept ones, newest first; a version whose manifest cannot be read has an empty cut. */
  readonly versions: readonly ServedVersion[];
}

/** Where the view and speed services get a view's served versions; one per master, shared by both. */
export interface ServedVersionsSource {
  /** The versions of `view` to serve now; undefined before any is published. @throws when CURRENT cannot be read */
  get(view: string, keep: number): Promise<ServedVersions | undefined>;
  /**
   * Called by the view service after each change it makes to `view`'s
   * folder (a publish, a rollback, a version removed): the next get reads
   * the store again. Safe to repeat; cheap.
   */
  changed(view: string): void;
}

/**
 * The versions of `view` to serve now; undefined before any is published.
 * Reads CURRENT, the folder list and the manifests (small files) on each
 * call. Throws when CURRENT cannot be read.
 */
export async function servedVersions(root: string, view: string, keep: number, log: Logger): Promise<ServedVersions | undefined> {
  const current = await readCurrent(root, view);
  return current === undefined ? undefined : versionsFrom(root, view, current, keep, log);
}

/** The served versions given CURRENT's `current`: the folder list and the manifests. */
async function versionsFrom(root: string, view: string, current: number, keep: number, log: Logger): Promise<ServedVersions> {
  const older = (await listVersions(root, view)).filter((v) => v < current);
  const versions: ServedVersion[] = [];
  for (const v of [current, ...older.slice(Math.max(0, older.length - keep)).reverse()]) {
    // A version whose manifest cannot be read now is still listed (cut unknown): a node that
    // holds a verified copy keeps serving it, one that does not refuses to load it and says so.
    const m = await readManifest(root, view, v).catch((err: unknown) => {
      log.warn({ view, version: v, err }, 'a served version\'s manifest cannot be read');
      return undefined;
    });
    versions.push({ version: v, cut: m?.cut ?? [], dir: versionDir(root, view, v) });
  }
  return { current, versions };
}

/** Reads the store on every call: for tests and tools that change the store behind the services' back. */
export function uncachedServedVersions(root: string, log: Logger): ServedVersionsSource {
  return { get: (view, keep) => servedVersions(root, view, keep, log), changed: () => {} };
}

/** How long an answer is reused when nothing the master did changed the view; bounds how late a change made by hand is seen. */
export const SERVED_VERSIONS_TTL_MS = 10_000;

interface CachedAnswer {
  readonly keep: number;
  /** The CURRENT it was read under. */
  readonly current: number;
  readonly at: number;
  readonly answer: Promise<ServedVersions>;
}

/**
 * The master's source: every serving and speed process heartbeats each
 * second, and each heartbeat asks for every view. Read from the store each
 * time, that is a CURRENT read, a listing of the view's whole folder and
 * keep+1 manifest reads per view per process per second: on S3, requests
 * paid for and tens of milliseconds each. CURRENT is still read each time
 * (one small read: a version published, by the master or by hand, is seen
 * at once); the rest is reused while CURRENT names the same version, until
 * the view service says it changed the view (a removal under the same
 * CURRENT), or for at most `ttlMs` (a version removed by hand). Concurrent
 * heartbeats share one read of the rest. An answer with a manifest that
 * could not be read, or a failed read, is not kept: the next heartbeat
 * tries again.
 */
export class ServedVersionsCache implements ServedVersionsSource {
  private readonly answers = new Map<string, CachedAnswer>();

  constructor(
    private readonly root: string,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly ttlMs = SERVED_VERSIONS_TTL_MS,
  ) {}

  async get(view: string, keep: number): Promise<ServedVersions | undefined> {
    const current = await readCurrent(this.root, view);
    if (current === undefined) return undefined;
    const now = this.clock.now();
    const had = this.answers.get(view);
    if (had !== undefined && had.keep === keep && had.current === current && now - had.at < this.ttlMs) return had.answer;
    const entry: CachedAnswer = { keep, current, at: now, answer: versionsFrom(this.root, view, current, keep, this.log) };
    this.answers.set(view, entry);
    const forget = (): void => {
      if (this.answers.get(view) === entry) this.answers.delete(view);
    };
    entry.answer.then((a) => {
      if (a.versions.some((v) => v.cut.length === 0)) forget();
    }, forget);
    return entry.answer;
  }

  changed(view: string): void {
    this.answers.delete(view);
  }
}
