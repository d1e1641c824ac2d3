import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listInputFiles } from '../../../src/storage/input-files.js';
import { rejectsWith, useTempDirs } from './helpers.js';

describe('listInputFiles', () => {
  const tempDir = useTempDirs();

  it('lists the regular files of a folder and named files, sorted, skipping hidden and underscore names and subfolders', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'in', 'sub'), { recursive: true });
    await writeFile(join(dir, 'in', 'b.txt'), 'bbbb');
    await writeFile(join(dir, 'in', 'a.txt'), 'aa');
    await writeFile(join(dir, 'in', '.hidden'), 'x');
    await writeFile(join(dir, 'in', '_SUCCESS'), '');
    await writeFile(join(dir, 'in', 'sub', 'c.txt'), 'c');
    await writeFile(join(dir, 'extra.txt'), '123456');
    const files = await listInputFiles([join(dir, 'in'), join(dir, 'extra.txt'), join(dir, 'in', 'a.txt')]);
    expect(files).toEqual([
      { path: join(dir, 'extra.txt'), size: 6 },
      { path: join(dir, 'in', 'a.txt'), size: 2 },
      { path: join(dir, 'in', 'b.txt'), size: 4 },
    ]);
  });

  it('refuses a path that does not exist, naming it', async () => {
    const dir = await tempDir();
    const missing = join(dir, 'nope');
    await rejectsWith(listInputFiles([missing]), 'NOT_FOUND', new RegExp(`Input path '${missing}' does not exist`));
  });

  it('refuses inputs that hold no file at all', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'empty'));
    await writeFile(join(dir, 'empty', '_hidden'), 'x');
    await rejectsWith(listInputFiles([join(dir, 'empty')]), 'INVALID_ARGUMENT');
    await rejectsWith(listInputFiles([]), 'INVALID_ARGUMENT');
  });
});
