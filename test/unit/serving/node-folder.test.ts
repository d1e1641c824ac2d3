import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockFolder, nodeIdOf } from '../../../src/serving/node-folder.js';
import { useTempDirs } from './helpers.js';

const tempDir = useTempDirs();

describe('a serving node\'s folder', () => {
  it('keeps the node id chosen at the first start', async () => {
    const dir = join(await tempDir(), 'node');
    const id = await nodeIdOf(dir);
    expect(id).toMatch(/^serving-[0-9a-f]{12}$/);
    expect(await nodeIdOf(dir)).toBe(id);
    await writeFile(join(dir, 'node-id'), 'garbage\n');
    await expect(nodeIdOf(dir)).rejects.toMatchObject({ code: 'DATA_LOSS' });
  });

  it('refuses a second process while the first lives, and takes over the lock of a dead one', async () => {
    const dir = await tempDir();
    // The parent of this process lives: its lock holds.
    await writeFile(join(dir, 'LOCK'), `${process.ppid}\n`);
    await expect(lockFolder(dir)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringMatching(/in use by process \d+/) as unknown });
    // A pid that no process has (above the kernel's pid_max).
    await writeFile(join(dir, 'LOCK'), '2147483646\n');
    const unlock = await lockFolder(dir);
    expect((await readFile(join(dir, 'LOCK'), 'utf8')).trim()).toBe(String(process.pid));
    await unlock();
    await unlock();
    await expect(readFile(join(dir, 'LOCK'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
