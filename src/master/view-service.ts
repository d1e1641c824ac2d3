/**
 * The master's side of views: deploys into the catalog, builds as batch
 * jobs over a cut of the source dataset, publishes what they wrote as a
 * version, and tells serving nodes what to serve. The Views service's
 * handlers (src/protocol/view-rpc.ts) are this module's.
 *
 * A build, step by step (each step safe to redo after a crash, see
 * src/view/view-version-dir.ts):
 *   1. the cut is fixed (the source's end now, or the one asked for) and
 *      checked against the current version's (a cut behind it is refused);
 *   2. the version folder is prepared and the build recorded in the catalog;
 *   3. the view's bundle runs as a job over `dataset:SOURCE@CUT` whose
 *      reducers write one view file each into the version folder;
 *   4. once the job has succeeded, every file is opened and verified, the
 *      manifest is written, and CURRENT is replaced: the version is live;
 *   5. versions older than the kept ones are removed.
 * A master restarted during a build follows the build's job again (the job
 * resumes from the journal); a failed build leaves the current version
 * serving, and says why in `laminate view versions`.
 */
import type { Logger } from '../common/logger.js';
import type { Clock } from '../common/clock.js';
import { errorMessage, LaminateError } from '../common/errors.js';
import type { JobStatus } from '../common/job-status.js';
import type {
  BuildViewRequest, DeployViewRequest, ServedView, ServingHeartbeat, ServingNodeInfo, ViewBuild, ViewInfo, ViewVersionInfo, ViewVersionList,
} from '../common/view-shapes.js';
import type { LogDatasetStore } from '../dataset/log-dataset-store.js';
import { formatCut, validateCut } from '../dataset/cut.js';
import type { OutputFileSummary } from '../common/task-attempt.js';
import type { SubmitJobRequest } from '../protocol/messages.js';
import type { ViewHandlers } from '../protocol/view-rpc.js';
import { locateChecked } from '../storage/store-path.js';
import { cutIsBehind, makeManifest, validateViewName, type ViewManifest } from '../view/view-manifest.js';
import {
  listVersions, listViews, prepareVersionDir, publishVersion, readCurrent, readManifest, removeLeftovers, removeVersion, versionDir, writeManifest,
} from '../view/view-version-dir.js';
import { diffVersions } from '../view/view-diff.js';
import { verifyVersionFiles } from '../view/verify-version.js';
import type { SpeedLocation } from '../common/speed-shapes.js';
import type { BundleStore } from './bundle-store.js';
import { buildFiles } from './build-files.js';
import { servedVersions } from './served-versions.js';
import type { ServingRegistry } from './serving-registry.js';
import type { ViewBuildRecord, ViewCatalog, ViewDeployment } from './view-catalog.js';

/** View files per version when a deploy does not say. */
export const DEFAULT_VIEW_PARTITIONS = 4;
export const MAX_VIEW_PARTITIONS = 1024;
/** Previous versions kept beside the current one when a deploy does not say (the issue's K). */
export const DEFAULT_KEEP = 3;

/** What the view service needs of the master's job machinery. */
export interface ViewJobs {
  /** Submits a job as SubmitJob does; resolves with its id once journaled. */
  submit(req: SubmitJobRequest): Promise<string>;
  /** Resolves with the job's final status once it has ended (at once if it had). NOT_FOUND for a job the master forgot. */
  ended(jobId: string): Promise<JobStatus>;
  /** The job writing into `outputDir`, if the master knows one (a build whose job id was not recorded before a crash). */
  byOutput(outputDir: string): string | undefined;
  /**
   * The summary of the view file the job's reduce task `partition` committed, as its writer made it
   * (records, bytes, whole-file CRC, key range); undefined when the master has none (the task
   * committed before this master started, or its worker did not send one).
   */
  outputFile(jobId: string, partition: number): OutputFileSummary | undefined;
}

