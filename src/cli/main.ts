#!/usr/bin/env node
/**
 * The `laminate` command. Each command lives in a file of its own in this
 * folder and wires the pieces it needs; this file only registers them, and
 * nothing else reads argv. Nothing imports src/cli/.
 *
 * Only the module of the command being run is loaded (a worker does not
 * load the master, its HTTP server or the bundler): every process of a
 * cluster starts through here, and module loading was most of a start's CPU.
 * `laminate --help`, `help` or an unknown command loads them all.
 */
import { setFlagsFromString } from 'node:v8';
import { Command } from 'commander';
import { errorMessage, LaminateError } from '../common/errors.js';
import { addSecurityOptions } from './security-options.js';
import { limitYoungGeneration } from './young-generation.js';
import { growOldGenerationLimit } from './old-generation.js';

type Register = (program: Command) => void;

/** Each command (the first argument) and how to load its registration. */
const COMMANDS: Record<string, () => Promise<Register>> = {
  master: async () => (await import('./master.js')).registerMaster,
  worker: async () => (await import('./worker.js')).registerWorker,
  'shuffle-service': async () => (await import('./shuffle-service.js')).registerShuffleService,
  submit: async () => (await import('./submit.js')).registerSubmit,
  status: async () => (await import('./status.js')).registerStatus,
  kill: async () => (await import('./kill.js')).registerKill,
  local: async () => (await import('./local.js')).registerLocal,
  dataset: async () => (await import('./dataset.js')).registerDataset,
  append: async () => (await import('./append.js')).registerAppend,
  read: async () => (await import('./read.js')).registerRead,
  view: async () => (await import('./view.js')).registerView,
  serve: async () => (await import('./serve.js')).registerServe,
  speed: async () => (await import('./speed.js')).registerSpeed,
  'speed-status': async () => (await import('./speed-status.js')).registerSpeedStatus,
  'forget-serving-node': async () => (await import('./speed-status.js')).registerSpeedStatus,
  query: async () => (await import('./query.js')).registerQuery,
  function: async () => (await import('./function.js')).registerFunction,
};

async function main(): Promise<void> {
  const program = new Command();
  program.name('laminate').description('Laminate: a Lambda-architecture data engine for Node.js (batch MapReduce over gRPC)')
    .showHelpAfterError();
  const name = process.argv[2];
  // Before the master's modules load: V8 grows new space while they do (young-generation.ts).
  if (name === 'master') {
    limitYoungGeneration();
    growOldGenerationLimit(setFlagsFromString);
  }
  const one = name !== undefined ? COMMANDS[name] : undefined;
  // Loaded in the order they are listed, so that help lists them the same way every time.
  const registers = one !== undefined ? [await one()] : await Promise.all([...new Set(Object.values(COMMANDS))].map((load) => load()));
  for (const register of new Set(registers)) register(program);
  // Last, so that every command registered above takes the access-control flags.
  addSecurityOptions(program);
  await program.parseAsync(process.argv);
}

main().catch((err: unknown) => {
  // A LaminateError, or a failed invocation (function.ts), says its code.
  const code = err instanceof LaminateError || (err instanceof Error && err.name === 'InvocationFailed') ? (err as unknown as { code: string }).code : undefined;
  process.stderr.write(`laminate: ${code !== undefined ? `${code}: ${(err as Error).message}` : errorMessage(err)}\n`);
  process.exitCode = 2;
});
