/**
 * Bundles a job module and everything it imports into one ES module with
 * esbuild, so a worker can run it without the user's node_modules. Node's
 * built-in modules stay external; a require() shim lets bundled CommonJS
 * packages load built-ins.
 */
import { build, type BuildOptions } from 'esbuild';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Job } from '../api/job.js';
import { validateJob } from '../api/validate-job.js';
import { errorMessage, LaminateError } from '../common/errors.js';

const EXTENSIONS = new Set(['.ts', '.mts', '.js', '.mjs']);

export interface JobBundle {
  readonly code: Buffer;
  /** The job as loaded from the bundle in this process (for validation and sampling). */
  readonly job: Job;
}

export async function bundleJob(file: string): Promise<JobBundle> {
  const path = await checkModulePath(file, '--job', 'Job module');
  const code = await buildBundle({ entryPoints: [path] }, `Job module '${file}'`);
  const job = await importBundle(code, `Job module '${file}'`, (mod) => validateJob(mod, `job module '${file}'`));
  return { code, job };
}

/**
 * The absolute path of a module file to bundle; INVALID_ARGUMENT when it is
 * not a .ts, .mts, .js or .mjs file (naming `flag`), NOT_FOUND when missing.
 */
export async function checkModulePath(file: string, flag: string, what: string): Promise<string> {
  const path = resolve(file);
  if (!EXTENSIONS.has(extname(path))) {
    throw new LaminateError('INVALID_ARGUMENT', `Expected ${flag} to be a .ts, .mts, .js or .mjs module, got '${file}'`);
  }
  if (!(await stat(path).then((s) => s.isFile(), () => false))) {
    throw new LaminateError('NOT_FOUND', `${what} '${file}' does not exist`);
  }
  return path;
}

/**
 * Bundles an entry (a file, or stdin contents) into one ES module with
 * everything it imports; INVALID_ARGUMENT naming `what` and the first
 * errors when it does not build.
 */
export async function buildBundle(entry: Pick<BuildOptions, 'entryPoints' | 'stdin' | 'alias'>, what: string): Promise<Buffer> {
  try {
    const out = await build({
      ...entry, bundle: true, platform: 'node', format: 'esm', target: 'node20', write: false,
      logLevel: 'silent', sourcemap: 'inline',
      banner: { js: "import { createRequire as __lamCreateRequire } from 'node:module'; const require = __lamCreateRequire(import.meta.url);" },
    });
    return Buffer.from(out.outputFiles[0]!.contents);
  } catch (err) {
    const errors = (err as { errors?: Array<{ text: string; location?: { file: string; line: number } | null }> }).errors;
    const detail = errors?.map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text)).join('; ');
    throw new LaminateError('INVALID_ARGUMENT', `${what} does not build: ${detail ?? errorMessage(err)}`, { cause: err });
  }
}

/** Imports a bundle from a temporary file and checks its exports with `validate`. */
export async function importBundle<T>(code: Buffer, what: string, validate: (mod: unknown) => T): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'laminate-bundle-'));
  try {
    const p = join(dir, 'job.mjs');
    await writeFile(p, code);
    let mod: unknown;
    try {
      mod = await import(pathToFileURL(p).href);
    } catch (err) {
      throw new LaminateError('INVALID_ARGUMENT', `${what} does not load: ${errorMessage(err)}`, { cause: err });
    }
    return validate(mod);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