export interface ViewServiceDeps {
  readonly catalog: ViewCatalog;
  /** The view store: `<root>/<view>/v<N>/`. */
  readonly root: string;
  readonly datasets: LogDatasetStore;
  readonly bundles: BundleStore;
  readonly jobs: ViewJobs;
  readonly registry: ServingRegistry;
  readonly clock: Clock;
  readonly log: Logger;
  /** How often scheduled builds (--every) are looked at. Default 1 s. */
  readonly scheduleTickMs?: number;
  /**
   * Fault injection for crash tests: called after each durable step of a
   * publish, named `manifest:STEP` or `current:STEP` (STEP: temp-written,
   * renamed, folder-synced); the master's process wiring kills the process
   * there when LAMINATE_FAULT_KILL_AT names the step (see cli/master.ts).
   */
  readonly onPublishStep?: (step: string) => void;
  /** Where the speed side of a view is (speed-service.ts); absent: no speed layer, answers are batch only. */
  readonly speedLocations?: (view: string) => SpeedLocation[];
  /**
   * Told once a build's version is published (the view triggers of functions
   * listen here), with the version it replaced (undefined: none, or not known
   * after a restart mid-publish). Awaited before older versions are retired,
   * so that the listener can still read the one replaced; its failure is
   * logged, the build stays published.
   */
  readonly onVersionPublished?: (p: { readonly view: string; readonly version: number; readonly previous: number | undefined }) => Promise<void>;
}

export interface ViewService {
  readonly handlers: ViewHandlers;
  /** One view as listViews shows it, reading only its own manifest (the console's view page, each second). @throws LaminateError NOT_FOUND */
  view(name: string): Promise<ViewInfo>;
  /** How many views are deployed; no I/O. */
  count(): number;
  /** Removes leftovers of crashed builds and follows the builds that were running. Called once at the master's start. */
  start(): Promise<void>;
  /** No build is started or published after it; resolves once a publish under way has ended. Safe to call twice. */
  stop(): Promise<void>;
}

