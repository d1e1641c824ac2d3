import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ROOT } from './harness.js';

const run = promisify(execFile);

/**
 * Imports a package entry by its name, as a user would, from the build, in a
 * fresh process; answers its export names and every module of src/ it loaded
 * (seen by a resolve hook), as folder/file paths.
 */
async function load(entry: string): Promise<{ exports: string[]; modules: string[] }> {
  const hook = `let port; export function initialize(d) { port = d.port; }
    export async function resolve(s, c, next) { const r = await next(s, c); port.postMessage(r.url); return r; }`;
  const probe = `
    import { register } from 'node:module';
    import { MessageChannel } from 'node:worker_threads';
    const { port1, port2 } = new MessageChannel();
    const urls = [];
    port1.on('message', (u) => urls.push(u));
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}), { parentURL: import.meta.url, data: { port: port2 }, transferList: [port2] });
    const m = await import(${JSON.stringify(entry)});
    await new Promise((r) => setImmediate(r));
    port1.close();
    const modules = [...new Set(urls.filter((u) => u.includes('/dist/src/')).map((u) => u.replace(/.*\\/dist\\/src\\//, '')))].sort();
    process.stdout.write(JSON.stringify({ exports: Object.keys(m).sort(), modules }));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: ROOT });
  return JSON.parse(stdout) as { exports: string[]; modules: string[] };
}

const folderOf = (m: string): string => m.split('/')[0]!;

describe('the package entries', () => {
  it('laminate holds what job and view modules use, and loads only api and common', async () => {
    const { exports, modules } = await load('laminate');
    expect(exports).toEqual([
      'LaminateError', 'NonRetryableError', 'checkMonoidLaws', 'count', 'defineFunction', 'defineJob', 'defineView', 'hll', 'max', 'min', 'setUnion', 'sum', 'topK',
    ]);
    expect(new Set(modules.filter((m) => m !== 'index.js').map(folderOf))).toEqual(new Set(['api', 'common']));
  });

  it('laminate/client holds the job and dataset clients and does not load the master, the worker, the store or the embedded cluster', async () => {
    const { exports, modules } = await load('laminate/client');
    expect(exports).toEqual(['FINISHED_STATES', 'JobClient', 'LaminateClient', 'LaminateError', 'Producer', 'configureSecurity', 'loadSecurity']);
    expect(modules).toContain('client/job-client.js');
    expect(modules).toContain('client/laminate-client.js');
    expect(modules.filter((m) => ['master', 'worker', 'local', 'scheduler', 'dataset'].includes(folderOf(m)))).toEqual([]);
  });

  it('laminate/local holds the embedded cluster', async () => {
    const { exports, modules } = await load('laminate/local');
    expect(exports).toEqual(['LocalCluster']);
    expect(modules).toEqual(expect.arrayContaining(['local/local-cluster.js', 'master/master.js', 'worker/worker.js']));
  });
});
