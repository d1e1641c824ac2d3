import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { LaminateClient } from '../../src/client/index.js';
import { CLI, removeDir, startMasterProc, tempDir, type MasterProc } from './harness.js';

const run = promisify(execFile);

interface Line { readonly n: number; readonly user: string }

/**
 * `laminate append FILE --producer-id ID` SIGKILLed half way and run again:
 * the second run replays the file under the same producer id, and the store
 * keeps each line once (issue 7: "a retried batch after a client restart
 * with the same producer id is stored once").
 */
describe('an append killed half way and run again with the same producer id', () => {
  let dir: string;
  let master: MasterProc | undefined;
  let client: LaminateClient | undefined;

  afterEach(async () => {
    await client?.close();
    await master?.kill();
    await removeDir(dir);
  });

  it('stores every line of the file exactly once, in file order per partition', async () => {
    dir = await tempDir();
    master = await startMasterProc(dir);
    client = new LaminateClient(master.address);
    await client.createDataset('imports', { partitions: 3 });
    const total = 150_000;
    const lines: Line[] = Array.from({ length: total }, (_, n) => ({ n, user: `user-${n % 97}` }));
    const file = join(dir, 'lines.jsonl');
    await writeFile(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    const args = [CLI, 'append', 'imports', file, '--master', master.address, '--producer-id', 'import-1', '--json'];

    const first = spawn(process.execPath, args, { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => first.once('exit', () => resolve()));
    // Kill it once some of the file is stored, whatever the timing.
    let stored = 0;
    while (stored === 0) {
      stored = (await client.describeDataset('imports')).partitions.reduce((n, p) => n + p.endOffset, 0);
      if (stored === 0) await new Promise((r) => setTimeout(r, 10));
    }
    first.kill('SIGKILL');
    await exited;
    // Appends the killed process had already sent can still become durable on the master after its death:
    // the count is taken once it has stopped moving (the same over 300 ms), not at the kill.
    const c = client;
    const storedNow = async (): Promise<number> => (await c.describeDataset('imports')).partitions.reduce((n, p) => n + p.endOffset, 0);
    let storedBefore = await storedNow();
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 300));
      const again = await storedNow();
      if (again === storedBefore) break;
      storedBefore = again;
    }
    expect(storedBefore).toBeGreaterThan(0);
    expect(storedBefore).toBeLessThan(total);

    const { stdout } = await run(process.execPath, args);
    const printed = JSON.parse(stdout) as { appended: number; alreadyStored: number; partitions: Array<{ partition: number; count: number }> };
    expect(printed.alreadyStored).toBe(storedBefore);
    expect(printed.appended).toBe(total - storedBefore);

    // Unkeyed lines of a replay go to partitions in runs of 1024, from partition 0.
    const expected: Line[][] = [[], [], []];
    lines.forEach((l, i) => expected[Math.floor(i / 1024) % 3]!.push(l));
    for (let p = 0; p < 3; p++) {
      const got: Line[] = [];
      for await (const r of client.read('imports', { partition: p })) got.push(r.record as Line);
      expect(got.length).toBe(expected[p]!.length);
      expect(got).toEqual(expected[p]);
    }

    // A third run finds everything stored and appends nothing.
    const again = JSON.parse((await run(process.execPath, args)).stdout) as { appended: number; alreadyStored: number };
    expect(again).toMatchObject({ appended: 0, alreadyStored: total });
  });
});