export function createViewService(deps: ViewServiceDeps): ViewService {
  const { catalog, root, datasets, bundles, jobs, registry, clock } = deps;
  const log = deps.log.child({ component: 'views' });
  /** Builds being followed, by view: at most one runs per view. */
  const following = new Map<string, Promise<ViewBuild>>();
  /** Publishes (or failure records) under way: stop() waits for them. */
  const writing = new Set<Promise<ViewBuild>>();
  let stopping = false;
  /** Views a build or rollback is being started on (see claim). */
  const claimed = new Set<string>();
  /** When --every last tried each view, so that a build that cannot start is retried once a period, not each tick. */
  const lastScheduled = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;

  const toBuild = (b: ViewBuildRecord): ViewBuild => ({
    view: b.view, version: b.version, cut: b.cut, jobId: b.jobId, state: b.state, error: b.error ?? '', incremental: b.incremental, baseVersion: b.baseVersion,
  });

  async function currentManifest(view: string): Promise<ViewManifest | undefined> {
    const current = await readCurrent(root, view);
    return current === undefined ? undefined : readManifest(root, view, current);
  }

  async function info(d: ViewDeployment): Promise<ViewInfo> {
    const m = await currentManifest(d.name);
    const last = catalog.buildsOf(d.name)[0];
    return {
      name: d.name, source: d.source, definitionHash: d.definitionHash, merge: d.merge, partitions: d.partitions, everyMs: d.everyMs, keep: d.keep,
      currentVersion: m?.version ?? 0, currentCut: m?.cut ?? [], deployedAt: d.deployedAt,
      lastBuildError: last?.state === 'FAILED' ? last.error ?? '' : '',
    };
  }

  async function deployView(req: DeployViewRequest): Promise<ViewInfo> {
    const name = validateViewName(req.name);
    datasets.currentCut(req.source); // NOT_FOUND for an unknown source
    const partitions = req.partitions ?? catalog.view(name)?.partitions ?? DEFAULT_VIEW_PARTITIONS;
    if (following.has(name) || claimed.has(name)) {
      throw new LaminateError('FAILED_PRECONDITION', `View '${name}' is being built: deploy again once the build has ended`);
    }
    if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > MAX_VIEW_PARTITIONS) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected --partitions to be an integer from 1 to ${MAX_VIEW_PARTITIONS}, got ${partitions}`);
    }
    const before = catalog.view(name);
    const keep = req.keep ?? before?.keep ?? DEFAULT_KEEP;
    if (!Number.isSafeInteger(keep) || keep < 0 || keep > 100) throw new LaminateError('INVALID_ARGUMENT', `Expected --keep to be an integer from 0 to 100, got ${keep}`);
    const everyMs = req.everyMs ?? before?.everyMs ?? 0;
    if (!Number.isSafeInteger(everyMs) || everyMs < 0) throw new LaminateError('INVALID_ARGUMENT', `Expected --every to be a positive duration, got ${everyMs} ms`);
    if (!/^[0-9a-f]{64}$/.test(req.definitionHash)) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected a definition hash of 64 hex digits, got '${req.definitionHash}'`);
    }
    const bundleHash = await bundles.put(req.bundle);
    const d: ViewDeployment = {
      name, source: req.source, definitionHash: req.definitionHash, merge: req.merge || 'custom', partitions, everyMs, keep, bundleHash, deployedAt: clock.now(),
      windowSizeMs: req.windowSizeMs ?? 0,
    };
    await catalog.deploy(d);
    log.info({ view: name, source: d.source, merge: d.merge, partitions, everyMs, keep, definition: d.definitionHash.slice(0, 12) }, 'view deployed');
    return info(d);
  }

  /** The manifest of a build whose job succeeded: its files as build-files.ts finds them. */
  async function manifestOf(b: ViewBuildRecord): Promise<{ manifest: ViewManifest; filesReadWhole: number }> {
    const { files, readWhole } = await buildFiles(versionDir(root, b.view, b.version), b.partitions, (p) => jobs.outputFile(b.jobId, p),
      log.child({ view: b.view, version: b.version }));
    // The merge the version was built with; a build recorded before records kept it ran with the deployment of its definition.
    const deployed = catalog.view(b.view);
    const merge = b.merge ?? (deployed?.definitionHash === b.definitionHash ? deployed.merge : undefined);
    const manifest = makeManifest({
      view: b.view, version: b.version, dataset: b.source, cut: [...b.cut], jobId: b.jobId, definitionHash: b.definitionHash,
      ...(merge === undefined ? {} : { merge }), builtAt: new Date(clock.now()).toISOString(), files,
    });
    return { manifest, filesReadWhole: readWhole };
  }

  /** Removes the versions older than the current one and the `keep` before it. */
  async function retire(view: string, keep: number): Promise<void> {
    const current = await readCurrent(root, view);
    if (current === undefined) return;
    const older = (await listVersions(root, view)).filter((v) => v < current);
    for (const v of older.slice(0, Math.max(0, older.length - keep))) {
      await removeVersion(root, view, v);
      log.info({ view, version: v }, 'old view version removed');
    }
  }

  /**
   * Waits for a build's job, then publishes its version or records its
   * failure. Resolves with the build as it ended. After stop() nothing is
   * written: a build whose job ends then stays RUNNING in the catalog, and the
   * next start follows it again (the publish is safe to repeat); a publish
   * already under way is waited for by stop().
   */
  async function follow(b: ViewBuildRecord): Promise<ViewBuild> {
    let status: JobStatus | undefined;
    let lost: unknown;
    try {
      status = await jobs.ended(b.jobId);
    } catch (err) {
      lost = err;
    }
    if (stopping) return toBuild(b);
    const ending = settle(b, status, lost);
    writing.add(ending);
    try {
      return await ending;
    } finally {
      writing.delete(ending);
    }
  }

  /** Publishes a build whose job succeeded, or records why it failed; `lost`: the job is not known any more. */
  async function settle(b: ViewBuildRecord, status: JobStatus | undefined, lost: unknown): Promise<ViewBuild> {
    const blog = log.child({ view: b.view, version: b.version, jobId: b.jobId });
    let error: string | undefined;
    let published = false;
    // What a crash during this build or its publish left (temporary files: the view's start-up
    // cleanup skipped it while the build ran) goes when the build ends, while the view is still
    // claimed by it. Never throws: a failure is logged.
    const cleanLeftovers = async (): Promise<void> => {
      const removed = await removeLeftovers(root, b.view).catch((err: unknown) => {
        blog.warn({ err }, 'could not remove leftovers');
        return [];
      });
      if (removed.length > 0) blog.info({ removed }, 'removed what a crash left');
    };
    try {
      if (status === undefined) error = `build job ${b.jobId} is not known to the master any more: ${errorMessage(lost)}`;
      if (status !== undefined && status.state !== 'SUCCEEDED') {
        error = `build job ${b.jobId} ${status.state.toLowerCase()}: ${status.message || 'no message'}`;
      } else if (status !== undefined) {
        // A master restarted after the publish finds CURRENT naming this version already: only the record is left to write.
        const before = await readCurrent(root, b.view);
        let replaced: { previous: number | undefined } | undefined;
        if (before !== b.version) {
          replaced = { previous: before };
          const { manifest, filesReadWhole } = await manifestOf(b);
          const at = deps.onPublishStep;
          await writeManifest(root, manifest, at ? { onStep: (s) => at(`manifest:${s}`) } : {});
          await publishVersion(root, b.view, b.version, at ? { onStep: (s) => at(`current:${s}`) } : {});
          blog.info({ cut: b.cut, keys: manifest.keys, bytes: manifest.bytes, filesReadWhole }, 'view version published');
        }
        published = true;
        // Before the record says PUBLISHED: whoever sees that state (a waiting
        // `view build --wait`, a test) finds the view folder as it will stay.
        await cleanLeftovers();
        await catalog.finishBuild(b.view, b.version, { state: 'PUBLISHED', at: clock.now() });
        if (replaced !== undefined && deps.onVersionPublished) {
          await deps.onVersionPublished({ view: b.view, version: b.version, previous: replaced.previous })
            .catch((err: unknown) => blog.warn({ err }, 'a listener of view publishes failed'));
        }
        const keep = catalog.view(b.view)?.keep ?? DEFAULT_KEEP;
        await retire(b.view, keep).catch((err: unknown) => blog.warn({ err }, 'could not remove old versions'));
      }
    } catch (err) {
      if (published) blog.error({ err }, 'version published, but its build could not be recorded as such');
      else error = `publishing version ${b.version} failed: ${errorMessage(err)}`;
    }
    if (error !== undefined) {
      blog.warn({ error }, 'view build failed: the current version keeps serving');
      await catalog.finishBuild(b.view, b.version, { state: 'FAILED', error, at: clock.now() });
      if ((await readCurrent(root, b.view).catch(() => undefined)) !== b.version) await removeVersion(root, b.view, b.version).catch(() => {});
    }
    if (!published) await cleanLeftovers();
    const ended = catalog.buildsOf(b.view).find((x) => x.version === b.version);
    return toBuild(ended ?? b);
  }

  /** Follows a build, holding its view's claim until it has ended. Never rejects: failures are logged. */
  function track(b: ViewBuildRecord): Promise<ViewBuild> {
    const p = follow(b)
      .catch((err: unknown) => {
        log.error({ view: b.view, version: b.version, err }, 'following a view build failed');
        return toBuild(b);
      })
      .finally(() => {
        if (following.get(b.view) === p) following.delete(b.view);
      });
    following.set(b.view, p);
    return p;
  }

  /**
   * Claims a view for a build or a rollback, synchronously (before any
   * await), so that two of them never run at once: a second one would
   * reuse the same version folder. Released by the caller.
   */
  function claim(view: string, what: string): () => void {
    if (following.has(view) || claimed.has(view)) {
      const running = catalog.running().find((b) => b.view === view);
      throw new LaminateError('FAILED_PRECONDITION', `View '${view}' is being built${running ? ` (version ${running.version}, job ${running.jobId || 'starting'})` : ' or rolled back'}: ${what} once that has ended`);
    }
    claimed.add(view);
    return () => { claimed.delete(view); };
  }

  async function buildView(req: BuildViewRequest): Promise<ViewBuild> {
    const d = catalog.require(req.name);
    const release = claim(d.name, 'build again');
    try {
      return await startBuild(d, req);
    } finally {
      release();
    }
  }

  async function startBuild(d: ViewDeployment, req: BuildViewRequest): Promise<ViewBuild> {
    const ends = datasets.currentCut(d.source);
    const cut = req.cut === undefined ? ends : validateCut(d.source, req.cut, ends);
    const current = await currentManifest(d.name);
    if (current && current.dataset === d.source && cutIsBehind(cut, current.cut)) {
      throw new LaminateError('FAILED_PRECONDITION', `Expected a cut at or after version ${current.version}'s (${formatCut(current.cut)}), got ${formatCut(cut)}: a version may not un-count records the current one counts`);
    }
    const built = Math.max(0, ...(await listVersions(root, d.name)), ...catalog.buildsOf(d.name).map((b) => b.version));
    const version = built + 1;
    // Incremental (Summingbird's and ElephantDB's way): the current version merged with a fold of
    // only the records between its cut and the new one. Only from a version of the same
    // definition, source and file count; --full, or any doubt, recomputes from scratch.
    let base = !req.full && current !== undefined && current.definitionHash === d.definitionHash && current.dataset === d.source
      && current.files.length === d.partitions ? current : undefined;
    if (base !== undefined) {
      // A damaged base would fail every incremental build until a --full one: check it first, and if
      // it fails, recompute from scratch (the damaged version stays as it is, for the operator).
      try {
        await verifyVersionFiles(versionDir(root, d.name, base.version), base);
      } catch (err) {
        log.warn({ view: d.name, version: base.version, err }, `version ${base.version} fails its check (${errorMessage(err)}): building in full instead of merging with it`);
        base = undefined;
      }
    }
    const range = base === undefined ? formatCut(cut) : `${formatCut(base.cut)}..${formatCut(cut)}`;
    const dir = await prepareVersionDir(root, d.name, version);
    // The build is recorded before its job exists, reserving its version: a master that crashes
    // in between finds the job by its output folder at restart (see start()).
    let record: ViewBuildRecord = {
      view: d.name, version, source: d.source, partitions: d.partitions, cut, jobId: '', state: 'RUNNING', startedAt: clock.now(),
      incremental: base !== undefined, baseVersion: base?.version ?? 0, definitionHash: d.definitionHash, merge: d.merge,
    };
    await catalog.startBuild(record);
    let jobId: string;
    try {
      jobId = await jobs.submit({
        name: `view ${d.name} v${version}`, bundle: await bundles.get(d.bundleHash), inputs: [`dataset:${d.source}@${range}`],
        outputDir: dir, reducers: d.partitions, format: '', splitSize: 0, speculation: true, mapMemoryMb: 0, reduceMemoryMb: 0, taskTimeoutMs: 0, splitPoints: [],
        ...(base === undefined ? {} : { mergeBase: versionDir(root, d.name, base.version) }),
      });
    } catch (err) {
      await catalog.finishBuild(d.name, version, { state: 'FAILED', error: `the build's job was refused: ${errorMessage(err)}`, at: clock.now() });
      await removeVersion(root, d.name, version).catch(() => {});
      throw err;
    }
    record = { ...record, jobId };
    await catalog.setJob(d.name, version, jobId);
    log.info({ view: d.name, version, cut, jobId, ...(base === undefined ? {} : { incrementalFrom: base.version }) }, 'view build started');
    const ended = track(record);
    return req.wait ? ended : toBuild(record);
  }

  async function viewVersions(name: string): Promise<ViewVersionList> {
    const d = catalog.require(name);
    const current = await readCurrent(root, d.name);
    const now = clock.now();
    const versions: ViewVersionInfo[] = [];
    for (const v of (await listVersions(root, d.name)).reverse()) {
      const m = await readManifest(root, d.name, v);
      versions.push({
        version: v, cut: m.cut, records: m.records, keys: m.keys, bytes: m.bytes, jobId: m.jobId, builtAt: Date.parse(m.builtAt),
        current: v === current, servedBy: registry.servedBy(d.name, v, now), definitionHash: m.definitionHash,
        refusedBy: registry.refusals(d.name, v, now).map((r) => `${r.nodeId}: ${r.reason}`),
      });
    }
    const history = catalog.historyOf(d.name).reverse().map(({ view: _view, ...e }) => e);
    return { view: d.name, versions, builds: catalog.buildsOf(d.name).map(toBuild), history };
  }

  /** Makes kept version `to` current again; the history records it, nothing is deleted. */
  async function rollbackView(name: string, to: number): Promise<ViewInfo> {
    const d = catalog.require(name);
    const release = claim(d.name, 'roll back');
    try {
      return await rollBack(d, to);
    } finally {
      release();
    }
  }

  async function rollBack(d: ViewDeployment, to: number): Promise<ViewInfo> {
    const from = await readCurrent(root, d.name);
    if (!(await listVersions(root, d.name)).includes(to)) {
      throw new LaminateError('NOT_FOUND', `View '${d.name}' has no version ${to} (kept: ${(await listVersions(root, d.name)).join(', ') || 'none'})`, { ids: { view: d.name, version: to } });
    }
    await publishVersion(root, d.name, to, { rollback: true });
    await catalog.rolledBack(d.name, to, from ?? 0, clock.now());
    log.info({ view: d.name, version: to, from }, 'view rolled back');
    return info(d);
  }

  /** The source's partition count; `fallback` (a version's cut length) when the source cannot be read. */
  function sourcePartitions(source: string, fallback: number): number {
    try {
      return datasets.currentCut(source).length;
    } catch {
      return fallback;
    }
  }

  async function servingHeartbeat(hb: ServingHeartbeat): Promise<ServedView[]> {
    registry.heard(hb, clock.now());
    const out: ServedView[] = [];
    for (const d of catalog.list()) {
      // One view's damaged CURRENT, or a version retired meanwhile, must not fail the others' heartbeat.
      try {
        const served = await servedVersions(root, d.name, d.keep, log);
        if (served === undefined) continue;
        out.push({
          view: d.name, merge: d.merge, current: served.current, versions: served.versions,
          speed: deps.speedLocations?.(d.name) ?? [], windowSizeMs: d.windowSizeMs ?? 0, sourcePartitions: sourcePartitions(d.source, served.versions[0]?.cut.length ?? 0),
        });
      } catch (err) {
        log.warn({ view: d.name, err }, 'a view left out of the serving assignment');
      }
    }
    return out;
  }

  /** Starts the builds that --every says are due. */
  function scheduleDue(): void {
    const now = clock.now();
    for (const d of catalog.list()) {
      if (d.everyMs <= 0 || following.has(d.name) || claimed.has(d.name)) continue;
      const last = Math.max(catalog.buildsOf(d.name)[0]?.startedAt ?? 0, lastScheduled.get(d.name) ?? 0);
      if (now - last < d.everyMs) continue;
      lastScheduled.set(d.name, now);
      void scheduledBuild(d);
    }
  }

  /** A build --every asked for, unless no record arrived since the current version's cut. */
  async function scheduledBuild(d: ViewDeployment): Promise<void> {
    try {
      const current = await currentManifest(d.name);
      const ends = datasets.currentCut(d.source);
      if (current && current.dataset === d.source && current.definitionHash === d.definitionHash && ends.every((e, p) => e === current.cut[p])) return;
      await buildView({ name: d.name, full: false, wait: false });
    } catch (err) {
      log.warn({ view: d.name, err }, 'scheduled build not started');
    }
  }

  return {
    view: (name) => info(catalog.require(name)),
    count: () => catalog.list().length,
    handlers: {
      deployView,
      buildView,
      listViews: async () => Promise.all(catalog.list().map(info)),
      viewVersions,
      rollbackView,
      diffView: async (name, a, b, examples) => {
        catalog.require(name);
        return diffVersions(root, name, a, b, examples);
      },
      servingHeartbeat,
      listServingNodes: (): ServingNodeInfo[] => registry.live(clock.now()),
    },
    async start() {
      // A missing bucket or denied access is said now, not at the first build.
      await locateChecked(root, 'view store', '--views');
      const running = new Set(catalog.running().map((b) => `${b.view}/${b.version}`));
      for (const view of await listViews(root)) {
        // A running build's folder has no manifest yet: it is not a leftover.
        if ([...running].some((r) => r.startsWith(`${view}/`))) continue;
        const removed = await removeLeftovers(root, view);
        if (removed.length > 0) log.info({ view, removed }, 'removed what crashed builds left');
      }
      for (let b of catalog.running()) {
        if (b.jobId === '') {
          // Recorded, then the master stopped before it recorded the job: find the job by its folder.
          const jobId = jobs.byOutput(versionDir(root, b.view, b.version)) ?? '';
          if (jobId !== '') await catalog.setJob(b.view, b.version, jobId);
          b = { ...b, jobId };
        }
        log.info({ view: b.view, version: b.version, jobId: b.jobId }, 'following a view build begun before the restart');
        void track(b);
      }
      timer = setInterval(scheduleDue, deps.scheduleTickMs ?? 1000);
      timer.unref();
    },
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      await Promise.allSettled([...writing]);
    },
  };
}
