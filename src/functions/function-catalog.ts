/**
 * The master's catalog of functions and their code store. Each deploy makes
 * an immutable version (`live` is the newest); a delete removes every
 * version. Kept under `<data>/functions/`:
 *
 *   master.key              the generated master key (mode 0600), unless --key-file
 *   catalog.json            every function's versions (settings, code hash, wrapped data key), replaced atomically;
 *                           a version's environment is in it sealed with the version's data key (Lambda encrypts
 *                           environment variables at rest too), opened in memory at load
 *   code/<name>.v<N>.bin    a version's code, AES-256-GCM encrypted (code-crypto.ts); the code store can be
 *                           elsewhere, an object store too (`laminate master --function-code s3://...`): the
 *                           code is sealed before it leaves the master, the key and catalog never leave its disk
 *
 * A deploy writes the code file first and then the catalog, whose rename is
 * the commit: a crash between leaves a code file no catalog names, removed at
 * the next open. Version numbers are never reused, even after a delete
 * (the catalog remembers the last one), so a worker's cached code or a late
 * report can never be taken for another version's.
 *
 * Implements FunctionDirectory for the triggers and the invocation service.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, LaminateError } from '../common/errors.js';
import type { FunctionConfig, FunctionVersionInfo } from '../common/function-shapes.js';
import { writeFileAtomic } from '../storage/atomic-file.js';
import type { ObjectStore } from '../storage/object-store.js';
import { locate } from '../storage/store-path.js';
import { openBlob, sealBlob, sealCode, unwrapDataKey } from './code-crypto.js';
import { validateFunctionConfig, validateFunctionName, type FunctionConfigInput } from './function-config.js';
import type { DeployedFunction, FunctionChange, FunctionDirectory } from './invoker.js';

/** A version as the catalog file keeps it: its info (env empty) and the sealed code's parameters and env (hex). */
interface StoredVersion extends FunctionVersionInfo {
  readonly iv: string;
  readonly authTag: string;
  readonly wrappedKey: string;
  /** The environment as JSON, sealBlob'd with the version's data key. */
  readonly sealedEnv: string;
}

interface StoredFunction {
  readonly name: string;
  /** Newest last; empty once deleted (the entry stays to remember lastVersion). */
  versions: StoredVersion[];
  /** The highest version ever made, deleted ones included. */
  lastVersion: number;
}

interface CatalogFile {
  readonly format: 1;
  readonly functions: StoredFunction[];
}

/** A version's code as a worker fetches it (GetFunctionCode). */
export interface FunctionCodeForWorker {
  readonly ciphertext: Buffer;
  readonly iv: Buffer;
  readonly authTag: Buffer;
  readonly dataKey: Buffer;
  readonly codeSha256: string;
}

/** A deploy's request, as the Functions service hands it over. */
export interface DeployFunctionRequest {
  readonly name: string;
  /** The bundled module (one ES module), plain. */
  readonly code: Buffer;
  readonly config: FunctionConfigInput;
}

/** Versions kept per function: the newest this many (a deploy past it forgets the oldest, as Lambda's code storage limit would make one do). */
export const VERSIONS_KEPT = 20;

