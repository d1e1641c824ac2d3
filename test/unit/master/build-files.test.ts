import { readFileSync } from 'node:fs';
import { open, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { formatPartFile } from '../../../src/common/ids.js';
import { silentLogger } from '../../../src/common/logger.js';
import type { OutputFileSummary } from '../../../src/common/task-attempt.js';
import { agrees, buildFiles } from '../../../src/master/build-files.js';
import { ViewFileReader } from '../../../src/view/view-file-reader.js';
import type { ViewFileSummary } from '../../../src/view/view-file-writer.js';
import { byUtf8, randomBytes, rng, useTempDirs, writeView } from '../view/helpers.js';

const key = (n: number): string => `k${String(n).padStart(6, '0')}`;

/** Three partitions by key mod 3 over keys 0..2999, the last one written empty; the writers' summaries. */
async function committedBuild(dir: string): Promise<{ summaries: ViewFileSummary[]; keys: string[][] }> {
  const random = rng(42);
  const summaries: ViewFileSummary[] = [];
  const keys: string[][] = [];
  for (let p = 0; p < 3; p++) {
    const mine = p === 2 ? [] : Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 2 === p).map(key).sort(byUtf8);
    keys.push(mine);
    summaries.push(await writeView(join(dir, formatPartFile(p)), mine.map((k) => [k, randomBytes(random, 100)] as const), { blockBytes: 4096 }));
  }
  return { summaries, keys };
}

async function flipByte(path: string, at: number): Promise<void> {
  const fh = await open(path, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, at);
  await fh.write(Buffer.from([b[0]! ^ 0x01]), 0, 1, at);
  await fh.close();
}

describe('the manifest entries of a build\'s committed view files', () => {
  const tempDir = useTempDirs();

  it('takes each file\'s CRC from its writer\'s summary, and gives what a read of the whole file gives', async () => {
    const dir = await tempDir();
    const { summaries, keys } = await committedBuild(dir);
    const fromSummaries = await buildFiles(dir, 3, (p) => summaries[p], silentLogger());
    const read = await buildFiles(dir, 3, () => undefined, silentLogger());
    // Independently: every byte of each file, its size, and the keys written.
    const expected = keys.map((mine, p) => {
      const bytes = readFileSync(join(dir, formatPartFile(p)));
      return {
        name: formatPartFile(p), partition: p, bytes: bytes.length, checksum: crc32(bytes), records: mine.length,
        firstKey: mine[0] ?? null, lastKey: mine[mine.length - 1] ?? null,
      };
    });
    expect(fromSummaries).toEqual({ files: expected, readWhole: 0 });
    expect(read).toEqual({ files: expected, readWhole: 3 });
  });

  it('names the writer\'s CRC for a file damaged after it was written, which a serving node\'s check then refuses', async () => {
    const dir = await tempDir();
    const { summaries } = await committedBuild(dir);
    const path = join(dir, formatPartFile(0));
    await flipByte(path, 100); // in the first data block: the size, footer and index still agree with the summary
    const { files } = await buildFiles(dir, 3, (p) => summaries[p], silentLogger());
    expect(files[0]!.checksum).toBe(summaries[0]!.checksum);
    expect(files[0]!.checksum).not.toBe(crc32(readFileSync(path)));
    // What verify-version.ts does with each file of the manifest before a node serves the version.
    const reader = await ViewFileReader.open(path);
    await expect(reader.verify({ checksum: files[0]!.checksum })).rejects.toMatchObject({ code: 'DATA_LOSS' });
    await reader.close();
  });

  it('reads a file whole when it disagrees with its summary, and fails for a truncated or missing file', async () => {
    const dir = await tempDir();
    const { summaries } = await committedBuild(dir);
    const wrong: OutputFileSummary[] = summaries.map((s) => ({ ...s, records: s.records + 1, checksum: (s.checksum + 1) >>> 0 }));
    const { files, readWhole } = await buildFiles(dir, 3, (p) => wrong[p], silentLogger());
    expect(readWhole).toBe(3);
    expect(files.map((f) => f.checksum)).toEqual([0, 1, 2].map((p) => crc32(readFileSync(join(dir, formatPartFile(p))))));

    await truncate(join(dir, formatPartFile(1)), summaries[1]!.bytes - 7);
    await expect(buildFiles(dir, 3, (p) => summaries[p], silentLogger())).rejects.toMatchObject({ code: 'DATA_LOSS' });
    const intact = await tempDir();
    const build = await committedBuild(intact);
    await expect(buildFiles(intact, 4, (p) => build.summaries[p], silentLogger()))
      .rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(formatPartFile(3)) as unknown });
  });

  it('agrees only on the same size, records and keys, and a CRC-32 in range', () => {
    const file = { bytes: 1000, records: 5, firstKey: 'a', lastKey: 'e' };
    const summary: OutputFileSummary = { ...file, checksum: 0xffffffff };
    expect(agrees(summary, file)).toBe(true);
    expect(agrees({ ...summary, bytes: 999 }, file)).toBe(false);
    expect(agrees({ ...summary, records: 4 }, file)).toBe(false);
    expect(agrees({ ...summary, firstKey: 'b' }, file)).toBe(false);
    expect(agrees({ ...summary, lastKey: undefined }, file)).toBe(false);
    expect(agrees({ ...summary, checksum: 2 ** 32 }, file)).toBe(false);
    expect(agrees({ ...summary, checksum: -1 }, file)).toBe(false);
    expect(agrees({ ...summary, checksum: 1.5 }, file)).toBe(false);
  });
});
