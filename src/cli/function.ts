/**
 * `laminate function init|deploy|invoke|list|versions|logs|delete`: the
 * bodies of the commands, each given a LaminateClient and its parsed
 * options, printing through `out`; registerFunction wires them to their flags.
 *
 *   laminate function init --blueprint dataset-alerts DIR
 *   laminate function deploy FILE --master ADDR [--name NAME] [--trigger T]... [--batch-size N] [--memory MB] [--timeout 3s]
 *       [--concurrency N] [--retries N] [--dead-letter dataset:NAME] [--env KEY=VALUE]... [--json]
 *   laminate function invoke NAME --master ADDR [--payload JSON] [--async] [--version N]
 *   laminate function list --master ADDR [--json]
 *   laminate function versions NAME --master ADDR [--json]
 *   laminate function logs NAME --master ADDR [--follow] [--limit N]
 *   laminate function delete NAME --master ADDR
 */
import { cp, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { LaminateClient } from '../client/laminate-client.js';
import type { DeployFunctionOptions } from '../client/function-admin.js';
import { errorMessage, LaminateError } from '../common/errors.js';
import type { FunctionLogLine, FunctionSummary, FunctionVersionInfo } from '../common/function-shapes.js';
import { packageRoot } from '../common/package-root.js';
import { describeTrigger, FUNCTION_DEFAULTS, parseEnvPair, parseTimeout, parseTrigger } from '../functions/function-config.js';
import { address, nonNegativeInt, positiveInt } from './arguments.js';
import { print, withClient, type Print } from './client-command.js';

export const BLUEPRINTS = ['dataset-alerts', 'file-processor', 'http-api', 'scheduled-report'] as const;

/** Copies blueprint `blueprint` into `dir` (created; it must be empty or missing). */
export async function functionInit(o: { readonly blueprint: string; readonly dir: string }, out: Print): Promise<void> {
  if (!(BLUEPRINTS as readonly string[]).includes(o.blueprint)) {
    throw new LaminateError('INVALID_ARGUMENT', `Unknown blueprint '${o.blueprint}': expected one of ${BLUEPRINTS.join(', ')}`);
  }
  const dir = resolve(o.dir);
  const existing = await readdir(dir).catch(() => [] as string[]);
  if (existing.length > 0) throw new LaminateError('ALREADY_EXISTS', `Expected ${o.dir} to be a new or empty folder, got one with ${existing.length} entries`);
  await cp(join(packageRoot(), 'examples', 'functions', 'blueprints', o.blueprint), dir, { recursive: true });
  out(`created ${o.dir} from blueprint ${o.blueprint}: deploy it with laminate function deploy ${join(o.dir, 'index.ts')} --master HOST:PORT`);
}

function versionLine(v: FunctionVersionInfo): string {
  const c = v.config;
  const triggers = c.triggers.length === 0 ? 'no triggers' : c.triggers.map(describeTrigger).join(', ');
  return `${v.name} version ${v.version}: ${c.memoryMb} MB, timeout ${c.timeoutMs / 1000}s, concurrency ${c.concurrency}, retries ${c.retries}`
    + `${c.deadLetter === undefined ? '' : `, dead letters to dataset:${c.deadLetter}`}, ${triggers}`;
}

export async function functionDeploy(client: LaminateClient, o: DeployFunctionOptions & { readonly file: string; readonly json?: boolean }, out: Print): Promise<void> {
  const { file, json, ...options } = o;
  const v = await client.deployFunction(file, options);
  if (json) out(JSON.stringify(v));
  else out(`deployed ${versionLine(v)} (${v.codeBytes} bytes, sha256 ${v.codeSha256.slice(0, 12)})`);
}

/**
 * Prints the handler's result as JSON (`null` when it returned nothing), or
 * with `async` the event id. A failed invocation throws, so the command
 * exits non-zero with the error's code and message.
 */
export async function functionInvoke(client: LaminateClient, o: { readonly name: string; readonly payload?: string; readonly async?: boolean; readonly version?: number }, out: Print): Promise<void> {
  let payload: unknown;
  if (o.payload !== undefined) {
    try {
      payload = JSON.parse(o.payload) as unknown;
    } catch (err) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected --payload to be JSON, got '${o.payload}': ${errorMessage(err)}`);
    }
  }
  if (o.async) {
    const { eventId } = await client.invoke(o.name, payload, { async: true });
    out(JSON.stringify({ eventId }));
    return;
  }
  const outcome = await client.invoke(o.name, payload, o.version === undefined ? {} : { version: o.version });
  if (!outcome.ok) throw new InvocationFailed(outcome.code, outcome.message);
  out(JSON.stringify(outcome.result ?? null));
}

/** A failed invocation, for main.ts to print as `CODE: message` (its codes are the invocation's, not LaminateError's). */
export class InvocationFailed extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'InvocationFailed';
  }
}

function metricsLine(s: FunctionSummary): string {
  const m = s.metrics;
  const age = m.iteratorAgeMs === undefined ? '' : `, iterator age ${Math.round(m.iteratorAgeMs)} ms`;
  return `  invocations ${m.invocations}, errors ${m.errors}, throttles ${m.throttles}, cold starts ${m.coldStarts}, duration p50 ${m.durationP50Ms.toFixed(1)} ms p99 ${m.durationP99Ms.toFixed(1)} ms, `
    + `dead letters ${m.deadLetters}, running ${m.running}, queued ${m.queued}, containers ${m.containers}${age}`;
}

export async function functionList(client: LaminateClient, o: { readonly json?: boolean }, out: Print): Promise<void> {
  const fns = await client.listFunctions();
  if (o.json) out(JSON.stringify({ functions: fns }));
  else if (fns.length === 0) out('no functions');
  else for (const f of fns) {
    out(versionLine(f.live));
    out(metricsLine(f));
  }
}

export async function functionVersions(client: LaminateClient, o: { readonly name: string; readonly json?: boolean }, out: Print): Promise<void> {
  const versions = await client.functionVersions(o.name);
  if (o.json) {
    out(JSON.stringify({ function: o.name, versions }));
    return;
  }
  versions.forEach((v, i) => out(`${versionLine(v)}, deployed ${new Date(v.createdAt).toISOString()}, sha256 ${v.codeSha256.slice(0, 12)}${i === versions.length - 1 ? ' (live)' : ''}`));
}

function logLine(l: FunctionLogLine): string {
  return `${new Date(l.at).toISOString()}  ${l.level.toUpperCase().padEnd(5)}  v${l.version}  ${l.requestId || '-'}  ${l.message}`;
}

export async function functionLogs(client: LaminateClient, o: { readonly name: string; readonly follow?: boolean; readonly limit?: number; readonly signal?: AbortSignal }, out: Print): Promise<void> {
  for await (const l of client.functionLogs(o.name, {
    ...(o.follow ? { follow: true } : {}), ...(o.limit === undefined ? {} : { limit: o.limit }), ...(o.signal ? { signal: o.signal } : {}),
  })) out(logLine(l));
}

export async function functionDelete(client: LaminateClient, o: { readonly name: string }, out: Print): Promise<void> {
  await client.deleteFunction(o.name);
  out(`deleted function ${o.name} and every version's code`);
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function flag<T>(parse: (v: string) => T) {
  return (value: string): T => {
    try {
      return parse(value);
    } catch (err) {
      throw new InvalidArgumentError(errorMessage(err));
    }
  };
}

/** `laminate function ...`. */
export function registerFunction(program: Command): void {
  const fn = program.command('function').description('deploy, invoke and inspect functions (event-triggered handlers, as AWS Lambda runs them)');
  fn.command('init').description(`copy a blueprint into a new folder (${BLUEPRINTS.join(', ')})`)
    .argument('<dir>', 'the folder to create')
    .requiredOption('--blueprint <name>', BLUEPRINTS.join(', '))
    .action((dir: string, o: { blueprint: string }) => functionInit({ blueprint: o.blueprint, dir }, print));
  fn.command('deploy').description('bundle a function module (default export a defineFunction) and deploy it as a new version')
    .argument('<file>', 'the function module (.ts, .mts, .js, .mjs)')
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--name <name>', 'the function\'s name (default: the folder of an index file, else the file name)')
    .option('--trigger <trigger>', 'dataset:NAME, view:NAME, files:DIR, http, schedule:every 5m or schedule:CRON (repeatable)', collect)
    .option('--batch-size <n>', `records per event of a dataset trigger (1 to 10000, default ${FUNCTION_DEFAULTS.batchSize})`, positiveInt('--batch-size'))
    .option('--memory <mb>', 'container memory, 128 to 10240 MB (default 128)', positiveInt('--memory'))
    .option('--timeout <duration>', 'per invocation, 1s to 900s: 3s, 500ms, 2m (default 3s)', flag(parseTimeout))
    .option('--concurrency <n>', 'invocations at once, 1 to 1000 (default 10)', positiveInt('--concurrency'))
    .option('--retries <n>', 'retries of an asynchronous event, 0 to 2 (default 2)', nonNegativeInt('--retries'))
    .option('--dead-letter <dataset>', 'dataset:NAME that events failing every attempt go to')
    .option('--env <KEY=VALUE>', 'an environment variable of the function (repeatable)', collect)
    .option('--json', 'print JSON')
    .action((file: string, o: {
      master: string; name?: string; trigger?: string[]; batchSize?: number; memory?: number; timeout?: number; concurrency?: number; retries?: number;
      deadLetter?: string; env?: string[]; json?: boolean;
    }) => {
      // Parsed before connecting: a bad trigger or env fails at once.
      const triggers = (o.trigger ?? []).map((t) => parseTrigger(t, o.batchSize));
      const env = (o.env ?? []).reduce<Record<string, string>>((acc, pair) => parseEnvPair(pair, acc), {});
      return withClient(o.master, (c) => functionDeploy(c, {
        file, triggers, env, ...(o.name === undefined ? {} : { name: o.name }), ...(o.memory === undefined ? {} : { memoryMb: o.memory }),
        ...(o.timeout === undefined ? {} : { timeoutMs: o.timeout }), ...(o.concurrency === undefined ? {} : { concurrency: o.concurrency }),
        ...(o.retries === undefined ? {} : { retries: o.retries }), ...(o.deadLetter === undefined ? {} : { deadLetter: o.deadLetter }), ...(o.json ? { json: true } : {}),
      }, print));
    });
  fn.command('invoke').description('invoke a function: prints its result as JSON (with --async, the event id); a failure exits non-zero with its code')
    .argument('<name>', 'the function')
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--payload <json>', 'the event, as JSON')
    .option('--async', 'queue the event (journaled; retried, then dead-lettered) and print its id')
    .option('--version <n>', 'a version other than the live one (synchronous only)', positiveInt('--version'))
    .action((name: string, o: { master: string; payload?: string; async?: boolean; version?: number }) => withClient(o.master, (c) => functionInvoke(c, {
      name, ...(o.payload === undefined ? {} : { payload: o.payload }), ...(o.async ? { async: true } : {}), ...(o.version === undefined ? {} : { version: o.version }),
    }, print)));
  fn.command('list').description('every function: its live version, settings, triggers and metrics')
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--json', 'print JSON')
    .action((o: { master: string; json?: boolean }) => withClient(o.master, (c) => functionList(c, o.json ? { json: true } : {}, print)));
  fn.command('versions').description('a function\'s kept versions, oldest first (the last is live)')
    .argument('<name>', 'the function')
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--json', 'print JSON')
    .action((name: string, o: { master: string; json?: boolean }) => withClient(o.master, (c) => functionVersions(c, { name, ...(o.json ? { json: true } : {}) }, print)));
  fn.command('logs').description('what the function\'s handlers wrote, with request ids (kept by the master, newest lines only)')
    .argument('<name>', 'the function')
    .requiredOption('--master <host:port>', 'the master', address)
    .option('--follow', 'then print new lines as they come, until interrupted')
    .option('--limit <n>', 'only the last N kept lines', positiveInt('--limit'))
    .action((name: string, o: { master: string; follow?: boolean; limit?: number }) => withClient(o.master, async (c) => {
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await functionLogs(c, { name, signal: ac.signal, ...(o.follow ? { follow: true } : {}), ...(o.limit === undefined ? {} : { limit: o.limit }) }, print);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    }));
  fn.command('delete').description('delete a function and every version\'s code')
    .argument('<name>', 'the function')
    .requiredOption('--master <host:port>', 'the master', address)
    .action((name: string, o: { master: string }) => withClient(o.master, (c) => functionDelete(c, { name }, print)));
}
