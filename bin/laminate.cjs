#!/usr/bin/env node
'use strict';
// The `laminate` command: sizes libuv's thread pool first (thread-pool.cjs says why this cannot wait for the
// ES modules), then runs the command itself, src/cli/main.ts as compiled. Paths are taken from this file's real
// location, so that a symlink to it (node_modules/.bin, or node --preserve-symlinks-main) finds its neighbours.
const { realpathSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { pathToFileURL } = require('node:url');

const here = dirname(realpathSync(__filename));
require(join(here, 'thread-pool.cjs'));
const main = join(here, '..', 'dist', 'src', 'cli', 'main.js');

import(pathToFileURL(main).href).catch((err) => {
  const unbuilt = err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(main);
  process.stderr.write(unbuilt ? `laminate: ${main} is missing: build the project first (npm ci builds it)\n` : `laminate: could not load the command: ${(err && err.stack) || err}\n`);
  process.exitCode = 2;
});
