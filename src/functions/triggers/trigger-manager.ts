/**
 * Starts and stops the triggers of deployed functions: one Trigger per
 * (function, trigger spec) of each live version, kept across a redeploy that
 * keeps the spec (the function's events go on from where they were, and the
 * invoker runs the new live version), stopped when a redeploy drops it or the
 * function is deleted (then its trigger state is removed: a function deployed
 * again under the name starts afresh). The `http` trigger has no watcher:
 * the master's HTTP route checks the live version's triggers itself.
 *
 * State: `<stateDir>/<function>/<trigger>.json`, one small file per trigger
 * (its checkpoints or snapshot), so that a restarted master resumes each
 * where it was. Who calls it: the master, start() once after the function
 * catalog is loaded, stop() once at shutdown.
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { TriggerSpec } from '../../common/function-shapes.js';
import type { DeployedFunction, FunctionChange, FunctionDirectory, FunctionInvoker } from '../invoker.js';
import { DatasetTrigger, type DatasetLog } from './dataset-trigger.js';
import { FilesTrigger } from './files-trigger.js';
import { ScheduleTrigger } from './schedule-trigger.js';
import { TriggerState, triggerStatePath, type Trigger, type TriggerDeps } from './trigger.js';
import { ViewTrigger, type ViewPublishFeed } from './view-trigger.js';

export interface TriggerManagerOptions {
  readonly directory: FunctionDirectory;
  readonly invoker: Pick<FunctionInvoker, 'deliver'>;
  /** The dataset store; without it, dataset triggers are refused (logged). */
  readonly datasets?: DatasetLog;
  /** The view service's publishes; without it, view triggers are refused (logged). */
  readonly views?: ViewPublishFeed;
  /** Where trigger state lives (the master: `<data>/functions/triggers`). */
  readonly stateDir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** files: triggers' listing interval. Default 1000 ms (DEFAULT_FILES_POLL_MS). */
  readonly filesPollMs?: number;
}

/** The dataset trigger's iterator age of one partition, for metrics. */
export interface IteratorAge {
  readonly function: string;
  readonly dataset: string;
  readonly partition: number;
  readonly ageMs: number;
}

const shortHash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 12);

/** The name of a trigger's state file: stable per source, so that a redeploy changing only a batch size keeps its checkpoints. */
function stateKey(spec: TriggerSpec): string | undefined {
  switch (spec.kind) {
    case 'dataset': return `dataset-${spec.dataset}`;
    case 'view': return `view-${spec.view}`;
    case 'files': return `files-${shortHash(spec.dir)}`;
    case 'schedule': return `schedule-${shortHash(spec.expression)}`;
    case 'http': return undefined;
  }
}

export class TriggerManager {
  private readonly log: Logger;
  /** Running triggers by function, then by their spec (as JSON). */
  private readonly running = new Map<string, Map<string, { readonly spec: TriggerSpec; readonly trigger: Trigger }>>();
  /** Changes are applied one after another, in the order told. */
  private chain: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly options: TriggerManagerOptions) {
    this.log = options.logger.child({ component: 'triggers' });
  }

  /** Starts the triggers of every deployed function and follows deploys and deletes. Resolves once those triggers have started. */
  async start(): Promise<void> {
    this.unsubscribe = this.options.directory.subscribe((change) => this.apply(change));
    for (const fn of this.options.directory.list()) this.apply({ type: 'deployed', fn });
    await this.settled();
  }

  /** Resolves once every change told so far has been applied (tests wait on it). */
  async settled(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.chain;
      await seen;
    } while (seen !== this.chain);
  }

  /** Stops every trigger (their state stays, for the next start). Safe to call twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    await this.settled();
    const all = [...this.running.values()].flatMap((m) => [...m.values()]);
    this.running.clear();
    await Promise.all(all.map((r) => r.trigger.stop()));
  }

  /** Iterator ages of every dataset trigger (of `name` only, if given), for metrics. */
  iteratorAges(name?: string): IteratorAge[] {
    const out: IteratorAge[] = [];
    for (const [fn, triggers] of this.running) {
      if (name !== undefined && fn !== name) continue;
      for (const { spec, trigger } of triggers.values()) {
        if (spec.kind !== 'dataset' || !(trigger instanceof DatasetTrigger)) continue;
        for (const a of trigger.iteratorAges()) out.push({ function: fn, dataset: spec.dataset, ...a });
      }
    }
    return out;
  }

  private apply(change: FunctionChange): void {
    this.chain = this.chain.then(async () => {
      if (this.stopped) return;
      try {
        if (change.type === 'deployed') await this.sync(change.fn);
        else await this.remove(change.name);
      } catch (err) {
        this.log.error({ err, change: change.type, function: change.type === 'deployed' ? change.fn.name : change.name }, 'could not apply a function change to its triggers');
      }
    });
  }

  private async sync(fn: DeployedFunction): Promise<void> {
    const current = this.running.get(fn.name) ?? new Map<string, { readonly spec: TriggerSpec; readonly trigger: Trigger }>();
    this.running.set(fn.name, current);
    const wanted = new Map(fn.config.triggers.filter((t) => t.kind !== 'http').map((t) => [JSON.stringify(t), t] as const));
    for (const [key, r] of current) {
      if (wanted.has(key)) continue;
      current.delete(key);
      await r.trigger.stop();
      this.log.info({ function: fn.name, trigger: r.spec }, 'trigger stopped: the new version does not have it');
    }
    for (const [key, spec] of wanted) {
      if (current.has(key)) continue;
      const trigger = this.create(fn.name, spec);
      if (trigger === undefined) continue;
      try {
        await trigger.start();
      } catch (err) {
        await trigger.stop().catch(() => {});
        throw err;
      }
      current.set(key, { spec, trigger });
      this.log.info({ function: fn.name, version: fn.version, trigger: spec }, 'trigger started');
    }
  }

  private async remove(name: string): Promise<void> {
    const current = this.running.get(name);
    this.running.delete(name);
    await Promise.all([...(current?.values() ?? [])].map((r) => r.trigger.stop()));
    await rm(join(this.options.stateDir, name), { recursive: true, force: true });
    if (current !== undefined) this.log.info({ function: name }, 'triggers of a deleted function stopped, their state removed');
  }

  private create(name: string, spec: TriggerSpec): Trigger | undefined {
    const o = this.options;
    const key = stateKey(spec);
    if (key === undefined) return undefined;
    const deps: TriggerDeps = {
      functionName: name, invoker: o.invoker, state: new TriggerState(triggerStatePath(o.stateDir, name, key)), clock: o.clock,
      log: this.log.child({ function: name, trigger: spec.kind }),
    };
    switch (spec.kind) {
      case 'dataset':
        if (o.datasets === undefined) return this.refuse(name, spec, 'this master has no dataset store');
        return new DatasetTrigger({ ...deps, store: o.datasets }, { dataset: spec.dataset, batchSize: spec.batchSize });
      case 'view':
        if (o.views === undefined) return this.refuse(name, spec, 'this master has no view service');
        return new ViewTrigger({ ...deps, feed: o.views }, spec.view);
      case 'files':
        return new FilesTrigger(deps, { dir: spec.dir, ...(o.filesPollMs === undefined ? {} : { pollMs: o.filesPollMs }) });
      case 'schedule':
        return new ScheduleTrigger(deps, spec.expression);
      case 'http':
        return undefined;
    }
  }

  private refuse(name: string, spec: TriggerSpec, why: string): undefined {
    this.log.error({ function: name, trigger: spec }, `trigger not started: ${why}`);
    return undefined;
  }
}