export class FunctionCatalog implements FunctionDirectory {
  private readonly functions = new Map<string, StoredFunction>();
  private readonly listeners = new Set<(change: FunctionChange) => void>();
  /** Deploys and deletes run one at a time, each saved before the next. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly dir: string, private readonly masterKey: Buffer, private readonly codeStore: ObjectStore, private readonly codePrefix: string) {}

  /**
   * Loads the catalog under `dir` (creating it), and removes code objects
   * no version names (a deploy cut short) from the code store, `codeDir`
   * (a folder or `s3://bucket/prefix`; default `<dir>/code`). Called once
   * at the master's start.
   */
  static async open(dir: string, masterKey: Buffer, codeDir = join(dir, 'code')): Promise<FunctionCatalog> {
    const key = masterKey;
    await mkdir(dir, { recursive: true });
    const at = await locate(codeDir);
    // A missing bucket or denied access is said at the master's start, not at the first deploy.
    await at.store.check();
    const catalog = new FunctionCatalog(dir, masterKey, at.store, at.key === '' || at.key.endsWith('/') ? at.key : `${at.key}/`);
    let text: string | undefined;
    try {
      text = await readFile(join(dir, 'catalog.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      let file: CatalogFile;
      try {
        file = JSON.parse(text) as CatalogFile;
      } catch (err) {
        throw new LaminateError('DATA_LOSS', `The function catalog ${join(dir, 'catalog.json')} is not JSON: ${errorMessage(err)}`, { cause: err });
      }
      for (const f of file.functions) catalog.functions.set(f.name, { ...f, versions: f.versions.map((v) => withEnv(v, key)) });
    }
    const named = new Set([...catalog.functions.values()].flatMap((f) => f.versions.map((v) => codeFileName(v.name, v.version))));
    for (const o of (await catalog.codeStore.list(catalog.codePrefix)).objects) {
      if (!named.has(o.key.slice(catalog.codePrefix.length))) await catalog.codeStore.delete(o.key);
    }
    return catalog;
  }

  // ---- FunctionDirectory -------------------------------------------------------

  list(): DeployedFunction[] {
    return [...this.functions.values()].flatMap((f) => {
      const live = f.versions.at(-1);
      return live ? [{ name: f.name, version: live.version, config: live.config }] : [];
    }).sort((a, b) => a.name.localeCompare(b.name));
  }

  subscribe(listener: (change: FunctionChange) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  // ---- reads -------------------------------------------------------------------

  /** The live version of `name`, or undefined. */
  live(name: string): FunctionVersionInfo | undefined {
    const v = this.functions.get(name)?.versions.at(-1);
    return v && info(v);
  }

  /**
   * Version `version` of `name` (the live one when absent).
   * @throws LaminateError NOT_FOUND for an unknown function or version.
   */
  version(name: string, version?: number): FunctionVersionInfo {
    const f = this.functions.get(name);
    if (!f || f.versions.length === 0) throw new LaminateError('NOT_FOUND', `No function '${name}' (deploy it first: laminate function deploy)`);
    if (version === undefined) return info(f.versions.at(-1)!);
    const v = f.versions.find((x) => x.version === version);
    if (!v) throw new LaminateError('NOT_FOUND', `Function '${name}' has no version ${version} (it has ${f.versions.map((x) => x.version).join(', ')})`);
    return info(v);
  }

  /** Every kept version of `name`, oldest first. @throws LaminateError NOT_FOUND for an unknown function. */
  versions(name: string): FunctionVersionInfo[] {
    const f = this.functions.get(name);
    if (!f || f.versions.length === 0) throw new LaminateError('NOT_FOUND', `No function '${name}'`);
    return f.versions.map(info);
  }

  /**
   * A version's code still encrypted, with its data key unwrapped for the
   * worker that asked (GetFunctionCode). Safe to call any number of times.
   * @throws LaminateError NOT_FOUND for an unknown function or version.
   */
  async code(name: string, version: number): Promise<FunctionCodeForWorker> {
    const v = this.functions.get(name)?.versions.find((x) => x.version === version);
    if (!v) throw new LaminateError('NOT_FOUND', `No version ${version} of function '${name}' (deleted, or never deployed)`);
    const ciphertext = await this.codeStore.read(this.codeKey(name, version));
    return {
      ciphertext, iv: Buffer.from(v.iv, 'hex'), authTag: Buffer.from(v.authTag, 'hex'),
      dataKey: unwrapDataKey(this.masterKey, Buffer.from(v.wrappedKey, 'hex')), codeSha256: v.codeSha256,
    };
  }

  // ---- changes -----------------------------------------------------------------

  /**
   * Makes a new immutable version of `name` from `code` and becomes its live
   * version; creates the function on its first deploy. The config is checked
   * first (INVALID_ARGUMENT naming the range); the code is not run here (the
   * client loads it before sending; a worker reports NO_HANDLER otherwise).
   * Resolves once the version is durable. Listeners hear of it after.
   */
  deploy(req: DeployFunctionRequest, now: number): Promise<FunctionVersionInfo> {
    const name = validateFunctionName(req.name);
    const config = validateFunctionConfig(req.config);
    if (req.code.length === 0) throw new LaminateError('INVALID_ARGUMENT', `Expected the code of function '${name}' to be a bundled module, got 0 bytes`);
    return this.serially(async () => {
      const f = this.functions.get(name) ?? { name, versions: [], lastVersion: 0 };
      const version = f.lastVersion + 1;
      const sealed = sealCode(this.masterKey, req.code);
      // Sealed before it is stored: an object store holds only ciphertext (the data key is wrapped in the catalog).
      await this.codeStore.put(this.codeKey(name, version), sealed.ciphertext);
      const stored: StoredVersion = {
        name, version, codeSha256: createHash('sha256').update(req.code).digest('hex'), codeBytes: req.code.length, config, createdAt: now,
        iv: sealed.iv.toString('hex'), authTag: sealed.authTag.toString('hex'), wrappedKey: sealed.wrappedKey.toString('hex'),
        sealedEnv: sealBlob(sealed.dataKey, Buffer.from(JSON.stringify(config.env))).toString('hex'),
      };
      const dropped = f.versions.length >= VERSIONS_KEPT ? f.versions.slice(0, f.versions.length - VERSIONS_KEPT + 1) : [];
      const next: StoredFunction = { name, versions: [...f.versions.slice(dropped.length), stored], lastVersion: version };
      await this.save(new Map(this.functions).set(name, next));
      this.functions.set(name, next);
      for (const d of dropped) await this.codeStore.delete(this.codeKey(name, d.version));
      this.tell({ type: 'deployed', fn: { name, version, config } });
      return info(stored);
    });
  }

  /**
   * Deletes `name` and every version's code. Resolves once durable.
   * @throws LaminateError NOT_FOUND for an unknown function.
   */
  delete(name: string): Promise<void> {
    return this.serially(async () => {
      const f = this.functions.get(name);
      if (!f || f.versions.length === 0) throw new LaminateError('NOT_FOUND', `No function '${name}' to delete`);
      const next: StoredFunction = { name, versions: [], lastVersion: f.lastVersion };
      await this.save(new Map(this.functions).set(name, next));
      this.functions.set(name, next);
      for (const v of f.versions) await this.codeStore.delete(this.codeKey(name, v.version));
      this.tell({ type: 'deleted', name });
    });
  }

  /** The key of a version's sealed code in the code store. */
  private codeKey(name: string, version: number): string {
    return `${this.codePrefix}${codeFileName(name, version)}`;
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private async save(functions: Map<string, StoredFunction>): Promise<void> {
    // The environment leaves memory sealed only.
    const file: CatalogFile = { format: 1, functions: [...functions.values()].map((f) => ({ ...f, versions: f.versions.map((v) => ({ ...v, config: { ...v.config, env: {} } })) })) };
    await writeFileAtomic(join(this.dir, 'catalog.json'), JSON.stringify(file));
  }

  private tell(change: FunctionChange): void {
    for (const l of [...this.listeners]) {
      try {
        l(change);
      } catch {
        // A listener's failure is its own: the change is made.
      }
    }
  }
}

/** A stored version with its environment opened (at load). */
function withEnv(v: StoredVersion, masterKey: Buffer): StoredVersion {
  const dataKey = unwrapDataKey(masterKey, Buffer.from(v.wrappedKey, 'hex'));
  const env = JSON.parse(openBlob(dataKey, Buffer.from(v.sealedEnv, 'hex')).toString('utf8')) as Record<string, string>;
  return { ...v, config: { ...v.config, env } };
}

function codeFileName(name: string, version: number): string {
  return `${name}.v${version}.bin`;
}

/** The public part of a stored version. */
function info(v: StoredVersion): FunctionVersionInfo {
  return { name: v.name, version: v.version, codeSha256: v.codeSha256, codeBytes: v.codeBytes, config: v.config as FunctionConfig, createdAt: v.createdAt };
}
