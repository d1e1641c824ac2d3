/**
 * Functions from a client: what `laminate function ...` and LaminateClient's
 * function methods do. Deploy bundles the module (checking its handler,
 * function-bundle.ts), turns the options into a config request (trigger
 * strings parsed and checked here, so a bad flag fails before the upload)
 * and sends both to the master, which checks the ranges again and makes the
 * version.
 */
import { basename, dirname, extname } from 'node:path';
import { describe, LaminateError } from '../common/errors.js';
import type { FunctionLogLine, FunctionSummary, FunctionVersionInfo, InvocationOutcome, TriggerSpec } from '../common/function-shapes.js';
import type { FunctionConfigRequest, FunctionsClient } from '../protocol/functions-rpc.js';
import { bundleFunction } from './function-bundle.js';

export interface DeployFunctionOptions {
  /** Default: the module's folder name when it is an index file, else its file name without extension. */
  readonly name?: string;
  /** MB, 128 to 10,240. Default 128. */
  readonly memoryMb?: number;
  /** ms, 1,000 to 900,000. Default 3,000. */
  readonly timeoutMs?: number;
  /** Invocations at once, all versions together. Default 10. */
  readonly concurrency?: number;
  /** Retries of an asynchronous event, 0 to 2. Default 2. */
  readonly retries?: number;
  /** The dataset failed events go to: `dataset:NAME` or `NAME`. */
  readonly deadLetter?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Parsed trigger specs (see function-config's parseTrigger for the `--trigger` strings). */
  readonly triggers?: readonly TriggerSpec[];
}

/** The function name a module deploys under by default. */
export function defaultFunctionName(file: string): string {
  const base = basename(file, extname(file));
  return base === 'index' ? basename(dirname(file)) : base;
}

/** `dataset:NAME` or `NAME` -> NAME. @throws LaminateError INVALID_ARGUMENT for another kind. */
export function deadLetterDataset(value: string): string {
  if (value.startsWith('dataset:')) return value.slice('dataset:'.length);
  if (value.includes(':')) throw new LaminateError('INVALID_ARGUMENT', `Expected --dead-letter to be dataset:NAME, got ${describe(value)}`);
  return value;
}

export async function deployFunction(client: FunctionsClient, file: string, o: DeployFunctionOptions): Promise<FunctionVersionInfo> {
  const code = await bundleFunction(file);
  const config: FunctionConfigRequest = {
    ...(o.memoryMb === undefined ? {} : { memoryMb: o.memoryMb }), ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
    ...(o.concurrency === undefined ? {} : { concurrency: o.concurrency }), ...(o.retries === undefined ? {} : { retries: o.retries }),
    ...(o.deadLetter === undefined ? {} : { deadLetter: deadLetterDataset(o.deadLetter) }), env: { ...o.env }, triggers: [...(o.triggers ?? [])],
  };
  return client.deploy({ name: o.name ?? defaultFunctionName(file), code, config });
}

export type { FunctionLogLine, FunctionSummary, InvocationOutcome };
