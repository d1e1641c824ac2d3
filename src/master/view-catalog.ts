/**
 * The master's catalog of views: what was deployed (definition, source,
 * settings, bundle), every build started (version, cut, job, outcome) and
 * the history of what became current when. Kept in memory and saved as one
 * JSON file replaced atomically after each change, so a restarted master
 * finds every deployment and every build it had started.
 *
 * Published versions themselves (files, manifests, the CURRENT pointer) live
 * in the view store on disk, which stays the truth about what is current:
 * the catalog only says how the view got there.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, LaminateError } from '../common/errors.js';
import type { ViewBuildState, ViewHistoryEntry, ViewSettings } from '../common/view-shapes.js';
import { writeFileAtomic } from '../storage/atomic-file.js';

/** A deployment: the view's settings and its bundle in the master's bundle store. */
export interface ViewDeployment extends ViewSettings {
  readonly bundleHash: string;
  /** The view's event-time window size, for the serving nodes' finality; 0 or absent (catalogs before the speed layer): no window. */
  readonly windowSizeMs?: number;
}

export interface ViewBuildRecord {
  readonly view: string;
  readonly version: number;
  /** The source and file count the build started with (a redeploy during it changes neither). */
  readonly source: string;
  readonly partitions: number;
  readonly cut: readonly number[];
  /** '' until the build's job is submitted (the record is saved first, reserving the version). */
  readonly jobId: string;
  readonly state: ViewBuildState;
  /** FAILED only: why. */
  readonly error?: string;
  readonly startedAt: number;
  readonly finishedAt?: number;
  /** True when the build merged the base version with the records after its cut. */
  readonly incremental: boolean;
  /** Incremental only: the version merged with (0 otherwise). */
  readonly baseVersion: number;
  readonly definitionHash: string;
  /** The monoid's name the build ran with (recorded in its manifest). Absent in records written before it was kept. */
  readonly merge?: string;
}

export interface ViewHistoryEvent extends ViewHistoryEntry {
  readonly view: string;
}

interface CatalogFile {
  readonly format: 1;
  readonly views: ViewDeployment[];
  readonly builds: ViewBuildRecord[];
  readonly history: ViewHistoryEvent[];
}

/** Builds kept per view (the newest); older ones are forgotten. */
export const BUILDS_KEPT = 20;
/** History events kept per view. */
export const HISTORY_KEPT = 100;

export class ViewCatalog {
  private readonly views = new Map<string, ViewDeployment>();
  private builds: ViewBuildRecord[] = [];
  private history: ViewHistoryEvent[] = [];
  /** Saves run one at a time, in order; each writes the state as it is when it runs. */
  private saving: Promise<void> = Promise.resolve();

  private constructor(private readonly path: string) {}

  /** Loads the catalog under `dir` (an empty one if there is none). Called once at the master's start. */
  static async open(dir: string): Promise<ViewCatalog> {
    await mkdir(dir, { recursive: true });
    const catalog = new ViewCatalog(join(dir, 'catalog.json'));
    let text: string | undefined;
    try {
      text = await readFile(catalog.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      let file: CatalogFile;
      try {
        file = JSON.parse(text) as CatalogFile;
      } catch (err) {
        throw new LaminateError('DATA_LOSS', `The view catalog ${catalog.path} is not JSON: ${(err as Error).message}`, { cause: err });
      }
      if (file.format !== 1 || !Array.isArray(file.views) || !Array.isArray(file.builds) || !Array.isArray(file.history)) {
        throw new LaminateError('DATA_LOSS', `Expected the view catalog ${catalog.path} in format 1, got ${describe(file.format)}`);
      }
      for (const v of file.views) catalog.views.set(v.name, v);
      catalog.builds = file.builds;
      catalog.history = file.history;
    }
    return catalog;
  }

  view(name: string): ViewDeployment | undefined {
    return this.views.get(name);
  }

  /** The deployment, or NOT_FOUND naming the view. */
  require(name: string): ViewDeployment {
    const v = this.views.get(name);
    if (!v) throw new LaminateError('NOT_FOUND', `No view '${name}' (deploy it with laminate view deploy)`, { ids: { view: name } });
    return v;
  }

  list(): ViewDeployment[] {
    return [...this.views.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Records a deployment (a new view, or a new definition or settings of one). Durable when it resolves. */
  deploy(d: ViewDeployment): Promise<void> {
    this.views.set(d.name, d);
    this.note({ at: d.deployedAt, view: d.name, event: 'deployed', detail: `definition ${d.definitionHash.slice(0, 12)}` });
    return this.save();
  }

  /** Builds of a view, newest first. */
  buildsOf(view: string): ViewBuildRecord[] {
    return this.builds.filter((b) => b.view === view).reverse();
  }

  /** Builds still RUNNING (a restarted master follows their jobs again). */
  running(): ViewBuildRecord[] {
    return this.builds.filter((b) => b.state === 'RUNNING');
  }

  /** The view's recorded events, oldest first. */
  historyOf(view: string): ViewHistoryEvent[] {
    return this.history.filter((h) => h.view === view);
  }

  /** Records a started build. Durable when it resolves. */
  startBuild(b: ViewBuildRecord): Promise<void> {
    this.builds.push(b);
    const mine = this.builds.filter((x) => x.view === b.view);
    if (mine.length > BUILDS_KEPT) {
      const drop = new Set(mine.slice(0, mine.length - BUILDS_KEPT));
      this.builds = this.builds.filter((x) => !drop.has(x));
    }
    return this.save();
  }

  /** Records the job of a started build (see ViewBuildRecord.jobId). Durable when it resolves. */
  setJob(view: string, version: number, jobId: string): Promise<void> {
    const i = this.builds.findIndex((b) => b.view === view && b.version === version);
    const b = this.builds[i];
    if (!b) return Promise.resolve();
    this.builds[i] = { ...b, jobId };
    return this.save();
  }

  /**
   * Records how a build ended. Safe to call twice (a restarted master may
   * finish a build it had finished): the first end stays.
   */
  finishBuild(view: string, version: number, end: { state: 'PUBLISHED' | 'FAILED'; error?: string; at: number }): Promise<void> {
    const i = this.builds.findIndex((b) => b.view === view && b.version === version);
    const b = this.builds[i];
    if (!b || b.state !== 'RUNNING') return this.saving.catch(() => {});
    this.builds[i] = { ...b, state: end.state, finishedAt: end.at, ...(end.error === undefined ? {} : { error: end.error }) };
    this.note(end.state === 'PUBLISHED'
      ? { at: end.at, view, event: 'published', version }
      : { at: end.at, view, event: 'build failed', version, detail: end.error ?? '' });
    return this.save();
  }

  /** Records a rollback in the history (the view store moved CURRENT). */
  rolledBack(view: string, version: number, from: number, at: number): Promise<void> {
    this.note({ at, view, event: 'rolled back', version, detail: `from version ${from}` });
    return this.save();
  }

  private note(e: ViewHistoryEvent): void {
    this.history.push(e);
    const mine = this.history.filter((x) => x.view === e.view);
    if (mine.length > HISTORY_KEPT) {
      const drop = new Set(mine.slice(0, mine.length - HISTORY_KEPT));
      this.history = this.history.filter((x) => !drop.has(x));
    }
  }

  private save(): Promise<void> {
    const next = this.saving.catch(() => {}).then(() => {
      const file: CatalogFile = { format: 1, views: this.list(), builds: this.builds, history: this.history };
      return writeFileAtomic(this.path, `${JSON.stringify(file, null, 1)}\n`);
    });
    this.saving = next;
    return next;
  }
}
