/**
 * Bundling a view module for deploy: the user's module (default export a
 * defineView) is wrapped by an entry that exports its build job
 * (viewBuildJob), and the two are bundled into one ES module with
 * everything they import. The master runs the bundle as the job of every
 * build; the client loads it here to check the definition and its monoid
 * laws before sending it.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateJob } from '../api/validate-job.js';
import type { ViewBuildJob } from '../api/view-job.js';
import { describe, LaminateError } from '../common/errors.js';
import { buildBundle, checkModulePath, importBundle } from './bundler.js';

export interface ViewBundle {
  readonly code: Buffer;
  /** The build job as loaded from the bundle in this process, with its compiled view. */
  readonly job: ViewBuildJob;
  /** SHA-256 of the bundle (hex): the same code gives the same hash, which incremental builds rely on. */
  readonly definitionHash: string;
}

/** api/view-job's file beside this one: .js when built, .ts when run from sources (tests). */
function viewJobModule(): string {
  const js = fileURLToPath(new URL('../api/view-job.js', import.meta.url));
  return existsSync(js) ? js : js.replace(/\.js$/, '.ts');
}

/**
 * Bundles and loads the view module `file`. Throws INVALID_ARGUMENT when it
 * does not build, does not load, or its default export is not a valid view
 * (compileView's message), NOT_FOUND when the file is missing.
 */
export async function bundleView(file: string): Promise<ViewBundle> {
  const path = await checkModulePath(file, 'the view module', 'View module');
  const entry = [
    `import definition from ${JSON.stringify(path)};`,
    `import { viewBuildJob } from ${JSON.stringify(viewJobModule())};`,
    'export default viewBuildJob(definition);',
  ].join('\n');
  const what = `View module '${file}'`;
  const code = await buildBundle({ stdin: { contents: entry, resolveDir: dirname(path), sourcefile: 'laminate-view-entry.js', loader: 'js' } }, what);
  const job = await importBundle(code, what, (mod) => {
    const j = validateJob(mod, `view module '${file}'`) as Partial<ViewBuildJob>;
    if (j.output !== 'view' || j.view === undefined) {
      throw new LaminateError('INVALID_ARGUMENT', `Expected ${what} to export default a view (defineView({ source, map, merge })), got ${describe(j)}`);
    }
    return j as ViewBuildJob;
  });
  return { code, job, definitionHash: createHash('sha256').update(code).digest('hex') };
}
