/**
 * Bundling a function module for deploy: the user's module and everything it
 * imports become one ES module (esbuild), with `laminate` resolved to this
 * installation's API (so a folder made by `laminate function init` builds
 * without a node_modules of its own). The bundle is loaded here, in the
 * deploying process, to check that its default export is a defineFunction:
 * a module without one is refused before it reaches the master (NO_HANDLER),
 * as a view's definition is checked at deploy.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isFunctionDefinition } from '../api/function.js';
import { describe, LaminateError } from '../common/errors.js';
import { buildBundle, checkModulePath, importBundle } from './bundler.js';

/** The package's main entry beside this file: .js when built, .ts when run from sources (tests). */
function laminateEntry(): string {
  const js = fileURLToPath(new URL('../index.js', import.meta.url));
  return existsSync(js) ? js : js.replace(/\.js$/, '.ts');
}

/**
 * Bundles and loads the function module `file`.
 * @throws LaminateError INVALID_ARGUMENT when it does not build or load, or has no handler (the message starts with NO_HANDLER); NOT_FOUND when missing.
 */
export async function bundleFunction(file: string): Promise<Buffer> {
  const path = await checkModulePath(file, 'the function module', 'Function module');
  const what = `Function module '${file}'`;
  const code = await buildBundle({ entryPoints: [path], alias: { laminate: laminateEntry() } }, what);
  await importBundle(code, what, (mod) => {
    const def = (mod as { default?: unknown }).default;
    if (!isFunctionDefinition(def)) {
      throw new LaminateError('INVALID_ARGUMENT', `NO_HANDLER: expected ${what} to export default a handler written with defineFunction((event, ctx) => result), got ${def === undefined ? 'no default export' : describe(def)}`);
    }
  });
  return code;
}
