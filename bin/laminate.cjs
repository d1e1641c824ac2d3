#!/usr/bin/env node
'use strict';
// The `laminate` command: sizes libuv's thread pool first (thread-pool.cjs says why this cannot wait for the
// ES modules), then runs the command itself, src/cli/main.ts as compiled.
require('./thread-pool.cjs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

import(pathToFileURL(join(__dirname, '..', 'dist', 'src', 'cli', 'main.js')).href).catch((err) => {
  process.stderr.write(`laminate: could not load the command (is the project built? npm ci builds it): ${err && err.message}\n`);
  process.exitCode = 2;
});
