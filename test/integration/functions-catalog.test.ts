/**
 * Functions' catalog end to end with real processes: `laminate function
 * init|deploy|list|invoke` and LaminateClient against a master process,
 * versions surviving a restart, bad input refused with the range or the
 * forms, and function code not readable anywhere in the master's data
 * folder. The CLI runs only where its own behaviour is checked (each run
 * starts a Node process); the rest goes through the library.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LaminateClient } from '../../src/client/laminate-client.js';
import { CLI, removeDir, startMasterProc, tempDir, type MasterProc } from './harness.js';

const exec = promisify(execFile);

/** Runs the CLI; resolves with its exit code and output (never rejects for a non-zero exit). */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Every file under `dir` whose bytes contain `needle`. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir(dir, { recursive: true })) {
    const p = join(dir, name);
    // The master keeps writing (trigger state: a temp file renamed into place), so a file listed may be gone.
    try {
      if ((await stat(p)).isFile() && (await readFile(p)).includes(needle)) found.push(name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return found;
}

describe('laminate function commands against a master process', () => {
  let dir: string;
  let master: MasterProc;
  const marker = `laminate-code-marker-${randomBytes(8).toString('hex')}`;

  beforeAll(async () => {
    dir = await tempDir();
    master = await startMasterProc(dir);
  });

  afterAll(async () => {
    await master?.kill();
    await removeDir(dir);
  });

  it('copies a blueprint, deploys immutable versions (live = newest) kept across a restart, with code encrypted at rest, and deletes', async () => {
    const fnDir = join(dir, 'greeter');
    const init = await cli('function', 'init', '--blueprint', 'http-api', fnDir);
    expect(init.code, init.stderr).toBe(0);
    const blueprint = await readFile(join(fnDir, 'index.ts'), 'utf8');
    expect(blueprint).toContain("from 'laminate'");

    // The blueprint as generated deploys (its `laminate` import resolves to this installation).
    const v1 = await cli('function', 'deploy', join(fnDir, 'index.ts'), '--master', master.address, '--trigger', 'http', '--memory', '256', '--timeout', '5s',
      '--env', `GREETING=${marker}`, '--json');
    expect(v1.code, v1.stderr).toBe(0);
    expect(JSON.parse(v1.stdout)).toMatchObject({ name: 'greeter', version: 1, config: { memoryMb: 256, timeoutMs: 5000, retries: 2, triggers: [{ kind: 'http' }], env: { GREETING: marker } } });

    // A second version, with the marker string in its code (the first has it in its environment).
    await writeFile(join(fnDir, 'index.ts'), `${blueprint}\nexport const MARK = '${marker}';\n`);
    let client = new LaminateClient(master.address);
    try {
      const v2 = await client.deployFunction(join(fnDir, 'index.ts'), {
        triggers: [{ kind: 'dataset', dataset: 'logs', batchSize: 500 }], retries: 1, deadLetter: 'dataset:greeter-dlq', concurrency: 3,
      });
      expect(v2).toMatchObject({ version: 2, config: { memoryMb: 128, retries: 1, concurrency: 3, deadLetter: 'greeter-dlq', triggers: [{ kind: 'dataset', dataset: 'logs', batchSize: 500 }] } });
      expect(await filesContaining(join(dir, 'master'), marker)).toEqual([]);
      expect((await stat(join(dir, 'master', 'functions', 'master.key'))).mode & 0o777).toBe(0o600);
    } finally {
      await client.close();
    }

    // A restart keeps every version (and can still open the code: the key is the same).
    await master.kill();
    master = await startMasterProc(dir);
    const listed = await cli('function', 'list', '--master', master.address);
    expect(listed.stdout).toMatch(/^greeter version 2: 128 MB, timeout 3s, concurrency 3, retries 1, dead letters to dataset:greeter-dlq, dataset:logs\n {2}invocations 0, errors 0, throttles 0, cold starts 0/);
    client = new LaminateClient(master.address);
    try {
      expect((await client.functionVersions('greeter')).map((v) => [v.version, v.config.memoryMb, v.config.env])).toEqual([[1, 256, { GREETING: marker }], [2, 128, {}]]);
      expect((await client.listFunctions()).map((f) => [f.live.name, f.live.version, f.metrics.invocations])).toEqual([['greeter', 2, 0]]);
      await client.deleteFunction('greeter');
      expect(await client.listFunctions()).toEqual([]);
      expect(await readdir(join(dir, 'master', 'functions', 'code'))).toEqual([]);
      await expect(client.deleteFunction('greeter')).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/No function 'greeter'/) });
    } finally {
      await client.close();
    }
  });

  it('refuses bad input with a clear error: no handler, memory or timeout out of range, an unknown trigger, an unknown function', async () => {
    const noHandler = join(dir, 'no-handler.ts');
    await writeFile(noHandler, 'export const x = 1;\n');
    const r1 = await cli('function', 'deploy', noHandler, '--master', master.address);
    expect(r1.code).not.toBe(0);
    expect(r1.stderr).toMatch(/NO_HANDLER: expected .* to export default a handler written with defineFunction/);
    expect((await cli('function', 'deploy', noHandler, '--master', master.address, '--trigger', 'kafka:events')).stderr).toMatch(/Unknown trigger 'kafka:events': expected one of/);
    const ok = join(dir, 'ok.ts');
    await writeFile(ok, "import { defineFunction } from 'laminate';\nexport default defineFunction(() => 1);\n");
    const client = new LaminateClient(master.address);
    try {
      await expect(client.deployFunction(ok, { memoryMb: 64 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/--memory to be a whole number from 128 MB to 10240 MB, got 64/) });
      await expect(client.deployFunction(ok, { timeoutMs: 1_200_000 })).rejects.toMatchObject({ message: expect.stringMatching(/--timeout to be from 1s to 900s/) });
      await expect(client.invoke('nothing', {})).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await client.listFunctions()).toEqual([]);
      // Deployed, but no worker to run it: a sync invoke waits its timeout for room, then fails THROTTLED.
      await client.deployFunction(ok, { timeoutMs: 1000 });
    } finally {
      await client.close();
    }
    const throttled = await cli('function', 'invoke', 'ok', '--master', master.address, '--payload', '{"a":1}');
    expect(throttled.code).not.toBe(0);
    expect(throttled.stderr).toMatch(/laminate: THROTTLED: No room to run ok/);
    expect((await cli('function', 'invoke', 'ok', '--master', master.address, '--payload', '{bad')).stderr).toMatch(/Expected --payload to be JSON/);
    // An async invocation is journaled before its id is printed.
    const queued = await cli('function', 'invoke', 'ok', '--master', master.address, '--payload', '{"a":2}', '--async');
    expect(queued.code, queued.stderr).toBe(0);
    const { eventId } = JSON.parse(queued.stdout) as { eventId: string };
    expect(await readFile(join(dir, 'master', 'functions', 'async-events.jsonl'), 'utf8')).toContain(eventId);
  });
});
