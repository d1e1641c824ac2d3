#!/usr/bin/env node
/**
 * The `laminate` command. Each command lives in a file of its own in this
 * folder and wires the pieces it needs; this file only registers them, and
 * nothing else reads argv. Nothing imports src/cli/.
 */
import { Command } from 'commander';
import { errorMessage, LaminateError } from '../common/errors.js';
import { registerAppend } from './append.js';
import { registerDataset } from './dataset.js';
import { InvocationFailed, registerFunction } from './function.js';
import { registerKill } from './kill.js';
import { registerLocal } from './local.js';
import { registerMaster } from './master.js';
import { registerQuery } from './query.js';
import { registerRead } from './read.js';
import { registerServe } from './serve.js';
import { registerShuffleService } from './shuffle-service.js';
import { registerSpeed } from './speed.js';
import { registerSpeedStatus } from './speed-status.js';
import { registerStatus } from './status.js';
import { addSecurityOptions } from './security-options.js';
import { registerSubmit } from './submit.js';
import { registerView } from './view.js';
import { registerWorker } from './worker.js';

const program = new Command();
program.name('laminate').description('Laminate: a Lambda-architecture data engine for Node.js (batch MapReduce over gRPC)')
  .showHelpAfterError();
for (const register of [registerMaster, registerWorker, registerShuffleService, registerSubmit, registerStatus, registerKill, registerLocal, registerDataset, registerAppend, registerRead, registerView, registerServe, registerSpeed, registerSpeedStatus, registerQuery, registerFunction]) register(program);
// Last, so that every command registered above takes the access-control flags.
addSecurityOptions(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const msg = err instanceof LaminateError || err instanceof InvocationFailed ? `${err.code}: ${err.message}` : errorMessage(err);
  process.stderr.write(`laminate: ${msg}\n`);
  process.exitCode = 2;
});
