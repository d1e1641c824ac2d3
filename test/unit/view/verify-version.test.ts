import { open, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyVersionFiles } from '../../../src/view/verify-version.js';
import { versionDir } from '../../../src/view/view-version-dir.js';
import { writeVersion } from '../../support/view-versions.js';
import { useTempDirs } from '../../support/temp-dirs.js';

describe('checking a published version in place', () => {
  const tempDir = useTempDirs('laminate-view-');

  it('passes an intact version, and refuses with DATA_LOSS naming the file a flipped byte, a truncated file and a missing one', async () => {
    const root = await tempDir();
    const entries = new Map(Array.from({ length: 2000 }, (_, i) => [`k${String(i).padStart(5, '0')}`, i * 3]));
    const manifest = await writeVersion(root, { view: 'v', version: 1, entries, partitions: 2, cut: [2000], blockBytes: 4096 });
    const dir = versionDir(root, 'v', 1);
    await verifyVersionFiles(dir, manifest);

    const path = join(dir, manifest.files[1]!.name);
    const fh = await open(path, 'r+');
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, 100);
    await fh.write(Buffer.from([byte[0]! ^ 0x10]), 0, 1, 100);
    await fh.close();
    await expect(verifyVersionFiles(dir, manifest)).rejects.toMatchObject({ code: 'DATA_LOSS', message: expect.stringContaining(path) as unknown });

    await truncate(path, manifest.files[1]!.bytes - 10);
    await expect(verifyVersionFiles(dir, manifest)).rejects.toMatchObject({ code: 'DATA_LOSS', message: expect.stringContaining(path) as unknown });

    await rm(path);
    await expect(verifyVersionFiles(dir, manifest)).rejects.toMatchObject({ code: 'DATA_LOSS', message: expect.stringMatching(/part-00001\.view' of version 1 of view 'v' is missing/) as unknown });
  });
});
